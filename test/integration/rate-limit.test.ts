/**
 * A subscription's rate limit, against the real hub and real sinks: the request rate holds to within
 * 10% over a 10 s window, the concurrency limit is never exceeded, and throttled deliveries are
 * delayed, never dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allDeliveries, InFlight } from '../helpers/delivery.js';
import { publishBatch } from '../helpers/publish.js';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

let hub: HubProcess;
let sink: Sink;

beforeAll(async () => {
  sink = await startSink();
  hub = await startHub();
});

afterAll(async () => {
  await hub?.stop();
  await sink?.close();
});

function events(type: string, n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${type}-${i}`,
    source: '/rate-limit',
    type,
    data: { i },
  }));
}

describe('rate limits', () => {
  it('holds 20 events a second to within 10% over a 10 s window, and drops nothing', async () => {
    const perSecond = 20;
    // More than the limit lets through in the 11 s measured, so the backlog never runs dry.
    const total = 260;
    const type = 'com.acme.rate.metered';
    const path = '/metered';
    const sub = await hub.subscribe({
      sink: `${sink.url}${path}`,
      types: [type],
      delivery: { rateLimit: { perSecond, burst: 1 } },
    });
    const hits = () => sink.received.filter((r) => r.path.endsWith(path));
    await publishBatch(hub, events(type, total));

    await waitFor(() => hits().length >= total, 25_000, `all ${total} events to reach the sink`);
    const times = hits().map((r) => r.at);
    const start = times[0]! + 1_000;
    const window = times.filter((t) => t >= start && t < start + 10_000);
    expect(window.length).toBeGreaterThanOrEqual(perSecond * 10 * 0.9);
    expect(window.length).toBeLessThanOrEqual(perSecond * 10 * 1.1);
    // With a burst of 1, no second holds much more than the rate: one token, and a little jitter.
    let busiest = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i]! - times[j]! >= 1_000) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    expect(busiest).toBeLessThanOrEqual(perSecond + 3);

    // Delayed, never dropped, never doubled.
    expect(new Set(hits().map((r) => r.headers['ce-id'])).size).toBe(total);
    expect(hits()).toHaveLength(total);
    let deliveries = await allDeliveries(hub, sub.id);
    await waitFor(
      async () => {
        deliveries = await allDeliveries(hub, sub.id);
        return deliveries.every((d) => d.status === 'delivered');
      },
      5_000,
      'every delivery to be recorded as delivered',
    );
    expect(deliveries).toHaveLength(total);
    expect(deliveries.every((d) => d.attempts === 1)).toBe(true);
  });

  it('never has more requests in flight than its concurrency limit', async () => {
    const slow = new InFlight();
    const slowSink = await startSink((_req, res) => {
      slow.enter();
      setTimeout(() => {
        // Counted out before the answer leaves, so the hub's next request cannot overlap it here.
        slow.leave();
        res.writeHead(200).end('ok');
      }, 200);
    });
    try {
      const total = 30;
      const type = 'com.acme.rate.concurrent';
      const sub = await hub.subscribe({
        sink: slowSink.url,
        types: [type],
        // The rate is far above what two slow requests at a time can reach: concurrency binds.
        delivery: { rateLimit: { perSecond: 1_000, burst: 100, concurrency: 2 } },
      });
      await publishBatch(hub, events(type, total));
      await waitFor(() => slowSink.received.length >= total, 15_000, `all ${total} events to reach the sink`);
      expect(slow.max).toBe(2);
      const times = slowSink.received.map((r) => r.at);
      // Two at a time, 200 ms each: the last starts at least 14 rounds after the first.
      expect(times[times.length - 1]! - times[0]!).toBeGreaterThanOrEqual((total / 2 - 1) * 200 * 0.95);
      await waitFor(
        async () => (await allDeliveries(hub, sub.id)).every((d) => d.status === 'delivered'),
        5_000,
        'every delivery to be recorded as delivered',
      );
      expect(new Set(slowSink.received.map((r) => r.headers['ce-id'])).size).toBe(total);
    } finally {
      await slowSink.close();
    }
  });
});
