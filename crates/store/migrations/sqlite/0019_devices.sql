-- Connected devices (vehicle trackers) that report their worker's positions over MQTT (issue 13, item 7).
-- Identical for SQLite and PostgreSQL.
--
-- A device's token authenticates each message it publishes (besides the broker's own credentials), so
-- only its SHA-256 is kept, hex: a copy of the database gives nobody a working token. Rotating it
-- replaces the digest and stamps `token_rotated_at`. `worker_id` is the driver whose position the
-- device reports (NULL: unbound, its positions move nobody), bound since `bound_at`.
-- Migration 0018 is another change's; the numbers only have to grow.

CREATE TABLE devices (
    id               TEXT PRIMARY KEY NOT NULL,
    city             TEXT NOT NULL,               -- 'manhattan': the topic's city
    label            TEXT NOT NULL,               -- the operator's name for it ("cab 42 tracker")
    worker_id        TEXT REFERENCES users (id),  -- NULL while unbound
    token_hash       TEXT NOT NULL,               -- hex SHA-256 of the token; the token itself is never stored
    created_at       BIGINT NOT NULL,
    token_rotated_at BIGINT NOT NULL,             -- when the current token was issued (creation at first)
    bound_at         BIGINT,                      -- when it was bound to its worker, NULL while unbound
    updated_at       BIGINT NOT NULL
);
CREATE INDEX devices_worker ON devices (worker_id);
CREATE INDEX devices_label ON devices (label, id);
