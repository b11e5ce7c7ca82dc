/**
 * Channels, against the real hub and real sinks: each has its own concurrency budget, so a flood on
 * `telemetry` to a slow sink cannot delay `orders`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allDeliveries, InFlight, sleep, writeConfigFile } from '../helpers/delivery.js';
import { publishBatch } from '../helpers/publish.js';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

const channels = {
  telemetry: { types: ['com.acme.telemetry.*'], concurrency: 2 },
  orders: { types: ['com.acme.order.*'], concurrency: 4 },
};
/**
 * Room for both channels and little more: were the channels not kept apart, the slow telemetry
 * requests would hold most of the hub's slots and the orders would queue behind them.
 */
const deliveryConcurrency = 8;
const FLOOD = 500;
const ORDERS = 40;
const SLOW_MS = 500;

let hub: HubProcess;
/** Answers after SLOW_MS. */
let slowSink: Sink;
const slowInFlight = new InFlight();
let fastSink: Sink;
const fastInFlight = new InFlight();

beforeAll(async () => {
  slowSink = await startSink((_req, res) => {
    slowInFlight.enter();
    setTimeout(() => {
      slowInFlight.leave();
      res.writeHead(200).end('ok');
    }, SLOW_MS);
  });
  fastSink = await startSink((_req, res) => {
    fastInFlight.enter();
    setImmediate(() => {
      fastInFlight.leave();
      res.writeHead(200).end('ok');
    });
  });
  const config = writeConfigFile({ deliveryConcurrency, channels });
  hub = await startHub({ args: ['--config', config] });
});

afterAll(async () => {
  await hub?.stop();
  await slowSink?.close();
  await fastSink?.close();
});

describe('channels', () => {
  it('lists the configured channels, with default', async () => {
    const res = await hub.fetch('/v1/channels');
    expect(res.status).toBe(200);
    const listed = (await res.json()) as {
      name: string;
      types: string[];
      mode: string;
      concurrency: number;
    }[];
    expect(listed.map((c) => c.name).sort()).toEqual(['default', 'orders', 'telemetry']);
    expect(listed.find((c) => c.name === 'telemetry')).toMatchObject({
      types: ['com.acme.telemetry.*'],
      mode: 'stream',
      concurrency: 2,
    });
    expect(listed.find((c) => c.name === 'orders')).toMatchObject({
      types: ['com.acme.order.*'],
      mode: 'stream',
      concurrency: 4,
    });
  });

  it('keeps orders prompt while a flood on telemetry is backed up', async () => {
    const telemetry = await hub.subscribe({
      sink: slowSink.url,
      types: ['com.acme.telemetry.reading'],
      delivery: { timeoutMs: 5_000 },
    });
    const orders = await hub.subscribe({ sink: fastSink.url, types: ['com.acme.order.created'] });

    await publishBatch(
      hub,
      Array.from({ length: FLOOD }, (_, i) => ({
        id: `t-${i}`,
        source: '/sensors',
        type: 'com.acme.telemetry.reading',
        data: { i },
      })),
    );
    // Let the flood take hold: the telemetry channel's slots are busy and its backlog is queued.
    await waitFor(() => slowInFlight.current >= 2, 5_000, 'telemetry to fill its slots');
    await sleep(1_000);

    const sentAt = Date.now();
    await publishBatch(
      hub,
      Array.from({ length: ORDERS }, (_, i) => ({
        id: `o-${i}`,
        source: '/shop',
        type: 'com.acme.order.created',
        data: { i },
      })),
    );
    await waitFor(() => fastSink.received.length >= ORDERS, 2_000, `all ${ORDERS} orders within 2 s`);
    const lastOrderAt = Math.max(...fastSink.received.map((r) => r.at));
    expect(lastOrderAt - sentAt).toBeLessThan(2_000);
    expect(new Set(fastSink.received.map((r) => r.headers['ce-id'])).size).toBe(ORDERS);

    // Telemetry is still backed up, and never had more than its channel's two requests out.
    expect(slowSink.received.length).toBeLessThan(FLOOD / 10);
    expect(slowInFlight.max).toBe(2);
    expect(fastInFlight.max).toBeLessThanOrEqual(4);

    // Each delivery records its channel.
    await waitFor(
      async () => (await allDeliveries(hub, orders.id)).every((d) => d.status === 'delivered'),
      2_000,
      'the orders to be recorded as delivered',
    );
    const orderDeliveries = await allDeliveries(hub, orders.id);
    expect(orderDeliveries).toHaveLength(ORDERS);
    expect(new Set(orderDeliveries.map((d) => d.channel))).toEqual(new Set(['orders']));
    const telemetryDeliveries = await allDeliveries(hub, telemetry.id);
    expect(telemetryDeliveries).toHaveLength(FLOOD);
    expect(new Set(telemetryDeliveries.map((d) => d.channel))).toEqual(new Set(['telemetry']));
    expect(telemetryDeliveries.filter((d) => d.status === 'pending').length).toBeGreaterThan(FLOOD / 2);
    expect(slowInFlight.max).toBe(2);
  });
});
