-- Any number of recipients per event (customer, worker, merchant staff, operators), in place of the
-- rider_id / driver_id columns, and a cursor per recipient that replaces the table-wide lock on events
-- (crates/store/src/events.rs explains why the cursors keep resume gapless). Identical in both dialects.
-- Numbered 0005: 0006 is reserved for another change.

-- How many events each recipient has received: its sequence. A writer bumps (and so locks) the cursor of
-- every recipient of its events, in recipient order, before it inserts them.
CREATE TABLE event_cursors (
    recipient TEXT PRIMARY KEY NOT NULL, -- a user id
    last_seq  BIGINT NOT NULL
);

CREATE TABLE event_recipients (
    event_id  BIGINT NOT NULL REFERENCES events (id),
    recipient TEXT NOT NULL, -- a user id
    role      TEXT NOT NULL, -- customer | worker | merchant_staff | operator
    seq       BIGINT NOT NULL, -- 1, 2, 3, ... per recipient, in commit order
    PRIMARY KEY (recipient, event_id),
    UNIQUE (recipient, seq)
);
CREATE INDEX event_recipients_event ON event_recipients (event_id);

-- Every existing event keeps exactly the recipients it had: its rider as customer, its driver as worker.
INSERT INTO event_recipients (event_id, recipient, role, seq)
SELECT event_id, recipient, role, ROW_NUMBER() OVER (PARTITION BY recipient ORDER BY event_id)
FROM (
    SELECT id AS event_id, rider_id AS recipient, 'customer' AS role FROM events WHERE rider_id IS NOT NULL
    UNION ALL
    SELECT id AS event_id, driver_id AS recipient, 'worker' AS role FROM events WHERE driver_id IS NOT NULL
) AS audience;

INSERT INTO event_cursors (recipient, last_seq)
SELECT recipient, MAX(seq) FROM event_recipients GROUP BY recipient;

DROP INDEX events_rider;
DROP INDEX events_driver;
ALTER TABLE events DROP COLUMN rider_id;
ALTER TABLE events DROP COLUMN driver_id;
