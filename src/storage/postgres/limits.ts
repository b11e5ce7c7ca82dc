/**
 * Rate limits shared by every process on the schema: `takeFromBucket` (records.ts) in one
 * statement, on the server's clock so that processes on machines whose clocks disagree still
 * share one schedule. The row's lock orders concurrent takes; each reads the `tat` the one before
 * it left.
 */
import type postgres from 'postgres';
import type { TokenGrant } from '../ports.js';

export async function takeTokens(
  sql: postgres.Sql,
  key: string,
  perSecond: number,
  burst: number,
  n: number,
  seeded = false,
): Promise<TokenGrant> {
  const interval = 1000 / perSecond;
  const [row] = await sql<{ tat: number; granted: number; now: number }[]>`
    WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now),
    seeded AS (
      INSERT INTO rate_limits (key, tat) SELECT ${key}, now FROM clock
      ON CONFLICT (key) DO NOTHING
    )
    UPDATE rate_limits r SET
      granted = g.granted,
      tat = g.base + g.granted * ${interval}::float8
    FROM (
      SELECT greatest(0, least(${Math.max(1, n)}::int,
          floor((${burst}::float8 * ${interval}::float8 - (greatest(l.tat, c.now) - c.now)) / ${interval}::float8 + 1e-9)))::int AS granted,
        greatest(l.tat, c.now) AS base, c.now
      FROM rate_limits l, clock c WHERE l.key = ${key} FOR UPDATE OF l
    ) g
    WHERE r.key = ${key}
    RETURNING r.tat, r.granted, g.now`;
  if (row === undefined) {
    // The first take of a key: the statement seeded its row but cannot see it yet. Take again, once.
    if (!seeded) return takeTokens(sql, key, perSecond, burst, n, true);
    return { granted: 0, waitMs: interval };
  }
  const waitMs = row.granted > 0 ? 0 : Math.max(0, row.tat + interval - burst * interval - row.now);
  return { granted: row.granted, waitMs };
}
