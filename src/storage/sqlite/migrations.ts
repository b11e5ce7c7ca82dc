/**
 * Numbered schema migrations for the embedded store, applied in order at open and tracked in
 * SQLite's `user_version`. Never edit a released migration; add the next one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: events, subscriptions, deliveries and their attempts.
  `
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (source, id)
  );
  CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
  );
  CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    event_seq INTEGER NOT NULL REFERENCES events (seq),
    webhook_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    budget_attempts INTEGER NOT NULL DEFAULT 0,
    budget_since INTEGER NOT NULL,
    next_attempt_at INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
  CREATE INDEX deliveries_by_subscription ON deliveries (subscription_id, id);
  CREATE INDEX deliveries_dead ON deliveries (subscription_id, id) WHERE status = 'dead';
  CREATE INDEX deliveries_by_event ON deliveries (event_seq);
  CREATE TABLE attempts (
    delivery_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    at INTEGER NOT NULL,
    status INTEGER,
    outcome TEXT NOT NULL,
    latency_ms REAL NOT NULL,
    error TEXT,
    response TEXT,
    PRIMARY KEY (delivery_id, n)
  ) WITHOUT ROWID;
  `,
  // 2: channels, ordering by partition key, replays, and lookups by lane and by time.
  `
  ALTER TABLE events ADD COLUMN channel TEXT NOT NULL DEFAULT 'default';
  CREATE INDEX events_by_time ON events (received_at);
  ALTER TABLE deliveries ADD COLUMN channel TEXT NOT NULL DEFAULT 'default';
  ALTER TABLE deliveries ADD COLUMN order_key TEXT;
  ALTER TABLE deliveries ADD COLUMN dead_blocks INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE deliveries ADD COLUMN replay_id TEXT;
  ALTER TABLE deliveries ADD COLUMN batch_id TEXT;
  DROP INDEX deliveries_due;
  CREATE INDEX deliveries_due ON deliveries (subscription_id, channel, next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
  CREATE INDEX deliveries_unsettled_keys ON deliveries (subscription_id, order_key, event_seq)
    WHERE order_key IS NOT NULL
      AND (status IN ('pending', 'retrying') OR (status = 'dead' AND dead_blocks = 1));
  CREATE INDEX deliveries_of_batch ON deliveries (batch_id) WHERE batch_id IS NOT NULL;
  CREATE INDEX events_by_channel_time ON events (channel, received_at);
  CREATE UNIQUE INDEX deliveries_of_replay ON deliveries (replay_id, event_seq) WHERE replay_id IS NOT NULL;
  CREATE TABLE replays (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
  );
  `,
  // 3: the schema registry: event types with their settings, schema versions, and who changed what.
  `
  CREATE TABLE event_types (
    type TEXT PRIMARY KEY,
    body TEXT NOT NULL
  );
  CREATE TABLE schema_versions (
    type TEXT NOT NULL,
    version INTEGER NOT NULL,
    schema TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (type, version)
  ) WITHOUT ROWID;
  CREATE TABLE contract_changes (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    change TEXT NOT NULL
  );
  CREATE INDEX contract_changes_by_type ON contract_changes (type, id);
  `,
  // 4: contracts at work: the version each event was checked against (and what was wrong under
  // warn), version lifecycles, converters between adjacent versions, conversions on deliveries.
  `
  ALTER TABLE events ADD COLUMN contract TEXT;
  ALTER TABLE deliveries ADD COLUMN conversion TEXT;
  ALTER TABLE schema_versions ADD COLUMN deprecated_at INTEGER;
  ALTER TABLE schema_versions ADD COLUMN sunset_at INTEGER;
  CREATE TABLE schema_converters (
    type TEXT NOT NULL,
    from_version INTEGER NOT NULL,
    to_version INTEGER NOT NULL,
    expression TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (type, from_version, to_version)
  ) WITHOUT ROWID;
  `,
  // 5: the latest events of a type, for simulation (and the dashboard's search by type).
  `
  CREATE INDEX events_by_type ON events (type, seq);
  `,
  // 6: inbound hooks, kept whole as JSON like subscriptions.
  `
  CREATE TABLE hooks (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
  );
  `,
  // 7: the dashboard's event search. The searched fields are virtual columns read from the body
  // when an index needs them, so existing rows need no backfill and ingest writes nothing more;
  // the indexes on the sparse ones are partial, so events without the field cost no index entry.
  `
  ALTER TABLE events ADD COLUMN subject TEXT GENERATED ALWAYS AS (json_extract(body, '$.subject')) VIRTUAL;
  ALTER TABLE events ADD COLUMN correlation_id TEXT
    GENERATED ALWAYS AS (json_extract(body, '$.correlationid')) VIRTUAL;
  ALTER TABLE events ADD COLUMN trace_id TEXT
    GENERATED ALWAYS AS (substr(json_extract(body, '$.traceparent'), 4, 32)) VIRTUAL;
  CREATE INDEX events_by_source ON events (source, seq);
  CREATE INDEX events_by_subject ON events (subject, seq) WHERE subject IS NOT NULL;
  CREATE INDEX events_by_correlation ON events (correlation_id, seq) WHERE correlation_id IS NOT NULL;
  CREATE INDEX events_by_trace ON events (trace_id, seq) WHERE trace_id IS NOT NULL;
  `,
  // 8: the backlog gauges count pending deliveries and read the oldest one's creation time per lane.
  // With created_at in the due index the grouping reads the index alone, never the table's rows.
  `
  DROP INDEX deliveries_due;
  CREATE INDEX deliveries_due ON deliveries (subscription_id, channel, next_attempt_at, created_at)
    WHERE next_attempt_at IS NOT NULL;
  `,
];
