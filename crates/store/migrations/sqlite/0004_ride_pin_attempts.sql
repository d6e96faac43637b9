-- Wrong PINs tried since the ride's PIN was (re)issued: the PIN locks at the configured limit, and the
-- count must survive a restart. (The PIN itself now changes too: a rider may issue a new one.)
-- Numbered 0004: 0003 is reserved for another change.
ALTER TABLE rides ADD COLUMN pin_failed_attempts BIGINT NOT NULL DEFAULT 0;
