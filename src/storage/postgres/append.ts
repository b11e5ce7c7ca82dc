/**
 * Ingest: a call's events and their deliveries in one statement (one round trip, one transaction,
 * whatever the number of events), as arrays unnested on the server.
 */
import type postgres from 'postgres';
import { type CloudEvent, eventJson } from '../../core/event.js';
import type { AppendResult, DueDelivery, EventContract, Routed } from '../ports.js';
import { deliveriesOf, iso, pendingDelivery } from '../records.js';
import { searchFields } from '../search.js';
import type { Leaser } from './due.js';
import { pgArray } from './rows.js';

const keyOf = (source: string, id: string) => JSON.stringify([source, id]);

/**
 * Event texts as one JSON array, split on the server by `json_array_elements`: the texts are JSON
 * already, so this costs a join, where an array literal would escape every quote of every body.
 */
const jsonArray = (texts: string[]) => `[${texts.join(',')}]`;

/**
 * `'JNCO'` as an int4: the advisory lock class of partition keys, beside the key's hash. Ordering
 * reads sequence numbers as publish order, but two processes take numbers in one order and may
 * commit in the other: a reader would then see the later event of a key without the earlier one,
 * and send it first. An append takes its ordered keys' locks (sorted, so appends never deadlock
 * on them) before it takes any number, and holds them until it commits: for one key, numbers
 * are taken in commit order.
 */
const ORDER_LOCK = 0x4a4e434f;

/**
 * Appends the events, in the order given (their sequence numbers follow it), skipping those whose
 * `(source, id)` is stored already or was committed meanwhile by another process. The pending
 * deliveries are leased to this process: it sends them itself, from the result, and no other
 * process may take them unless it dies.
 */
export async function appendEvents(
  sql: postgres.Sql,
  who: Leaser,
  events: CloudEvent[],
  route: (event: CloudEvent) => Routed,
  contracts: (EventContract | null)[] | undefined,
): Promise<{ results: AppendResult[]; deliveries: DueDelivery[] }> {
  const now = Date.now();
  // A repeat within the call is a duplicate of its first occurrence whatever the table holds, so
  // only first occurrences are sent: the statement then meets each key once.
  const first = new Map<string, number>();
  events.forEach((e, i) => {
    const key = keyOf(e.source, e.id);
    if (!first.has(key)) first.set(key, i);
  });
  const sent = [...first.values()];
  const slot = new Map(sent.map((i, k) => [i, k]));
  // Every event is routed, repeats included, as the embedded store does: routing may count.
  const allRouted = events.map((e) => route(e));
  const routed = sent.map((i) => allRouted[i]!);
  const planned = sent.map((i, k) => deliveriesOf(events[i]!, routed[k]!, now));
  const d = planned.flatMap((list, k) => list.map((dl) => ({ ...dl, ord: k + 1 })));
  const fields = sent.map((i) => searchFields(events[i]!));
  const keys = [...new Set(d.flatMap((x) => (x.orderKey === null ? [] : [x.orderKey])))].sort();
  const rows = await sql<{ seq: number; source: string; id: string }[]>`
    WITH input AS (
      SELECT * FROM ROWS FROM (
        unnest(${pgArray(sent.map((i) => events[i]!.source))}::text[]), unnest(${pgArray(sent.map((i) => events[i]!.id))}::text[]),
        unnest(${pgArray(sent.map((i) => events[i]!.type))}::text[]), unnest(${pgArray(routed.map((r) => r.channel))}::text[]),
        json_array_elements(${jsonArray(sent.map((i) => eventJson(events[i]!)))}::text::json),
        unnest(${pgArray(sent.map((i) => contractText(contracts?.[i])))}::text[]),
        unnest(${pgArray(fields.map((f) => f.subject))}::text[]), unnest(${pgArray(fields.map((f) => f.correlationid))}::text[]),
        unnest(${pgArray(fields.map((f) => f.traceid))}::text[])
      ) WITH ORDINALITY AS i (source, id, type, channel, body, contract, subject, correlation_id, trace_id, ord)
    ),
    ins AS (
      INSERT INTO events (source, id, type, channel, body, received_at, contract, subject, correlation_id, trace_id)
      SELECT source, id, type, channel, body, ${now}, contract::jsonb, subject, correlation_id, trace_id FROM input
      WHERE (SELECT count(*) FROM (
        SELECT pg_advisory_xact_lock(${ORDER_LOCK}, hashtext(current_schema() || ':' || k))
        FROM unnest(${pgArray(keys)}::text[]) WITH ORDINALITY AS l (k, n) ORDER BY n) locked) >= 0
      ORDER BY ord
      ON CONFLICT (source, id) DO NOTHING
      RETURNING seq, source, id
    ),
    dl AS (
      INSERT INTO deliveries (id, subscription_id, event_seq, channel, order_key, webhook_id, status, last_error,
        budget_since, next_attempt_at, leased_by, leased_until, created_at, updated_at)
      SELECT x.id, x.sub, ins.seq, i.channel, x.key, x.webhook, x.status, x.reason, ${now},
        CASE WHEN x.status = 'pending' THEN ${now}::bigint END,
        CASE WHEN x.status = 'pending' THEN ${who.owner} END,
        CASE WHEN x.status = 'pending' THEN ${now + who.leaseMs}::bigint END,
        ${now}, ${now}
      FROM unnest(
        ${pgArray(d.map((x) => x.id))}::text[], ${pgArray(d.map((x) => x.ord))}::bigint[],
        ${pgArray(d.map((x) => x.subscriptionId))}::text[], ${pgArray(d.map((x) => x.orderKey))}::text[],
        ${pgArray(d.map((x) => x.webhookId))}::text[], ${pgArray(d.map((x) => x.settled?.status ?? 'pending'))}::text[],
        ${pgArray(d.map((x) => x.settled?.reason ?? null))}::text[]
      ) AS x (id, ord, sub, key, webhook, status, reason)
      JOIN input i ON i.ord = x.ord
      JOIN ins ON ins.source = i.source AND ins.id = i.id
      ORDER BY x.ord
    )
    SELECT seq, source, id FROM ins`;
  const seqs = new Map(rows.map((r) => [keyOf(r.source, r.id), r.seq]));
  const results: AppendResult[] = [];
  const deliveries: DueDelivery[] = [];
  events.forEach((event, i) => {
    const key = keyOf(event.source, event.id);
    const seq = first.get(key) === i ? seqs.get(key) : undefined;
    if (seq === undefined) {
      results.push({ source: event.source, id: event.id, status: 'duplicate' });
      return;
    }
    results.push({ source: event.source, id: event.id, status: 'accepted' });
    const k = slot.get(i)!;
    const stored = { seq, event, receivedAt: iso(now), contract: contracts?.[i] ?? null };
    for (const dl of planned[k]!) {
      if (dl.settled) continue;
      deliveries.push({
        delivery: pendingDelivery(dl, seq, routed[k]!.channel, now),
        event: stored,
      });
    }
  });
  return { results, deliveries };
}

function contractText(contract: EventContract | null | undefined): string | null {
  return contract == null ? null : JSON.stringify(contract);
}
