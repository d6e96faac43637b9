-- Single-use tickets that open the WebSocket event stream (`GET /v1/events?ticket=...`), so that bearer
-- tokens never travel in a URL. Like sessions, only the SHA-256 hex of a ticket is stored; a ticket is
-- consumed by deleting its row (one statement, so two sockets can never share one), and expired rows are
-- purged now and then. Kept in the database rather than in memory so that every server node sees them.
-- Identical for SQLite and PostgreSQL.

CREATE TABLE ws_tickets (
    digest     TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX ws_tickets_expires ON ws_tickets (expires_at);
