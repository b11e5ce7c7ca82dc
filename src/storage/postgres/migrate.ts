/**
 * Applies the numbered SQL migrations to a PostgreSQL schema, and tells which are pending.
 *
 * Each migration runs in its own transaction, together with its row in `schema_migrations`, so a
 * failure rolls back that migration alone. Every transaction first takes a transaction-scoped
 * advisory lock keyed by the schema: concurrent callers (two hub processes, two `junction migrate`)
 * queue on it, and each re-reads what is applied once it holds the lock, so no migration is
 * applied twice. A transaction lock, rather than a session lock, is released by PostgreSQL
 * whatever happens to the process that held it.
 */
import type postgres from 'postgres';
import { checkSchemaName, connectionError, DEFAULT_SCHEMA, openClient } from './connection.js';
import {
  MigrationFailedError,
  MigrationSetupError,
  MigrationsPendingError,
  StoreUnavailableError,
} from './errors.js';
import { checkSequence, label, loadMigrations, type Migration } from './migrations.js';

/** `'JNCT'` as an int4: the advisory lock class of Junction's migrations, beside the schema's hash. */
const LOCK_CLASS = 0x4a4e4354;

export interface MigrateOptions {
  /** The schema holding Junction's tables (default `junction`); created if missing. */
  schema?: string;
  /** Called after each migration commits, so a CLI can print progress as it happens. */
  onApplied?: (migration: MigrationInfo) => void;
  /**
   * Replaces the shipped migrations. Internal: the tests inject a broken one with it.
   * @internal
   */
  migrations?: readonly Migration[];
}

/** A migration as reported to callers: `0001_initial` is `{ version: 1, name: 'initial' }`. */
export interface MigrationInfo {
  version: number;
  name: string;
  /** `0001_initial`. */
  label: string;
}

const info = (m: Migration): MigrationInfo => ({ version: m.version, name: m.name, label: label(m) });

function resolve(options: MigrateOptions): { schema: string; migrations: readonly Migration[] } {
  const schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA);
  const migrations = options.migrations ?? loadMigrations();
  checkSequence(migrations);
  return { schema, migrations };
}

/** Refuses a schema migrated by a newer Junction: this one would misread its tables. */
function checkNotNewer(schema: string, applied: readonly number[], migrations: readonly Migration[]): void {
  const unknown = applied.filter((v) => v > migrations.length);
  if (unknown.length > 0) {
    throw new MigrationSetupError(
      `Schema "${schema}" has migration(s) ${unknown.join(', ')}, unknown to this Junction (it knows 1..${migrations.length}): upgrade Junction.`,
    );
  }
}

/**
 * Applies every pending migration in order and returns those this call applied (empty when the
 * schema was up to date, or another caller applied them first).
 *
 * @example
 * const applied = await migrate('postgres://127.0.0.1/test', { schema: 'junction' });
 */
export async function migrate(url: string, options: MigrateOptions = {}): Promise<MigrationInfo[]> {
  const { schema, migrations } = resolve(options);
  // One connection: the migrations are sequential, and a pool would only hold idle sessions.
  const sql = openClient(url, { max: 1, application: 'junction migrate' });
  const applied: MigrationInfo[] = [];
  try {
    for (;;) {
      const next = await sql.begin((tx) => applyNext(tx, schema, migrations, url));
      if (!next) break;
      const done = info(next);
      applied.push(done);
      options.onApplied?.(done);
    }
    return applied;
  } catch (err) {
    throw connectionError(err, url);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** In one transaction: takes the lock, applies the first pending migration, and records it. */
async function applyNext(
  tx: postgres.TransactionSql,
  schema: string,
  migrations: readonly Migration[],
  url: string,
): Promise<Migration | undefined> {
  // TransactionSql loses the tagged-template call signature in the driver's typings (Omit on Sql).
  const q = tx as unknown as postgres.Sql;
  await q`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(${schema}))`;
  await q`CREATE SCHEMA IF NOT EXISTS ${q(schema)}`;
  await q`
    CREATE TABLE IF NOT EXISTS ${q(schema)}.schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
  const rows = await q<{ version: number }[]>`SELECT version FROM ${q(schema)}.schema_migrations`;
  const done = new Set(rows.map((r) => r.version));
  checkNotNewer(schema, [...done], migrations);
  const next = migrations.find((m) => !done.has(m.version));
  if (!next) return undefined;
  // The files name objects unqualified; SET LOCAL scopes the path to this transaction. The name
  // was checked to be a plain identifier, so quoting it here is enough.
  await q.unsafe(`SET LOCAL search_path TO "${schema}"`);
  try {
    await q.unsafe(next.sql).simple();
  } catch (cause) {
    const lost = connectionError(cause, url);
    throw lost instanceof StoreUnavailableError ? lost : new MigrationFailedError(label(next), { cause });
  }
  await q`INSERT INTO ${q(schema)}.schema_migrations (version, name) VALUES (${next.version}, ${next.name})`;
  return next;
}

/**
 * The migrations not yet applied to the schema, in order (all of them if the schema does not
 * exist). Reads only; takes no lock.
 */
export async function pendingMigrations(url: string, options: MigrateOptions = {}): Promise<MigrationInfo[]> {
  const { schema, migrations } = resolve(options);
  const sql = openClient(url, { max: 1, application: 'junction migrate' });
  try {
    const [found] = await sql<{ ok: boolean }[]>`
      SELECT to_regclass(${`"${schema}".schema_migrations`}) IS NOT NULL AS ok`;
    if (!found?.ok) return migrations.map(info);
    const rows = await sql<{ version: number }[]>`SELECT version FROM ${sql(schema)}.schema_migrations`;
    const done = rows.map((r) => r.version);
    checkNotNewer(schema, done, migrations);
    return migrations.filter((m) => !done.includes(m.version)).map(info);
  } catch (err) {
    throw connectionError(err, url);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Throws `MigrationsPendingError` unless the schema is fully migrated: what `junction serve`
 * will call at start-up once it takes `--store`.
 */
export async function assertMigrated(url: string, options: MigrateOptions = {}): Promise<void> {
  const pending = await pendingMigrations(url, options);
  if (pending.length > 0) {
    throw new MigrationsPendingError(
      options.schema ?? DEFAULT_SCHEMA,
      pending.map((m) => m.label),
    );
  }
}
