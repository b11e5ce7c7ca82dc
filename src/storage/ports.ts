/**
 * Storage ports: what the hub asks of a backend, in the hub's language. A backend owns its
 * connections and transactions and exposes neither.
 */
import type { CloudEvent } from '../core/event.js';
import type { DeliveryFormat } from '../core/http-binding.js';

export type SubscriptionStatus = 'active' | 'disabled';

/**
 * Dead letters moved by one redrive of a whole subscription, oldest first; the caller repeats
 * while there are more, so one request cannot hold the store for minutes.
 */
export const MAX_REDRIVE_PER_CALL = 10_000;

/** A filter expression of the CloudEvents Subscriptions API (one dialect per object). */
export type Filter = Record<string, unknown>;

export interface DeliveryPolicy {
  format: DeliveryFormat;
  timeoutMs: number;
  maxAttempts: number;
  maxAgeMs: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** Upper bound on a wait asked for by `Retry-After`. */
  maxRetryAfterMs: number;
}

export interface Subscription {
  id: string;
  status: SubscriptionStatus;
  /** Why the hub disabled it (a 410 from the sink), when it did. */
  statusReason: string | null;
  types: string[];
  filters: Filter[];
  sink: string;
  protocol: 'HTTP';
  protocolsettings: { headers?: Record<string, string>; method?: string };
  delivery: DeliveryPolicy;
  /** Standard Webhooks secrets, newest first; more than one while a rotation is in progress. */
  secrets: string[];
  createdAt: string;
  updatedAt: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'retrying' | 'dead' | 'filtered' | 'blocked';

export interface StoredEvent {
  /** The hub's sequence number: the order in which events became durable. */
  seq: number;
  event: CloudEvent;
  receivedAt: string;
}

export interface Attempt {
  n: number;
  at: string;
  /** HTTP status, or null when no response came (timeout, connection error). */
  status: number | null;
  outcome: 'delivered' | 'retry' | 'dead' | 'disabled';
  latencyMs: number;
  error: string | null;
  /** The first 1 KiB of the response body. */
  response: string | null;
}

export interface Delivery {
  id: string;
  subscriptionId: string;
  eventSeq: number;
  /** Stable across retries, redrives and replays: the consumer's idempotency key. */
  webhookId: string;
  status: DeliveryStatus;
  attempts: number;
  /** Attempts counted against `maxAttempts`: since creation, or since the last redrive. */
  budgetAttempts: number;
  /** When the retry budget's age (`maxAgeMs`) started: creation, or the last redrive. */
  budgetSince: string;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A delivery ready to send, with what the dispatcher needs to send it. */
export interface DueDelivery {
  delivery: Delivery;
  event: StoredEvent;
}

/** The result of an attempt, as the dispatcher decided it. */
export type AttemptResult =
  | { kind: 'delivered'; attempt: Attempt }
  | { kind: 'retry'; attempt: Attempt; nextAttemptAt: Date }
  | { kind: 'dead'; attempt: Attempt; reason: string }
  | { kind: 'disable'; attempt: Attempt; reason: string };

export interface AppendResult {
  source: string;
  id: string;
  status: 'accepted' | 'duplicate';
}

export interface Page<T> {
  items: T[];
  /** Cursor for the next page, or null on the last one. */
  next: string | null;
}

export interface EventStore {
  /**
   * Appends events and creates their deliveries, for the subscriptions `route` picks, in one
   * durable transaction. Resolves once the transaction is durable. A `(source, id)` already stored
   * is a duplicate and creates nothing.
   */
  append(
    events: CloudEvent[],
    route: (event: CloudEvent) => Subscription[],
  ): Promise<{ results: AppendResult[]; deliveries: DueDelivery[] }>;

  /** Creates or replaces a subscription. */
  saveSubscription(sub: Subscription): Promise<void>;
  /** Deletes a subscription; its pending deliveries become dead letters. False if there was none. */
  deleteSubscription(id: string): Promise<boolean>;
  getSubscription(id: string): Subscription | undefined;
  listSubscriptions(): Subscription[];

  /** Deliveries whose next attempt is due, oldest first, skipping the ids in `exclude`. */
  due(now: Date, limit: number, exclude: ReadonlySet<string>): DueDelivery[];
  /** The earliest time after `now` that a pending or retrying delivery is due, if any. */
  nextDueAt(now: Date): Date | null;
  /**
   * Records an attempt and moves the delivery to its next state. Resolves once durable; attempt
   * records are group-committed like ingest, since one fsync per attempt would cap throughput.
   */
  recordAttempt(deliveryId: string, result: AttemptResult): Promise<void>;

  lookupEvent(
    source: string,
    id: string,
  ): { event: StoredEvent; deliveries: (Delivery & { attemptLog: Attempt[] })[] } | undefined;
  listDeliveries(
    subscriptionId: string,
    status: DeliveryStatus | undefined,
    limit: number,
    after: string | undefined,
  ): Page<Delivery>;
  listDeadLetters(
    subscriptionId: string | undefined,
    limit: number,
    after: string | undefined,
  ): Page<Delivery>;
  /** The identity and type of events by sequence number, for listings that show deliveries. */
  eventSummaries(seqs: number[]): Map<number, { source: string; id: string; type: string }>;
  /** Moves dead deliveries back to pending, due now; returns the ones moved. */
  redrive(selector: { ids: string[] } | { subscriptionId: string }): Promise<Delivery[]>;

  /** Cheap check that the store answers, for `/readyz`. */
  ping(): boolean;
  close(): Promise<void>;
}
