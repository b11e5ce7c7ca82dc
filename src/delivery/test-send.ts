/**
 * "Send a test event": one made-up CloudEvent through a subscription's own sink path (its
 * conversion and transform, format, headers and Standard Webhooks signature, and its protocol's
 * sink), sent once, with no retry, no breaker and nothing stored, so an operator can check a sink
 * without publishing a business event.
 */
import type { ConversionResult } from '../contracts/conversion.js';
import type { ChannelConfig } from '../core/config.js';
import type { CloudEvent } from '../core/event.js';
import { encodeEvent } from '../core/http-binding.js';
import { newId } from '../core/ids.js';
import { firstFailingFilter } from '../routing/filters.js';
import { regionBlock } from '../routing/region-policy.js';
import type { StoredEvent, Subscription } from '../storage/ports.js';
import { signedRequest } from './signing.js';
import type { DeliverySink } from './sinks/router.js';

/** The source of every test event, and the type of one whose subscription takes every type. */
export const TEST_SOURCE = 'junction:test';
export const TEST_TYPE = 'dev.junction.test';

/**
 * How many of the latest stored events of the type a test send looks through for one the
 * subscription may receive: enough for a filter that takes a fair share, and one bounded read.
 */
export const SAMPLE_EVENTS = 20;

/** What the request may set; everything else is made up. */
export interface TestEventInput {
  type?: string;
  data?: unknown;
}

/** What the sink did with the test event, in the shape of an attempt. */
export interface TestSendResult {
  event: CloudEvent;
  ok: boolean;
  status: number | null;
  latencyMs: number;
  response: string | null;
  error: string | null;
}

export interface TestSendDeps {
  sink: DeliverySink;
  /** The subscription's conversion and transform, as the dispatcher applies them; null for none. */
  prepare: (sub: Subscription, event: StoredEvent) => Promise<ConversionResult> | null;
}

/**
 * The newest of the stored events that the subscription would really be sent: it takes their type,
 * its filters match them and no region policy (the channel's or its own) blocks them, decided as
 * at delivery. Any other event's data must not reach this sink, not even in a test.
 *
 * @example
 * deliverableSample(await store.recentEvents(type, SAMPLE_EVENTS), sub, channels.of(type))
 */
export function deliverableSample(
  events: readonly StoredEvent[],
  sub: Subscription,
  channel: Pick<ChannelConfig, 'name' | 'allowedRegions'>,
): CloudEvent | undefined {
  return events.find(
    ({ event }) =>
      (sub.types.length === 0 || sub.types.includes(event.type)) &&
      firstFailingFilter(sub.filters, event) === -1 &&
      regionBlock(event, channel, sub) === null,
  )?.event;
}

/**
 * The test event: the given data, else the data of the latest stored event of the type that the
 * subscription may receive (see `deliverableSample`: what the sink will really get), else the
 * schema's first example, else `{"test": true}`. The `junctiontest` extension tells a consumer it
 * may ignore it.
 *
 * @example
 * testEvent('com.acme.order.created', { data: { total: 1 } }, undefined, undefined)
 */
export function testEvent(
  type: string,
  input: TestEventInput,
  latest: CloudEvent | undefined,
  example: unknown,
): CloudEvent {
  const base: CloudEvent = {
    specversion: '1.0',
    id: newId('test'),
    source: TEST_SOURCE,
    type,
    time: new Date().toISOString(),
    junctiontest: true,
  };
  if (input.data !== undefined) return { ...base, datacontenttype: 'application/json', data: input.data };
  if (latest && (latest.data !== undefined || latest.data_base64 !== undefined)) {
    const { data, data_base64, datacontenttype, dataschema } = latest;
    return {
      ...base,
      ...(datacontenttype === undefined ? {} : { datacontenttype }),
      ...(dataschema === undefined ? {} : { dataschema }),
      ...(data === undefined ? { data_base64 } : { data }),
    };
  }
  return { ...base, datacontenttype: 'application/json', data: example ?? { test: true } };
}

/** Sends the event once as a delivery to the subscription would go, and says what came back. */
export async function sendOnce(
  deps: TestSendDeps,
  sub: Subscription,
  event: CloudEvent,
): Promise<TestSendResult> {
  const at = new Date();
  let sent = event;
  try {
    const prepared = await deps.prepare(sub, { seq: 0, event, receivedAt: at.toISOString() });
    if (prepared && !prepared.ok) return failed(event, prepared.reason);
    if (prepared) sent = prepared.event;
  } catch (error) {
    return failed(event, `the conversion failed: ${(error as Error).message ?? String(error)}`);
  }
  const result = await deps.sink.send(
    signedRequest(sub, encodeEvent(sent, sub.delivery.format, at), newId('msg'), at),
  );
  const latencyMs = Math.round(result.latencyMs * 10) / 10;
  if (!result.ok) return { ...failed(sent, result.error), latencyMs };
  const ok = result.status >= 200 && result.status < 300;
  return {
    event: sent,
    ok,
    status: result.status,
    latencyMs,
    response: result.excerpt === '' ? null : result.excerpt,
    error: ok ? null : `the sink answered ${result.status}`,
  };
}

function failed(event: CloudEvent, error: string): TestSendResult {
  return { event, ok: false, status: null, latencyMs: 0, response: null, error };
}
