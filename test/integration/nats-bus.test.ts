/**
 * The JetStream bus against real NATS: the machine's server at 127.0.0.1:4222 for most tests, and
 * a `nats-server` of the test's own for the restart. Every test has its own prefix, so its streams
 * and consumers are its own, and deletes them afterwards. Locally, without NATS, the suite skips
 * and says so; under CI=true an unreachable NATS is a failure.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../src/core/event.js';
import {
  type BusMessage,
  BusUnavailableError,
  JetStreamBus,
  PublishTimeoutError,
} from '../../src/storage/nats/index.js';
import { canConnect, freePort, NATS_URL, OwnNatsServer, uniquePrefix, waitFor } from '../helpers/nats.js';

const required = process.env.CI === 'true';
const natsHost = new URL(NATS_URL);
const reachable = await canConnect(natsHost.hostname, Number(natsHost.port || 4222));
if (!reachable && !required) {
  console.warn(`NATS bus tests skipped: nothing answers at ${NATS_URL}; under CI=true this fails`);
}

const CHANNEL = { name: 'orders', retentionMs: 3_600_000 };

function event(n: number, extra: Record<string, unknown> = {}): CloudEvent {
  return {
    specversion: '1.0',
    id: `e-${n}`,
    source: 'test/nats-bus',
    type: 'com.acme.order.created',
    data: { n },
    ...extra,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!reachable && !required)(`JetStream bus (${NATS_URL})`, () => {
  /** Buses opened by the current test; its streams are deleted by the test itself. */
  let opened: JetStreamBus[] = [];

  async function open(prefix: string, servers = NATS_URL): Promise<JetStreamBus> {
    const bus = await JetStreamBus.connect({
      servers,
      prefix,
      reconnectDelayMs: 100,
      maxReconnectDelayMs: 500,
      publishTimeoutMs: 2_000,
    });
    opened.push(bus);
    return bus;
  }

  afterEach(async () => {
    for (const bus of opened) await bus.close({ force: true }).catch(() => {});
    opened = [];
  });

  it('reaches NATS with JetStream', async () => {
    expect(reachable, `nothing answers at ${NATS_URL}: start nats-server -js`).toBe(true);
  });

  it('consumes every published event exactly once, and a repeated msgId is a duplicate', async () => {
    const bus = await open(uniquePrefix('once'));
    try {
      await bus.ensureStream(CHANNEL);
      const N = 50;
      for (let n = 0; n < N; n++) {
        const result = await bus.publish('orders', event(n), `test/nats-bus e-${n}`);
        expect(result.duplicate).toBe(false);
      }
      const first = await bus.publish('orders', event(0), 'test/nats-bus e-0');
      expect(first.duplicate).toBe(true);
      expect(first.seq).toBe(1);

      const seen = new Map<string, number>();
      await bus.consume('orders', 'router', async (m) => {
        seen.set(m.event.id, (seen.get(m.event.id) ?? 0) + 1);
      });
      await waitFor(() => seen.size === N, 10_000, `${N} events`);
      await sleep(500); // long enough for a stray redelivery to show
      expect([...seen.values()].every((count) => count === 1)).toBe(true);
      expect(seen.size).toBe(N);
    } finally {
      await bus.deleteStream('orders');
    }
  });

  it('carries channels and types that need escaping, and the event as it was published', async () => {
    const bus = await open(uniquePrefix('escape'));
    const channel = { name: 'orders.eu', retentionMs: 60_000 };
    try {
      await bus.ensureStream(channel);
      await bus.ensureStream(channel); // idempotent: a second process starting up
      const odd = event(1, { type: 'order created > v2.*', partitionkey: 'ü', data_base64: 'AAE=' });
      delete odd.data;
      await bus.publish('orders.eu', odd, 'odd');
      let received: BusMessage | undefined;
      await bus.consume('orders.eu', 'router', async (m) => {
        received = m;
      });
      await waitFor(() => received !== undefined, 10_000, 'the event');
      expect(received?.event).toEqual(odd);
      expect(received?.subject).toMatch(/\.ev\.orders%2Eeu\.k\d\d\.order%20created%20%3E%20v2\.%2A$/);
    } finally {
      await bus.deleteStream('orders.eu');
    }
  });

  it('shares a durable between two processes: each message is handled once in total', async () => {
    const prefix = uniquePrefix('share');
    const a = await open(prefix);
    const b = await open(prefix);
    try {
      await a.ensureStream(CHANNEL);
      const handledBy = new Map<string, string[]>();
      const handler = (who: string) => async (m: BusMessage) => {
        handledBy.set(m.event.id, [...(handledBy.get(m.event.id) ?? []), who]);
        await sleep(20);
      };
      await a.consume('orders', 'workers', handler('a'), { maxAckPending: 4 });
      await b.consume('orders', 'workers', handler('b'), { maxAckPending: 4 });
      const N = 40;
      for (let n = 0; n < N; n++) await a.publish('orders', event(n), `e-${n}`);
      await waitFor(() => handledBy.size === N, 15_000, `${N} events`);
      await sleep(500);
      const all = [...handledBy.values()];
      expect(all.every((by) => by.length === 1)).toBe(true);
      expect(all.some((by) => by[0] === 'a')).toBe(true);
      expect(all.some((by) => by[0] === 'b')).toBe(true);
    } finally {
      await a.deleteStream('orders');
    }
  });

  it('redelivers a message whose handler rejected', async () => {
    const bus = await open(uniquePrefix('nak'));
    try {
      await bus.ensureStream(CHANNEL);
      const deliveries: number[] = [];
      const errors: unknown[] = [];
      await bus.consume(
        'orders',
        'router',
        async (m) => {
          deliveries.push(m.deliveryCount);
          if (m.deliveryCount === 1) throw new Error('sink down');
        },
        { nakDelayMs: 100, onError: (e) => errors.push(e) },
      );
      await bus.publish('orders', event(1), 'e-1');
      await waitFor(() => deliveries.length === 2, 10_000, 'the redelivery');
      expect(deliveries).toEqual([1, 2]);
      expect(errors).toHaveLength(1);
    } finally {
      await bus.deleteStream('orders');
    }
  });

  it('redelivers to another process what a process that died held unacked', async () => {
    const prefix = uniquePrefix('dies');
    const dying = await open(prefix);
    const survivor = await open(prefix);
    try {
      await dying.ensureStream(CHANNEL);
      const N = 5;
      for (let n = 0; n < N; n++) await dying.publish('orders', event(n), `e-${n}`);
      const held = new Set<string>();
      // Never resolves: the process "dies" with every message in hand.
      await dying.consume(
        'orders',
        'workers',
        (m) => {
          held.add(m.event.id);
          return new Promise(() => {});
        },
        { ackWaitMs: 2_000, maxAckPending: N },
      );
      await waitFor(() => held.size === N, 10_000, 'the dying process to hold every message');
      await dying.close({ force: true });

      const started = Date.now();
      const recovered = new Map<string, number>();
      await survivor.consume(
        'orders',
        'workers',
        async (m) => {
          recovered.set(m.event.id, m.deliveryCount);
        },
        { ackWaitMs: 2_000, maxAckPending: N },
      );
      await waitFor(() => recovered.size === N, 10_000, 'the redeliveries');
      expect(Date.now() - started).toBeLessThan(6_000);
      expect([...recovered.values()].every((count) => count >= 2)).toBe(true);
    } finally {
      await survivor.deleteStream('orders');
    }
  });

  it('hands events of one partition key over in publish order, across processes', async () => {
    const prefix = uniquePrefix('order');
    const a = await open(prefix);
    const b = await open(prefix);
    try {
      await a.ensureStream(CHANNEL);
      const byKey = new Map<string, number[]>();
      const handler = async (m: BusMessage) => {
        await sleep(Math.random() * 10);
        const key = String(m.event.partitionkey);
        byKey.set(key, [...(byKey.get(key) ?? []), Number((m.event.data as { n: number }).n)]);
      };
      await a.consume('orders', 'ordered', handler, { ordered: true });
      await b.consume('orders', 'ordered', handler, { ordered: true });
      const N = 60;
      for (let n = 0; n < N; n++) {
        await a.publish('orders', event(n, { partitionkey: `customer-${n % 4}` }), `e-${n}`);
      }
      await waitFor(() => [...byKey.values()].reduce((s, l) => s + l.length, 0) === N, 20_000, `${N} events`);
      for (const [key, ns] of byKey) {
        expect(ns, `order of ${key}`).toEqual([...ns].sort((x, y) => x - y));
      }
    } finally {
      await a.deleteStream('orders');
    }
  });

  it('answers many publishes of one turn of the event loop, each with its own sequence', async () => {
    const bus = await open(uniquePrefix('burst'));
    await bus.ensureStream(CHANNEL);
    const first = await Promise.all(
      Array.from({ length: 500 }, (_, n) => bus.publish('orders', event(n), `e-${n}`)),
    );
    expect(new Set(first.map((r) => r.seq)).size).toBe(500);
    expect(first.every((r) => !r.duplicate)).toBe(true);
    // The same ids again, with new ones between them: the repeats are duplicates of the first seqs.
    const again = await Promise.all(
      Array.from({ length: 600 }, (_, n) => bus.publish('orders', event(n), `e-${n}`)),
    );
    expect(again.slice(0, 500).map((r) => [r.seq, r.duplicate])).toEqual(first.map((r) => [r.seq, true]));
    expect(again.slice(500).every((r) => !r.duplicate)).toBe(true);
  });

  it('refuses a publish no stream takes as unavailable, and one nobody answers as a timeout', async () => {
    const prefix = uniquePrefix('unanswered');
    const bus = await open(prefix);
    // No stream for the channel: NATS answers "no responders" at once.
    const none = await bus.publish('orders', event(1), 'e-1').catch((e: unknown) => e);
    expect(none).toBeInstanceOf(BusUnavailableError);
    expect(none).not.toBeInstanceOf(PublishTimeoutError);
    expect((none as Error).message).toMatch(/no JetStream stream answered/);

    // A plain subscriber on the subjects takes the message and never answers: the publish times out.
    const { connect } = await import('@nats-io/transport-node');
    const silent = await connect({ servers: NATS_URL });
    try {
      silent.subscribe(`${prefix}.>`, { callback: () => {} });
      await silent.flush();
      const waited = Date.now();
      const unanswered = await bus.publish('orders', event(2), 'e-2').catch((e: unknown) => e);
      expect(unanswered).toBeInstanceOf(PublishTimeoutError);
      expect(Date.now() - waited).toBeGreaterThanOrEqual(1_900);
      expect(Date.now() - waited).toBeLessThan(6_000);
    } finally {
      await silent.close();
    }
  });

  it('fails publishes still waiting when the bus is closed', async () => {
    const prefix = uniquePrefix('closing');
    const bus = await open(prefix);
    const { connect } = await import('@nats-io/transport-node');
    const silent = await connect({ servers: NATS_URL });
    try {
      silent.subscribe(`${prefix}.>`, { callback: () => {} });
      await silent.flush();
      const waiting = bus.publish('orders', event(3), 'e-3').catch((e: unknown) => e);
      await sleep(100);
      await bus.close({ force: true });
      const error = await waiting;
      expect(error).toBeInstanceOf(BusUnavailableError);
      expect((error as Error).message).toMatch(/closed/);
    } finally {
      await silent.close();
    }
  });

  describe('with its own nats-server', () => {
    let server: OwnNatsServer | undefined;

    afterAll(async () => {
      await server?.dispose();
    });

    it('reconnects after the server restarts, and loses nothing acknowledged', async () => {
      server = new OwnNatsServer(await freePort());
      await server.start();
      const bus = await open(uniquePrefix('restart'), server.url);
      const states: string[] = [];
      bus.onStatus((state) => states.push(state));
      await bus.ensureStream(CHANNEL);
      const acked = new Set<string>();
      for (let n = 0; n < 20; n++) {
        await bus.publish('orders', event(n), `e-${n}`);
        acked.add(`e-${n}`);
      }

      await server.kill();
      await waitFor(() => bus.state === 'reconnecting', 10_000, 'the bus to notice the loss');
      const during = await bus.publish('orders', event(99), 'e-99').catch((e: unknown) => e);
      expect(during).toBeInstanceOf(BusUnavailableError);
      expect(during).toBeInstanceOf(PublishTimeoutError);

      await server.start();
      await waitFor(() => bus.state === 'connected', 15_000, 'the bus to reconnect');
      expect(states).toContain('reconnecting');
      // JetStream may take a moment to recover its streams after the listener is up.
      for (let n = 20; n < 40; n++) {
        const deadline = Date.now() + 15_000;
        for (;;) {
          try {
            await bus.publish('orders', event(n), `e-${n}`);
            acked.add(`e-${n}`);
            break;
          } catch (error) {
            if (!(error instanceof BusUnavailableError) || Date.now() > deadline) throw error;
            await sleep(200);
          }
        }
      }

      const seen = new Set<string>();
      await bus.consume('orders', 'router', async (m) => {
        seen.add(m.event.id);
      });
      await waitFor(() => [...acked].every((id) => seen.has(id)), 15_000, 'every acknowledged event');
      await bus.close();
    });
  });
});
