/**
 * A delivery's `timeoutMs` is the sink's time to answer. A delivery that is still waiting for one of
 * the hub's own pooled connections, because hung requests hold them all, has not been sent: it must
 * not be charged an attempt for the sink's silence, and a request the sink answers 2xx must not be
 * recorded as a timeout (that sends it again, or dead-letters what the sink has processed).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FaultSink, startFaultSink } from '../helpers/fault-sink.js';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';

const CONNECTIONS = 8;
const EVENTS = 64;

let hub: HubProcess;
let sink: FaultSink;

beforeAll(async () => {
  sink = await startFaultSink();
  // Fewer pooled connections than attempts allowed in flight, so requests queue inside the hub.
  hub = await startHub({ env: { JUNCTION_CONNECTIONS_PER_ORIGIN: String(CONNECTIONS) } });
});

afterAll(async () => {
  await hub?.stop();
  await sink?.close();
});

interface Item {
  status: string;
  attempts: number;
  event: { id: string };
}

async function list(subscription: string, status: string): Promise<Item[]> {
  const res = await hub.fetch(`/v1/subscriptions/${subscription}/deliveries?status=${status}&limit=1000`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: Item[] }).items;
}

it('requests queued behind hung ones are sent with their full timeout, and only the hung ones die', async () => {
  const { id: sub } = await hub.subscribe({
    sink: sink.url,
    types: ['test.pool'],
    delivery: { maxAttempts: 1, timeoutMs: 1_000 },
  });
  sink.fault({ kind: 'hang' });
  const res = await hub.fetch('/v1/events', {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify(
      Array.from({ length: EVENTS }, (_, i) => ({
        specversion: '1.0',
        id: `pool-${i}`,
        source: '/pool',
        type: 'test.pool',
      })),
    ),
  });
  expect(res.status).toBe(202);
  // Every pooled connection now holds a hung request, so no other request can reach the sink until
  // those time out; from then on the sink answers at once.
  await waitFor(() => sink.requestCount() >= CONNECTIONS, 5_000, 'a hung request on every connection');
  sink.heal();
  await waitFor(
    async () => (await list(sub, 'pending')).length + (await list(sub, 'retrying')).length === 0,
    30_000,
    'every delivery to be final',
  );

  const dead = await list(sub, 'dead');
  const delivered = await list(sub, 'delivered');
  const hung = new Set(
    sink
      .requests()
      .filter((r) => r.answer === 'hang')
      .map((r) => r.eventId),
  );
  expect(hung.size).toBe(CONNECTIONS);
  expect(new Set(dead.map((d) => d.event.id))).toEqual(hung);
  expect(new Set(delivered.map((d) => d.event.id))).toEqual(sink.deliveredIds());
  expect(delivered).toHaveLength(EVENTS - CONNECTIONS);
  // Each attempt the hub recorded is a request the sink received.
  expect(sink.requestCount()).toBe([...dead, ...delivered].reduce((n, d) => n + d.attempts, 0));
}, 60_000);
