-- 0007_backlog_index: the backlog gauges count pending deliveries and read the oldest one's creation
-- time per lane. With created_at carried in the due index, that is an index-only scan.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (subscription_id, channel, next_attempt_at) INCLUDE (created_at)
  WHERE next_attempt_at IS NOT NULL;
