-- Ratings of food orders (the food issue, item "Ratings"), on the one ratings table.
--
-- A rating was always of a user (`to_id`). A customer now also rates the merchant of a delivered order,
-- which is no user: a rating names exactly one ratee, a user (`to_id`) or a merchant (`to_merchant_id`),
-- and may carry tags (a JSON array of short words, `[]` when none). One rating per job, rater and ratee
-- stays the rule, now as two unique indexes (a NULL ratee column never collides).

ALTER TABLE ratings DROP CONSTRAINT ratings_pkey;
ALTER TABLE ratings ALTER COLUMN to_id DROP NOT NULL;
ALTER TABLE ratings ADD COLUMN to_merchant_id TEXT REFERENCES merchants (id);
ALTER TABLE ratings ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE ratings ADD CHECK ((to_id IS NULL) <> (to_merchant_id IS NULL));

CREATE UNIQUE INDEX ratings_of_user ON ratings (job_id, from_id, to_id);
CREATE UNIQUE INDEX ratings_of_merchant ON ratings (job_id, from_id, to_merchant_id);
CREATE INDEX ratings_to_merchant ON ratings (to_merchant_id);
