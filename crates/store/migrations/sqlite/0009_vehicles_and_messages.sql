-- Who is coming, and what they say (issue 10, item 3). Identical in both dialects.
--
-- A driver's car as riders see it, beside the worker's kind of vehicle (`vehicle`: car, motorbike,
-- bicycle): make, model, colour and number plate, all NULL until the driver registers them.
ALTER TABLE workers ADD COLUMN vehicle_make TEXT;
ALTER TABLE workers ADD COLUMN vehicle_model TEXT;
ALTER TABLE workers ADD COLUMN vehicle_colour TEXT;
ALTER TABLE workers ADD COLUMN vehicle_plate TEXT;

-- Messages between the parties of a job (a ride's rider and driver; food orders and house calls later),
-- kept for disputes. Each is also a durable event to its recipients (`events`, `message_sent`). A sender's
-- idempotency key makes a retried send return the first message.
CREATE TABLE job_messages (
    id              TEXT PRIMARY KEY NOT NULL,
    job_id          TEXT NOT NULL REFERENCES jobs (id),
    sender_id       TEXT NOT NULL REFERENCES users (id),
    sender_role     TEXT NOT NULL, -- customer | worker
    body            TEXT NOT NULL,
    idempotency_key TEXT,
    at              BIGINT NOT NULL,
    UNIQUE (job_id, sender_id, idempotency_key)
);
CREATE INDEX job_messages_job ON job_messages (job_id, at);
