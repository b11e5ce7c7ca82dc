/**
 * Contract findings of the review, each a test that failed before its fix: an ordered key moving
 * on after a conversion dead-letter, the conversion recorded per attempt, a converter whose result
 * cannot be sent, a producer's retry of an event held before its type had a schema, and patterns
 * that would backtrack for seconds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

const TYPE = 'com.acme.thing';
const PATH = `/v1/schemas/${encodeURIComponent(TYPE)}`;

let hub: HubProcess;
const sinks: Sink[] = [];

function api(path: string, method = 'GET', body?: unknown, type = 'application/json'): Promise<Response> {
  return hub.fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': type },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const uri = (v: number) => `${hub.url}${PATH}/versions/${v}`;

interface Looked {
  deliveries: { subscriptionId: string; status: string; conversion: unknown; lastError: string | null }[];
}

async function lookup(id: string): Promise<Looked> {
  return (await (await api(`/v1/events/lookup?source=%2Fs&id=${id}`)).json()) as Looked;
}

async function sink(respond?: Parameters<typeof startSink>[0]): Promise<Sink> {
  const s = await startSink(respond);
  sinks.push(s);
  return s;
}

beforeAll(async () => {
  hub = await startHub();
  const v1 = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] };
  const v2 = {
    type: 'object',
    properties: { b: { type: 'string' }, bad: { type: 'boolean' } },
    required: ['b'],
  };
  expect((await api(PATH, 'POST', { schema: v1, compatibility: 'NONE' })).status).toBe(201);
  expect((await api(PATH, 'POST', { schema: v2 })).status).toBe(201);
  // Fails for the events that ask it to.
  const expression = 'bad ? $error("boom") : { "a": b }';
  expect((await api(`${PATH}/converters`, 'POST', { from: 2, to: 1, expression })).status).toBe(201);
});

afterAll(async () => {
  await hub?.stop();
  await Promise.all(sinks.map((s) => s.close()));
});

describe('conversions and ordering', () => {
  it('lets the next event of a key go once a conversion dead-letters the one before it', async () => {
    const s = await sink();
    await hub.subscribe({
      types: [TYPE],
      sink: s.url,
      delivery: {
        format: 'structured',
        initialDelayMs: 0,
        ordering: 'partition',
        onDead: 'skip',
        schemaVersion: 1,
      },
    });
    const event = (id: string, data: unknown) => ({
      specversion: '1.0',
      id,
      source: '/s',
      type: TYPE,
      partitionkey: 'k',
      dataschema: uri(2),
      data,
    });
    const res = await api(
      '/v1/events',
      'POST',
      [event('o1', { b: 'x', bad: true }), event('o2', { b: 'y' })],
      'application/cloudevents-batch+json',
    );
    expect(res.status).toBe(202);
    await waitFor(async () => (await lookup('o1')).deliveries[0]?.status === 'dead', 5_000, 'o1 dead');
    expect((await lookup('o1')).deliveries[0]?.lastError).toMatch(/boom/);
    await waitFor(() => s.received.length === 1, 5_000, 'o2 delivered');
    expect(JSON.parse(s.received[0]!.body.toString())).toMatchObject({ id: 'o2', data: { a: 'y' } });
  });

  it('records on the delivery the conversion its last attempt made, none when it made none', async () => {
    let n = 0;
    const s = await sink((_r, res) => res.writeHead(n++ === 0 ? 500 : 200).end());
    const body = {
      types: [TYPE],
      sink: s.url,
      delivery: { format: 'structured', initialDelayMs: 1500, maxDelayMs: 1500, schemaVersion: 1 },
    };
    const { id } = await hub.subscribe(body);
    const mine = async () => (await lookup('c1')).deliveries.find((d) => d.subscriptionId === id);
    await hub.publish({ id: 'c1', source: '/s', type: TYPE, dataschema: uri(2), data: { b: 'z' } });
    await waitFor(async () => (await mine())?.status === 'retrying', 5_000, 'retrying');
    expect((await mine())?.conversion).toEqual({ from: 2, to: 1, path: [2, 1] });
    // The subscription stops pinning before the retry, which then sends the event as published.
    const put = await api(`/v1/subscriptions/${id}`, 'PUT', {
      ...body,
      delivery: { ...body.delivery, schemaVersion: null },
    });
    expect(put.status).toBe(200);
    await waitFor(async () => (await mine())?.status === 'delivered', 10_000, 'delivered');
    expect(JSON.parse(s.received.at(-1)!.body.toString()).data).toEqual({ b: 'z' });
    expect((await mine())?.conversion).toBeNull();
  });

  it('dead-letters a conversion whose result cannot be sent as JSON, instead of holding it forever', async () => {
    const T = 'com.acme.fn';
    const P = `/v1/schemas/${T}`;
    expect((await api(P, 'POST', { schema: {}, compatibility: 'NONE' })).status).toBe(201);
    expect((await api(P, 'POST', { schema: {} })).status).toBe(201);
    expect(
      (await api(`${P}/converters`, 'POST', { from: 2, to: 1, expression: '{ "f": function($x) { $x } }' }))
        .status,
    ).toBe(201);
    const s = await sink();
    const { id } = await hub.subscribe({ types: [T], sink: s.url, delivery: { schemaVersion: 1 } });
    await hub.publish({
      id: 'fn1',
      source: '/s',
      type: T,
      dataschema: `${hub.url}${P}/versions/2`,
      data: {},
    });
    await waitFor(
      async () => (await lookup('fn1')).deliveries.find((d) => d.subscriptionId === id)?.status === 'dead',
      5_000,
      'dead',
    );
    expect(s.received).toEqual([]);
  });
});

describe('ingest', () => {
  it("answers a producer's retry of an event held before its type had a schema as a duplicate", async () => {
    const T = 'com.acme.later';
    await hub.publish({ id: 'd1', source: '/s', type: T, data: {} });
    expect(
      (await api(`/v1/schemas/${T}`, 'POST', { schema: { type: 'object', required: ['a'] } })).status,
    ).toBe(201);
    const again = await api(
      '/v1/events',
      'POST',
      { specversion: '1.0', id: 'd1', source: '/s', type: T, data: {} },
      'application/cloudevents+json',
    );
    expect(again.status).toBe(202);
    expect(((await again.json()) as { events: { status: string }[] }).events[0]?.status).toBe('duplicate');
    // A new event with the same data is refused.
    const fresh = await api(
      '/v1/events',
      'POST',
      { specversion: '1.0', id: 'd2', source: '/s', type: T, data: {} },
      'application/cloudevents+json',
    );
    expect(fresh.status).toBe(400);
  });

  it('matches a pattern that backtracks in JavaScript in linear time', async () => {
    const T = 'com.acme.redos';
    const schema = { type: 'object', properties: { name: { type: 'string', pattern: '^(a+)+$' } } };
    expect((await api(`/v1/schemas/${T}`, 'POST', { schema })).status).toBe(201);
    const started = Date.now();
    const res = await api(
      '/v1/events',
      'POST',
      { specversion: '1.0', id: 'r1', source: '/s', type: T, data: { name: `${'a'.repeat(40)}!` } },
      'application/cloudevents+json',
    );
    expect(res.status).toBe(400);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it.each([
    [{ type: 'string', pattern: '^(?=a)b' }, '/schema', /linear time/],
    [{ type: 'array', uniqueItems: true }, '/schema/uniqueItems', /maxItems/],
    [
      { type: 'array', items: { type: 'object' }, uniqueItems: true, maxItems: 5000 },
      '/schema/uniqueItems',
      /maxItems/,
    ],
  ])('refuses to register %j, naming %s', async (schema, pointer, message) => {
    const res = await api('/v1/schemas/com.acme.refused', 'POST', { schema });
    expect(res.status).toBe(400);
    const p = (await res.json()) as { errors: { pointer: string; message: string }[] };
    expect(p.errors[0]).toEqual({ pointer, message: expect.stringMatching(message) });
  });

  it('takes uniqueItems over scalar items, or with maxItems within the bound', async () => {
    for (const schema of [
      { type: 'array', items: { type: 'string' }, uniqueItems: true },
      { type: 'array', items: { type: 'object' }, uniqueItems: true, maxItems: 100 },
    ]) {
      expect(
        (await api('/v1/schemas/com.acme.unique', 'POST', { schema, compatibility: 'NONE' })).status,
      ).toBe(201);
    }
  });
});
