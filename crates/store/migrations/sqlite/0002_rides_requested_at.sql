CREATE INDEX rides_requested_at ON rides (requested_at);
