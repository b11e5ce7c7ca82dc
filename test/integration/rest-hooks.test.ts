/**
 * REST hooks against the real hub process and a real HTTP target: subscribe as a no-code trigger
 * does, receive, unsubscribe, and the target's 410 removing the subscription.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type HubProcess, startHub } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

const TYPE = 'com.acme.order.created';

describe('REST hooks (/v1/rest-hooks)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  });

  async function hub(dataDir?: string): Promise<HubProcess> {
    const started = await startHub(dataDir ? { dataDir } : {});
    cleanup.push(() => started.stop());
    return started;
  }
  async function target(): Promise<Sink> {
    const started = await startSink();
    cleanup.push(() => started.close());
    return started;
  }
  const post = (h: HubProcess, path: string, body: unknown) =>
    h.fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const order = (id: string, total: number) => ({
    specversion: '1.0',
    id,
    source: '/shop',
    type: TYPE,
    subject: `orders/${id}`,
    data: { total },
  });
  async function waitFor(check: () => boolean, ms: number, what: string) {
    const until = Date.now() + ms;
    while (!check()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('subscribes, delivers in the webhook shape, answers the same id again, survives a restart, and unsubscribes', async () => {
    const h = await hub();
    const to = await target();
    await h.publish(order('o-0', 1)); // makes the type known
    const res = await post(h, '/v1/rest-hooks', { target_url: to.url, event: TYPE });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; secret: string; target_url: string; event: string };
    expect(res.headers.get('location')).toBe(`${h.url}/v1/rest-hooks/${created.id}`);
    // The Location is what Power Automate DELETEs to unsubscribe; checked at the end.
    expect(created).toMatchObject({ target_url: to.url, event: TYPE, status: 'active' });
    expect(created.secret).toMatch(/^whsec_/);

    const again = await post(h, '/v1/rest-hooks', { target_url: to.url, event: TYPE });
    expect(again.status).toBe(201);
    const repeated = (await again.json()) as { id: string; secret?: string };
    expect(repeated.id).toBe(created.id);
    expect(repeated.secret).toBeUndefined();
    const sub = (await (await h.fetch(`/v1/subscriptions/${created.id}`)).json()) as Record<string, unknown>;
    expect(sub).toMatchObject({
      origin: 'rest-hook',
      types: [TYPE],
      delivery: { format: 'webhook', preset: 'json' },
    });

    await h.publish(order('o-1', 42));
    await waitFor(() => to.received.length === 1, 10_000, 'the delivery');
    const body = JSON.parse(to.received[0]!.body.toString());
    expect(body).toMatchObject({
      id: 'o-1',
      type: TYPE,
      source: '/shop',
      subject: 'orders/o-1',
      data: { total: 42 },
    });
    expect(to.received[0]!.headers['webhook-id']).toMatch(/^msg_/);

    // Stored like any subscription: a restart keeps it, and it goes on delivering.
    await h.stop();
    const h2 = await hub(h.dataDir);
    expect((await h2.fetch(`/v1/rest-hooks/${created.id}`)).status).toBe(200);
    await h2.publish(order('o-2', 7));
    await waitFor(() => to.received.length === 2, 10_000, 'the delivery after the restart');

    const gone = await h2.fetch(new URL(res.headers.get('location')!).pathname, { method: 'DELETE' });
    expect(gone.status).toBe(204);
    expect((await h2.fetch(`/v1/subscriptions/${created.id}`)).status).toBe(404);
    expect((await h2.fetch(`/v1/rest-hooks/${created.id}`, { method: 'DELETE' })).status).toBe(404);
    await h2.publish(order('o-3', 9));
    await new Promise((r) => setTimeout(r, 500));
    expect(to.received).toHaveLength(2);
  }, 60_000);

  it('removes the subscription when the target answers 410, and the tool can subscribe anew', async () => {
    const h = await hub();
    const to = await target();
    await h.publish(order('seed', 1));
    const { id } = (await (await post(h, '/v1/rest-hooks', { target_url: to.url, event: TYPE })).json()) as {
      id: string;
    };
    to.respond((_req, res) => res.writeHead(410).end('gone'));
    await h.publish(order('o-410', 3));
    await waitFor(() => to.received.length === 1, 10_000, 'the delivery');
    const deadline = Date.now() + 10_000;
    let status = 200;
    while (status !== 404 && Date.now() < deadline) {
      status = (await h.fetch(`/v1/subscriptions/${id}`)).status;
      if (status !== 404) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(404);
    expect(((await (await h.fetch('/v1/rest-hooks')).json()) as unknown[]).length).toBe(0);

    to.respond((_req, res) => res.writeHead(200).end('ok'));
    const fresh = (await (await post(h, '/v1/rest-hooks', { target_url: to.url, event: TYPE })).json()) as {
      id: string;
    };
    expect(fresh.id).not.toBe(id);
  }, 60_000);

  it('samples recent events in the delivered shape, or the schema example, and refuses unknown types', async () => {
    const h = await hub();
    // A registered type with an example and no events: the example.
    const schema = {
      type: 'object',
      properties: { sku: { type: 'string' } },
      examples: [{ sku: 'ABC-1' }],
    };
    expect((await post(h, '/v1/schemas/com.acme.item.added', { schema })).status).toBe(201);
    const example = await h.fetch('/v1/rest-hooks/sample?event=com.acme.item.added');
    expect(example.status).toBe(200);
    expect(await example.json()).toMatchObject([{ type: 'com.acme.item.added', data: { sku: 'ABC-1' } }]);

    for (let i = 0; i < 5; i++) await h.publish(order(`s-${i}`, i));
    const recent = (await (await h.fetch(`/v1/rest-hooks/sample?event=${TYPE}&limit=2`)).json()) as {
      id: string;
      timestamp: string;
    }[];
    expect(recent.map((r) => r.id)).toEqual(['s-4', 's-3']);
    expect(recent[0]).toMatchObject({
      type: TYPE,
      source: '/shop',
      subject: 'orders/s-4',
      data: { total: 4 },
    });
    expect(Date.parse(recent[0]!.timestamp)).toBeGreaterThan(0);

    const unknown = await h.fetch('/v1/rest-hooks/sample?event=nope.never');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ errors: [{ pointer: '/event' }] });
    expect((await h.fetch('/v1/rest-hooks/sample')).status).toBe(400);
    expect((await h.fetch(`/v1/rest-hooks/sample?event=${TYPE}&limit=99`)).status).toBe(400);
  }, 60_000);

  it('refuses a target that is not an http(s) URL, an unknown type, and stray fields, naming each', async () => {
    const h = await hub();
    await h.publish(order('seed', 1));
    const cases: [unknown, string[]][] = [
      [{ target_url: 'ftp://example.com/x', event: TYPE }, ['/target_url']],
      [{ target_url: 'not a url', event: TYPE }, ['/target_url']],
      [{ event: TYPE }, ['/target_url']],
      [{ target_url: 'https://hooks.zapier.com/hooks/standard/1/x/', event: 'nope.never' }, ['/event']],
      [{ target_url: 'https://example.com/x', event: TYPE, extra: 1 }, ['/extra']],
      [[], ['']],
    ];
    for (const [body, pointers] of cases) {
      const res = await post(h, '/v1/rest-hooks', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      const problem = (await res.json()) as { errors: { pointer: string }[] };
      expect(problem.errors.map((e) => e.pointer)).toEqual(pointers);
    }
    expect(await (await h.fetch('/v1/rest-hooks')).json()).toEqual([]);
    expect((await h.fetch('/v1/rest-hooks/sub_missing')).status).toBe(404);
  }, 60_000);
});
