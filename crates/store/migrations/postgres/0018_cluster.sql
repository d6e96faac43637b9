-- Several nodes on one record (issue 13). Identical for SQLite and PostgreSQL.
--
-- `city_fences`: the fencing token of each city's dispatcher. The lease itself (who owns the city now,
-- with a time to live) is in NATS JetStream KV; a node that wins it takes the next epoch here, and every
-- write its dispatcher makes first checks, in the write's own transaction, that the city's epoch is still
-- its own (`UPDATE ... WHERE epoch = $mine`, which also locks the row until the write commits). A paused
-- or partitioned old owner whose lease lapsed therefore writes nothing once the new owner has taken the
-- epoch: its offers and expiries are refused by the record, not merely discouraged.
--
-- `job_odometers`: the distance driven on each job while it is on a worker's route, kept by the city's
-- dispatcher node with the last point it was measured to, so that a node taking the city over continues
-- the count instead of pricing the trip from half the points.

CREATE TABLE city_fences (
    city     TEXT PRIMARY KEY NOT NULL,
    epoch    BIGINT NOT NULL,
    owner    TEXT NOT NULL,       -- the node id that took the epoch, for operators
    taken_at BIGINT NOT NULL
);

CREATE TABLE job_odometers (
    job_id     TEXT PRIMARY KEY NOT NULL REFERENCES jobs (id),
    metres     DOUBLE PRECISION NOT NULL,
    lat        DOUBLE PRECISION NOT NULL,
    lng        DOUBLE PRECISION NOT NULL,
    at         BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
