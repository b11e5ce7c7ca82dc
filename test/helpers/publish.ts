/**
 * Publishing many events at once: one `application/cloudevents-batch+json` request per batch, each
 * checked to be acknowledged in full.
 */
import type { HubProcess } from './server.js';

export const BATCH_TYPE = 'application/cloudevents-batch+json';

/** Publishes `events` (specversion is added) in one batch request; throws unless all are accepted. */
export async function publishBatch(hub: HubProcess, events: Record<string, unknown>[]): Promise<void> {
  const res = await hub.fetch('/v1/events', {
    method: 'POST',
    headers: { 'content-type': BATCH_TYPE },
    body: JSON.stringify(events.map((e) => ({ specversion: '1.0', ...e }))),
  });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`batch publish answered ${res.status}: ${text}`);
  const answer = JSON.parse(text) as { events: { status: string }[] };
  if (answer.events.length !== events.length || answer.events.some((e) => e.status !== 'accepted'))
    throw new Error(`not every event of the batch was accepted: ${text.slice(0, 500)}`);
}

/**
 * Publishes `events` in batches of `size`, with `parallel` requests in flight at once. Batches leave
 * in order, but with more than one in flight their events may be stored in any order.
 */
export async function publishAll(
  hub: HubProcess,
  events: Record<string, unknown>[],
  size = 1_000,
  parallel = 4,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < events.length) {
      const start = next;
      next += size;
      await publishBatch(hub, events.slice(start, start + size));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}
