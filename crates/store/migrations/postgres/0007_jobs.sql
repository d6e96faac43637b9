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
-- PostgreSQL changes the tables in place with ALTER TABLE; the SQLite migration rebuilds them and reaches
-- the same schema (the agreement check in the store suite compares the two). The values are translated as
-- crates/store/src/jobs.rs and rides.rs write them: ride states to job and stop states, `rider`/`admin`
-- cancellations to `customer`/`operator`, no-driver reasons to unfulfilled reasons.
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

DROP TABLE ride_drivers;

CREATE TABLE offer_jobs (
    offer_id TEXT NOT NULL REFERENCES offers (id),
    job_id   TEXT NOT NULL REFERENCES jobs (id),
    PRIMARY KEY (offer_id, job_id)
);
INSERT INTO offer_jobs (offer_id, job_id) SELECT id, ride_id FROM offers;
ALTER TABLE offers DROP COLUMN ride_id; -- its index and reference go with it
ALTER TABLE offers RENAME COLUMN driver_id TO worker_id;
ALTER TABLE offers RENAME COLUMN pickup_eta_s TO eta_s;
ALTER TABLE offers RENAME COLUMN pickup_distance_m TO distance_m;
ALTER INDEX offers_driver_state RENAME TO offers_worker_state;

ALTER TABLE events RENAME COLUMN ride_id TO job_id;
ALTER TABLE events DROP CONSTRAINT events_ride_id_fkey;
ALTER TABLE events ADD FOREIGN KEY (job_id) REFERENCES jobs (id);
ALTER INDEX events_ride RENAME TO events_job;

ALTER TABLE postings RENAME COLUMN ride_id TO job_id;
ALTER TABLE postings DROP CONSTRAINT postings_ride_id_fkey;
ALTER TABLE postings DROP CONSTRAINT postings_ride_id_kind_key;
ALTER TABLE postings ADD FOREIGN KEY (job_id) REFERENCES jobs (id);
ALTER TABLE postings ADD COLUMN idempotency_key TEXT;
UPDATE postings SET idempotency_key = kind;
ALTER TABLE postings ALTER COLUMN idempotency_key SET NOT NULL;
ALTER TABLE postings ADD UNIQUE (job_id, idempotency_key);

ALTER TABLE ratings RENAME COLUMN ride_id TO job_id;
ALTER TABLE ratings DROP CONSTRAINT ratings_ride_id_fkey;
ALTER TABLE ratings DROP CONSTRAINT ratings_pkey;
ALTER TABLE ratings ADD FOREIGN KEY (job_id) REFERENCES jobs (id);
ALTER TABLE ratings ADD PRIMARY KEY (job_id, from_id, to_id);

-- What stays in `rides` is the ride's own record; the rest now lives in jobs and job_stops.
ALTER TABLE rides
    DROP COLUMN rider_id, DROP COLUMN pickup_lat, DROP COLUMN pickup_lng, DROP COLUMN dropoff_lat,
    DROP COLUMN dropoff_lng, DROP COLUMN state, DROP COLUMN driver_id, DROP COLUMN pin,
    DROP COLUMN pin_failed_attempts, DROP COLUMN pickup_eta_s, DROP COLUMN excluded_drivers,
    DROP COLUMN requested_at, DROP COLUMN assigned_at, DROP COLUMN arrived_at, DROP COLUMN started_at,
    DROP COLUMN ended_at, DROP COLUMN cancelled_by, DROP COLUMN cancel_fee_minor, DROP COLUMN cancel_fee_currency,
    DROP COLUMN no_driver_reason, DROP COLUMN idempotency_key, DROP COLUMN version, DROP COLUMN updated_at,
    -- a ride's early end and distance from the drop-off are its drop-off stop's completion (copied above)
    DROP COLUMN early_end, DROP COLUMN dropoff_distance_m;
ALTER TABLE rides ADD FOREIGN KEY (id) REFERENCES jobs (id);

CREATE INDEX job_workers_worker ON job_workers (worker_id);
CREATE INDEX offer_jobs_job ON offer_jobs (job_id);
