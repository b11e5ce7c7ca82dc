/**
 * Versions side by side, against the real hub process and real HTTP sinks: subscriptions pinned to
 * v1 and v3 receive every event in their version, converted by a chain of JSONata converters, with
 * the conversion recorded on the delivery; an event with no converter path is dead-lettered with
 * the reason, never sent unconverted, and goes out once a converter exists and it is redriven.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

const TYPE = 'com.acme.customer.registered';
const PATH = `/v1/schemas/${encodeURIComponent(TYPE)}`;

const versions = [
  {
    type: 'object',
    properties: { firstName: { type: 'string' }, lastName: { type: 'string' } },
    required: ['firstName', 'lastName'],
    additionalProperties: false,
  },
  {
    type: 'object',
    properties: {
      name: {
        type: 'object',
        properties: { first: { type: 'string' }, last: { type: 'string' } },
        required: ['first', 'last'],
      },
    },
    required: ['name'],
    additionalProperties: false,
  },
  {
    type: 'object',
    properties: {
      name: { $ref: '#/$defs/name' },
      displayName: { type: 'string', minLength: 1 },
    },
    required: ['name', 'displayName'],
    additionalProperties: false,
    $defs: {
      name: {
        type: 'object',
        properties: { first: { type: 'string' }, last: { type: 'string' } },
        required: ['first', 'last'],
      },
    },
  },
];

const converters = [
  { from: 1, to: 2, expression: '{ "name": { "first": firstName, "last": lastName } }' },
  { from: 2, to: 3, expression: '{ "name": name, "displayName": name.first & " " & name.last }' },
  { from: 3, to: 2, expression: '{ "name": name }' },
  { from: 2, to: 1, expression: '{ "firstName": name.first, "lastName": name.last }' },
];

const ada = {
  1: { firstName: 'Ada', lastName: 'Lovelace' },
  2: { name: { first: 'Ada', last: 'Lovelace' } },
  3: { name: { first: 'Ada', last: 'Lovelace' }, displayName: 'Ada Lovelace' },
} as const;

let hub: HubProcess;
let sinks: { v1: Sink; v3: Sink; asIs: Sink };
let subs: { v1: string; v3: string; asIs: string };

function api(path: string, method = 'GET', body?: unknown): Promise<Response> {
  return hub.fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function schemaUri(version: number): string {
  return `${hub.url}${PATH}/versions/${version}`;
}

async function publish(id: string, version: 1 | 2 | 3): Promise<void> {
  await hub.publish({ id, source: '/crm', type: TYPE, data: ada[version], dataschema: schemaUri(version) });
}

/** The structured-mode events a sink received with the given id. */
function received(sink: Sink, id: string): { data: unknown; dataschema?: string }[] {
  return sink.received
    .map((r) => JSON.parse(r.body.toString()) as { id: string; data: unknown; dataschema?: string })
    .filter((e) => e.id === id);
}

interface LookedUp {
  deliveries: {
    subscriptionId: string;
    status: string;
    conversion: unknown;
    lastError: string | null;
    webhookId: string;
  }[];
}

async function lookup(id: string): Promise<LookedUp> {
  return (await (await api(`/v1/events/lookup?source=%2Fcrm&id=${id}`)).json()) as LookedUp;
}

beforeAll(async () => {
  // No JUNCTION_PUBLIC_URL: converted events link to their version at the address the hub listens on.
  hub = await startHub();
  for (const [i, schema] of versions.entries()) {
    const res = await api(PATH, 'POST', { schema, ...(i === 0 ? { compatibility: 'NONE' } : {}) });
    expect(res.status).toBe(201);
  }
  for (const c of converters) expect((await api(`${PATH}/converters`, 'POST', c)).status).toBe(201);
  sinks = { v1: await startSink(), v3: await startSink(), asIs: await startSink() };
  const sub = async (sink: Sink, schemaVersion?: number) =>
    (
      await hub.subscribe({
        types: [TYPE],
        sink: sink.url,
        delivery: { format: 'structured', initialDelayMs: 0, ...(schemaVersion ? { schemaVersion } : {}) },
      })
    ).id;
  subs = { v1: await sub(sinks.v1, 1), v3: await sub(sinks.v3, 3), asIs: await sub(sinks.asIs) };
});

afterAll(async () => {
  await hub?.stop();
  await Promise.all(Object.values(sinks ?? {}).map((s) => s.close()));
});

describe('a subscription pinned to a version', () => {
  it('receives events of all three versions converted to its own', async () => {
    for (const v of [1, 2, 3] as const) await publish(`c${v}`, v);
    const all = Object.values(sinks);
    await waitFor(() => all.every((s) => s.received.length === 3), 10_000, 'every delivery');
    for (const v of [1, 2, 3] as const) {
      expect(received(sinks.v1, `c${v}`)).toEqual([
        expect.objectContaining({ data: ada[1], dataschema: schemaUri(1) }),
      ]);
      expect(received(sinks.v3, `c${v}`)).toEqual([
        expect.objectContaining({ data: ada[3], dataschema: schemaUri(3) }),
      ]);
      expect(received(sinks.asIs, `c${v}`)).toEqual([
        expect.objectContaining({ data: ada[v], dataschema: schemaUri(v) }),
      ]);
    }
  });

  it('records each conversion on its delivery, with the versions it passed through', async () => {
    const conversionFor = async (id: string, sub: string) =>
      (await lookup(id)).deliveries.find((d) => d.subscriptionId === sub)?.conversion;
    expect(await conversionFor('c1', subs.v3)).toEqual({ from: 1, to: 3, path: [1, 2, 3] });
    expect(await conversionFor('c3', subs.v1)).toEqual({ from: 3, to: 1, path: [3, 2, 1] });
    expect(await conversionFor('c2', subs.v1)).toEqual({ from: 2, to: 1, path: [2, 1] });
    expect(await conversionFor('c1', subs.v1)).toBeNull();
    expect(await conversionFor('c1', subs.asIs)).toBeNull();
  });

  it('dead-letters an event with no converter path, sends nothing, and delivers it once one exists', async () => {
    expect((await api(`${PATH}/converters/2/3`, 'DELETE')).status).toBe(204);
    await publish('c4', 1);
    await waitFor(async () => {
      const d = (await lookup('c4')).deliveries.find((x) => x.subscriptionId === subs.v3);
      return d?.status === 'dead';
    });
    const dead = (await lookup('c4')).deliveries.find((d) => d.subscriptionId === subs.v3)!;
    expect(dead.lastError).toMatch(/no converter from version 2 to 3/);
    expect(received(sinks.v3, 'c4')).toEqual([]);
    // The other subscriptions are not held up by it.
    await waitFor(() => received(sinks.v1, 'c4').length === 1 && received(sinks.asIs, 'c4').length === 1);

    expect((await api(`${PATH}/converters`, 'POST', converters[1])).status).toBe(201);
    const redrive = await api('/v1/dead-letters/redrive', 'POST', { subscription: subs.v3 });
    expect(redrive.status).toBe(200);
    await waitFor(() => received(sinks.v3, 'c4').length === 1, 10_000, 'the redriven delivery');
    expect(received(sinks.v3, 'c4')[0]?.data).toEqual(ada[3]);
    expect(sinks.v3.received.at(-1)?.headers['webhook-id']).toBe(dead.webhookId);
  });

  it('dead-letters a conversion whose result does not match the pinned version', async () => {
    // A converter that forgets displayName, which v3 requires.
    const broken = { from: 2, to: 3, expression: '{ "name": name }' };
    expect((await api(`${PATH}/converters`, 'POST', broken)).status).toBe(201);
    try {
      await publish('c5', 2);
      await waitFor(async () => {
        const d = (await lookup('c5')).deliveries.find((x) => x.subscriptionId === subs.v3);
        return d?.status === 'dead';
      });
      const dead = (await lookup('c5')).deliveries.find((d) => d.subscriptionId === subs.v3)!;
      expect(dead.lastError).toMatch(/does not match version 3.*displayName/);
      expect(received(sinks.v3, 'c5')).toEqual([]);
    } finally {
      await api(`${PATH}/converters`, 'POST', converters[1]);
    }
    const text = await (await api('/metrics')).text();
    expect(text).toMatch(
      new RegExp(`junction_deliveries_converted_total\\{type="${TYPE}",outcome="failed"\\} 2`),
    );
  });

  it('lists converters and keeps each change in the contract history', async () => {
    const list = (await (await api(`${PATH}/converters`)).json()) as { from: number; to: number }[];
    expect(list.map((c) => `${c.from}>${c.to}`)).toEqual(['1>2', '2>1', '2>3', '3>2']);
    const changes = (await (await api(`${PATH}/changes`)).json()) as { change: { action: string } }[];
    expect(changes.map((c) => c.change.action)).toEqual([
      'register',
      'register',
      'register',
      'converter',
      'converter',
      'converter',
      'converter',
      'converter-removed',
      'converter',
      'converter',
      'converter',
    ]);
  });
});

describe('bad input', () => {
  it.each([
    [{ from: 1, to: 3, expression: '$' }, '/to'],
    [{ from: 0, to: 1, expression: '$' }, '/from'],
    [{ from: 1, to: 2, expression: '{ "a": ' }, '/expression'],
    [{ from: 1, to: 2 }, '/expression'],
  ])('a converter %j is refused naming %s', async (body, pointer) => {
    const res = await api(`${PATH}/converters`, 'POST', body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { pointer: string }[] }).errors[0]?.pointer).toBe(pointer);
  });

  it('a converter to a version that does not exist is 404', async () => {
    expect((await api(`${PATH}/converters`, 'POST', { from: 3, to: 4, expression: '$' })).status).toBe(404);
  });

  it('removing a converter that does not exist is 404', async () => {
    expect((await api(`${PATH}/converters/1/3`, 'DELETE')).status).toBe(404);
  });

  it.each([
    [{ types: [TYPE], delivery: { schemaVersion: 7 } }, '/delivery/schemaVersion', /no version 7/],
    [{ types: ['com.acme.nobody'], delivery: { schemaVersion: 1 } }, '/delivery/schemaVersion', /no schema/],
    [{ types: [TYPE, 'x'], delivery: { schemaVersion: 1 } }, '/delivery/schemaVersion', /exactly one type/],
    [
      { types: [TYPE], delivery: { schemaVersion: { other: 1 } } },
      '/delivery/schemaVersion/other',
      /not one of/,
    ],
    [{ types: [TYPE], delivery: { schemaVersion: 'latest' } }, '/delivery/schemaVersion', /version number/],
  ])('a subscription pinned as %j is refused naming %s', async (body, pointer, message) => {
    const res = await api('/v1/subscriptions', 'POST', { sink: sinks.asIs.url, ...body });
    expect(res.status).toBe(400);
    const p = (await res.json()) as { errors: { pointer: string; message: string }[] };
    expect(p.errors[0]).toEqual({ pointer, message: expect.stringMatching(message) });
  });
});
