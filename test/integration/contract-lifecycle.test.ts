/**
 * A version's lifecycle with a controllable clock: the hub runs in this process (the real HTTP
 * server and SQLite store) with a clock the test moves, so a sunset passes without waiting for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { type RunningHub, startHub } from '../../src/server/serve.js';
import { tempDataDir } from '../helpers/server.js';

const KEY = 'lifecycle-key';
const TYPE = 'com.acme.invoice.sent';
const PATH = `/v1/schemas/${encodeURIComponent(TYPE)}`;
const DAY = 24 * 60 * 60 * 1000;

let clock = Date.parse('2027-03-01T12:00:00Z');
let hub: RunningHub;
let n = 0;

function api(path: string, method = 'GET', body?: unknown): Promise<Response> {
  return fetch(hub.url + path, {
    method,
    headers: {
      authorization: `Bearer ${KEY}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function publish(version: number | undefined): Promise<Response> {
  return fetch(`${hub.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify({
      specversion: '1.0',
      id: `i${++n}`,
      source: '/billing',
      type: TYPE,
      data: { invoiceId: `inv-${n}` },
      ...(version === undefined ? {} : { dataschema: `${hub.url}${PATH}/versions/${version}` }),
    }),
  });
}

beforeAll(async () => {
  const config = parseConfig(
    { port: 0, dataDir: tempDataDir(), adminKey: KEY, logLevel: 'silent', pollIntervalMs: 100 },
    {},
  );
  hub = await startHub(config, { now: () => clock });
  const schema = { type: 'object', properties: { invoiceId: { type: 'string' } }, required: ['invoiceId'] };
  for (let i = 0; i < 2; i++) expect((await api(PATH, 'POST', { schema })).status).toBe(201);
});

afterAll(async () => {
  await hub?.stop();
});

describe('deprecation and sunset', () => {
  const deprecatedAt = '2027-03-01T12:00:00.000Z';
  const sunset = '2027-03-15T00:00:00.000Z';

  it('deprecates a version with a sunset, and records who did it', async () => {
    const res = await api(`${PATH}/versions/1`, 'PATCH', { deprecated: true, sunset });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      version: 1,
      deprecatedAt,
      sunsetAt: sunset,
      state: 'deprecated',
    });
    const changes = (await (await api(`${PATH}/changes`)).json()) as { actor: string; change: unknown }[];
    expect(changes.at(-1)).toMatchObject({
      actor: 'admin',
      change: { action: 'lifecycle', version: 1, deprecatedAt, sunsetAt: sunset },
    });
  });

  it('answers a publish of the deprecated version with Deprecation, Sunset and the successor', async () => {
    const res = await publish(1);
    expect(res.status).toBe(202);
    expect(res.headers.get('deprecation')).toBe(`@${Date.parse(deprecatedAt) / 1000}`);
    expect(res.headers.get('sunset')).toBe('Mon, 15 Mar 2027 00:00:00 GMT');
    expect(res.headers.get('link')).toBe(`<${hub.url}${PATH}/versions/2>; rel="successor-version"`);
    const body = (await res.json()) as { events: { warnings: unknown[] }[] };
    expect(body.events[0]?.warnings).toEqual([{ code: 'deprecated', version: 1, sunset }]);
  });

  it('leaves a publish of the current version without those headers', async () => {
    for (const version of [2, undefined]) {
      const res = await publish(version);
      expect(res.status).toBe(202);
      expect(res.headers.get('deprecation')).toBeNull();
      expect(res.headers.get('sunset')).toBeNull();
    }
  });

  it('still takes the version the moment before its sunset', async () => {
    clock = Date.parse(sunset) - 1;
    expect((await publish(1)).status).toBe(202);
  });

  it('refuses the version once the clock passes its sunset, saying what to publish', async () => {
    clock = Date.parse(sunset) + DAY;
    const res = await publish(1);
    expect(res.status).toBe(400);
    const p = (await res.json()) as { type: string; errors: { pointer: string; message: string }[] };
    expect(p.type).toBe('https://junction.dev/problems/version-retired');
    expect(p.errors).toEqual([
      { pointer: '/dataschema', message: expect.stringMatching(/retired at 2027-03-15.*publish version 2/) },
    ]);
    expect(((await (await api(`${PATH}/versions/1`)).json()) as { state: string }).state).toBe('retired');
    expect((await publish(2)).status).toBe(202);
  });

  it('takes it with a warning when the type accepts versions past their sunset', async () => {
    expect((await api(PATH, 'PATCH', { afterSunset: 'accept' })).status).toBe(200);
    const res = await publish(1);
    expect(res.status).toBe(202);
    expect(res.headers.get('sunset')).toBe('Mon, 15 Mar 2027 00:00:00 GMT');
    expect((await api(PATH, 'PATCH', { afterSunset: 'refuse' })).status).toBe(200);
    expect((await publish(1)).status).toBe(400);
  });

  it('takes the deprecation back', async () => {
    const res = await api(`${PATH}/versions/1`, 'PATCH', { deprecated: false });
    expect(await res.json()).toMatchObject({ deprecatedAt: null, sunsetAt: null, state: 'active' });
    const published = await publish(1);
    expect(published.status).toBe(202);
    expect(published.headers.get('deprecation')).toBeNull();
  });

  it('counts publishes of deprecated versions in /metrics', async () => {
    const text = await (await api('/metrics')).text();
    expect(text).toContain(
      `junction_events_deprecated_version_total{type="${TYPE}",version="1",outcome="accepted"} 3`,
    );
    expect(text).toContain(
      `junction_events_deprecated_version_total{type="${TYPE}",version="1",outcome="refused"} 2`,
    );
  });
});

describe('bad lifecycle input', () => {
  it.each([
    [{}, ''],
    [{ deprecated: 'yes' }, '/deprecated'],
    [{ sunset: 'next week' }, '/sunset'],
    [{ sunset: '2027-02-30T00:00:00Z' }, '/sunset'],
    [{ deprecated: false, sunset: '2027-06-01T00:00:00Z' }, '/sunset'],
    [{ retired: true }, '/retired'],
  ])('%j is refused naming %s', async (body, pointer) => {
    const res = await api(`${PATH}/versions/2`, 'PATCH', body);
    expect(res.status).toBe(400);
    const p = (await res.json()) as { errors: { pointer: string }[] };
    expect(p.errors[0]?.pointer).toBe(pointer);
  });

  it('answers 404 for a version that does not exist', async () => {
    expect((await api(`${PATH}/versions/9`, 'PATCH', { deprecated: true })).status).toBe(404);
  });
});
