/**
 * PostgreSQL for the store tests: the machine's server (database `test`), whether it answers, and
 * a schema of each test's own, dropped by its owner afterwards.
 */
import postgres from 'postgres';
import { canConnect } from './nats.js';

export const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Whether something accepts TCP connections at POSTGRES_URL's host and port. */
export function postgresReachable(): Promise<boolean> {
  const url = new URL(POSTGRES_URL);
  return canConnect(url.hostname || '127.0.0.1', Number(url.port || 5432));
}

/** A unique, valid schema name per test, so runs and parallel workers never share tables. */
export function uniqueSchema(label: string): string {
  return `t_${label}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/** A client on the test database, for checks the code under test does not offer. */
export function testClient(): postgres.Sql {
  return postgres(POSTGRES_URL, { max: 2, onnotice: () => {} });
}

/** Drops the schemas and everything in them. */
export async function dropSchemas(sql: postgres.Sql, schemas: Iterable<string>): Promise<void> {
  for (const schema of schemas) await sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`;
}
