-- 0004_rate_limits: a subscription's rate limit, shared by every process on the schema, so that
-- two processes do not each send at the full rate. One row per limited subscription, as GCRA keeps
-- a token bucket: `tat` is when the bucket will be full again (epoch ms on the server's clock),
-- and `granted` what the last take was given, for that take to read back. Unlogged: after a crash
-- the buckets start full, which a restart does anyway, and the takes write no WAL.
CREATE UNLOGGED TABLE rate_limits (
  key text PRIMARY KEY,
  tat double precision NOT NULL,
  granted integer NOT NULL DEFAULT 0
);
