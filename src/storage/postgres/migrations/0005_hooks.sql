-- 0005_hooks: inbound hooks, kept whole as JSON like subscriptions. No change notification: a
-- hook is read from here on every request it serves (hooks are low volume), so no process holds
-- one in memory that could go stale.
CREATE TABLE hooks (
  id text PRIMARY KEY,
  body jsonb NOT NULL
);
