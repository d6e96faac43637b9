-- House calls (issue 12). Identical for SQLite and PostgreSQL.
--
-- The catalogue (`hc_services`: each service as one JSON document beside the columns queries need), providers
-- (`providers`: the profile as JSON — bio, home base, area, daily cap, weekly hours, time off — with the
-- operator's approval and the calendar's version) and the services each offers (`provider_services`).
--
-- A booking is a house-call job (`jobs`, `job_stops`: one service stop whose window is the booked start and
-- whose service time is the appointment and its buffer) with its record on top, sharing the job's id as
-- `orders` does. `provider_id`, `starts_at` and `ends_at` repeat the job's worker and window for the
-- calendar's range reads and are written with the job.
--
-- Every write that takes or gives back a provider's time (a hold, a booking, a reschedule, a cancellation)
-- bumps `providers.calendar_version` with `WHERE calendar_version = <the version the feasibility check
-- read>` in its transaction: two customers racing for the last slot both check against version v, one
-- commits v + 1, the other's conditional update finds no row, re-reads and checks again.
--
-- A hold keeps a slot for one customer during checkout until `expires_at`; expired holds are ignored by
-- every read and deleted by the minute sweep.

CREATE TABLE hc_services (
    id           TEXT PRIMARY KEY NOT NULL,
    record       TEXT NOT NULL,              -- the HcService as JSON
    active       BIGINT NOT NULL,            -- 1: bookable
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE providers (
    user_id          TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    profile          TEXT NOT NULL,          -- the profile as JSON
    approval         TEXT NOT NULL,          -- pending | approved | rejected | suspended
    calendar_version BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE provider_services (
    provider_id TEXT NOT NULL REFERENCES providers (user_id),
    service_id  TEXT NOT NULL REFERENCES hc_services (id),
    PRIMARY KEY (provider_id, service_id)
);
CREATE INDEX provider_services_service ON provider_services (service_id);

CREATE TABLE bookings (
    id           TEXT PRIMARY KEY NOT NULL REFERENCES jobs (id),
    customer_id  TEXT NOT NULL REFERENCES users (id),
    provider_id  TEXT NOT NULL REFERENCES users (id),
    service_id   TEXT NOT NULL REFERENCES hc_services (id),
    starts_at    BIGINT NOT NULL,
    ends_at      BIGINT NOT NULL,
    record       TEXT NOT NULL,              -- the BookingRecord as JSON
    request_hash TEXT NOT NULL,
    booked_at    BIGINT NOT NULL
);
CREATE INDEX bookings_provider ON bookings (provider_id, starts_at);
CREATE INDEX bookings_customer ON bookings (customer_id, starts_at);

CREATE TABLE booking_holds (
    id          TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES users (id),
    provider_id TEXT NOT NULL REFERENCES users (id),
    service_id  TEXT NOT NULL REFERENCES hc_services (id),
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    lat         DOUBLE PRECISION NOT NULL,
    lng         DOUBLE PRECISION NOT NULL,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX booking_holds_provider ON booking_holds (provider_id, starts_at);

-- Either party of a house call can block the other from future bookings: a block in either direction
-- keeps the two apart in availability, booking and re-optimisation.
CREATE TABLE user_blocks (
    blocker_id TEXT NOT NULL REFERENCES users (id),
    blocked_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX user_blocks_blocked ON user_blocks (blocked_id);
