/**
 * Reading deliveries (an event's, a subscription's, the dead letters) and moving dead letters on:
 * redrive and discard, which lock what they move so two processes never move a row twice.
 */
import type postgres from 'postgres';
import {
  type Attempt,
  type Delivery,
  type DeliveryStatus,
  MAX_REDRIVE_PER_CALL,
  type Page,
  type StoredEvent,
} from '../ports.js';
import {
  type AttemptRow,
  counts,
  type DeliveryRow,
  type EventRow,
  page,
  pgArray,
  toAttempt,
  toDelivery,
  toStoredEvent,
} from './rows.js';

export type DeadSelector = { ids: string[] } | { subscriptionId: string };

export async function lookupEvent(
  sql: postgres.Sql,
  source: string,
  id: string,
): Promise<{ event: StoredEvent; deliveries: (Delivery & { attemptLog: Attempt[] })[] } | undefined> {
  const [row] = await sql<EventRow[]>`
    SELECT seq, body, received_at, contract FROM events WHERE source = ${source} AND id = ${id}`;
  if (!row) return undefined;
  const deliveries = await sql<
    DeliveryRow[]
  >`SELECT * FROM deliveries WHERE event_seq = ${row.seq} ORDER BY id`;
  const attempts = await sql<AttemptRow[]>`
    SELECT a.* FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
    WHERE d.event_seq = ${row.seq} ORDER BY a.delivery_id, a.n`;
  return {
    event: toStoredEvent(row),
    deliveries: deliveries.map((d) => ({
      ...toDelivery(d),
      attemptLog: attempts.filter((a) => a.delivery_id === d.id).map(toAttempt),
    })),
  };
}

export async function listDeliveries(
  sql: postgres.Sql,
  subscriptionId: string,
  status: DeliveryStatus | undefined,
  limit: number,
  after: string | undefined,
): Promise<Page<Delivery>> {
  const rows = await sql<DeliveryRow[]>`
    SELECT * FROM deliveries WHERE subscription_id = ${subscriptionId} AND id > ${after ?? ''}
      ${status ? sql`AND status = ${status}` : sql``}
    ORDER BY id LIMIT ${limit + 1}`;
  return page(rows, limit);
}

export async function listDeadLetters(
  sql: postgres.Sql,
  subscriptionId: string | undefined,
  limit: number,
  after: string | undefined,
): Promise<Page<Delivery>> {
  const rows = await sql<DeliveryRow[]>`
    SELECT * FROM deliveries WHERE status = 'dead' AND id > ${after ?? ''}
      ${subscriptionId ? sql`AND subscription_id = ${subscriptionId}` : sql``}
    ORDER BY id LIMIT ${limit + 1}`;
  return page(rows, limit);
}

export async function eventSummaries(
  sql: postgres.Sql,
  seqs: number[],
): Promise<Map<number, { source: string; id: string; type: string }>> {
  const rows = await sql<{ seq: number; source: string; id: string; type: string }[]>`
    SELECT seq, source, id, type FROM events WHERE seq = ANY(${pgArray([...new Set(seqs)])}::bigint[])`;
  return new Map(rows.map((r) => [r.seq, { source: r.source, id: r.id, type: r.type }]));
}

/** Deliveries counted by status, of one subscription or of one replay. */
export async function deliveryCounts(
  sql: postgres.Sql,
  of: { subscriptionId: string } | { replayId: string },
): Promise<Partial<Record<DeliveryStatus, number>>> {
  const where =
    'replayId' in of ? sql`replay_id = ${of.replayId}` : sql`subscription_id = ${of.subscriptionId}`;
  return counts(
    await sql<{ status: DeliveryStatus; n: number }[]>`
      SELECT status, count(*)::int AS n FROM deliveries WHERE ${where} GROUP BY status`,
  );
}

/** The first original (not replayed) delivery's webhook-id of each event, by id, as SQLite picks it. */
export async function webhookIdsOf(
  sql: postgres.Sql,
  eventSeqs: number[],
  subscriptionId: string,
): Promise<Map<number, string>> {
  if (eventSeqs.length === 0) return new Map();
  const rows = await sql<{ event_seq: string | number; webhook_id: string }[]>`
    SELECT DISTINCT ON (event_seq) event_seq, webhook_id FROM deliveries
    WHERE event_seq = ANY(${eventSeqs}::bigint[]) AND subscription_id = ${subscriptionId}
      AND replay_id IS NULL
    ORDER BY event_seq, id`;
  return new Map(rows.map((r) => [Number(r.event_seq), r.webhook_id]));
}

/**
 * Moves dead letters back to pending, due now, with a fresh budget. A row another process
 * redrives at the same moment is locked, then found no longer dead, and moved once.
 */
export async function redrive(sql: postgres.Sql, selector: DeadSelector): Promise<Delivery[]> {
  const now = Date.now();
  const rows = await sql<DeliveryRow[]>`
    UPDATE deliveries SET status = 'pending', budget_attempts = 0, budget_since = ${now},
      next_attempt_at = ${now}, batch_id = NULL, updated_at = ${now}, leased_by = NULL, leased_until = NULL
    WHERE id IN (${deadOf(sql, selector)})
    RETURNING *`;
  return inSelectorOrder(selector, rows);
}

/** Gives up on dead letters for good: they stop blocking their partition key. */
export async function discard(sql: postgres.Sql, selector: DeadSelector): Promise<Delivery[]> {
  const rows = await sql<DeliveryRow[]>`
    UPDATE deliveries SET status = 'discarded', updated_at = ${Date.now()}
    WHERE id IN (${deadOf(sql, selector)})
    RETURNING *`;
  return inSelectorOrder(selector, rows);
}

/** The dead letters a selector names, locked: by ids, or a subscription's oldest first, capped. */
function deadOf(sql: postgres.Sql, selector: DeadSelector) {
  return 'ids' in selector
    ? sql`SELECT id FROM deliveries WHERE id = ANY(${pgArray(selector.ids)}::text[]) AND status = 'dead'
        FOR UPDATE`
    : sql`SELECT id FROM deliveries WHERE subscription_id = ${selector.subscriptionId} AND status = 'dead'
        ORDER BY id LIMIT ${MAX_REDRIVE_PER_CALL} FOR UPDATE`;
}

/** In the order of the ids asked for (an id given twice once: it was moved once), or by id. */
function inSelectorOrder(selector: DeadSelector, rows: DeliveryRow[]): Delivery[] {
  const byId = new Map(rows.map((r) => [r.id, toDelivery(r)]));
  if ('ids' in selector) return [...new Set(selector.ids)].flatMap((id) => byId.get(id) ?? []);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
