-- Payments (issue 10, item 6): a rider's stored payment methods (cards; cash and the wallet are built in),
-- the authorisation of each paid job (held at request, captured at completion, voided when the job ends
-- without a trip), wallets (a balance and what open authorisations hold, in minor units, never negative),
-- the wallet's movements (each under its own idempotency key), and the one tip a job may get.
CREATE TABLE payment_methods (
    id             TEXT PRIMARY KEY NOT NULL,  -- UUID
    user_id        TEXT NOT NULL REFERENCES users (id),
    kind           TEXT NOT NULL,              -- test_card (a real gateway's cards later)
    last4          TEXT,
    provider_token TEXT,                       -- the provider's token, never a card number
    created_at     BIGINT NOT NULL
);
CREATE INDEX payment_methods_user ON payment_methods (user_id, created_at);

CREATE TABLE payment_authorisations (
    job_id       TEXT PRIMARY KEY NOT NULL REFERENCES jobs (id),
    user_id      TEXT NOT NULL REFERENCES users (id),
    method_id    TEXT NOT NULL,                -- cash | wallet | a payment_methods id
    kind         TEXT NOT NULL,                -- cash | wallet | test_card
    state        TEXT NOT NULL,                -- authorised | captured | voided
    authorised   BIGINT NOT NULL,
    captured     BIGINT,
    uncollected  BIGINT NOT NULL DEFAULT 0,
    currency     TEXT NOT NULL,
    provider_ref TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX payment_authorisations_user ON payment_authorisations (user_id, created_at);

CREATE TABLE wallets (
    user_id    TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    currency   TEXT NOT NULL,
    balance    BIGINT NOT NULL,
    held       BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (held >= 0 AND held <= balance)
);

CREATE TABLE wallet_entries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         TEXT NOT NULL REFERENCES users (id),
    kind            TEXT NOT NULL,             -- top_up | fare | tip | cancellation_fee
    amount          BIGINT NOT NULL,           -- signed: in positive, out negative
    currency        TEXT NOT NULL,
    job_id          TEXT,                      -- the job it is for (a hold comes before the job exists)
    idempotency_key TEXT NOT NULL,
    at              BIGINT NOT NULL,
    UNIQUE (user_id, idempotency_key)
);

CREATE TABLE job_tips (
    job_id          TEXT PRIMARY KEY NOT NULL REFERENCES jobs (id),
    user_id         TEXT NOT NULL REFERENCES users (id),
    idempotency_key TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    method_id       TEXT NOT NULL,
    at              BIGINT NOT NULL
);
