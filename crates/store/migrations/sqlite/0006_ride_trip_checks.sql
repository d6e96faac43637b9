-- What the final fare of a completed ride rests on, and why it is what it is (issue 9, item 8):
--   trip_distance_m     metres charged for: the distance driven, summed from the driver's accepted positions
--                       (the street distance for a trip that reached its drop-off with none on the way)
--   fare_adjustment     'capped_at_maximum' or 'raised_to_minimum' when the fare was brought into its band
--                       around the quote; NULL when the tariff's fare stood
--   early_end           'far_from_dropoff' or 'position_unknown' when the driver completed the trip away from
--                       the drop-off; NULL when it ended there
--   dropoff_distance_m  metres from the drop-off at completion, when the driver's position was known
-- All NULL before completion and for rides completed before this migration. The same text in both dialects.
-- Numbered 0006: 0005 is reserved for another change.
ALTER TABLE rides ADD COLUMN trip_distance_m BIGINT;
ALTER TABLE rides ADD COLUMN fare_adjustment TEXT;
ALTER TABLE rides ADD COLUMN early_end TEXT;
ALTER TABLE rides ADD COLUMN dropoff_distance_m BIGINT;
