/**
 * What inbound hooks refuse, against the real hub: a wrong or missing secret (401), a bad
 * signature or stale timestamp (401 with the reason), a body over the preset's limit (413 naming
 * it), one the mapping cannot map (422 naming the field), a type it does not read (415). Nothing
 * refused is stored or delivered, and no input, however mangled, earns a 500.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubProcess, startHub } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

let hub: HubProcess;
let sink: Sink;
let subscriptionId: string;
const TYPE = 'hooks.refused';

interface Problem {
  status: number;
  detail: string;
  errors?: { pointer: string; message: string }[];
}

beforeAll(async () => {
  sink = await startSink();
  hub = await startHub();
  subscriptionId = (await hub.subscribe({ sink: sink.url, types: [TYPE] })).id;
});

afterAll(async () => {
  await hub?.stop();
  await sink?.close();
});

async function createHook(
  body: Record<string, unknown>,
): Promise<{ id: string; secret: string; url: string }> {
  const res = await hub.fetch('/v1/hooks', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; secret: string; url: string };
}

async function refused(res: Response, status: number): Promise<Problem> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return (await res.json()) as Problem;
}

/** Nothing reached the subscription: no delivery was made, so no event was stored for it. */
async function nothingStored(): Promise<void> {
  const res = await hub.fetch(`/v1/subscriptions/${subscriptionId}/deliveries`);
  expect(((await res.json()) as { items: unknown[] }).items).toEqual([]);
  expect(sink.received).toEqual([]);
}

const post = (
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) => fetch(url, { method: 'POST', headers, body });

describe('refusals', () => {
  it('401 for a missing or wrong secret, 404 for an unknown hook', async () => {
    const hook = await createHook({ type: TYPE });
    const bare = hook.url.split('?')[0]!;
    expect((await refused(await post(bare, '{}'), 401)).detail).toMatch(/\?secret=/);
    expect((await refused(await post(`${bare}?secret=hks_wrong`, '{}'), 401)).detail).toMatch(
      /secret is wrong/,
    );
    await refused(
      await post(bare, '{}', { 'content-type': 'application/json', 'x-junction-hook-secret': 'nope' }),
      401,
    );
    await refused(await post(`${hub.url}/v1/hooks/hook_missing?secret=${hook.secret}`, '{}'), 404);
    await nothingStored();
  });

  it('401 with the reason for a bad signature and for a stale timestamp', async () => {
    const hook = await createHook({
      preset: 'signed',
      type: TYPE,
      signing: {
        secret: 's3',
        header: 'X-Signature',
        timestampHeader: 'X-Timestamp',
        payload: '{timestamp}.{body}',
        toleranceSeconds: 60,
      },
    });
    const body = '{"a":1}';
    const t = Math.floor(Date.now() / 1000);
    const sign = (at: number, b = body) => createHmac('sha256', 's3').update(`${at}.${b}`).digest('hex');
    const bad = await refused(
      await post(hook.url, body, {
        'content-type': 'application/json',
        'x-timestamp': String(t),
        'x-signature': sign(t, '{"a":2}'),
      }),
      401,
    );
    expect(bad.detail).toMatch(/does not match the body/);
    const stale = await refused(
      await post(hook.url, body, {
        'content-type': 'application/json',
        'x-timestamp': String(t - 120),
        'x-signature': sign(t - 120),
      }),
      401,
    );
    expect(stale.detail).toMatch(/outside the tolerance of 60 s/);
    const missing = await refused(await post(hook.url, body), 401);
    expect(missing.detail).toMatch(/X-Signature header .* is missing/i);
    await nothingStored();
    const metrics = await (await hub.fetch('/metrics')).text();
    expect(metrics).toMatch(/junction_hook_rejections_total\{preset="signed",reason="bad-signature"\} 1/);
    expect(metrics).toMatch(/junction_hook_rejections_total\{preset="signed",reason="stale-timestamp"\} 1/);
  });

  it('413 naming the preset limit: Make takes 5 MB, IFTTT 64 KiB', async () => {
    const make = await createHook({ preset: 'make', type: TYPE });
    const big = Buffer.alloc(5 * 1024 * 1024 + 1, 'a');
    const tooBig = await refused(await post(make.url, big, { 'content-type': 'text/plain' }), 413);
    expect(tooBig.detail).toMatch(/at most 5242880 bytes/);
    const ifttt = await createHook({ preset: 'ifttt', type: TYPE });
    const over = await refused(await post(ifttt.url, JSON.stringify({ value1: 'x'.repeat(70_000) })), 413);
    expect(over.detail).toMatch(/preset ifttt\) takes at most 65536 bytes/);
    // Under the body limit but over maxEventBytes (1 MiB): the event would not fit.
    const event = await refused(
      await post(make.url, Buffer.alloc(2 * 1024 * 1024, 'b'), { 'content-type': 'text/plain' }),
      413,
    );
    expect(event.detail).toMatch(/maxEventBytes/);
    await nothingStored();
  });

  it('422 naming the field the mapping cannot read', async () => {
    const hook = await createHook({ type: TYPE, idField: 'order.id', partitionKeyField: 'customer' });
    const missing = await refused(await post(hook.url, '{"order":{},"customer":"c"}'), 422);
    expect(missing.errors).toEqual([{ pointer: '/order/id', message: expect.stringMatching(/missing/) }]);
    const wrong = await refused(await post(hook.url, '{"order":{"id":"1"},"customer":[1]}'), 422);
    expect(wrong.errors).toEqual([{ pointer: '/customer', message: expect.stringMatching(/not an array/) }]);
    await nothingStored();
  });

  it('410 for a disabled hook, 415 for a type hooks do not read, 400 for broken JSON', async () => {
    const hook = await createHook({ type: TYPE });
    expect(
      (await refused(await post(hook.url, '<a/>', { 'content-type': 'application/xml' }), 415)).detail,
    ).toMatch(/multipart\/form-data/);
    await refused(await post(hook.url, '{"a":'), 400);
    const off = await createHook({ type: TYPE, status: 'disabled' });
    await refused(await post(off.url, '{}'), 410);
    await nothingStored();
  });

  it('never answers 500, whatever the body, headers or content type', async () => {
    const hook = await createHook({
      preset: 'zapier',
      type: TYPE,
      idField: 'a.b',
      mapping: '{ "x": a.b & "" }',
    });
    const types = [
      'application/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=z',
      'text/plain',
      '',
      'a/b; =',
      'application/json; charset=bogus',
    ];
    const bodies = [
      '',
      '{',
      '[]',
      'null',
      '{"a":{"b":{}}}',
      'a__b=1&a__b=2',
      '--z\r\ncontent-disposition: form-data; name="a__b"\r\n\r\n1\r\n--z--\r\n',
      '\u0000\uffff',
      '{"a":{"b":"'.repeat(200),
    ];
    for (const type of types) {
      for (const body of bodies) {
        const headers: Record<string, string> = type === '' ? {} : { 'content-type': type };
        const res = await post(hook.url, body, headers);
        expect(res.status, `${type} ${JSON.stringify(body).slice(0, 40)}: ${await res.text()}`).toBeLessThan(
          500,
        );
      }
    }
  });
});
