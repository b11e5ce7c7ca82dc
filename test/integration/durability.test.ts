/**
 * Durability under process death: every event that got a 202 is delivered after a SIGKILL and a
 * restart, repeats carry the same webhook-id, a pending retry resumes, and SIGTERM drains.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type HubProcess, startHub, tempDataDir, waitFor } from '../helpers/server.js';
import { startSink } from '../helpers/sink.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

async function subscribe(hub: HubProcess, sink: string): Promise<string> {
  return (await hub.subscribe({ sink, types: ['test.durable'] })).id;
}

function eventBody(id: string): string {
  return JSON.stringify({
    specversion: '1.0',
    id,
    source: '/durability',
    type: 'test.durable',
    data: { id, pad: 'x'.repeat(200) },
  });
}

async function lookup(hub: HubProcess, id: string) {
  const res = await hub.fetch(`/v1/events/lookup?source=/durability&id=${id}`);
  return res.status === 200
    ? ((await res.json()) as { deliveries: { status: string; webhookId: string; attemptLog: unknown[] }[] })
    : undefined;
}

describe('crash safety', () => {
  it('delivers every acknowledged event after kill -9, with repeats only under the same webhook-id', async () => {
    const sink = await startSink();
    cleanup.push(() => sink.close());
    const dataDir = tempDataDir();
    let hub = await startHub({ dataDir });
    cleanup.push(() => hub.kill());
    await subscribe(hub, sink.url);

    const sent = new Set<string>();
    const acked = new Set<string>();
    let stop = false;
    const publisher = async (worker: number) => {
      for (let i = 0; !stop; i++) {
        const id = `w${worker}-${i}`;
        sent.add(id);
        try {
          const res = await fetch(`${hub.url}/v1/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${hub.key}`, 'content-type': 'application/cloudevents+json' },
            body: eventBody(id),
          });
          if (res.status === 202) acked.add(id);
          else await res.body?.cancel();
        } catch {
          return; // the process died under us: this request's fate is unknown, which is allowed
        }
      }
    };
    const publishers = Array.from({ length: 16 }, (_, w) => publisher(w));
    await waitFor(() => acked.size >= 1500, 20_000, '1500 acknowledged events');
    await hub.kill();
    stop = true;
    await Promise.all(publishers);
    expect(acked.size).toBeGreaterThanOrEqual(1500);

    hub = await startHub({ dataDir });
    const delivered = () =>
      new Set(sink.received.map((r) => (JSON.parse(r.body.toString()) as { id: string }).id));
    await waitFor(
      () => [...acked].every((id) => delivered().has(id)),
      30_000,
      'every acknowledged event delivered',
    );

    const webhookIds = new Map<string, Set<string>>();
    for (const r of sink.received) {
      const { id } = JSON.parse(r.body.toString()) as { id: string };
      expect(sent.has(id), `delivered ${id}, which was never published`).toBe(true);
      const set = webhookIds.get(id) ?? new Set();
      set.add(String(r.headers['webhook-id']));
      webhookIds.set(id, set);
    }
    for (const [id, set] of webhookIds)
      expect(set.size, `event ${id} delivered under several webhook-ids`).toBe(1);
  });

  it('resumes a pending retry after a restart', async () => {
    const sink = await startSink((_req, res, n) => {
      if (n === 0) res.writeHead(503, { 'retry-after': '2' }).end('busy');
      else res.writeHead(200).end('ok');
    });
    cleanup.push(() => sink.close());
    const dataDir = tempDataDir();
    let hub = await startHub({ dataDir });
    cleanup.push(() => hub.kill());
    await subscribe(hub, sink.url);
    const res = await hub.fetch('/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: eventBody('retry-me'),
    });
    expect(res.status).toBe(202);
    await waitFor(
      async () => (await lookup(hub, 'retry-me'))?.deliveries[0]?.status === 'retrying',
      5_000,
      'retrying',
    );
    await hub.kill();
    expect(sink.received).toHaveLength(1);

    hub = await startHub({ dataDir });
    await waitFor(
      async () => (await lookup(hub, 'retry-me'))?.deliveries[0]?.status === 'delivered',
      10_000,
      'delivered',
    );
    expect(sink.received).toHaveLength(2);
    expect(sink.received[1]!.at - sink.received[0]!.at).toBeGreaterThanOrEqual(1900);
    expect(sink.received[1]!.headers['webhook-id']).toBe(sink.received[0]!.headers['webhook-id']);
  });

  it('drains on SIGTERM: finishes attempts in flight and exits 0', async () => {
    const sink = await startSink((_req, res) => {
      setTimeout(() => res.writeHead(200).end('slow ok'), 700);
    });
    cleanup.push(() => sink.close());
    const dataDir = tempDataDir();
    let hub = await startHub({ dataDir });
    cleanup.push(() => hub.kill());
    await subscribe(hub, sink.url);
    for (const id of ['drain-1', 'drain-2', 'drain-3']) {
      const res = await hub.fetch('/v1/events', {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: eventBody(id),
      });
      expect(res.status).toBe(202);
    }
    await waitFor(() => sink.received.length === 3, 5_000, 'attempts in flight');
    expect(await hub.stop()).toBe(0);

    // The attempts finished before exit and were recorded: a restart sends nothing again.
    hub = await startHub({ dataDir });
    for (const id of ['drain-1', 'drain-2', 'drain-3']) {
      expect((await lookup(hub, id))?.deliveries[0]?.status).toBe('delivered');
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.received).toHaveLength(3);
  });

  it('on SIGTERM, cuts short a send still waiting on a slow sink without spending its only attempt', async () => {
    const sink = await startSink((_req, res, n) => {
      if (n > 0) res.writeHead(200).end('ok'); // the first request is never answered
    });
    cleanup.push(() => sink.close());
    const dataDir = tempDataDir();
    const env = { JUNCTION_SHUTDOWN_GRACE_MS: '2000' };
    let hub = await startHub({ dataDir, env });
    cleanup.push(() => hub.kill());
    await hub.subscribe({
      sink: sink.url,
      types: ['test.durable'],
      delivery: { maxAttempts: 1, timeoutMs: 60_000 },
    });
    await hub.publish({ id: 'slow-1', source: '/durability', type: 'test.durable' });
    await waitFor(() => sink.received.length === 1, 5_000, 'the attempt in flight');
    const stopping = Date.now();
    expect(await hub.stop()).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(2_000);

    hub = await startHub({ dataDir, env });
    await waitFor(
      async () => (await lookup(hub, 'slow-1'))?.deliveries[0]?.status === 'delivered',
      10_000,
      'delivered',
    );
    const delivery = (await lookup(hub, 'slow-1'))!.deliveries[0]!;
    expect(delivery.attemptLog).toHaveLength(1);
    expect(sink.received[1]!.headers['webhook-id']).toBe(sink.received[0]!.headers['webhook-id']);
  });
});
