-- Merchants and menus for food delivery (issue 11, item 1). Identical for SQLite and PostgreSQL.
--
-- A merchant (a restaurant) is created by an operator, pending until approved; only approved merchants
-- are shown to customers. Its staff are accounts of role `merchant`, each on the staff of one merchant at
-- most. Opening hours are one row per weekday and one per dated exception, each a list of ranges in the
-- city's local time written as on the wire: `11:00-15:00 18:00-02:00` (a close at or before the open is on
-- the next day; '' is closed all day).
--
-- The menu is one versioned JSON document per merchant (`merchant_menus`): an import replaces it whole in
-- one statement, a sold-out toggle rewrites it under its version, and the order side reads the menu it
-- prices a cart with, and every item price in it, in one row: a consistent snapshot by construction, where
-- a dozen normalised tables would need a transaction to read and ten statements to replace. Its version
-- grows with every change, so an order can say which menu it was priced against. `menu_items` indexes the
-- document's item ids by merchant (rewritten with the document): it answers "whose item is this" for a
-- cart line naming another merchant's item, and keeps item ids unique across merchants.

CREATE TABLE merchants (
    id                TEXT PRIMARY KEY NOT NULL,
    status            TEXT NOT NULL,              -- pending | approved | suspended
    name              TEXT NOT NULL,
    cuisines          TEXT NOT NULL DEFAULT '',   -- cuisine tags separated by spaces
    address           TEXT NOT NULL,
    lat               DOUBLE PRECISION NOT NULL,
    lng               DOUBLE PRECISION NOT NULL,
    delivery_radius_m BIGINT NOT NULL,
    prep_minutes      BIGINT NOT NULL,
    paused            BIGINT NOT NULL DEFAULT 0,  -- 1: no new orders (until paused_until, if set)
    paused_until      BIGINT,
    busy_minutes      BIGINT,                     -- busy mode: minutes added to every preparation
    busy_until        BIGINT,
    max_open_orders   BIGINT,                     -- the cap on open orders, if any
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX merchants_status ON merchants (status, lat, lng);

CREATE TABLE merchant_staff (
    user_id     TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    added_at    BIGINT NOT NULL
);
CREATE INDEX merchant_staff_merchant ON merchant_staff (merchant_id);

CREATE TABLE merchant_hours (
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    weekday     BIGINT NOT NULL,                  -- 0 Monday .. 6 Sunday
    ranges      TEXT NOT NULL,
    PRIMARY KEY (merchant_id, weekday)
);

CREATE TABLE merchant_hour_exceptions (
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    on_date     TEXT NOT NULL,                    -- YYYY-MM-DD, local
    ranges      TEXT NOT NULL,
    PRIMARY KEY (merchant_id, on_date)
);

CREATE TABLE merchant_menus (
    merchant_id TEXT PRIMARY KEY NOT NULL REFERENCES merchants (id),
    version     BIGINT NOT NULL,
    document    TEXT NOT NULL,                    -- JSON: the menu with every id
    updated_at  BIGINT NOT NULL
);

CREATE TABLE menu_items (
    item_id     TEXT PRIMARY KEY NOT NULL,
    merchant_id TEXT NOT NULL REFERENCES merchants (id)
);
CREATE INDEX menu_items_merchant ON menu_items (merchant_id);
