/**
 * The fields every log line about an event or a delivery carries, so that one event can be
 * followed through ingest and each attempt with a filter on `event`, `subscription` or `traceId`.
 */
import type { Logger } from 'pino';
import type { CloudEvent } from '../core/event.js';
import type { AppendResult, StoredEvent } from '../storage/ports.js';

/** W3C Trace Context `traceparent`: version, trace id, parent id, flags. */
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;
/** An all-zero trace id is invalid (W3C Trace Context, 3.2.2.3). */
const NO_TRACE = '0'.repeat(32);

export interface EventLogFields {
  /** The event's identity: its source and id. */
  event: { source: string; id: string };
  /** From the event's `traceparent` extension, when it has a valid one. */
  traceId?: string;
}

export interface DeliveryLogFields extends EventLogFields {
  subscription: string;
  /** The number of the attempt under way (1 for the first). */
  attempt: number;
}

/** The trace id of a `traceparent` value, or undefined when it is absent or not well-formed. */
export function traceIdOf(traceparent: unknown): string | undefined {
  if (typeof traceparent !== 'string') return undefined;
  const id = TRACEPARENT.exec(traceparent)?.[1];
  return id === undefined || id === NO_TRACE ? undefined : id;
}

/**
 * @example
 * log.info(eventFields(event), 'ingested')
 * // {"event":{"source":"/shop","id":"o-1"},"traceId":"4bf92f3577b34da6a3ce929d0e0e4736",...}
 */
export function eventFields(event: CloudEvent): EventLogFields {
  const traceId = traceIdOf(event.traceparent);
  return {
    event: { source: event.source, id: event.id },
    ...(traceId === undefined ? {} : { traceId }),
  };
}

/** The fields of a line about an attempt of a delivery: its event, subscription and attempt number. */
export function deliveryFields(
  subscriptionId: string,
  d: { event: StoredEvent; delivery: { attempts: number } },
): DeliveryLogFields {
  return { ...eventFields(d.event.event), subscription: subscriptionId, attempt: d.delivery.attempts + 1 };
}

/**
 * One debug line per event an ingest took, with the subscriptions it goes to. Checked for the level
 * first: at ingest rates even building the fields for a line nobody reads would show.
 */
export function logIngested(
  log: Logger,
  events: readonly CloudEvent[],
  results: readonly AppendResult[],
  subscriptionsOf: (event: CloudEvent) => string[],
): void {
  if (!log.isLevelEnabled('debug')) return;
  results.forEach((r, i) => {
    const event = events[i];
    if (!event) return;
    const subscriptions = r.status === 'accepted' ? subscriptionsOf(event) : [];
    log.debug({ ...eventFields(event), status: r.status, subscriptions }, 'ingested');
  });
}
