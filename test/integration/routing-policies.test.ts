/**
 * What a subscription does to an event on its way, against the real hub process and real sinks:
 * a JSONata transform reshaping the data (and dead-lettering when it fails), region policies of
 * channels and subscriptions recording `blocked` deliveries that are never sent, and shadow mode
 * recording what would have been delivered without sending anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeConfigFile } from '../helpers/delivery.js';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

let hub: HubProcess;
const sinks: Sink[] = [];
let n = 0;

async function sink(): Promise<Sink> {
  const s = await startSink();
  sinks.push(s);
  return s;
}

function api(path: string, method = 'GET', body?: unknown): Promise<Response> {
  return hub.fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function publish(type: string, data: unknown, extra: Record<string, unknown> = {}): Promise<string> {
  const id = `p${++n}`;
  await hub.publish({ id, source: '/t', type, data, ...extra });
  return id;
}

interface Looked {
  deliveries: { subscriptionId: string; status: string; lastError: string | null }[];
}

async function deliveryOf(id: string, sub: string) {
  const looked = (await (await api(`/v1/events/lookup?source=%2Ft&id=${id}`)).json()) as Looked;
  return looked.deliveries.find((d) => d.subscriptionId === sub);
}

async function metric(line: string): Promise<number> {
  const text = await (await api('/metrics')).text();
  const found = text.split('\n').find((l) => l.startsWith(line));
  return found ? Number(found.split(' ').pop()) : 0;
}

beforeAll(async () => {
  const config = writeConfigFile({
    channels: { eu: { types: ['com.acme.eu.*'], allowedRegions: ['eu'] } },
  });
  hub = await startHub({ args: ['--config', config] });
});

afterAll(async () => {
  await hub?.stop();
  await Promise.all(sinks.map((s) => s.close()));
});

describe('transforms', () => {
  it('reshape the data per subscription, and drop the dataschema that no longer describes it', async () => {
    const s = await sink();
    await hub.subscribe({
      types: ['com.acme.order.paid'],
      sink: s.url,
      delivery: {
        format: 'structured',
        transform: '{ "text": "Order " & orderId & " paid: " & $string(total) & " " & $event.subject }',
      },
    });
    const id = await publish(
      'com.acme.order.paid',
      { orderId: 'o-7', total: 42 },
      { subject: 'orders/o-7', dataschema: 'https://schemas.acme.com/order.json' },
    );
    await waitFor(() => s.received.length === 1);
    const sent = JSON.parse(s.received[0]!.body.toString()) as Record<string, unknown>;
    expect(sent).toMatchObject({
      id,
      data: { text: 'Order o-7 paid: 42 orders/o-7' },
      datacontenttype: 'application/json',
    });
    expect(sent.dataschema).toBeUndefined();
  });

  it('dead-letter the delivery with the reason when the expression fails, and send nothing', async () => {
    const s = await sink();
    const { id: sub } = await hub.subscribe({
      types: ['com.acme.order.refunded'],
      sink: s.url,
      delivery: {
        transform: 'amount > 100 ? $error("refunds over 100 need a review") : { "amount": amount }',
      },
    });
    const big = await publish('com.acme.order.refunded', { amount: 500 });
    const small = await publish('com.acme.order.refunded', { amount: 5 });
    await waitFor(async () => (await deliveryOf(big, sub))?.status === 'dead');
    expect((await deliveryOf(big, sub))?.lastError).toMatch(
      /the transform failed: refunds over 100 need a review/,
    );
    await waitFor(() => s.received.length === 1);
    expect(s.received[0]!.headers['ce-id']).toBe(small);
  });

  it('that do not compile are refused with the position', async () => {
    const res = await api('/v1/subscriptions', 'POST', {
      sink: 'http://127.0.0.1:9/x',
      delivery: { transform: '{ "a": ' },
    });
    expect(res.status).toBe(400);
    const p = (await res.json()) as { errors: { pointer: string; message: string }[] };
    expect(p.errors[0]).toEqual({
      pointer: '/delivery/transform',
      message: expect.stringMatching(/does not parse at character \d+/),
    });
  });
});

describe('region policies', () => {
  it("block a delivery outside a subscription's regions, record the policy, and count it", async () => {
    const s = await sink();
    const { id: sub } = await hub.subscribe({
      types: ['com.acme.customer.created'],
      sink: s.url,
      delivery: { allowedRegions: ['eu', 'uk'] },
    });
    const us = await publish('com.acme.customer.created', { name: 'a' }, { dataregion: 'us' });
    const eu = await publish('com.acme.customer.created', { name: 'b' }, { dataregion: 'eu' });
    const none = await publish('com.acme.customer.created', { name: 'c' });
    await waitFor(() => s.received.length === 2);
    expect(s.received.map((r) => r.headers['ce-id']).sort()).toEqual([eu, none].sort());
    const blocked = await deliveryOf(us, sub);
    expect(blocked).toMatchObject({
      status: 'blocked',
      lastError: `region policy of subscription ${sub}: dataregion 'us' is not in [eu, uk]`,
    });
    expect(await metric('junction_deliveries_blocked_total{policy="subscription"}')).toBe(1);
    const listed = (await (await api(`/v1/subscriptions/${sub}/deliveries?status=blocked`)).json()) as {
      items: unknown[];
    };
    expect(listed.items).toHaveLength(1);
  });

  it("block by the channel's regions for every subscription", async () => {
    const s = await sink();
    const { id: sub } = await hub.subscribe({ types: ['com.acme.eu.payment'], sink: s.url });
    const us = await publish('com.acme.eu.payment', { amount: 1 }, { dataregion: 'us' });
    const eu = await publish('com.acme.eu.payment', { amount: 2 }, { dataregion: 'eu' });
    await waitFor(() => s.received.length === 1);
    expect(s.received[0]!.headers['ce-id']).toBe(eu);
    expect((await deliveryOf(us, sub))?.lastError).toBe(
      "region policy of channel 'eu': dataregion 'us' is not in [eu]",
    );
    expect(await metric('junction_deliveries_blocked_total{policy="channel"}')).toBe(1);
  });

  it('hold in replays too', async () => {
    const s = await sink();
    const from = new Date(Date.now() - 1_000).toISOString();
    await publish('com.acme.audit.entry', { n: 1 }, { dataregion: 'us' });
    await publish('com.acme.audit.entry', { n: 2 }, { dataregion: 'eu' });
    const { id: sub } = await hub.subscribe({
      types: ['com.acme.audit.entry'],
      sink: s.url,
      delivery: { allowedRegions: ['eu'] },
    });
    const res = await api('/v1/replays', 'POST', { subscription: sub, from });
    expect(res.status).toBe(202);
    await waitFor(() => s.received.length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(s.received).toHaveLength(1);
    expect(s.received[0]!.body.toString()).toContain('"n":2');
  });

  it('refuse region lists of the wrong shape', async () => {
    for (const allowedRegions of [[], 'eu', ['e u'], [1]]) {
      const res = await api('/v1/subscriptions', 'POST', {
        sink: 'http://127.0.0.1:9/x',
        delivery: { allowedRegions },
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errors: { pointer: string }[] }).errors[0]?.pointer).toBe(
        '/delivery/allowedRegions',
      );
    }
  });
});

describe('shadow mode', () => {
  it('records what would have been delivered, sends nothing, and delivers once live', async () => {
    const s = await sink();
    const body = { types: ['com.acme.lead.created'], sink: s.url, delivery: { mode: 'shadow' } };
    const { id: sub } = await hub.subscribe(body);
    const first = await publish('com.acme.lead.created', { lead: 1 });
    await publish('com.acme.lead.created', { lead: 2 });
    const shadow = (await (await api(`/v1/subscriptions/${sub}/deliveries?status=shadow`)).json()) as {
      items: unknown[];
    };
    expect(shadow.items).toHaveLength(2);
    expect((await deliveryOf(first, sub))?.status).toBe('shadow');
    expect(await metric('junction_deliveries_shadow_total')).toBeGreaterThanOrEqual(2);
    const replay = await api('/v1/replays', 'POST', {
      subscription: sub,
      from: new Date(Date.now() - 60_000).toISOString(),
    });
    expect(replay.status).toBe(409);

    const put = await api(`/v1/subscriptions/${sub}`, 'PUT', { ...body, delivery: { mode: 'live' } });
    expect(put.status).toBe(200);
    const live = await publish('com.acme.lead.created', { lead: 3 });
    await waitFor(() => s.received.length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(s.received.map((r) => r.headers['ce-id'])).toEqual([live]);
  });

  it('refuses an unknown mode', async () => {
    const res = await api('/v1/subscriptions', 'POST', {
      sink: 'http://127.0.0.1:9/x',
      delivery: { mode: 'dry-run' },
    });
    expect(res.status).toBe(400);
  });
});

describe('policies at send time (review findings)', () => {
  /** A delivery dead-lettered by a 400, then the subscription changed, then a redrive. */
  async function deadThenRedrive(delivery: Record<string, unknown>, extra: Record<string, unknown>) {
    const s = await sink();
    s.respond((_r, res) => res.writeHead(400).end('no'));
    const body = { types: ['com.review.redrive'], sink: s.url };
    const { id: sub } = await hub.subscribe(body);
    const id = await publish('com.review.redrive', { a: 1 }, extra);
    await waitFor(async () => (await deliveryOf(id, sub))?.status === 'dead');
    expect((await api(`/v1/subscriptions/${sub}`, 'PUT', { ...body, delivery })).status).toBe(200);
    s.respond((_r, res) => res.writeHead(200).end('ok'));
    expect((await api('/v1/dead-letters/redrive', 'POST', { subscription: sub })).status).toBe(200);
    await waitFor(async () =>
      ['shadow', 'blocked', 'delivered'].includes((await deliveryOf(id, sub))?.status ?? ''),
    );
    return { s, delivery: await deliveryOf(id, sub) };
  }

  it('a redrive of a subscription now in shadow mode records shadow and sends nothing', async () => {
    const { s, delivery } = await deadThenRedrive({ mode: 'shadow' }, {});
    expect(delivery?.status).toBe('shadow');
    expect(s.received).toHaveLength(1);
  });

  it('a redrive of an event its subscription now forbids records blocked and sends nothing', async () => {
    const { s, delivery } = await deadThenRedrive({ allowedRegions: ['eu'] }, { dataregion: 'us' });
    expect(delivery).toMatchObject({
      status: 'blocked',
      lastError: expect.stringMatching(/dataregion 'us'/),
    });
    expect(s.received).toHaveLength(1);
  });

  it('dead-letters a transform result over maxEventBytes instead of sending it', async () => {
    const s = await sink();
    const { id: sub } = await hub.subscribe({
      types: ['com.review.big'],
      sink: s.url,
      delivery: { transform: '$pad("", 2000000, "x")' },
    });
    const id = await publish('com.review.big', { a: 1 });
    await waitFor(async () => (await deliveryOf(id, sub))?.status === 'dead');
    expect((await deliveryOf(id, sub))?.lastError).toMatch(/over the limit of 1048576/);
    expect(s.received).toHaveLength(0);
  });

  it('answers a long LIKE or IN chain with a parse error, never a 500', async () => {
    const like = await api('/v1/expressions/evaluate', 'POST', {
      dialect: 'sql',
      expression: `a${" LIKE''".repeat(9300)}`,
      event: { a: 'x' },
    });
    expect(like.status).toBe(200);
    expect(((await like.json()) as { error: { kind: string } }).error.kind).toBe('parse');
    const chain = await api('/v1/subscriptions', 'POST', {
      sink: 'http://127.0.0.1:9/x',
      filters: [{ sql: `a${' IN(1)'.repeat(10900)}` }],
    });
    expect(chain.status).toBe(400);
  });
});
