-- Doorstep schema, PostgreSQL dialect. Keep in step with ../sqlite/0001_initial.sql: the two differ only
-- where the dialects do (the autoincrementing ids).
--
-- Column types are limited to what sqlx's Any driver reads on both backends: BIGINT (integers,
-- timestamps in milliseconds since the epoch, money in minor units, 0/1 flags), DOUBLE PRECISION
-- (coordinates) and TEXT (UUIDs, snake_case enum names, JSON documents).

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX users_role ON users (role);

-- Opaque bearer tokens, stored only as the SHA-256 hex of the token.
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE quotes (
    id          TEXT PRIMARY KEY NOT NULL,
    rider_id    TEXT NOT NULL REFERENCES users (id),
    pickup_lat  DOUBLE PRECISION NOT NULL,
    pickup_lng  DOUBLE PRECISION NOT NULL,
    dropoff_lat DOUBLE PRECISION NOT NULL,
    dropoff_lng DOUBLE PRECISION NOT NULL,
    fare        TEXT NOT NULL, -- FareBreakdown as JSON
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE rides (
    id                  TEXT PRIMARY KEY NOT NULL,
    rider_id            TEXT NOT NULL REFERENCES users (id),
    quote_id            TEXT NOT NULL UNIQUE, -- a quote makes at most one ride
    pickup_lat          DOUBLE PRECISION NOT NULL,
    pickup_lng          DOUBLE PRECISION NOT NULL,
    dropoff_lat         DOUBLE PRECISION NOT NULL,
    dropoff_lng         DOUBLE PRECISION NOT NULL,
    quoted_fare         TEXT NOT NULL, -- FareBreakdown as JSON
    final_fare          TEXT,          -- FareBreakdown as JSON, once completed
    state               TEXT NOT NULL,
    driver_id           TEXT REFERENCES users (id),
    pin                 TEXT NOT NULL,
    pickup_eta_s        BIGINT,
    excluded_drivers    TEXT NOT NULL, -- JSON array of user ids
    requested_at        BIGINT NOT NULL,
    assigned_at         BIGINT,
    arrived_at          BIGINT,
    started_at          BIGINT,
    ended_at            BIGINT,
    cancelled_by        TEXT,
    cancel_fee_minor    BIGINT,
    cancel_fee_currency TEXT,
    no_driver_reason    TEXT,
    idempotency_key     TEXT,
    version             BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    UNIQUE (rider_id, idempotency_key)
);
CREATE INDEX rides_rider ON rides (rider_id, requested_at);
CREATE INDEX rides_state ON rides (state, requested_at);

-- Every driver a ride was ever assigned to (rides.driver_id is cleared when a driver cancels).
CREATE TABLE ride_drivers (
    ride_id     TEXT NOT NULL REFERENCES rides (id),
    driver_id   TEXT NOT NULL REFERENCES users (id),
    assigned_at BIGINT NOT NULL,
    PRIMARY KEY (ride_id, driver_id)
);
CREATE INDEX ride_drivers_driver ON ride_drivers (driver_id);

CREATE TABLE offers (
    id                TEXT PRIMARY KEY NOT NULL,
    ride_id           TEXT NOT NULL REFERENCES rides (id),
    driver_id         TEXT NOT NULL REFERENCES users (id),
    state             TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    pickup_eta_s      BIGINT NOT NULL,
    pickup_distance_m BIGINT NOT NULL,
    fare_minor        BIGINT NOT NULL,
    fare_currency     TEXT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX offers_ride ON offers (ride_id);
CREATE INDEX offers_driver_state ON offers (driver_id, state);
CREATE INDEX offers_state ON offers (state);

-- The durable event log (the outbox). Ids only ever grow. Identity values are handed out before commit, so
-- writers take an EXCLUSIVE lock on this table before inserting: ids then become visible in order.
CREATE TABLE events (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ride_id   TEXT NOT NULL REFERENCES rides (id),
    rider_id  TEXT, -- who may see the event
    driver_id TEXT,
    kind      TEXT NOT NULL,
    payload   TEXT NOT NULL, -- RideEvent as JSON
    at        BIGINT NOT NULL
);
CREATE INDEX events_rider ON events (rider_id, id);
CREATE INDEX events_driver ON events (driver_id, id);
CREATE INDEX events_ride ON events (ride_id, id);

CREATE TABLE postings (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ride_id TEXT NOT NULL REFERENCES rides (id),
    kind    TEXT NOT NULL,
    at      BIGINT NOT NULL,
    UNIQUE (ride_id, kind)
);

CREATE TABLE ledger_entries (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    posting_id BIGINT NOT NULL REFERENCES postings (id),
    account    TEXT NOT NULL, -- Account::key()
    amount     BIGINT NOT NULL, -- minor units, negative debits
    currency   TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX ledger_entries_posting ON ledger_entries (posting_id);
CREATE INDEX ledger_entries_account ON ledger_entries (account, at);

CREATE TABLE ratings (
    ride_id TEXT NOT NULL REFERENCES rides (id),
    from_id TEXT NOT NULL REFERENCES users (id),
    to_id   TEXT NOT NULL REFERENCES users (id),
    stars   BIGINT NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment TEXT NOT NULL,
    at      BIGINT NOT NULL,
    PRIMARY KEY (ride_id, from_id)
);
CREATE INDEX ratings_to ON ratings (to_id);

-- The record of drivers for restarts and history; the hot state lives in the dispatcher.
CREATE TABLE drivers (
    user_id     TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    online      BIGINT NOT NULL DEFAULT 0, -- 0 or 1
    lat         DOUBLE PRECISION,
    lng         DOUBLE PRECISION,
    position_at BIGINT,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX drivers_online ON drivers (online);
