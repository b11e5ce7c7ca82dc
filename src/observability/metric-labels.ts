/**
 * The label values of Junction's metrics, each from a fixed list, and when a delivery's latency
 * starts: pure functions of what the hub and the dispatcher report, kept apart from the registry.
 */
import { OverloadedError, UnavailableError } from '../core/errors.js';
import type { HttpSendResult } from '../delivery/sinks/http.js';
import type { Delivery, StoredEvent } from '../storage/ports.js';

/** What a delivery's latency is measured from. */
export type LatencyItem = {
  event: Pick<StoredEvent, 'receivedAt'>;
  delivery: Pick<Delivery, 'replayId' | 'createdAt' | 'budgetSince'>;
};

/** Error codes (src/core/errors.ts, src/contracts/ingest-check.ts) to a refusal reason. */
const REJECT_REASONS: Record<string, string> = {
  'invalid-input': 'invalid',
  'malformed-request': 'malformed',
  'unsupported-media-type': 'unsupported_media_type',
  'payload-too-large': 'too_large',
  'schema-violation': 'schema',
  'version-retired': 'retired',
  'unknown-type': 'unknown_type',
  unauthorized: 'unauthorized',
  unavailable: 'unavailable',
  overloaded: 'overloaded',
};
/**
 * Refusals with none of the codes above, by HTTP status: Fastify's own (a body over the limit, say)
 * carry `statusCode`, Junction's errors `status`.
 */
const REJECT_STATUSES: Record<number, string> = {
  400: 'malformed',
  413: 'too_large',
  415: 'unsupported_media_type',
  503: 'unavailable',
};

/** The refusal reason of an error thrown while taking events in. */
export function rejectReason(error: unknown): string {
  // By class first: the store's and the bus's outages are subclasses with codes of their own
  // (store-unavailable, bus-publish-timeout, ...), and all of them are an outage to an operator.
  if (error instanceof OverloadedError) return 'overloaded';
  if (error instanceof UnavailableError) return 'unavailable';
  const { code, status, statusCode } = (error ?? {}) as {
    code?: unknown;
    status?: unknown;
    statusCode?: unknown;
  };
  if (typeof code === 'string' && code in REJECT_REASONS) return REJECT_REASONS[code]!;
  const httpStatus = typeof statusCode === 'number' ? statusCode : status;
  if (typeof httpStatus === 'number' && httpStatus in REJECT_STATUSES) return REJECT_STATUSES[httpStatus]!;
  return 'other';
}

/** `delivered` (2xx), `failed` (any other answer), `timeout`, `error` (no answer) or `refused` (never sent). */
export function sendOutcome(sent: HttpSendResult): string {
  if (sent.ok) return sent.status >= 200 && sent.status < 300 ? 'delivered' : 'failed';
  if (sent.refused) return 'refused';
  return sent.timedOut ? 'timeout' : 'error';
}

export function statusClass(sent: HttpSendResult): string {
  return sent.ok ? `${Math.floor(sent.status / 100)}xx` : 'none';
}

/**
 * When a delivery's latency starts: when the hub was last asked to deliver it. That is the event's
 * receipt for a live delivery, the replay's making of the delivery for a replay, and the redrive for
 * a redriven dead letter; measured from receipt, a replay of last week's archive would put
 * week-long observations into the histogram and the dashboard's p99.
 */
export function latencyStart({ event, delivery }: LatencyItem): number {
  if (delivery.replayId !== null) return Date.parse(delivery.createdAt);
  const redriven = Date.parse(delivery.budgetSince);
  return redriven > Date.parse(delivery.createdAt) ? redriven : Date.parse(event.receivedAt);
}
