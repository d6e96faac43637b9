-- The provider's safety tools during a house call (issue 12, item 5). Identical for SQLite and PostgreSQL.
--
-- `visit_shares`: links a provider gives a trusted contact to follow one visit. The link's token is a
-- capability (whoever holds it reads the visit's status until it expires), so only its SHA-256 is kept,
-- hex, as the key: a copy of the database gives nobody a working link. A revoked link has `revoked_at`.
--
-- `sos_alerts`: an alert a provider raised during a visit, with where they were if the server knew,
-- their note, and the operator who acknowledged it (written with that operator's audit entry in one
-- transaction). Open alerts (`acknowledged_at` NULL) are what the console shows first.

CREATE TABLE visit_shares (
    token_hash  TEXT PRIMARY KEY NOT NULL,      -- hex SHA-256 of the token; the token itself is never stored
    booking_id  TEXT NOT NULL REFERENCES bookings (id),
    provider_id TEXT NOT NULL REFERENCES users (id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX visit_shares_booking ON visit_shares (booking_id);

CREATE TABLE sos_alerts (
    id              TEXT PRIMARY KEY NOT NULL,
    booking_id      TEXT NOT NULL REFERENCES bookings (id),
    provider_id     TEXT NOT NULL REFERENCES users (id),
    lat             DOUBLE PRECISION,           -- the provider's believed position, if fresh
    lng             DOUBLE PRECISION,
    position_at     BIGINT,
    note            TEXT NOT NULL,              -- "" when none
    raised_at       BIGINT NOT NULL,
    acknowledged_by TEXT REFERENCES users (id),
    acknowledged_at BIGINT
);
CREATE INDEX sos_alerts_raised ON sos_alerts (raised_at);
CREATE INDEX sos_alerts_booking ON sos_alerts (booking_id);

-- The console's day of bookings across every provider reads by start alone.
CREATE INDEX bookings_start ON bookings (starts_at);
