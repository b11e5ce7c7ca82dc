/**
 * The contract registry: event types, schema versions, lifecycles and converters, each write in
 * one statement together with its entry in `contract_changes`. The tables' triggers notify the
 * other processes in the same transaction (migration 0002).
 */
import type postgres from 'postgres';
import type { ContractChange, EventType, SchemaConverter, SchemaVersion } from '../ports.js';
import { type ConverterRow, iso, type SchemaVersionRow, toConverter, toSchemaVersion } from './rows.js';

type Change = Record<string, unknown>;

/**
 * Stores `schema` as version `expectedLatest + 1` unless another version was registered since the
 * caller checked against `expectedLatest`. Two processes racing for the same number meet on the
 * primary key: the second waits for the first to commit, inserts nothing, and gets null.
 */
export async function registerSchema(
  sql: postgres.Sql,
  settings: EventType,
  schema: unknown,
  expectedLatest: number,
  actor: string,
  change: Change,
): Promise<SchemaVersion | null> {
  const now = Date.now();
  const version = expectedLatest + 1;
  const type = settings.type;
  const rows = await sql<{ version: number }[]>`
    WITH latest AS (SELECT COALESCE(MAX(version), 0) AS v FROM schema_versions WHERE type = ${type}),
    ins AS (
      INSERT INTO schema_versions (type, version, schema, created_at, created_by)
      SELECT ${type}, ${version}, ${JSON.stringify(schema)}::text::json, ${now}, ${actor}
      FROM latest WHERE v = ${expectedLatest}
      ON CONFLICT (type, version) DO NOTHING
      RETURNING version
    ),
    settings AS (
      INSERT INTO event_types (type, body) SELECT ${type}, ${JSON.stringify(settings)}::text::jsonb FROM ins
      ON CONFLICT (type) DO UPDATE SET body = excluded.body
    ),
    logged AS (
      INSERT INTO contract_changes (type, at, actor, change)
      SELECT ${type}, ${now}, ${actor}, ${JSON.stringify({ ...change, version })}::text::jsonb FROM ins
    )
    SELECT version FROM ins`;
  if (rows.length === 0) return null;
  return {
    type,
    version,
    schema,
    createdAt: iso(now),
    createdBy: actor,
    deprecatedAt: null,
    sunsetAt: null,
  };
}

export async function saveEventType(
  sql: postgres.Sql,
  settings: EventType,
  actor: string,
  change: Change,
): Promise<void> {
  await sql`
    WITH saved AS (
      INSERT INTO event_types (type, body) VALUES (${settings.type}, ${JSON.stringify(settings)}::text::jsonb)
      ON CONFLICT (type) DO UPDATE SET body = excluded.body
    )
    INSERT INTO contract_changes (type, at, actor, change)
    VALUES (${settings.type}, ${Date.now()}, ${actor}, ${JSON.stringify(change)}::text::jsonb)`;
}

export async function getEventType(sql: postgres.Sql, type: string): Promise<EventType | undefined> {
  const [row] = await sql<{ body: EventType }[]>`SELECT body FROM event_types WHERE type = ${type}`;
  return row?.body;
}

export async function listEventTypes(sql: postgres.Sql): Promise<EventType[]> {
  const rows = await sql<{ body: EventType }[]>`SELECT body FROM event_types ORDER BY type`;
  return rows.map((r) => r.body);
}

export async function schemaVersions(sql: postgres.Sql, type: string): Promise<SchemaVersion[]> {
  const rows = await sql<
    SchemaVersionRow[]
  >`SELECT * FROM schema_versions WHERE type = ${type} ORDER BY version`;
  return rows.map(toSchemaVersion);
}

export async function getSchemaVersion(
  sql: postgres.Sql,
  type: string,
  version: number | undefined,
): Promise<SchemaVersion | undefined> {
  const [row] =
    version === undefined
      ? await sql<SchemaVersionRow[]>`
          SELECT * FROM schema_versions WHERE type = ${type} ORDER BY version DESC LIMIT 1`
      : await sql<SchemaVersionRow[]>`
          SELECT * FROM schema_versions WHERE type = ${type} AND version = ${version}`;
  return row ? toSchemaVersion(row) : undefined;
}

export async function contractChanges(sql: postgres.Sql, type: string): Promise<ContractChange[]> {
  const rows = await sql<{ id: number; type: string; at: number; actor: string; change: Change }[]>`
    SELECT * FROM contract_changes WHERE type = ${type} ORDER BY id`;
  return rows.map((r) => ({ id: r.id, type: r.type, at: iso(r.at), actor: r.actor, change: r.change }));
}

export async function setSchemaLifecycle(
  sql: postgres.Sql,
  type: string,
  version: number,
  lifecycle: { deprecatedAt: string | null; sunsetAt: string | null },
  actor: string,
  change: Change,
): Promise<boolean> {
  const ms = (t: string | null) => (t === null ? null : Date.parse(t));
  const rows = await sql`
    WITH found AS (
      UPDATE schema_versions SET deprecated_at = ${ms(lifecycle.deprecatedAt)}, sunset_at = ${ms(lifecycle.sunsetAt)}
      WHERE type = ${type} AND version = ${version}
      RETURNING type
    ),
    logged AS (
      INSERT INTO contract_changes (type, at, actor, change)
      SELECT type, ${Date.now()}, ${actor}, ${JSON.stringify(change)}::text::jsonb FROM found
    )
    SELECT 1 FROM found`;
  return rows.length > 0;
}

export async function saveConverter(sql: postgres.Sql, c: SchemaConverter, change: Change): Promise<void> {
  const at = Date.parse(c.createdAt);
  await sql`
    WITH saved AS (
      INSERT INTO schema_converters (type, from_version, to_version, expression, created_at, created_by)
      VALUES (${c.type}, ${c.from}, ${c.to}, ${c.expression}, ${at}, ${c.createdBy})
      ON CONFLICT (type, from_version, to_version) DO UPDATE SET
        expression = excluded.expression, created_at = excluded.created_at, created_by = excluded.created_by
    )
    INSERT INTO contract_changes (type, at, actor, change)
    VALUES (${c.type}, ${at}, ${c.createdBy}, ${JSON.stringify(change)}::text::jsonb)`;
}

export async function deleteConverter(
  sql: postgres.Sql,
  type: string,
  from: number,
  to: number,
  actor: string,
  change: Change,
): Promise<boolean> {
  const rows = await sql`
    WITH found AS (
      DELETE FROM schema_converters WHERE type = ${type} AND from_version = ${from} AND to_version = ${to}
      RETURNING type
    ),
    logged AS (
      INSERT INTO contract_changes (type, at, actor, change)
      SELECT type, ${Date.now()}, ${actor}, ${JSON.stringify(change)}::text::jsonb FROM found
    )
    SELECT 1 FROM found`;
  return rows.length > 0;
}

export async function converters(sql: postgres.Sql, type: string): Promise<SchemaConverter[]> {
  const rows = await sql<ConverterRow[]>`
    SELECT * FROM schema_converters WHERE type = ${type} ORDER BY from_version, to_version`;
  return rows.map(toConverter);
}
