/**
 * Opening a PostgreSQL client for Junction: the address and schema checked once, driver notices
 * silenced, and connection failures turned into a `StoreUnavailableError` that says what to check.
 */
import postgres from 'postgres';
import { MigrationSetupError, StoreUnavailableError } from './errors.js';

/** The schema Junction's tables live in unless told otherwise. */
export const DEFAULT_SCHEMA = 'junction';

/**
 * Lower-case identifiers only, so the name never needs quoting in `search_path`, `psql` or an
 * operator's own queries; 63 bytes is PostgreSQL's identifier limit.
 */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Throws unless `schema` is a plain lower-case identifier PostgreSQL keeps as written. */
export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema) || schema.startsWith('pg_')) {
    throw new MigrationSetupError(
      `Invalid schema name "${schema}": use lower-case letters, digits and _ (not starting with a digit or pg_), up to 63 characters.`,
    );
  }
  return schema;
}

/** The address without its password, for messages and logs. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable address)';
  }
}

export interface ClientOptions {
  max?: number;
  application?: string;
  /** Sets `search_path` on every session, so queries name tables unqualified. */
  schema?: string;
  /** Session settings sent at connect time (custom ones need a dotted name, `junction.owner`). */
  settings?: Record<string, string>;
  /** Seconds to wait for a session to open. */
  connectTimeout?: number;
  /** Parses `bigint` (epoch milliseconds, sequence numbers, counts) as a JavaScript number. */
  bigintAsNumber?: boolean;
  /** Keeps a session open however long it lives, for a session that LISTENs. */
  keepOpen?: boolean;
  /** Called for NOTIFY messages that arrive on any of the client's sessions. */
  onnotify?: (channel: string, payload: string) => void;
  /** Called when one of the client's sessions closes, for whatever reason. */
  onclose?: () => void;
}

/**
 * `bigint` as a number: the store's bigints are epoch milliseconds and sequence numbers, far below
 * 2^53, and the driver would otherwise hand them over as strings.
 */
const BIGINT_AS_NUMBER = {
  int8: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
};

/** The longest pause between attempts to open a session, in seconds. */
const RECONNECT_CAP_S = 1;

/**
 * The pause before a session is opened again after a failed attempt, in seconds: the driver's own
 * shape (growing with the failures, jittered by half) but capped at one second instead of its 20.
 * The driver counts failures across the whole pool and resets the count only when a session opens,
 * so during an outage its delay reached the cap within seconds, and once PostgreSQL was back the
 * hub's health probe waited for that delay: ingest kept answering 503 for up to 20 s (7 s measured
 * in test/integration/postgres-recovery.test.ts). Attempts are only made for queries, at most one per
 * pooled session, and a refused connection costs the server nothing, so a one-second cap is safe.
 */
export function reconnectDelay(failures: number): number {
  return (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** failures, RECONNECT_CAP_S);
}

/** Opens a client (no connection is made until the first query). */
export function openClient(url: string, options: ClientOptions = {}): postgres.Sql {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new MigrationSetupError(
      `Invalid PostgreSQL address "${url}": expected postgres://user@host:5432/db.`,
      {
        cause,
      },
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new MigrationSetupError(
      `Invalid PostgreSQL address "${redact(url)}": it must start with postgres:// or postgresql://.`,
    );
  }
  const sql = postgres(url, {
    max: options.max ?? 10,
    // Seconds. A down server answers at once with ECONNREFUSED; this bounds a black-holed one.
    connect_timeout: options.connectTimeout ?? 10,
    backoff: reconnectDelay,
    // `CREATE … IF NOT EXISTS` raises notices on every run after the first; they are not news.
    onnotice: () => {},
    connection: {
      application_name: options.application ?? 'junction',
      ...(options.schema ? { search_path: options.schema } : {}),
      ...options.settings,
    },
    ...(options.bigintAsNumber ? { types: BIGINT_AS_NUMBER } : {}),
    ...(options.keepOpen ? { max_lifetime: null } : {}),
    ...(options.onnotify ? { onnotify: options.onnotify } : {}),
    ...(options.onclose ? { onclose: options.onclose } : {}),
  });
  // The custom type only changes how bigints are parsed; the tagged-template API is the same.
  return sql as unknown as postgres.Sql;
}

/** Errors the driver or the socket raise when no session could be opened at all. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '28000', // invalid_authorization_specification (no pg_hba.conf entry, unknown role)
  '28P01', // invalid_password
  '3D000', // invalid_catalog_name: the database does not exist
  '57P01', // admin_shutdown: the session was terminated (server stopping, pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or shutting down
  '53300', // too_many_connections
  '08000', // connection_exception, and the class's codes below
  '08001',
  '08003',
  '08004',
  '08006',
  'EPIPE',
]);

/**
 * Returns a `StoreUnavailableError` for a connection failure, else `err` unchanged, so that SQL
 * errors (a broken migration) keep their own meaning.
 */
export function connectionError(err: unknown, url: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !CONNECTION_CODES.has(code)) return err;
  const reason = err instanceof Error ? err.message : code;
  return new StoreUnavailableError(
    `Cannot use PostgreSQL at ${redact(url)} (${reason}): check that the server is running and reachable, ` +
      'that the database exists, and the user and password in --store (or JUNCTION_STORE).',
    { cause: err },
  );
}
