-- 0006_event_search: the dashboard's event search. The searched fields become stored generated
-- columns, which PostgreSQL fills from the body at every insert (and, here, for every existing
-- row, in the table rewrite this migration makes), so ingest sends nothing more. Each index is led
-- by its field and ends in seq, so a page is one index range read backwards from the cursor; the
-- sparse fields get partial indexes, so events without them cost no index entry. Subjects compare
-- in "C" (byte) order, so a subject prefix is one index range.
ALTER TABLE events
  ADD COLUMN subject text COLLATE "C" GENERATED ALWAYS AS (body ->> 'subject') STORED,
  ADD COLUMN correlation_id text GENERATED ALWAYS AS (body ->> 'correlationid') STORED,
  ADD COLUMN trace_id text GENERATED ALWAYS AS (substr(body ->> 'traceparent', 4, 32)) STORED;
CREATE INDEX events_by_source ON events (source, seq);
CREATE INDEX events_by_subject ON events (subject, seq) WHERE subject IS NOT NULL;
CREATE INDEX events_by_correlation ON events (correlation_id, seq) WHERE correlation_id IS NOT NULL;
CREATE INDEX events_by_trace ON events (trace_id, seq) WHERE trace_id IS NOT NULL;
