/**
 * POST /v1/simulate against the real hub process: for an event or a sample of stored events, which
 * subscriptions match and why not, the policy decisions, and the payload each would receive;
 * nothing stored, nothing sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubProcess, startHub } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

const TYPE = 'com.acme.order.created';
let hub: HubProcess;
let s: Sink;
const subs: Record<string, string> = {};

function simulate(body: unknown): Promise<Response> {
  return hub.fetch('/v1/simulate', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

interface Simulated {
  events: {
    event: { id: string };
    channel: string;
    contract: unknown;
    otherTypes: number;
    subscriptions: {
      id: string;
      matched: boolean;
      decidedBy: { index: number; filter: unknown } | null;
      outcome: string;
      reason: string | null;
      payload: { data: unknown } | null;
    }[];
  }[];
}

const event = (id: string, extra: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id,
  source: '/shop',
  type: TYPE,
  subject: 'orders/eu/1',
  data: { orderId: id, total: 120 },
  ...extra,
});

beforeAll(async () => {
  hub = await startHub();
  s = await startSink();
  subs.all = (await hub.subscribe({ types: [TYPE], sink: s.url })).id;
  subs.us = (
    await hub.subscribe({ types: [TYPE], sink: s.url, filters: [{ prefix: { subject: 'orders/us/' } }] })
  ).id;
  subs.eu = (
    await hub.subscribe({
      types: [TYPE],
      sink: s.url,
      filters: [{ prefix: { subject: 'orders/' } }, { suffix: { subject: '/2' } }],
      delivery: { mode: 'shadow' },
    })
  ).id;
  subs.slack = (
    await hub.subscribe({
      types: [TYPE],
      sink: s.url,
      delivery: { transform: '{ "text": "Order " & orderId }' },
    })
  ).id;
  subs.regional = (
    await hub.subscribe({ types: [TYPE], sink: s.url, delivery: { allowedRegions: ['eu'] } })
  ).id;
  subs.other = (await hub.subscribe({ types: ['com.acme.other'], sink: s.url })).id;
});

afterAll(async () => {
  await hub?.stop();
  await s?.close();
});

describe('POST /v1/simulate', () => {
  it('says, for each subscription of the type, what would happen and why', async () => {
    const res = await simulate({ event: event('sim-1', { dataregion: 'us' }) });
    expect(res.status).toBe(200);
    const [one] = ((await res.json()) as Simulated).events;
    expect(one?.channel).toBe('default');
    expect(one?.otherTypes).toBe(1);
    const by = Object.fromEntries(one!.subscriptions.map((x) => [x.id, x]));
    expect(by[subs.all!]).toMatchObject({
      matched: true,
      outcome: 'send',
      payload: { data: { orderId: 'sim-1' } },
    });
    expect(by[subs.us!]).toMatchObject({
      matched: false,
      outcome: 'not-matched',
      decidedBy: { index: 0, filter: { prefix: { subject: 'orders/us/' } } },
    });
    expect(by[subs.eu!]).toMatchObject({
      matched: false,
      decidedBy: { index: 1, filter: { suffix: { subject: '/2' } } },
    });
    expect(by[subs.slack!]).toMatchObject({ outcome: 'send', payload: { data: { text: 'Order sim-1' } } });
    expect(by[subs.regional!]).toMatchObject({
      outcome: 'blocked',
      reason: expect.stringMatching(/dataregion 'us'/),
    });
    expect(by[subs.other!]).toBeUndefined();
  });

  it('stores and sends nothing', async () => {
    await simulate({ event: event('sim-2') });
    expect((await hub.fetch('/v1/events/lookup?source=%2Fshop&id=sim-2')).status).toBe(404);
    await new Promise((r) => setTimeout(r, 300));
    expect(s.received).toHaveLength(0);
  });

  it('shows a shadow subscription as shadow', async () => {
    const [one] = (
      (await (await simulate({ event: event('sim-3', { subject: 'orders/eu/2' }) })).json()) as Simulated
    ).events;
    expect(one!.subscriptions.find((x) => x.id === subs.eu)).toMatchObject({
      matched: true,
      outcome: 'shadow',
    });
  });

  it('samples the latest stored events of a type, newest first', async () => {
    for (const id of ['st-1', 'st-2', 'st-3']) await hub.publish(event(id));
    const res = await simulate({ type: TYPE, sample: 2 });
    const body = (await res.json()) as Simulated;
    expect(body.events.map((e) => e.event.id)).toEqual(['st-3', 'st-2']);
  });

  it('reports how the contract would judge the event', async () => {
    const schema = { type: 'object', required: ['orderId', 'currency'] };
    const reg = await hub.fetch(`/v1/schemas/${TYPE}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ schema }),
    });
    expect(reg.status).toBe(201);
    const [one] = ((await (await simulate({ event: event('sim-4') })).json()) as Simulated).events;
    expect(one?.contract).toEqual({ refused: expect.stringMatching(/currency/) });
  });

  it.each([
    [{}, ''],
    [{ event: { id: 'x' } }, '/event/source'],
    [{ event: event('a'), type: TYPE }, ''],
    [{ type: TYPE, sample: 0 }, '/sample'],
    [{ type: '' }, '/type'],
  ])('refuses %j naming %s', async (body, pointer) => {
    const res = await simulate(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { pointer: string }[] }).errors.map((e) => e.pointer)).toContain(
      pointer,
    );
  });
});
