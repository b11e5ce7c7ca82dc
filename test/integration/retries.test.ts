/**
 * Retry and dead-letter paths against a real sink that answers 500, 410, 429 with Retry-After, 400,
 * and hangs past the timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

let hub: HubProcess;
let sink: Sink;
/** Per path: what the sink answers to the n-th request on that path. */
const scripts = new Map<
  string,
  (n: number) => { status: number; headers?: Record<string, string>; hang?: boolean; delayMs?: number }
>();

const fastRetries = { initialDelayMs: 50, maxDelayMs: 200, maxAttempts: 3, timeoutMs: 500 };

const typeOf = (path: string) => `test${path.replaceAll('/', '.')}`;

async function subscribe(path: string, delivery: Record<string, unknown> = fastRetries): Promise<string> {
  return (await hub.subscribe({ sink: `${sink.url}${path}`, types: [typeOf(path)], delivery })).id;
}

async function publish(path: string, id: string): Promise<void> {
  await hub.publish({ id, source: '/retries', type: typeOf(path), data: { id } });
}

interface Lookup {
  deliveries: {
    id: string;
    status: string;
    webhookId: string;
    lastError: string | null;
    attemptLog: {
      n: number;
      status: number | null;
      outcome: string;
      error: string | null;
      response: string | null;
    }[];
  }[];
}

async function lookup(id: string): Promise<Lookup> {
  const res = await hub.fetch(`/v1/events/lookup?source=/retries&id=${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Lookup;
}

async function settled(id: string, status: string): Promise<Lookup['deliveries'][number]> {
  let last: Lookup | undefined;
  await waitFor(
    async () => {
      last = await lookup(id);
      return last.deliveries[0]?.status === status;
    },
    10_000,
    `delivery of ${id} to be ${status}`,
  );
  return last!.deliveries[0]!;
}

const hits = (path: string) => sink.received.filter((r) => r.path.endsWith(path));

beforeAll(async () => {
  sink = await startSink((req, res) => {
    const path = req.path.replace('/hook', '');
    const n = hits(path).length;
    const answer = scripts.get(path)?.(n) ?? { status: 200 };
    if (answer.hang) return; // never answers: the hub must time out
    const reply = () => res.writeHead(answer.status, answer.headers).end(`answer ${n} from ${path}`);
    if (answer.delayMs) setTimeout(reply, answer.delayMs);
    else reply();
  });
  hub = await startHub();
});

afterAll(async () => {
  await hub?.stop();
  await sink?.close();
});

describe('delivery outcomes', () => {
  it('retries a 500 with backoff and delivers on success, keeping the webhook-id', async () => {
    scripts.set('/flaky', (n) => ({ status: n < 3 ? 500 : 200 }));
    await subscribe('/flaky', { ...fastRetries, maxAttempts: 5 });
    await publish('/flaky', 'e-flaky');
    const d = await settled('e-flaky', 'delivered');
    expect(d.attemptLog.map((a) => a.status)).toEqual([500, 500, 200]);
    expect(d.attemptLog.map((a) => a.outcome)).toEqual(['retry', 'retry', 'delivered']);
    expect(d.attemptLog[0]!.response).toBe('answer 1 from /flaky');
    const ids = new Set(hits('/flaky').map((r) => r.headers['webhook-id']));
    expect(ids).toEqual(new Set([d.webhookId]));
  });

  it('dead-letters after maxAttempts of 500s, and a redrive delivers with the same webhook-id', async () => {
    let healthy = false;
    scripts.set('/down', () => ({ status: healthy ? 200 : 503 }));
    const subId = await subscribe('/down');
    await publish('/down', 'e-down');
    const dead = await settled('e-down', 'dead');
    expect(dead.attemptLog).toHaveLength(3);
    expect(dead.lastError).toMatch(/gave up after 3 attempts/);

    const letters = (await (await hub.fetch(`/v1/dead-letters?subscription=${subId}`)).json()) as {
      items: { id: string; event: { id: string } }[];
    };
    expect(letters.items.map((l) => l.event.id)).toEqual(['e-down']);

    healthy = true;
    const res = await hub.fetch('/v1/dead-letters/redrive', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [dead.id] }),
    });
    expect(await res.json()).toEqual({ redriven: 1, skipped: [] });
    const again = await hub.fetch('/v1/dead-letters/redrive', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [dead.id, 'dlv_unknown'] }),
    });
    // Already moved, and never existed: both are named rather than passed over in silence.
    expect(await again.json()).toEqual({ redriven: 0, skipped: [dead.id, 'dlv_unknown'] });
    const redriven = await settled('e-down', 'delivered');
    expect(redriven.attemptLog.map((a) => a.n)).toEqual([1, 2, 3, 4]);
    expect(new Set(hits('/down').map((r) => r.headers['webhook-id']))).toEqual(new Set([dead.webhookId]));
  });

  it('disables the subscription on 410 Gone', async () => {
    scripts.set('/gone', () => ({ status: 410 }));
    const subId = await subscribe('/gone');
    await publish('/gone', 'e-gone-1');
    await settled('e-gone-1', 'dead');
    const sub = (await (await hub.fetch(`/v1/subscriptions/${subId}`)).json()) as {
      status: string;
      statusReason: string;
    };
    expect(sub.status).toBe('disabled');
    expect(sub.statusReason).toMatch(/410/);
    // A disabled subscription no longer matches new events.
    await publish('/gone', 'e-gone-2');
    expect((await lookup('e-gone-2')).deliveries).toEqual([]);
    expect(hits('/gone')).toHaveLength(1);
  });

  it('does not disable a subscription moved to a new URL when the old one answers 410 late', async () => {
    scripts.set('/old', () => ({ status: 410, delayMs: 300 }));
    const subId = await subscribe('/old');
    await publish('/old', 'e-moved');
    await waitFor(() => hits('/old').length === 1, 5_000, 'the attempt at the old URL');
    // While that attempt waits for its answer, the subscription moves to a healthy URL.
    const put = await hub.fetch(`/v1/subscriptions/${subId}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sink: `${sink.url}/new`, types: [typeOf('/old')], delivery: fastRetries }),
    });
    expect(put.status).toBe(200);
    await settled('e-moved', 'dead');
    const sub = (await (await hub.fetch(`/v1/subscriptions/${subId}`)).json()) as {
      status: string;
      sink: string;
    };
    expect(sub).toMatchObject({ status: 'active', sink: `${sink.url}/new` });
  });

  it('waits for Retry-After on 429 before trying again', async () => {
    scripts.set('/limited', (n) =>
      n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    await subscribe('/limited');
    await publish('/limited', 'e-limited');
    const d = await settled('e-limited', 'delivered');
    expect(d.attemptLog.map((a) => a.status)).toEqual([429, 200]);
    const [first, second] = hits('/limited');
    // Backoff alone would have retried within 50 ms; Retry-After asked for a second.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
  });

  it('dead-letters a 400 at once: other 4xx are permanent', async () => {
    scripts.set('/reject', () => ({ status: 400 }));
    await subscribe('/reject');
    await publish('/reject', 'e-reject');
    const d = await settled('e-reject', 'dead');
    expect(d.attemptLog).toHaveLength(1);
    expect(d.lastError).toMatch(/HTTP 400 is permanent/);
  });

  it('times out a sink that hangs and retries it', async () => {
    scripts.set('/hang', (n) => (n === 1 ? { status: 200, hang: true } : { status: 200 }));
    await subscribe('/hang');
    await publish('/hang', 'e-hang');
    const d = await settled('e-hang', 'delivered');
    expect(d.attemptLog[0]).toMatchObject({
      status: null,
      outcome: 'retry',
      error: 'no response within 500 ms',
    });
    expect(d.attemptLog[1]).toMatchObject({ status: 200, outcome: 'delivered' });
  });

  it('lists deliveries of a subscription by status', async () => {
    scripts.set('/mixed', (n) => ({ status: n % 2 === 0 ? 400 : 200 }));
    const subId = await subscribe('/mixed');
    for (const id of ['m1', 'm2', 'm3', 'm4']) await publish('/mixed', id);
    await waitFor(() => hits('/mixed').length === 4, 10_000, 'four attempts');
    await waitFor(async () => {
      const page = (await (await hub.fetch(`/v1/subscriptions/${subId}/deliveries?status=dead`)).json()) as {
        items: unknown[];
      };
      return page.items.length === 2;
    });
    const page = (await (await hub.fetch(`/v1/subscriptions/${subId}/deliveries?limit=3`)).json()) as {
      items: unknown[];
      next: string | null;
    };
    expect(page.items).toHaveLength(3);
    expect(page.next).not.toBeNull();
    const rest = (await (
      await hub.fetch(`/v1/subscriptions/${subId}/deliveries?limit=3&after=${page.next}`)
    ).json()) as {
      items: unknown[];
      next: string | null;
    };
    expect(rest.items).toHaveLength(1);
    expect(rest.next).toBeNull();
  });
});

describe('retry timing', () => {
  it('sends a retry when it is due, not at the next regular poll', async () => {
    const slowPoll = await startHub({ env: { JUNCTION_POLL_INTERVAL_MS: '5000' } });
    try {
      scripts.set('/timely', (n) =>
        n === 1 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 },
      );
      const res = await slowPoll.fetch('/v1/subscriptions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sink: `${sink.url}/timely`, types: ['test.timely'] }),
      });
      expect(res.status).toBe(201);
      const sent = await slowPoll.fetch('/v1/events', {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify({ specversion: '1.0', id: 'e-timely', source: '/retries', type: 'test.timely' }),
      });
      expect(sent.status).toBe(202);
      await waitFor(() => hits('/timely').length === 2, 4_000, 'the retry');
      const [first, second] = hits('/timely');
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
      expect(second!.at - first!.at).toBeLessThan(2_000);
    } finally {
      await slowPoll.stop();
    }
  });
});
