-- The operations console acts (issue 10, item 7): an audit log of operator actions, suspended accounts,
-- phone numbers, and driver onboarding (approval and documents). Same in both dialects but for the
-- generated id of the audit log.

-- An optional phone number in E.164 (+12125550100), for search; and when an operator suspended the
-- account (NULL: not suspended). A suspended account cannot log in and its tokens answer 403.
ALTER TABLE users ADD COLUMN phone TEXT;
ALTER TABLE users ADD COLUMN suspended_at BIGINT;
CREATE INDEX users_phone ON users (phone);

-- A driver's approval by an operator. A driver without a row was made before onboarding existed (or by
-- a tool directly in the store) and counts as approved; a driver who signs up gets a row, `pending`
-- unless the server approves new drivers itself (`doorstep demo`).
CREATE TABLE driver_approvals (
    driver_id  TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    state      TEXT NOT NULL,      -- pending | approved | rejected
    reason     TEXT,               -- the operator's reason for the last decision
    decided_by TEXT REFERENCES users (id),
    updated_at BIGINT NOT NULL
);

-- The documents a driver declared: one per kind, replaced when uploaded again.
CREATE TABLE driver_documents (
    driver_id  TEXT NOT NULL REFERENCES users (id),
    kind       TEXT NOT NULL,      -- licence | insurance | vehicle_registration
    number     TEXT NOT NULL,
    expires_on TEXT NOT NULL,      -- YYYY-MM-DD, the last day it is valid
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (driver_id, kind)
);

-- Every operator action, written in the same transaction as the action. A retry of a request (same
-- actor, same Idempotency-Key) finds its entry instead of acting twice.
CREATE TABLE audit_log (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                BIGINT NOT NULL,
    actor_id          TEXT NOT NULL REFERENCES users (id),
    action            TEXT NOT NULL,
    target_kind       TEXT NOT NULL, -- ride | user
    target_id         TEXT NOT NULL,
    reason            TEXT NOT NULL,
    detail            TEXT NOT NULL, -- JSON object
    idempotency_key   TEXT,
    UNIQUE (actor_id, idempotency_key)
);
CREATE INDEX audit_log_target ON audit_log (target_id, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
