/**
 * Batching against the real hub and a real sink: events go out as signed
 * `application/cloudevents-batch+json` bodies within `maxEvents` and `maxBytes`, a partial batch
 * leaves after `maxWaitMs`, and a failed batch is retried whole, under the same webhook-id, while
 * each member keeps its own delivery record.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_TYPE, publishBatch } from '../helpers/publish.js';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { type Received, type Sink, startSink } from '../helpers/sink.js';

const SOURCE = '/batching';

let hub: HubProcess;
let sink: Sink;
/** Per path: what the sink answers to the n-th request on that path; 200 when unset. */
const scripts = new Map<string, (n: number) => { status: number; headers?: Record<string, string> }>();

const hits = (path: string) => sink.received.filter((r) => r.path === `/hook${path}`);

beforeAll(async () => {
  sink = await startSink((req, res) => {
    const path = req.path.replace('/hook', '');
    const n = hits(path).length - 1;
    const answer = scripts.get(path)?.(n) ?? { status: 200 };
    res.writeHead(answer.status, answer.headers).end();
  });
  hub = await startHub();
});

afterAll(async () => {
  await hub?.stop();
  await sink?.close();
});

interface Member {
  specversion: string;
  id: string;
  source: string;
  type: string;
  data: unknown;
}

/** The members of a batch request, after checking that it is one. */
function membersOf(req: Received): Member[] {
  expect(req.headers['content-type']).toMatch(new RegExp(`^${BATCH_TYPE.replaceAll('+', '\\+')}`));
  const body = JSON.parse(req.body.toString('utf8')) as unknown;
  expect(Array.isArray(body)).toBe(true);
  return body as Member[];
}

/** Throws unless the request carries a valid Standard Webhooks signature by `secret`. */
function verify(secret: string, req: Received): void {
  const headers: Record<string, string> = {};
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    headers[name] = String(req.headers[name]);
  }
  new Webhook(secret).verify(req.body.toString('utf8'), headers);
}

async function subscribe(path: string, delivery: Record<string, unknown>) {
  return hub.subscribe({
    sink: `${sink.url}${path}`,
    types: [`test.batching${path.replaceAll('/', '.')}`],
    delivery,
  });
}

const event = (path: string, id: string, data: unknown = { id }) => ({
  id,
  source: SOURCE,
  type: `test.batching${path.replaceAll('/', '.')}`,
  data,
});

async function lookup(id: string) {
  const res = await hub.fetch(`/v1/events/lookup?source=${SOURCE}&id=${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as {
    deliveries: {
      status: string;
      attempts: number;
      webhookId: string;
      attemptLog: { n: number; status: number | null; outcome: string }[];
    }[];
  };
}

/** Every member id the sink got on `path`, in arrival order, repeats included. */
const memberIds = (path: string) => hits(path).flatMap((r) => membersOf(r).map((m) => m.id));

describe('batch delivery', () => {
  it('sends 95 events as signed batches of at most 10, the last partial one after maxWaitMs', async () => {
    const { secret } = await subscribe('/size', {
      batch: { maxEvents: 10, maxWaitMs: 200, maxBytes: 1_000_000 },
    });
    const ids = Array.from({ length: 95 }, (_, i) => `size-${i}`);
    const publishedAt = Date.now();
    await publishBatch(
      hub,
      ids.map((id) => event('/size', id)),
    );
    await waitFor(() => memberIds('/size').length >= 95, 10_000, 'all 95 events');
    // Long enough for a stray repeat or a late extra batch to show.
    await new Promise((r) => setTimeout(r, 500));

    const requests = hits('/size');
    for (const req of requests) verify(secret, req);
    const sizes = requests.map((r) => membersOf(r).length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
    expect([...sizes].sort((a, b) => b - a)).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 5]);
    const got = memberIds('/size');
    expect(got).toHaveLength(95);
    expect(new Set(got)).toEqual(new Set(ids));

    // The partial batch waited for maxWaitMs from when its first event was queued (after publishing
    // began); the full ones did not wait for it.
    const last = requests.at(-1)!;
    expect(membersOf(last)).toHaveLength(5);
    expect(last.at - publishedAt).toBeGreaterThanOrEqual(195);
    expect(last.at - publishedAt).toBeLessThan(3_000);
    // Members are whole CloudEvents, as published.
    expect(membersOf(requests[0]!)[0]).toMatchObject({ specversion: '1.0', source: SOURCE });
    // Each batch has its own webhook-id.
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(requests.length);
  });

  it('keeps each batch body within maxBytes', async () => {
    const maxBytes = 4096;
    const { secret } = await subscribe('/bytes', { batch: { maxEvents: 100, maxWaitMs: 200, maxBytes } });
    const ids = Array.from({ length: 40 }, (_, i) => `bytes-${i}`);
    await publishBatch(
      hub,
      ids.map((id) => event('/bytes', id, { id, pad: 'x'.repeat(300) })),
    );
    await waitFor(() => memberIds('/bytes').length >= 40, 10_000, 'all 40 events');
    await new Promise((r) => setTimeout(r, 300));

    const requests = hits('/bytes');
    for (const req of requests) verify(secret, req);
    expect(requests.map((r) => r.body.length).filter((n) => n > maxBytes)).toEqual([]);
    // It batched: far fewer requests than events.
    expect(requests.length).toBeLessThanOrEqual(10);
    expect(memberIds('/bytes').sort()).toEqual([...ids].sort());
  });

  it('keeps each batch body within maxBytes when the events hold non-ASCII text', async () => {
    const maxBytes = 4096;
    await subscribe('/utf8', { batch: { maxEvents: 100, maxWaitMs: 200, maxBytes } });
    const ids = Array.from({ length: 40 }, (_, i) => `utf8-${i}`);
    // 300 characters, 600 bytes of UTF-8: a limit counted in characters lets bodies grow past it.
    await publishBatch(
      hub,
      ids.map((id) => event('/utf8', id, { id, pad: 'é'.repeat(300) })),
    );
    await waitFor(() => memberIds('/utf8').length >= 40, 10_000, 'all 40 events');
    await new Promise((r) => setTimeout(r, 300));

    const sizes = hits('/utf8').map((r) => r.body.length);
    expect(
      sizes.filter((n) => n > maxBytes),
      `body sizes ${sizes.join(', ')}`,
    ).toEqual([]);
    expect(memberIds('/utf8').sort()).toEqual([...ids].sort());
  });
});

describe('a failed batch', () => {
  it('is retried whole under the same webhook-id, and each event records its attempts', async () => {
    scripts.set('/retry', (n) => ({ status: n < 2 ? 500 : 200 }));
    const { secret } = await subscribe('/retry', {
      batch: { maxEvents: 10, maxWaitMs: 100, maxBytes: 1_000_000 },
      initialDelayMs: 50,
      maxDelayMs: 200,
      maxAttempts: 5,
    });
    const ids = Array.from({ length: 10 }, (_, i) => `retry-${i}`);
    await publishBatch(
      hub,
      ids.map((id) => event('/retry', id)),
    );
    await waitFor(() => hits('/retry').length >= 3, 10_000, 'three attempts');
    await waitFor(
      async () => (await lookup('retry-9')).deliveries[0]?.status === 'delivered',
      10_000,
      'the records to say delivered',
    );
    await new Promise((r) => setTimeout(r, 300));

    const requests = hits('/retry');
    expect(requests).toHaveLength(3);
    for (const req of requests) verify(secret, req);
    for (const req of requests) expect(membersOf(req).map((m) => m.id)).toEqual(ids);
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(1);

    for (const id of ids) {
      const [d] = (await lookup(id)).deliveries;
      expect(d, id).toMatchObject({ status: 'delivered', attempts: 3 });
      expect(d!.attemptLog.map((a) => a.status)).toEqual([500, 500, 200]);
      expect(d!.attemptLog.map((a) => a.outcome)).toEqual(['retry', 'retry', 'delivered']);
    }
    // One delivery record per event, each with its own webhook-id; the batch's is derived from them.
    const own = await Promise.all(ids.map(async (id) => (await lookup(id)).deliveries[0]!.webhookId));
    expect(new Set(own).size).toBe(ids.length);
    expect(own).not.toContain(requests[0]!.headers['webhook-id']);
  });

  it('is retried whole even when new events arrive while it waits for its retry', async () => {
    // The first answer asks for a retry in 1 s; the events published meanwhile must not join it.
    scripts.set('/mixed', (n) =>
      n === 0 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    await subscribe('/mixed', {
      batch: { maxEvents: 10, maxWaitMs: 2_000, maxBytes: 1_000_000 },
      maxAttempts: 5,
    });
    const first = Array.from({ length: 10 }, (_, i) => `mixed-a${i}`);
    const later = Array.from({ length: 5 }, (_, i) => `mixed-b${i}`);
    await publishBatch(
      hub,
      first.map((id) => event('/mixed', id)),
    );
    await waitFor(() => hits('/mixed').length >= 1, 10_000, 'the first attempt');
    await publishBatch(
      hub,
      later.map((id) => event('/mixed', id)),
    );
    await waitFor(() => new Set(memberIds('/mixed')).size >= 15, 10_000, 'all 15 events');
    await new Promise((r) => setTimeout(r, 300));

    const requests = hits('/mixed');
    const failed = requests[0]!;
    expect(membersOf(failed).map((m) => m.id)).toEqual(first);
    // The retry: the next request that carries any member of the failed batch.
    const retry = requests.slice(1).find((r) => membersOf(r).some((m) => first.includes(m.id)));
    expect(
      retry && membersOf(retry).map((m) => m.id),
      `requests: ${requests
        .map((r) =>
          membersOf(r)
            .map((m) => m.id)
            .join(','),
        )
        .join(' | ')}`,
    ).toEqual(first);
    expect(retry!.headers['webhook-id']).toBe(failed.headers['webhook-id']);
    expect(
      memberIds('/mixed')
        .filter((id) => later.includes(id))
        .sort(),
    ).toEqual(later);
  });
});
