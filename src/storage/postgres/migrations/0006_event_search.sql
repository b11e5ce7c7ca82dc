-- 0006_event_search: the dashboard's event search. The searched fields get columns of their own,
-- filled at append from the parsed event (not generated from the body: `->>` on a json body
-- fails for the whole document when any string in it holds \u0000 or a lone surrogate, which
-- ingest accepts). Each index is led by its field and ends in seq, so a page is one index range
-- read backwards from the cursor; the sparse fields get partial indexes, so events without them
-- cost no index entry. Subjects compare in "C" (byte) order, so a subject prefix is one range.
ALTER TABLE events
  ADD COLUMN subject text COLLATE "C",
  ADD COLUMN correlation_id text,
  ADD COLUMN trace_id text;

-- The backfill reads each stored body once; a body PostgreSQL cannot take apart (see above) keeps
-- null fields, so such an event is found by the other filters only.
CREATE FUNCTION pg_temp.search_fields(body json) RETURNS text[] LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN ARRAY[body ->> 'subject', body ->> 'correlationid', substr(body ->> 'traceparent', 4, 32)];
EXCEPTION WHEN others THEN
  RETURN ARRAY[NULL, NULL, NULL]::text[];
END $$;
UPDATE events SET subject = f[1], correlation_id = f[2], trace_id = f[3]
FROM (SELECT seq AS s, pg_temp.search_fields(body) AS f FROM events) fields
WHERE seq = fields.s AND (f[1] IS NOT NULL OR f[2] IS NOT NULL OR f[3] IS NOT NULL);

CREATE INDEX events_by_source ON events (source, seq);
CREATE INDEX events_by_subject ON events (subject, seq) WHERE subject IS NOT NULL;
CREATE INDEX events_by_correlation ON events (correlation_id, seq) WHERE correlation_id IS NOT NULL;
CREATE INDEX events_by_trace ON events (trace_id, seq) WHERE trace_id IS NOT NULL;
