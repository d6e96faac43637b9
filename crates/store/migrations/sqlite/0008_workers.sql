-- One worker model (issue 9, item 2): drivers, couriers and providers are workers, each with capabilities
-- (how it moves, how much it carries, what services it can do) beside its online state and last position.
-- A driver is a worker with a car and room for one ride. The hot state (route, offers) stays in memory;
-- this is what it is rebuilt from. Identical in both dialects (no table references `drivers`).
CREATE TABLE workers (
    user_id     TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    vehicle     TEXT,                     -- car | motorbike | bicycle; NULL: on foot or any means
    capacity    BIGINT NOT NULL,          -- in the unit jobs use for their load (seats, bags)
    skills      TEXT NOT NULL,            -- JSON array of skills
    online      BIGINT NOT NULL DEFAULT 0, -- 0 or 1
    lat         DOUBLE PRECISION,
    lng         DOUBLE PRECISION,
    position_at BIGINT,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX workers_online ON workers (online);

INSERT INTO workers (user_id, vehicle, capacity, skills, online, lat, lng, position_at, updated_at)
SELECT user_id, 'car', 1, '[]', online, lat, lng, position_at, updated_at FROM drivers;

DROP TABLE drivers;
