-- Ratings of food orders (the food issue, item "Ratings"), on the one ratings table.
--
-- A rating was always of a user (`to_id`). A customer now also rates the merchant of a delivered order,
-- which is no user: a rating names exactly one ratee, a user (`to_id`) or a merchant (`to_merchant_id`),
-- and may carry tags (a JSON array of short words, `[]` when none). One rating per job, rater and ratee
-- stays the rule, now as two unique indexes (a NULL ratee column never collides).
--
-- SQLite cannot change a column's nullability: the table is rebuilt. Nothing references `ratings`, so
-- dropping the old table is safe under the deferred foreign-key counter.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE ratings_new (
    job_id         TEXT NOT NULL REFERENCES jobs (id),
    from_id        TEXT NOT NULL REFERENCES users (id),
    to_id          TEXT REFERENCES users (id),
    stars          BIGINT NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment        TEXT NOT NULL,
    at             BIGINT NOT NULL,
    to_merchant_id TEXT REFERENCES merchants (id),
    tags           TEXT NOT NULL DEFAULT '[]',
    CHECK ((to_id IS NULL) <> (to_merchant_id IS NULL))
);
INSERT INTO ratings_new (job_id, from_id, to_id, stars, comment, at)
SELECT job_id, from_id, to_id, stars, comment, at FROM ratings;
DROP TABLE ratings;
ALTER TABLE ratings_new RENAME TO ratings;

CREATE UNIQUE INDEX ratings_of_user ON ratings (job_id, from_id, to_id);
CREATE UNIQUE INDEX ratings_of_merchant ON ratings (job_id, from_id, to_merchant_id);
CREATE INDEX ratings_to ON ratings (to_id);
CREATE INDEX ratings_to_merchant ON ratings (to_merchant_id);
