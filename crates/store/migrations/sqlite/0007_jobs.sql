-- One fulfilment core (issue 9, items 1 and 5): every ride becomes a job with two stops, and the shared
-- records (offers, events, ratings, postings) are keyed by job. A ride keeps its id: its job has the same
-- id, and `rides` keeps only what is a ride's own (its quote and fare). Food orders and house calls will
-- add their own service tables over `jobs` in the same way.
--
--   jobs         one row per job of any kind: state, customer, merchant, worker, requirements, version
--   job_stops    its stops in order: place, time window, service time, proof (the ride PIN), state
--   job_workers  every worker a job was ever assigned to (was ride_drivers)
--   offer_jobs   the jobs an offer covers (an offer is a route change of one or more jobs)
--   postings     keyed by job, any number per job, each with its own idempotency key (a ride's existing
--                postings keep their kind as their key)
--   ratings      any party of a job rates another: one rating per job, rater and rated
--
-- SQLite cannot change a table's references in place, so the tables that referenced `rides` are rebuilt.
-- Dropping a table that another still references would leave SQLite's deferred foreign-key counter
-- raised for good (re-inserting the rows into a renamed copy does not lower it), so every rebuilt child
-- is created against the new parent and the old children are dropped before their old parents. The
-- PostgreSQL migration reaches the same schema with ALTER TABLE. The values are translated as
-- crates/store/src/jobs.rs and rides.rs write them: ride states to job and stop states, `rider`/`admin`
-- cancellations to `customer`/`operator`, no-driver reasons to unfulfilled reasons.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE jobs (
    id                  TEXT PRIMARY KEY NOT NULL,
    kind                TEXT NOT NULL,          -- ride | delivery | house_call
    customer_id         TEXT NOT NULL REFERENCES users (id),
    merchant_id         TEXT,
    state               TEXT NOT NULL,          -- open | assigned | in_progress | completed | cancelled | unfulfilled
    worker_id           TEXT REFERENCES users (id),
    requirements        TEXT NOT NULL,          -- Requirements as JSON
    load_units          BIGINT NOT NULL,        -- seats, bags
    excluded_workers    TEXT NOT NULL,          -- JSON array of user ids
    eta_s               BIGINT,
    opened_at           BIGINT NOT NULL,
    assigned_at         BIGINT,
    ended_at            BIGINT,
    cancelled_by        TEXT,                   -- customer | merchant | operator
    cancel_fee_minor    BIGINT,
    cancel_fee_currency TEXT,
    unfulfilled_reason  TEXT,
    idempotency_key     TEXT,
    version             BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    UNIQUE (customer_id, idempotency_key)
);
CREATE INDEX jobs_customer ON jobs (customer_id, opened_at);
CREATE INDEX jobs_state ON jobs (state, opened_at);
CREATE INDEX jobs_worker ON jobs (worker_id);
CREATE INDEX jobs_opened ON jobs (opened_at);

INSERT INTO jobs (id, kind, customer_id, merchant_id, state, worker_id, requirements, load_units,
                  excluded_workers, eta_s, opened_at, assigned_at, ended_at, cancelled_by, cancel_fee_minor,
                  cancel_fee_currency, unfulfilled_reason, idempotency_key, version, updated_at)
SELECT id, 'ride', rider_id, NULL,
       CASE state WHEN 'requested' THEN 'open'
                  WHEN 'driver_assigned' THEN 'assigned'
                  WHEN 'driver_arrived' THEN 'assigned'
                  WHEN 'in_progress' THEN 'in_progress'
                  WHEN 'completed' THEN 'completed'
                  WHEN 'cancelled' THEN 'cancelled'
                  WHEN 'no_driver_available' THEN 'unfulfilled' END,
       driver_id, '{"vehicles":["car"],"skills":[]}', 1, excluded_drivers, pickup_eta_s, requested_at,
       assigned_at, ended_at,
       CASE cancelled_by WHEN 'rider' THEN 'customer' WHEN 'admin' THEN 'operator' END,
       cancel_fee_minor, cancel_fee_currency,
       CASE no_driver_reason WHEN 'no_drivers_nearby' THEN 'no_workers_nearby'
                             WHEN 'all_drivers_declined' THEN 'all_workers_declined' END,
       idempotency_key, version, updated_at
FROM rides;

CREATE TABLE job_stops (
    job_id                TEXT NOT NULL REFERENCES jobs (id),
    stop_index            BIGINT NOT NULL,        -- 0, 1, ... in the order they are served
    kind                  TEXT NOT NULL,          -- pickup | dropoff | service
    lat                   DOUBLE PRECISION NOT NULL,
    lng                   DOUBLE PRECISION NOT NULL,
    window_earliest       BIGINT NOT NULL,
    window_latest         BIGINT NOT NULL,        -- 9223372036854775807: never closes
    service_s             BIGINT NOT NULL,
    proof                 TEXT,                   -- the code that completes the stop (a ride's PIN)
    proof_failed_attempts BIGINT NOT NULL,
    state                 TEXT NOT NULL,          -- pending | arrived | done | skipped
    arrived_at            BIGINT,
    completed_at          BIGINT,
    completed_distance_m  BIGINT,                 -- NULL: where the worker was is unknown
    completed_early       BIGINT,                 -- 0/1: completed farther than the radius from the place
    PRIMARY KEY (job_id, stop_index)
);

INSERT INTO job_stops (job_id, stop_index, kind, lat, lng, window_earliest, window_latest, service_s, proof,
                       proof_failed_attempts, state, arrived_at, completed_at, completed_distance_m,
                       completed_early)
SELECT id, 0, 'pickup', pickup_lat, pickup_lng, requested_at, 9223372036854775807, 0, pin, pin_failed_attempts,
       CASE state WHEN 'requested' THEN 'pending'
                  WHEN 'driver_assigned' THEN 'pending'
                  WHEN 'driver_arrived' THEN 'arrived'
                  WHEN 'in_progress' THEN 'done'
                  WHEN 'completed' THEN 'done'
                  ELSE 'skipped' END,
       arrived_at, started_at,
       NULL, -- how far from the pickup the trip started was never recorded
       CASE WHEN started_at IS NULL THEN NULL ELSE 0 END
FROM rides;

INSERT INTO job_stops (job_id, stop_index, kind, lat, lng, window_earliest, window_latest, service_s, proof,
                       proof_failed_attempts, state, arrived_at, completed_at, completed_distance_m,
                       completed_early)
SELECT id, 1, 'dropoff', dropoff_lat, dropoff_lng, requested_at, 9223372036854775807, 0, NULL, 0,
       CASE state WHEN 'completed' THEN 'done'
                  WHEN 'cancelled' THEN 'skipped'
                  WHEN 'no_driver_available' THEN 'skipped'
                  ELSE 'pending' END,
       NULL,
       CASE WHEN state = 'completed' THEN ended_at END,
       CASE WHEN state = 'completed' THEN dropoff_distance_m END,
       CASE WHEN state = 'completed' THEN CASE WHEN early_end IS NULL THEN 0 ELSE 1 END END
FROM rides;

CREATE TABLE job_workers (
    job_id      TEXT NOT NULL REFERENCES jobs (id),
    worker_id   TEXT NOT NULL REFERENCES users (id),
    assigned_at BIGINT NOT NULL,
    PRIMARY KEY (job_id, worker_id)
);
INSERT INTO job_workers (job_id, worker_id, assigned_at) SELECT ride_id, driver_id, assigned_at FROM ride_drivers;

CREATE TABLE offers_new (
    id            TEXT PRIMARY KEY NOT NULL,
    worker_id     TEXT NOT NULL REFERENCES users (id),
    state         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    eta_s         BIGINT NOT NULL,      -- to the first stop the offer adds
    distance_m    BIGINT NOT NULL,      -- from the worker to that stop, straight line
    fare_minor    BIGINT NOT NULL,
    fare_currency TEXT NOT NULL,
    updated_at    BIGINT NOT NULL
);
INSERT INTO offers_new (id, worker_id, state, created_at, expires_at, eta_s, distance_m, fare_minor, fare_currency,
                        updated_at)
SELECT id, driver_id, state, created_at, expires_at, pickup_eta_s, pickup_distance_m, fare_minor, fare_currency,
       updated_at
FROM offers;

CREATE TABLE offer_jobs (
    offer_id TEXT NOT NULL REFERENCES offers_new (id),
    job_id   TEXT NOT NULL REFERENCES jobs (id),
    PRIMARY KEY (offer_id, job_id)
);
INSERT INTO offer_jobs (offer_id, job_id) SELECT id, ride_id FROM offers;

CREATE TABLE events_new (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id  TEXT NOT NULL REFERENCES jobs (id),
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL, -- the stored event as JSON
    at      BIGINT NOT NULL
);
INSERT INTO events_new (id, job_id, kind, payload, at) SELECT id, ride_id, kind, payload, at FROM events;

CREATE TABLE event_recipients_new (
    event_id  BIGINT NOT NULL REFERENCES events_new (id),
    recipient TEXT NOT NULL,
    role      TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    PRIMARY KEY (recipient, event_id),
    UNIQUE (recipient, seq)
);
INSERT INTO event_recipients_new (event_id, recipient, role, seq)
SELECT event_id, recipient, role, seq FROM event_recipients;

CREATE TABLE postings_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id          TEXT NOT NULL REFERENCES jobs (id),
    kind            TEXT NOT NULL,
    at              BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL,
    UNIQUE (job_id, idempotency_key)
);
INSERT INTO postings_new (id, job_id, kind, at, idempotency_key) SELECT id, ride_id, kind, at, kind FROM postings;

CREATE TABLE ledger_entries_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    posting_id BIGINT NOT NULL REFERENCES postings_new (id),
    account    TEXT NOT NULL,
    amount     BIGINT NOT NULL,
    currency   TEXT NOT NULL,
    at         BIGINT NOT NULL
);
INSERT INTO ledger_entries_new (id, posting_id, account, amount, currency, at)
SELECT id, posting_id, account, amount, currency, at FROM ledger_entries;

CREATE TABLE ratings_new (
    job_id  TEXT NOT NULL REFERENCES jobs (id),
    from_id TEXT NOT NULL REFERENCES users (id),
    to_id   TEXT NOT NULL REFERENCES users (id),
    stars   BIGINT NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment TEXT NOT NULL,
    at      BIGINT NOT NULL,
    PRIMARY KEY (job_id, from_id, to_id)
);
INSERT INTO ratings_new (job_id, from_id, to_id, stars, comment, at)
SELECT ride_id, from_id, to_id, stars, comment, at FROM ratings;

-- A ride's early end and distance from the drop-off are its drop-off stop's completion (copied above).
CREATE TABLE rides_new (
    id              TEXT PRIMARY KEY NOT NULL REFERENCES jobs (id),
    quote_id        TEXT NOT NULL UNIQUE, -- a quote makes at most one ride
    quoted_fare     TEXT NOT NULL,
    final_fare      TEXT,
    trip_distance_m BIGINT,
    fare_adjustment TEXT
);
INSERT INTO rides_new (id, quote_id, quoted_fare, final_fare, trip_distance_m, fare_adjustment)
SELECT id, quote_id, quoted_fare, final_fare, trip_distance_m, fare_adjustment
FROM rides;

-- Children before parents (see the top).
DROP TABLE ledger_entries;
DROP TABLE event_recipients;
DROP TABLE ratings;
DROP TABLE offers;
DROP TABLE ride_drivers;
DROP TABLE postings;
DROP TABLE events;
DROP TABLE rides;

ALTER TABLE rides_new RENAME TO rides;
ALTER TABLE events_new RENAME TO events;
ALTER TABLE event_recipients_new RENAME TO event_recipients;
ALTER TABLE offers_new RENAME TO offers;
ALTER TABLE postings_new RENAME TO postings;
ALTER TABLE ledger_entries_new RENAME TO ledger_entries;
ALTER TABLE ratings_new RENAME TO ratings;

CREATE INDEX job_workers_worker ON job_workers (worker_id);
CREATE INDEX offers_worker_state ON offers (worker_id, state);
CREATE INDEX offers_state ON offers (state);
CREATE INDEX offer_jobs_job ON offer_jobs (job_id);
CREATE INDEX events_job ON events (job_id, id);
CREATE INDEX event_recipients_event ON event_recipients (event_id);
CREATE INDEX ledger_entries_posting ON ledger_entries (posting_id);
CREATE INDEX ledger_entries_account ON ledger_entries (account, at);
CREATE INDEX ratings_to ON ratings (to_id);
