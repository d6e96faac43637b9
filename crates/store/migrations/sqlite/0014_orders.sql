-- Food orders and promo codes (issue 11, item 2). Identical for SQLite and PostgreSQL.
--
-- An order is a delivery job (`jobs`, `job_stops`: the pickup at the restaurant whose window opens when the
-- food is ready, the drop-off with the hand-over code) with its own record on top, sharing the job's id as
-- `rides` does. The record (priced lines, the checkout quote, the kitchen's progress, the promise and the
-- live estimate) is one JSON document written with the job under the job's version; `kitchen` repeats the
-- kitchen's state for the merchant's queue. `request_hash` is the SHA-256 of the placement request, so a
-- reused Idempotency-Key with another body is told apart from a retry.
--
-- A promo code's uses are counted by conditional updates (`used < total_limit`, and per customer
-- `used < per_user_limit`) in the placement's transaction, so two orders racing for the last use cannot
-- both get it; an order rejected or cancelled before the kitchen accepted it gives its use back.

CREATE TABLE orders (
    id           TEXT PRIMARY KEY NOT NULL REFERENCES jobs (id),
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    customer_id  TEXT NOT NULL REFERENCES users (id),
    kitchen      TEXT NOT NULL,          -- placed | accepted | preparing | ready | rejected
    record       TEXT NOT NULL,          -- the OrderRecord as JSON
    promo_code   TEXT,
    request_hash TEXT NOT NULL,
    placed_at    BIGINT NOT NULL
);
CREATE INDEX orders_merchant ON orders (merchant_id, placed_at);
CREATE INDEX orders_customer ON orders (customer_id, placed_at);

CREATE TABLE promos (
    code           TEXT PRIMARY KEY NOT NULL,   -- upper case
    id             TEXT NOT NULL UNIQUE,        -- what the audit log names
    rules          TEXT NOT NULL,               -- the Promo as JSON
    total_limit    BIGINT NOT NULL,
    per_user_limit BIGINT NOT NULL,
    used           BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL
);

CREATE TABLE promo_customer_uses (
    code        TEXT NOT NULL REFERENCES promos (code),
    customer_id TEXT NOT NULL REFERENCES users (id),
    used        BIGINT NOT NULL,
    PRIMARY KEY (code, customer_id)
);
