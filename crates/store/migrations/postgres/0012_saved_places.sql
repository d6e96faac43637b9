-- Saved places (issue 10, item 1): each account keeps home, work and up to 20 labels of its own, each a
-- point on land in the service area with an optional name and address line. A label is one place per
-- account whatever its case: `label_key` is the label in lower case, `label` as the account wrote it
-- (home and work always lower case). Only the owner ever reads them (`/v1/me/places`), so the primary key
-- (user, label_key) is the one index needed. Identical for SQLite and PostgreSQL.

CREATE TABLE saved_places (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label_key  TEXT NOT NULL,
    label      TEXT NOT NULL,
    lat        DOUBLE PRECISION NOT NULL,
    lng        DOUBLE PRECISION NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    address    TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, label_key)
);
