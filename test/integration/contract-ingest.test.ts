/**
 * Contracts at the edge, against the real hub process: events of a registered type checked under
 * enforce, warn and off, the version taken from `dataschema`, the metric counted, and the hub-wide
 * refusal of unregistered types.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubProcess, startHub } from '../helpers/server.js';

const TYPE = 'com.acme.order.placed';
const PATH = `/v1/schemas/${encodeURIComponent(TYPE)}`;

const v1 = {
  type: 'object',
  properties: { orderId: { type: 'string' }, total: { type: 'number', minimum: 0 } },
  required: ['orderId', 'total'],
};
/** v2 adds a required currency: registered under NONE, so v1 events stay valid only as v1. */
const v2 = {
  type: 'object',
  properties: { ...v1.properties, currency: { enum: ['EUR', 'USD'] } },
  required: ['orderId', 'total', 'currency'],
};

interface Problem {
  type: string;
  status: number;
  detail: string;
  errors?: { pointer: string; message: string }[];
}

let hub: HubProcess;
let n = 0;

function event(data: unknown, extra: Record<string, unknown> = {}) {
  return { specversion: '1.0', id: `e${++n}`, source: '/shop', type: TYPE, data, ...extra };
}

function publish(body: unknown, contentType = 'application/cloudevents+json'): Promise<Response> {
  return hub.fetch('/v1/events', {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: JSON.stringify(body),
  });
}

async function problem(res: Response, status: number): Promise<Problem> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return (await res.json()) as Problem;
}

async function stored(id: string): Promise<number> {
  return (await hub.fetch(`/v1/events/lookup?source=%2Fshop&id=${id}`)).status;
}

function setValidation(mode: string): Promise<Response> {
  return hub.fetch(PATH, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ validation: mode }),
  });
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await hub.fetch('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

function versionUrl(version: number): string {
  return `https://hub.example.com/v1/schemas/${encodeURIComponent(TYPE)}/versions/${version}`;
}

beforeAll(async () => {
  hub = await startHub();
  for (const [schema, extra] of [
    [v1, { compatibility: 'NONE' }],
    [v2, {}],
  ] as const) {
    const res = await hub.fetch(PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ schema, ...extra }),
    });
    expect(res.status).toBe(201);
  }
});

afterAll(async () => {
  await hub?.stop();
});

describe('enforce (the default)', () => {
  it('takes an event that matches the latest version', async () => {
    const res = await publish(event({ orderId: 'o1', total: 10, currency: 'EUR' }));
    expect(res.status).toBe(202);
    const body = (await res.json()) as { events: { status: string; warnings?: unknown }[] };
    expect(body.events[0]).toEqual({ source: '/shop', id: `e${n}`, status: 'accepted' });
    const lookup = (await (await hub.fetch(`/v1/events/lookup?source=%2Fshop&id=e${n}`)).json()) as {
      contract: unknown;
    };
    expect(lookup.contract).toEqual({ version: 2 });
  });

  it('refuses one that does not, naming every field, and stores nothing', async () => {
    const res = await publish(event({ total: -1, currency: 'GBP' }));
    const p = await problem(res, 400);
    expect(p.type).toBe('https://junction.dev/problems/schema-violation');
    expect(p.errors?.map((e) => e.pointer).sort()).toEqual(['/data', '/data/currency', '/data/total']);
    expect(p.errors?.find((e) => e.pointer === '/data')?.message).toMatch(/orderId/);
    expect(p.errors?.find((e) => e.pointer === '/data/currency')?.message).toMatch(/EUR, USD/);
    expect(await stored(`e${n}`)).toBe(404);
    expect(await metric('junction_events_schema_violations_total', `type="${TYPE}",outcome="refused"`)).toBe(
      1,
    );
  });

  it('refuses a whole batch for one bad member, locating it by index', async () => {
    const good = event({ orderId: 'o2', total: 1, currency: 'USD' });
    const bad = event({ orderId: 'o3', total: 'ten', currency: 'USD' });
    const p = await problem(await publish([good, bad], 'application/cloudevents-batch+json'), 400);
    expect(p.errors).toEqual([{ pointer: '/1/data/total', message: expect.stringMatching(/number/) }]);
    expect(await stored(good.id)).toBe(404);
  });

  it('checks binary-mode events too', async () => {
    const res = await hub.fetch('/v1/events', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': 'bin-1',
        'ce-source': '/shop',
        'ce-type': TYPE,
      },
      body: JSON.stringify({ orderId: 'o4' }),
    });
    const p = await problem(res, 400);
    expect(p.errors?.[0]?.pointer).toBe('/data');
  });

  it('refuses data that is not JSON for a type with a schema', async () => {
    const res = await hub.fetch('/v1/events', {
      method: 'POST',
      headers: {
        'content-type': 'text/plain',
        'ce-specversion': '1.0',
        'ce-id': 'bin-2',
        'ce-source': '/shop',
        'ce-type': TYPE,
      },
      body: 'order o5',
    });
    const p = await problem(res, 400);
    expect(p.errors?.[0]?.pointer).toBe('/datacontenttype');
  });

  it('validates against the version dataschema names', async () => {
    // Valid as v1, though not as v2 (no currency).
    const asV1 = event({ orderId: 'o6', total: 3 }, { dataschema: versionUrl(1) });
    expect((await publish(asV1)).status).toBe(202);
    const lookup = (await (await hub.fetch(`/v1/events/lookup?source=%2Fshop&id=${asV1.id}`)).json()) as {
      contract: unknown;
    };
    expect(lookup.contract).toEqual({ version: 1 });
    // The same data claimed as v2 is refused.
    const asV2 = event({ orderId: 'o7', total: 3 }, { dataschema: versionUrl(2) });
    expect((await problem(await publish(asV2), 400)).errors?.[0]?.pointer).toBe('/data');
  });

  it('refuses a dataschema naming a version or type the registry does not have', async () => {
    const missing = await problem(
      await publish(event({ orderId: 'o8', total: 1 }, { dataschema: versionUrl(9) })),
      400,
    );
    expect(missing.errors).toEqual([
      { pointer: '/dataschema', message: expect.stringMatching(/version 9 .*not registered.*latest is 2/) },
    ]);
    const other = await problem(
      await publish(
        event(
          { orderId: 'o9', total: 1 },
          { dataschema: 'https://hub.example.com/v1/schemas/other/versions/1' },
        ),
      ),
      400,
    );
    expect(other.errors?.[0]?.message).toMatch(/names a schema of 'other'/);
  });

  it("takes a producer's own dataschema as the latest version", async () => {
    const own = event(
      { orderId: 'o10', total: 1, currency: 'EUR' },
      { dataschema: 'https://schemas.acme.com/order.json' },
    );
    expect((await publish(own)).status).toBe(202);
  });

  it('leaves types with no schema alone', async () => {
    expect((await publish({ ...event({ anything: true }), type: 'com.acme.unregistered' })).status).toBe(202);
  });
});

describe('warn', () => {
  it('takes a bad event, flags it in the answer and the lookup, and counts it', async () => {
    expect((await setValidation('warn')).status).toBe(200);
    try {
      const bad = event({ orderId: 'o11', total: -5, currency: 'EUR' });
      const res = await publish(bad);
      expect(res.status).toBe(202);
      const body = (await res.json()) as { events: { warnings: unknown[] }[] };
      expect(body.events[0]?.warnings).toEqual([
        {
          code: 'schema-violation',
          version: 2,
          errors: [{ pointer: '/data/total', message: expect.stringMatching(/>= 0/) }],
        },
      ]);
      const lookup = (await (await hub.fetch(`/v1/events/lookup?source=%2Fshop&id=${bad.id}`)).json()) as {
        contract: unknown;
      };
      expect(lookup.contract).toEqual({
        version: 2,
        errors: [{ pointer: '/data/total', message: expect.any(String) }],
      });
      expect(
        await metric('junction_events_schema_violations_total', `type="${TYPE}",outcome="accepted"`),
      ).toBe(1);
      // An unknown version is a warning too, and the event is checked against the latest.
      const unknown = await publish(
        event({ orderId: 'o12', total: 1, currency: 'EUR' }, { dataschema: versionUrl(7) }),
      );
      expect(unknown.status).toBe(202);
      expect(
        ((await unknown.json()) as { events: { warnings: { code: string }[] }[] }).events[0]?.warnings,
      ).toEqual([{ code: 'dataschema', message: expect.stringMatching(/version 7/) }]);
    } finally {
      await setValidation('enforce');
    }
  });
});

describe('off', () => {
  it('takes a bad event without a word, but still records its version', async () => {
    expect((await setValidation('off')).status).toBe(200);
    try {
      const bad = event({ nothing: 'right' });
      const res = await publish(bad);
      expect(res.status).toBe(202);
      expect(((await res.json()) as { events: unknown[] }).events[0]).toEqual({
        source: '/shop',
        id: bad.id,
        status: 'accepted',
      });
      const lookup = (await (await hub.fetch(`/v1/events/lookup?source=%2Fshop&id=${bad.id}`)).json()) as {
        contract: unknown;
      };
      expect(lookup.contract).toEqual({ version: 2 });
    } finally {
      await setValidation('enforce');
    }
  });

  it('refuses an unknown validation mode, naming the field', async () => {
    const p = await problem(await setValidation('strict'), 400);
    expect(p.errors?.[0]?.pointer).toBe('/validation');
  });
});

describe('unknownTypes: refuse', () => {
  let strict: HubProcess;
  beforeAll(async () => {
    strict = await startHub({ env: { JUNCTION_UNKNOWN_TYPES: 'refuse' } });
    const res = await strict.fetch(PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ schema: v1 }),
    });
    expect(res.status).toBe(201);
  });
  afterAll(async () => {
    await strict?.stop();
  });

  it('takes registered types and refuses the rest, naming the type', async () => {
    const post = (body: unknown) =>
      strict.fetch('/v1/events', {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents-batch+json' },
        body: JSON.stringify(body),
      });
    expect((await post([event({ orderId: 'a', total: 1 })])).status).toBe(202);
    const res = await post([event({ orderId: 'b', total: 1 }), { ...event({}), type: 'com.acme.stranger' }]);
    expect(res.status).toBe(400);
    const p = (await res.json()) as Problem;
    expect(p.type).toBe('https://junction.dev/problems/unknown-type');
    expect(p.errors).toEqual([
      { pointer: '/1/type', message: expect.stringMatching(/com\.acme\.stranger.*register/) },
    ]);
  });
});
