/**
 * At-least-once allows repeats only where something failed. With a healthy sink, every event is
 * delivered once: a poll for due deliveries that runs while ingest hands the same deliveries to the
 * dispatcher must not send them twice.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

let hub: HubProcess;
let sink: Sink;

beforeAll(async () => {
  sink = await startSink();
  // Polling every few milliseconds makes a poll land between commit and handover as often as it can.
  hub = await startHub({ env: { JUNCTION_POLL_INTERVAL_MS: '2' } });
});

afterAll(async () => {
  await hub?.stop();
  await sink?.close();
});

it('delivers each of 3,000 events exactly once to a healthy sink', async () => {
  const res = await hub.fetch('/v1/subscriptions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sink: sink.url, types: ['test.once'] }),
  });
  expect(res.status).toBe(201);

  const total = 3000;
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const id = `once-${next++}`;
      const r = await hub.fetch('/v1/events', {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify({ specversion: '1.0', id, source: '/once', type: 'test.once', data: { id } }),
      });
      expect(r.status).toBe(202);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  await waitFor(() => sink.received.length >= total, 20_000, 'every delivery');
  await new Promise((r) => setTimeout(r, 300));

  const ids = sink.received.map((r) => String(r.headers['webhook-id']));
  expect(sink.received).toHaveLength(total);
  expect(new Set(ids).size).toBe(total);
});
