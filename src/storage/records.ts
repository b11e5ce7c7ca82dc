/**
 * What every backend derives the same way, whatever it writes to: the deliveries an event's route
 * makes, a new delivery as the port hands it back, and the state change an attempt's verdict
 * makes. One definition, so the embedded and the PostgreSQL stores cannot drift apart.
 */
import type { CloudEvent } from '../core/event.js';
import { newId } from '../core/ids.js';
import type { AttemptResult, Conversion, Delivery, DeliveryStatus, Routed, Subscription } from './ports.js';

/** Epoch ms as the port's RFC 3339 text; both stores keep times as epoch ms. */
export const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A `deliveries` row, the same columns in both stores; `C` is how its conversion comes out of the
 * driver (JSON text from SQLite, parsed from PostgreSQL).
 */
export interface DeliveryRow<C> {
  id: string;
  subscription_id: string;
  event_seq: number;
  channel: string;
  order_key: string | null;
  replay_id: string | null;
  batch_id: string | null;
  webhook_id: string;
  conversion: C;
  status: DeliveryStatus;
  attempts: number;
  budget_attempts: number;
  budget_since: number;
  next_attempt_at: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

/** A row as the port shows it, with its conversion as read. */
export function deliveryOfRow(r: DeliveryRow<unknown>, conversion: Conversion | null): Delivery {
  return {
    id: r.id,
    subscriptionId: r.subscription_id,
    eventSeq: r.event_seq,
    channel: r.channel,
    orderKey: r.order_key,
    replayId: r.replay_id,
    batchId: r.batch_id,
    webhookId: r.webhook_id,
    conversion,
    status: r.status,
    attempts: r.attempts,
    budgetAttempts: r.budget_attempts,
    budgetSince: iso(r.budget_since),
    nextAttemptAt: r.next_attempt_at === null ? null : iso(r.next_attempt_at),
    lastError: r.last_error,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

/** A delivery an append will make: its ids, and for a settled one, why it is settled. */
export interface NewDelivery {
  id: string;
  webhookId: string;
  subscriptionId: string;
  orderKey: string | null;
  /** Set for a delivery recorded settled at ingest (a region policy, shadow mode), with why. */
  settled?: { status: 'blocked' | 'shadow'; reason: string };
}

/** The partition key a delivery is ordered by: only for ordered subscriptions and keyed events. */
export function orderKeyOf(sub: Subscription, event: CloudEvent): string | null {
  if (sub.delivery.ordering !== 'partition') return null;
  return typeof event.partitionkey === 'string' ? event.partitionkey : null;
}

/** The deliveries the route of an event makes: one per live subscription, one per settled one. */
export function deliveriesOf(event: CloudEvent, routed: Routed, now: number): NewDelivery[] {
  return [
    ...routed.subscriptions.map((sub) => ({
      id: newId('dlv', now),
      webhookId: newId('msg', now),
      subscriptionId: sub.id,
      orderKey: orderKeyOf(sub, event),
    })),
    ...(routed.settled ?? []).map((s) => ({
      id: newId('dlv', now),
      webhookId: newId('msg', now),
      subscriptionId: s.subscription.id,
      orderKey: null,
      settled: { status: s.status, reason: s.reason },
    })),
  ];
}

/** A live delivery just appended, due at once, as the port returns it. */
export function pendingDelivery(d: NewDelivery, eventSeq: number, channel: string, now: number): Delivery {
  return {
    id: d.id,
    subscriptionId: d.subscriptionId,
    eventSeq,
    channel,
    orderKey: d.orderKey,
    replayId: null,
    batchId: null,
    webhookId: d.webhookId,
    conversion: null,
    status: 'pending',
    attempts: 0,
    budgetAttempts: 0,
    budgetSince: iso(now),
    nextAttemptAt: iso(now),
    lastError: null,
    createdAt: iso(now),
    updatedAt: iso(now),
  };
}

/** What an attempt's verdict does to its delivery, with the conversion as JSON text. */
export interface AttemptChange {
  status: DeliveryStatus;
  nextAttemptAt: number | null;
  lastError: string | null;
  /** A dead letter that keeps later events of its partition key waiting. */
  holdKey: boolean;
  batchId: string | null;
  conversion: string | null;
}

export function attemptChange(result: AttemptResult): AttemptChange {
  const a = result.attempt;
  const [status, nextAttemptAt, lastError]: [DeliveryStatus, number | null, string | null] =
    result.kind === 'delivered'
      ? ['delivered', null, null]
      : result.kind === 'retry'
        ? ['retrying', result.nextAttemptAt.getTime(), a.error ?? `HTTP ${a.status}`]
        : result.kind === 'settled'
          ? [result.status, null, result.reason]
          : ['dead', null, result.reason];
  return {
    status,
    nextAttemptAt,
    lastError,
    holdKey: result.kind === 'dead' && result.holdKey === true,
    batchId: result.kind === 'retry' ? (result.batchId ?? null) : null,
    conversion: result.conversion ? JSON.stringify(result.conversion) : null,
  };
}

/**
 * A take from a token bucket kept as GCRA keeps it: `tat`, when the bucket will be full again
 * (epoch ms; at or before `now` when it is full). Up to `n` tokens are granted while the bucket
 * would still not be over `burst` tokens in debt; with none granted, `waitMs` is when one will be.
 * The PostgreSQL store runs the same arithmetic in SQL (postgres/limits.ts).
 *
 * @example takeFromBucket(undefined, 1_000, 1, 1, 1) // { tat: 2_000, granted: 1, waitMs: 0 }
 */
export function takeFromBucket(
  tat: number | undefined,
  now: number,
  perSecond: number,
  burst: number,
  n: number,
): { tat: number; granted: number; waitMs: number } {
  const interval = 1000 / perSecond;
  const base = Math.max(tat ?? now, now);
  // Tokens left: how far `base` is from `burst` intervals ahead of now, in whole intervals. The
  // slack absorbs rounding, so a caller that waited exactly `waitMs` gets its token.
  const left = Math.floor((burst * interval - (base - now)) / interval + 1e-9);
  const granted = Math.max(0, Math.min(n, left));
  return {
    tat: base + granted * interval,
    granted,
    waitMs: granted > 0 ? 0 : Math.max(0, base + interval - burst * interval - now),
  };
}
