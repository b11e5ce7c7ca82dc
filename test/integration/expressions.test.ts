/**
 * POST /v1/expressions/evaluate and `junction filter test` against the real hub process: every
 * dialect, parse errors as answers with their position, 400 only for a malformed request, and
 * subscriptions refusing filters that do not parse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

let hub: HubProcess;
const event = {
  specversion: '1.0',
  id: '1',
  source: '/shop',
  type: 'com.acme.order.created',
  subject: 'orders/eu/1',
  total: '120',
  data: { total: 120, customer: { tier: 'gold' } },
};

function evaluate(body: unknown): Promise<Response> {
  return hub.fetch('/v1/expressions/evaluate', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

beforeAll(async () => {
  hub = await startHub();
});

afterAll(async () => {
  await hub?.stop();
});

describe('POST /v1/expressions/evaluate', () => {
  it.each([
    ['sql', "subject LIKE 'orders/eu/%' AND int(total) > 100", { result: true, error: null }],
    ['cesql', 'int(total) * 2', { result: 240, error: null }],
    ['sql', "UPPER('abc')", { result: 'ABC', error: null }],
    ['sql', '1 / 0', { result: 0, error: { kind: 'math', message: expect.any(String), position: 2 } }],
    [
      'sql',
      'missing = 1',
      { result: false, error: { kind: 'missingAttribute', message: expect.any(String), position: 0 } },
    ],
    [
      'sql',
      'subject = ',
      { result: false, error: { kind: 'parse', message: expect.any(String), position: 10 } },
    ],
    [
      'sql',
      'NOPE(1)',
      { result: false, error: { kind: 'missingFunction', message: expect.any(String), position: 0 } },
    ],
    [
      'pattern',
      { data: { total: [{ numeric: ['>', 100] }], customer: { tier: ['gold'] } } },
      { result: true, error: null },
    ],
    ['pattern', { data: { total: [{ numeric: ['>', 500] }] } }, { result: false, error: null }],
    [
      'pattern',
      { data: { total: [] } },
      { result: null, error: { kind: 'parse', message: expect.any(String) } },
    ],
    ['prefix', { subject: 'orders/' }, { result: true, error: null }],
    ['not', { exact: { source: '/shop' } }, { result: false, error: null }],
  ])('%s %j answers %j', async (dialect, expression, answer) => {
    const res = await evaluate({ dialect, expression, event });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(answer);
  });

  it.each([
    [{ expression: 'true', event }, '/dialect'],
    [{ dialect: 'jq', expression: '.', event }, '/dialect'],
    [{ dialect: 'sql', event }, '/expression'],
    [{ dialect: 'sql', expression: 1, event }, '/expression'],
    [{ dialect: 'sql', expression: 'true' }, '/event'],
    [{ dialect: 'sql', expression: 'true', event: [] }, '/event'],
  ])('refuses the malformed request %j naming %s', async (body, pointer) => {
    const res = await evaluate(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { pointer: string }[] }).errors.map((e) => e.pointer)).toContain(
      pointer,
    );
  });
});

describe('subscriptions with sql and pattern filters', () => {
  let s: Sink;
  beforeAll(async () => {
    s = await startSink();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('route on attributes with sql and on data with pattern', async () => {
    await hub.subscribe({
      types: ['com.acme.order.created'],
      sink: s.url,
      filters: [
        { sql: "subject LIKE 'orders/eu/%'" },
        { pattern: { data: { total: [{ numeric: ['>', 100] }] } } },
      ],
    });
    for (const [id, subject, total] of [
      ['a', 'orders/eu/1', 150],
      ['b', 'orders/us/1', 150],
      ['c', 'orders/eu/2', 50],
    ] as const) {
      await hub.publish({ id, source: '/shop', type: 'com.acme.order.created', subject, data: { total } });
    }
    await waitFor(() => s.received.length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(s.received.map((r) => r.headers['ce-id'])).toEqual(['a']);
  });

  it('refuse filters that do not parse, with the position', async () => {
    const res = await hub.fetch('/v1/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        sink: s.url,
        filters: [{ sql: "subject LIKE 'x" }, { pattern: { data: { total: 5 } } }],
      }),
    });
    expect(res.status).toBe(400);
    const p = (await res.json()) as { errors: { pointer: string; message: string }[] };
    expect(p.errors.map((e) => e.pointer)).toEqual(['/filters/0/sql', '/filters/1/pattern/data/total']);
    expect(p.errors[0]?.message).toMatch(/does not parse at character \d+/);
  });
});

describe('junction filter test', () => {
  it('prints the result and exits 0 when true, 1 when false or an error', async () => {
    const env = { JUNCTION_URL: hub.url, JUNCTION_KEY: hub.key };
    const yes = await runCli(
      ['filter', 'test', '--expression', 'int(total) > 100', '--event', JSON.stringify(event)],
      env,
    );
    expect(yes).toMatchObject({ code: 0, stdout: 'result: true\n' });
    const no = await runCli(
      [
        'filter',
        'test',
        '--dialect',
        'pattern',
        '--expression',
        '{"data":{"total":[{"numeric":["<",1]}]}}',
        '--event',
        JSON.stringify(event),
      ],
      env,
    );
    expect(no.code).toBe(1);
    expect(no.stdout).toBe('result: false\n');
    const bad = await runCli(
      ['filter', 'test', '--expression', 'subject = ', '--event', JSON.stringify(event)],
      env,
    );
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/error \(parse\)/);
  });
});
