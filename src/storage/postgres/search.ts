/**
 * The event search on PostgreSQL: the same indexes as the embedded store's (migration 0006), each
 * led by its field and ending in seq, and the same keyset paging, newest first.
 */
import type postgres from 'postgres';
import type { EventQuery, EventSummary } from '../ports.js';
import { iso } from '../records.js';
import { subjectMatch } from '../search.js';

interface SummaryRow {
  seq: number;
  source: string;
  id: string;
  type: string;
  subject: string | null;
  time: string | null;
  received_at: number;
  correlation_id: string | null;
  trace_id: string | null;
}

/**
 * The time range becomes a range of sequence numbers read from the time index, as on the embedded
 * store, so each field index serves it too. Processes number events in commit order and stamp them
 * with their own clocks: an event received within clock skew of either end may fall outside the
 * numbers found, which the times, still checked, cannot bring back. A dashboard search accepts that.
 */
export async function searchEvents(
  sql: postgres.Sql,
  query: EventQuery,
  limit: number,
  beforeSeq: number | undefined,
): Promise<EventSummary[]> {
  const where: postgres.PendingQuery<postgres.Row[]>[] = [];
  if (beforeSeq !== undefined) where.push(sql`seq < ${beforeSeq}`);
  if (query.from !== undefined) {
    const [first] = await sql<{ seq: number }[]>`
      SELECT seq FROM events WHERE received_at >= ${query.from.getTime()} ORDER BY received_at, seq LIMIT 1`;
    if (!first) return [];
    where.push(sql`seq >= ${first.seq} AND received_at >= ${query.from.getTime()}`);
  }
  if (query.to !== undefined) {
    const [last] = await sql<{ seq: number }[]>`
      SELECT seq FROM events WHERE received_at < ${query.to.getTime()}
      ORDER BY received_at DESC, seq DESC LIMIT 1`;
    if (!last) return [];
    where.push(sql`seq <= ${last.seq} AND received_at < ${query.to.getTime()}`);
  }
  if (query.type !== undefined) where.push(sql`type = ${query.type}`);
  if (query.source !== undefined) where.push(sql`source = ${query.source}`);
  if (query.subject !== undefined) {
    const match = subjectMatch(query.subject);
    where.push(
      'equals' in match
        ? sql`subject = ${match.equals}`
        : sql`subject >= ${match.low} AND subject < ${match.high}`,
    );
  }
  if (query.correlationid !== undefined) where.push(sql`correlation_id = ${query.correlationid}`);
  if (query.traceid !== undefined) where.push(sql`trace_id = ${query.traceid}`);
  const condition = where.reduce((all, w, i) => (i === 0 ? w : sql`${all} AND ${w}`), sql`true`);
  const rows = await sql<SummaryRow[]>`
    SELECT seq, source, id, type, subject, body ->> 'time' AS time, received_at, correlation_id, trace_id
    FROM events WHERE ${condition} ORDER BY seq DESC LIMIT ${limit}`;
  return rows.map((r) => ({
    seq: r.seq,
    source: r.source,
    id: r.id,
    type: r.type,
    subject: r.subject,
    time: r.time,
    receivedAt: iso(r.received_at),
    correlationid: r.correlation_id,
    traceid: r.trace_id !== null && /^[0-9a-f]{32}$/.test(r.trace_id) ? r.trace_id : null,
  }));
}
