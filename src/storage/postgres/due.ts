/**
 * Reading due deliveries when several processes share the work. A read leases what it returns to
 * its process (`leased_by`, `leased_until`) in the statement that reads it, with `FOR UPDATE SKIP
 * LOCKED`, so two processes never take the same delivery; a lease whose holder died expires and
 * the delivery is taken over. Ordering is a property of the rows, not of the leases: a delivery
 * waits while an earlier one of its partition key is unsettled, whichever process holds that one.
 */
import type postgres from 'postgres';
import type { DueDelivery, DuePage, Lane, LaneBacklog, StoredEvent } from '../ports.js';
import { type DeliveryRow, type EventRow, iso, pgArray, toDelivery, toStoredEvent } from './rows.js';

/** Rows a page of due deliveries may look at beyond four per delivery it asks for (as in SQLite). */
const MIN_SCAN = 1_000;
/** Rows read per round trip beyond twice the deliveries still wanted: held rows are usually few. */
const CHUNK_SLACK = 64;

/** Who is reading: the process's id, and how long what it reads stays its own. */
export interface Leaser {
  owner: string;
  leaseMs: number;
}

type LeasedRow = DeliveryRow & Pick<EventRow, 'body' | 'received_at' | 'contract'>;
type ScannedRow = { scanned_id: string; scanned_at: number; ok: boolean } & (
  | LeasedRow
  | { [K in keyof LeasedRow]: null }
);

/**
 * Lanes with deliveries still to attempt, leaving out a lane whose every such delivery is leased
 * by another live process: that process is working on it.
 */
export async function lanes(sql: postgres.Sql, who: Leaser, now: number): Promise<Lane[]> {
  // A loose index scan of deliveries_due, one seek per lane: a plain DISTINCT would read every
  // delivery ever made, settled ones included, since the table keeps them until swept.
  const rows = await sql<{ subscription_id: string; channel: string }[]>`
    WITH RECURSIVE l (subscription_id, channel) AS (
      (SELECT subscription_id, channel FROM deliveries WHERE next_attempt_at IS NOT NULL
       ORDER BY subscription_id, channel LIMIT 1)
      UNION ALL
      SELECT n.subscription_id, n.channel FROM l, LATERAL (
        SELECT d.subscription_id, d.channel FROM deliveries d
        WHERE d.next_attempt_at IS NOT NULL AND (d.subscription_id, d.channel) > (l.subscription_id, l.channel)
        ORDER BY d.subscription_id, d.channel LIMIT 1) n
    )
    SELECT subscription_id, channel FROM l WHERE EXISTS (
      SELECT 1 FROM deliveries d
      WHERE d.subscription_id = l.subscription_id AND d.channel = l.channel AND d.next_attempt_at IS NOT NULL
        AND (d.leased_by IS NULL OR d.leased_by = ${who.owner} OR d.leased_until <= ${now}))`;
  return rows.map((r) => ({ subscriptionId: r.subscription_id, channel: r.channel }));
}

/**
 * Deliveries still to attempt by lane, leased or not (a leased one is still pending), with when the
 * oldest was made: the backlog gauges. Grouped along deliveries_due, which holds only those rows.
 */
export async function backlogByLane(sql: postgres.Sql): Promise<LaneBacklog[]> {
  const rows = await sql<{ subscription_id: string; channel: string; n: number; oldest: string }[]>`
    SELECT subscription_id, channel, count(*)::int AS n, min(created_at) AS oldest FROM deliveries
    WHERE next_attempt_at IS NOT NULL GROUP BY subscription_id, channel ORDER BY subscription_id, channel`;
  return rows.map((r) => ({
    subscriptionId: r.subscription_id,
    channel: r.channel,
    pending: r.n,
    oldestAt: iso(Number(r.oldest)),
  }));
}

/** A subscription's channels with work, one index seek per channel (a loose index scan). */
export async function channelsWithWork(sql: postgres.Sql, subscriptionId: string): Promise<string[]> {
  const rows = await sql<{ channel: string }[]>`
    WITH RECURSIVE c (channel) AS (
      (SELECT channel FROM deliveries WHERE subscription_id = ${subscriptionId} AND next_attempt_at IS NOT NULL
       ORDER BY channel LIMIT 1)
      UNION ALL
      SELECT (SELECT d.channel FROM deliveries d
              WHERE d.subscription_id = ${subscriptionId} AND d.next_attempt_at IS NOT NULL AND d.channel > c.channel
              ORDER BY d.channel LIMIT 1)
      FROM c WHERE c.channel IS NOT NULL
    )
    SELECT channel FROM c WHERE channel IS NOT NULL`;
  return rows.map((r) => r.channel);
}

/**
 * The earliest time after `now` a delivery of the lane comes due: its next attempt, or when
 * another process's lease on a delivery due now runs out.
 */
export async function nextDueInLane(
  sql: postgres.Sql,
  who: Leaser,
  lane: Lane,
  now: number,
): Promise<Date | null> {
  const [row] = await sql<{ t: number | null }[]>`
    SELECT LEAST(
      (SELECT MIN(next_attempt_at) FROM deliveries
       WHERE subscription_id = ${lane.subscriptionId} AND channel = ${lane.channel}
         AND next_attempt_at IS NOT NULL AND next_attempt_at > ${now}),
      (SELECT MIN(leased_until) FROM deliveries
       WHERE subscription_id = ${lane.subscriptionId} AND channel = ${lane.channel}
         AND leased_by IS NOT NULL AND leased_by <> ${who.owner} AND leased_until > ${now}
         AND next_attempt_at IS NOT NULL AND next_attempt_at <= ${now})) AS t`;
  return row?.t == null ? null : new Date(row.t);
}

/**
 * One round trip of a page: up to `chunk` due rows after the cursor, in (next_attempt_at, id)
 * order, each flagged `ok` when this process may take it (not excluded, not leased by another
 * live process, not held by an earlier delivery of its key); the first `want` of those are
 * leased, and come back with their delivery and event columns.
 */
function scanChunk(
  sql: postgres.Sql,
  who: Leaser,
  lane: Lane,
  now: number,
  exclude: string,
  from: [number, string],
  chunk: number,
  want: number,
) {
  return sql<ScannedRow[]>`
    WITH scan AS MATERIALIZED (
      SELECT d.id, d.next_attempt_at,
        (d.id <> ALL(${exclude}::text[])
         AND (d.leased_by IS NULL OR d.leased_by = ${who.owner} OR d.leased_until <= ${now})
         AND NOT (d.order_key IS NOT NULL AND EXISTS (
           SELECT 1 FROM deliveries e
           WHERE e.subscription_id = d.subscription_id AND e.order_key = d.order_key
             AND (e.event_seq, e.id) < (d.event_seq, d.id)
             AND (e.status IN ('pending', 'retrying') OR (e.status = 'dead' AND e.dead_blocks))))) AS ok
      FROM deliveries d
      WHERE d.subscription_id = ${lane.subscriptionId} AND d.channel = ${lane.channel}
        AND d.next_attempt_at IS NOT NULL AND d.next_attempt_at <= ${now}
        AND (d.next_attempt_at, d.id) > (${from[0]}, ${from[1]})
      ORDER BY d.next_attempt_at, d.id
      LIMIT ${chunk}
    ),
    pick AS (SELECT id FROM scan WHERE ok ORDER BY next_attempt_at, id LIMIT ${want}),
    leased AS (
      UPDATE deliveries d SET leased_by = ${who.owner}, leased_until = ${now + who.leaseMs}
      WHERE d.id IN (
        SELECT x.id FROM deliveries x
        WHERE x.id IN (SELECT id FROM pick) AND x.next_attempt_at IS NOT NULL AND x.next_attempt_at <= ${now}
          AND (x.leased_by IS NULL OR x.leased_by = ${who.owner} OR x.leased_until <= ${now})
        FOR UPDATE SKIP LOCKED)
      RETURNING d.*
    )
    SELECT s.id AS scanned_id, s.next_attempt_at AS scanned_at, s.ok, l.*, e.body, e.received_at, e.contract
    FROM scan s LEFT JOIN leased l ON l.id = s.id LEFT JOIN events e ON e.seq = l.event_seq
    ORDER BY s.next_attempt_at, s.id`;
}

/** The deliveries of failed batches due now that this page does not hold yet, leased too. */
function leaseBatchMembers(sql: postgres.Sql, who: Leaser, now: number, batches: string[], skip: string[]) {
  return sql<LeasedRow[]>`
    WITH leased AS (
      UPDATE deliveries d SET leased_by = ${who.owner}, leased_until = ${now + who.leaseMs}
      WHERE d.id IN (
        SELECT x.id FROM deliveries x
        WHERE x.batch_id = ANY(${pgArray(batches)}::text[]) AND x.id <> ALL(${pgArray(skip)}::text[])
          AND x.next_attempt_at IS NOT NULL AND x.next_attempt_at <= ${now}
          AND (x.leased_by IS NULL OR x.leased_by = ${who.owner} OR x.leased_until <= ${now})
        FOR UPDATE SKIP LOCKED)
      RETURNING d.*
    )
    SELECT l.*, e.body, e.received_at, e.contract FROM leased l JOIN events e ON e.seq = l.event_seq
    ORDER BY array_position(${pgArray(batches)}::text[], l.batch_id), l.id`;
}

/**
 * A page of the lane's due deliveries after `after`, leased to this process. The same rules as
 * the embedded store: held and excluded rows are passed over, at most `4 × limit + 1000` rows are
 * looked at, and a page that took a member of a failed batch takes every due member.
 */
export async function dueInLanePage(
  sql: postgres.Sql,
  who: Leaser,
  lane: Lane,
  now: Date,
  limit: number,
  exclude: ReadonlySet<string>,
  after: string | null,
): Promise<DuePage> {
  const t = now.getTime();
  const excluded = pgArray([...exclude]);
  let from = parseCursor(after);
  let cursor = after;
  const events = new Map<number, StoredEvent>();
  const items: DueDelivery[] = [];
  const take = (r: LeasedRow) => {
    let event = events.get(r.event_seq);
    if (!event) {
      event = toStoredEvent({
        seq: r.event_seq,
        body: r.body,
        received_at: r.received_at,
        contract: r.contract,
      });
      events.set(r.event_seq, event);
    }
    items.push({ delivery: toDelivery(r), event });
  };
  const maxScanned = limit * 4 + MIN_SCAN;
  let scanned = 0;
  let exhausted = false;
  while (items.length < limit && !exhausted) {
    const want = limit - items.length;
    const chunk = Math.min(maxScanned - scanned, want * 2 + CHUNK_SLACK);
    if (chunk <= 0) break;
    const rows = await scanChunk(sql, who, lane, t, excluded, from, chunk, want);
    let picked = 0;
    let walked = 0;
    for (const r of rows) {
      walked++;
      cursor = `${r.scanned_at}:${r.scanned_id}`;
      from = [r.scanned_at, r.scanned_id];
      if (r.id !== null) take(r);
      // Past the chunk's last pick, rows were not offered for leasing: the next chunk starts here.
      if (r.ok && ++picked === want) break;
    }
    scanned += walked;
    // A short chunk walked to its end is the end of what is due.
    exhausted = walked === rows.length && rows.length < chunk;
  }
  // As in the embedded store, a full page is never called the last: the lane reads once more.
  if (items.length >= limit) exhausted = false;
  const batches = [...new Set(items.map((d) => d.delivery.batchId))].filter((b): b is string => b !== null);
  if (batches.length > 0) {
    const skip = [...exclude, ...items.map((d) => d.delivery.id)];
    for (const r of await leaseBatchMembers(sql, who, t, batches, skip)) take(r);
  }
  return { items, cursor, exhausted };
}

/** `"<next_attempt_at>:<id>"`, or before everything. */
function parseCursor(after: string | null): [number, string] {
  if (!after) return [-1, ''];
  const colon = after.indexOf(':');
  return [Number(after.slice(0, colon)), after.slice(colon + 1)];
}

/** Hands leased deliveries back, due at once for any process: those queued but never sent. */
export async function releaseLeases(sql: postgres.Sql, who: Leaser, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`
    UPDATE deliveries SET leased_by = NULL, leased_until = NULL
    WHERE id = ANY(${pgArray(ids)}::text[]) AND leased_by = ${who.owner}`;
}
