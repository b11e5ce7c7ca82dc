-- 0002_leases_and_changes: several hub processes sharing one schema.
--
-- Leases: a process that reads a due delivery holds it for a while (`leased_until`, epoch ms), so
-- another process does not send it too. Recording an attempt clears the lease; a process that died
-- holding one loses it when it expires, and any other process may then take the delivery.
ALTER TABLE deliveries ADD COLUMN leased_by text, ADD COLUMN leased_until bigint;
-- The leases of a lane, for the time its held deliveries come free. Few rows: only those in flight.
CREATE INDEX deliveries_leased ON deliveries (subscription_id, channel, leased_until)
  WHERE leased_by IS NOT NULL;

-- Change notifications: every write to a subscription or to the contract registry notifies, in its
-- own transaction, on a channel named after the schema, so the other processes re-read what they
-- hold in memory. The payload names the writing process (`junction.owner`, set per session), so it
-- can skip its own changes; a write made by hand (psql) has none, and every process re-reads.
CREATE FUNCTION notify_subscription_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed text;
BEGIN
  IF TG_OP = 'DELETE' THEN changed := OLD.id; ELSE changed := NEW.id; END IF;
  PERFORM pg_notify(TG_TABLE_SCHEMA, json_build_object(
    'owner', current_setting('junction.owner', true), 'kind', 'subscription', 'id', changed)::text);
  RETURN NULL;
END
$$;

-- Identical notifications in one transaction are delivered once, so a registration that writes a
-- version, the type's settings and a converter still notifies once.
CREATE FUNCTION notify_contract_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed text;
BEGIN
  IF TG_OP = 'DELETE' THEN changed := OLD.type; ELSE changed := NEW.type; END IF;
  PERFORM pg_notify(TG_TABLE_SCHEMA, json_build_object(
    'owner', current_setting('junction.owner', true), 'kind', 'contract', 'type', changed)::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER subscriptions_changed AFTER INSERT OR UPDATE OR DELETE ON subscriptions
  FOR EACH ROW EXECUTE FUNCTION notify_subscription_change();
CREATE TRIGGER event_types_changed AFTER INSERT OR UPDATE OR DELETE ON event_types
  FOR EACH ROW EXECUTE FUNCTION notify_contract_change();
CREATE TRIGGER schema_versions_changed AFTER INSERT OR UPDATE OR DELETE ON schema_versions
  FOR EACH ROW EXECUTE FUNCTION notify_contract_change();
CREATE TRIGGER schema_converters_changed AFTER INSERT OR UPDATE OR DELETE ON schema_converters
  FOR EACH ROW EXECUTE FUNCTION notify_contract_change();
