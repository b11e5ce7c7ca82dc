/**
 * The schema registry against a real hub process: versions registered and refused, the check
 * endpoint, listings, the audit trail, every kind of bad input, and versions surviving a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH } from '../../src/contracts/schema-validation.js';
import { type HubProcess, startHub } from '../helpers/server.js';

const TYPE = 'com.acme.order.created';
const PATH = `/v1/schemas/${encodeURIComponent(TYPE)}`;

const v1 = {
  type: 'object',
  properties: { orderId: { type: 'string' }, total: { type: 'number' } },
  required: ['orderId'],
};
/** Compatible under BACKWARD: `total` widens to take a string as well, so v2 reads all v1 data. */
const v2 = {
  type: 'object',
  properties: { orderId: { type: 'string' }, total: { type: ['number', 'string'] } },
  required: ['orderId'],
};
/** Breaking under BACKWARD: `total` may no longer be fractional, and `currency` is now required. */
const v3 = {
  type: 'object',
  properties: {
    orderId: { type: 'string' },
    total: { type: 'integer' },
    currency: { type: 'string' },
  },
  required: ['orderId', 'currency'],
};

interface Problem {
  type: string;
  status: number;
  detail: string;
  errors?: { pointer: string; message: string }[];
  changes?: { pointer: string; kind: string; message: string }[];
}

let hub: HubProcess;

function post(path: string, body: unknown, contentType = 'application/json'): Promise<Response> {
  return hub.fetch(path, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function problem(res: Response, status: number): Promise<Problem> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return (await res.json()) as Problem;
}

beforeAll(async () => {
  hub = await startHub();
});

afterAll(async () => {
  await hub?.stop();
});

describe('the schema registry', () => {
  it('registers version 1 with settings, then a compatible version 2', async () => {
    const first = await post(PATH, { schema: v1, owner: 'orders-team', description: 'An order was placed.' });
    expect(first.status).toBe(201);
    expect(first.headers.get('location')).toBe(`${PATH}/versions/1`);
    const body = (await first.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ type: TYPE, version: 1, schema: v1 });
    expect(Date.parse(body.createdAt as string)).not.toBeNaN();

    const second = await post(PATH, { schema: v2 });
    expect(second.status).toBe(201);
    expect(await second.json()).toMatchObject({ type: TYPE, version: 2, schema: v2 });
  });

  it('refuses a breaking version 3 with 409 naming each change by pointer', async () => {
    const body = await problem(await post(PATH, { schema: v3 }), 409);
    expect(body.type).toMatch(/incompatible-schema$/);
    const pointers = body.changes?.map((c) => c.pointer) ?? [];
    expect(pointers).toContain('/properties/total/type');
    expect(pointers.some((p) => p.startsWith('/required'))).toBe(true);
    for (const change of body.changes ?? []) {
      expect(change.kind).toEqual(expect.any(String));
      expect(change.message.length).toBeGreaterThan(10);
    }
    expect(body.detail).toContain('BACKWARD');
    // Nothing was stored.
    const versions = (await (await hub.fetch(`${PATH}/versions`)).json()) as unknown[];
    expect(versions).toHaveLength(2);
  });

  it('checks a candidate without storing it, under the type mode or one given', async () => {
    const breaking = await post(`${PATH}/check`, { schema: v3 });
    expect(breaking.status).toBe(200);
    const verdict = (await breaking.json()) as { compatible: boolean; changes: { pointer: string }[] };
    expect(verdict.compatible).toBe(false);
    expect(verdict.changes.map((c) => c.pointer)).toContain('/properties/total/type');

    const none = await post(`${PATH}/check`, { schema: v3, compatibility: 'NONE' });
    expect(await none.json()).toEqual({ compatible: true, changes: [] });

    const fine = await post(`${PATH}/check`, { schema: v2 });
    expect(await fine.json()).toEqual({ compatible: true, changes: [] });

    const unknownType = await post('/v1/schemas/com.acme.never.seen/check', { schema: v3 });
    expect(await unknownType.json()).toEqual({ compatible: true, changes: [] });

    const versions = (await (await hub.fetch(`${PATH}/versions`)).json()) as unknown[];
    expect(versions).toHaveLength(2);
  });

  it('lists types, versions, one version, and the type with its latest', async () => {
    const types = (await (await hub.fetch('/v1/schemas')).json()) as Record<string, unknown>[];
    expect(types).toEqual([
      expect.objectContaining({
        type: TYPE,
        latestVersion: 2,
        compatibility: 'BACKWARD',
        owner: 'orders-team',
      }),
    ]);

    const type = (await (await hub.fetch(PATH)).json()) as Record<string, unknown>;
    expect(type).toMatchObject({
      type: TYPE,
      owner: 'orders-team',
      description: 'An order was placed.',
      compatibility: 'BACKWARD',
      optionalFriendly: false,
      latestVersion: 2,
      latest: { version: 2, schema: v2 },
    });

    const versions = (await (await hub.fetch(`${PATH}/versions`)).json()) as Record<string, unknown>[];
    expect(versions.map((v) => v.version)).toEqual([1, 2]);
    expect(versions[0]).toMatchObject({ type: TYPE, version: 1, schema: v1, createdBy: 'admin' });

    const one = await hub.fetch(`${PATH}/versions/1`);
    expect(await one.json()).toMatchObject({ version: 1, schema: v1 });

    const missing = await problem(await hub.fetch(`${PATH}/versions/9`), 404);
    expect(missing.detail).toContain('no version 9');
    await problem(await hub.fetch('/v1/schemas/com.acme.unknown'), 404);
    const bad = await problem(await hub.fetch(`${PATH}/versions/one`), 400);
    expect(bad.errors?.[0]?.pointer).toBe('/version');
  });

  it('counts a new optional property as compatible only when the type is optional-friendly', async () => {
    const withNote = { ...v2, properties: { ...v2.properties, note: { type: 'string' } } };
    const strict = (await (await post(`${PATH}/check`, { schema: withNote })).json()) as {
      compatible: boolean;
      changes: { kind: string }[];
    };
    expect(strict.compatible).toBe(false);
    expect(strict.changes.map((c) => c.kind)).toEqual(['open-model-property-constrained']);
    const patch = (body: unknown) =>
      hub.fetch(PATH, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await patch({ optionalFriendly: true })).status).toBe(200);
    expect(await (await post(`${PATH}/check`, { schema: withNote })).json()).toEqual({
      compatible: true,
      changes: [],
    });
    expect((await patch({ optionalFriendly: false })).status).toBe(200);
    const badMode = await problem(await patch({ compatibility: 'ALL' }), 400);
    expect(badMode.errors?.[0]?.pointer).toBe('/compatibility');
    await problem(await patch({ schema: v1 }), 400);
    await problem(
      await hub.fetch('/v1/schemas/com.acme.unknown', {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }),
      404,
    );
  });

  it('describes its routes in the OpenAPI document', async () => {
    const doc = (await (await hub.fetch('/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/schemas',
        '/v1/schemas/{type}',
        '/v1/schemas/{type}/versions',
        '/v1/schemas/{type}/versions/{n}',
        '/v1/schemas/{type}/check',
        '/v1/schemas/{type}/changes',
      ]),
    );
  });

  it('changes settings, and registers under the new mode', async () => {
    const res = await hub.fetch(PATH, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ compatibility: 'NONE', channel: 'orders' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      compatibility: 'NONE',
      channel: 'orders',
      owner: 'orders-team',
    });
    const third = await post(PATH, { schema: v3, compatibility: 'NONE' });
    expect(third.status).toBe(201);
    expect(await third.json()).toMatchObject({ version: 3 });
  });

  it('records every change with who made it and when', async () => {
    const changes = (await (await hub.fetch(`${PATH}/changes`)).json()) as Record<string, unknown>[];
    expect(changes.map((c) => c.change)).toEqual([
      {
        action: 'register',
        version: 1,
        fields: { owner: 'orders-team', description: 'An order was placed.' },
      },
      { action: 'register', version: 2 },
      { action: 'settings', fields: { optionalFriendly: true } },
      { action: 'settings', fields: { optionalFriendly: false } },
      { action: 'settings', fields: { channel: 'orders', compatibility: 'NONE' } },
      { action: 'register', version: 3, fields: { compatibility: 'NONE' } },
    ]);
    for (const c of changes) {
      expect(c).toMatchObject({ type: TYPE, actor: 'admin' });
      expect(Date.parse(c.at as string)).not.toBeNaN();
    }
  });
});

describe('bad input to the registry', () => {
  const cases: {
    name: string;
    send: () => Promise<Response>;
    status: number;
    pointer: string;
    detail: RegExp;
  }[] = [
    {
      name: 'an invalid JSON Schema',
      send: () => post('/v1/schemas/t.bad', { schema: { type: 'objec' } }),
      status: 400,
      pointer: '/schema/type',
      detail: /not a valid JSON Schema/,
    },
    {
      name: 'a schema that is not an object',
      send: () => post('/v1/schemas/t.bad', { schema: 'string' }),
      status: 400,
      pointer: '/schema',
      detail: /must be a JSON Schema/,
    },
    {
      name: 'a missing schema',
      send: () => post('/v1/schemas/t.bad', { owner: 'x' }),
      status: 400,
      pointer: '/schema',
      detail: /schema is required/,
    },
    {
      name: 'a $ref to a URL',
      send: () =>
        post('/v1/schemas/t.bad', {
          schema: { type: 'object', properties: { a: { $ref: 'https://example.com/a.json' } } },
        }),
      status: 400,
      pointer: '/schema/properties/a/$ref',
      detail: /never fetches a URL/,
    },
    {
      name: 'a $ref to a relative file',
      send: () => post('/v1/schemas/t.bad/check', { schema: { $ref: 'other.json#/x' } }),
      status: 400,
      pointer: '/schema/$ref',
      detail: /within itself/,
    },
    {
      name: 'a $ref to a missing definition',
      send: () => post('/v1/schemas/t.bad', { schema: { $ref: '#/$defs/missing' } }),
      status: 400,
      pointer: '/schema',
      detail: /can't resolve reference/,
    },
    {
      name: 'a schema over the size limit',
      send: () =>
        post('/v1/schemas/t.bad', {
          schema: { type: 'object', description: 'x'.repeat(MAX_SCHEMA_BYTES) },
        }),
      status: 413,
      pointer: '/schema',
      detail: new RegExp(`limit of ${MAX_SCHEMA_BYTES} bytes`),
    },
    {
      name: 'a schema nested too deeply',
      send: () => {
        let schema: Record<string, unknown> = { type: 'string' };
        for (let i = 0; i < 80; i++) schema = { items: schema };
        return post('/v1/schemas/t.bad', { schema });
      },
      status: 400,
      pointer: `/schema${'/items'.repeat(MAX_SCHEMA_DEPTH)}`,
      detail: /nested more than 64 levels/,
    },
    {
      name: 'an unknown compatibility mode',
      send: () => post('/v1/schemas/t.bad', { schema: v1, compatibility: 'SIDEWAYS' }),
      status: 400,
      pointer: '/compatibility',
      detail: /use one of NONE, BACKWARD, BACKWARD_TRANSITIVE/,
    },
    {
      name: 'an unknown mode to check under',
      send: () => post('/v1/schemas/t.bad/check', { schema: v1, compatibility: 'backward' }),
      status: 400,
      pointer: '/compatibility',
      detail: /unknown compatibility mode/,
    },
    {
      name: 'a setting of the wrong type',
      send: () => post('/v1/schemas/t.bad', { schema: v1, optionalFriendly: 'yes' }),
      status: 400,
      pointer: '/optionalFriendly',
      detail: /true or false/,
    },
    {
      name: 'a body that is not an object',
      send: () => post('/v1/schemas/t.bad', [v1]),
      status: 400,
      pointer: '',
      detail: /must be a JSON object/,
    },
    {
      name: 'a type with a control character',
      send: () => post(`/v1/schemas/${encodeURIComponent('t.bad\nline')}`, { schema: v1 }),
      status: 400,
      pointer: '/type',
      detail: /printable/,
    },
  ];

  for (const c of cases) {
    it(`answers ${c.status} to ${c.name}`, async () => {
      const body = await problem(await c.send(), c.status);
      expect(body.detail).toMatch(c.detail);
      expect(body.errors?.map((e) => e.pointer)).toContain(c.pointer);
    });
  }

  it('answers 400 to a malformed JSON body, naming where it broke', async () => {
    const body = await problem(await post('/v1/schemas/t.bad', '{"schema": {'), 400);
    expect(body.detail).toMatch(/not valid JSON/);
  });

  it('stored none of them', async () => {
    await problem(await hub.fetch('/v1/schemas/t.bad'), 404);
    const types = (await (await hub.fetch('/v1/schemas')).json()) as { type: string }[];
    expect(types.map((t) => t.type)).toEqual([TYPE]);
  });
});

describe('after a restart', () => {
  it('still has every version, the settings and the history', async () => {
    const dataDir = hub.dataDir;
    expect(await hub.stop()).toBe(0);
    hub = await startHub({ dataDir });
    const versions = (await (await hub.fetch(`${PATH}/versions`)).json()) as { version: number }[];
    expect(versions.map((v) => v.version)).toEqual([1, 2, 3]);
    expect(await (await hub.fetch(PATH)).json()).toMatchObject({ compatibility: 'NONE', latestVersion: 3 });
    const changes = (await (await hub.fetch(`${PATH}/changes`)).json()) as unknown[];
    expect(changes).toHaveLength(6);
    const next = await post(PATH, { schema: v3 });
    expect(await next.json()).toMatchObject({ version: 4 });
  });
});
