import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildUrl, formatProblem } from '../../src/cli/client.js';
import { formatChannels } from '../../src/cli/commands/channels.js';
import {
  buildDeadLetterListRequest,
  buildDiscardRequest,
  buildRedriveRequest,
  formatDeadLetters,
} from '../../src/cli/commands/dlq.js';
import { formatBreakers } from '../../src/cli/commands/endpoints.js';
import { formatLookup } from '../../src/cli/commands/events.js';
import { buildPublishRequest } from '../../src/cli/commands/publish.js';
import { toServeOptions } from '../../src/cli/commands/serve.js';
import { buildSubscriptionRequest, formatStats, formatSubscriptions } from '../../src/cli/commands/sub.js';
import { UsageError } from '../../src/cli/errors.js';
import { formatTable } from '../../src/cli/format.js';
import { collectJsonObject, collectKeyValue, integer } from '../../src/cli/options.js';

describe('option parsers', () => {
  it('accepts integers in range and rejects anything else', () => {
    const port = integer({ min: 0, max: 65535 });
    expect(port('8080')).toBe(8080);
    for (const bad of ['abc', '1.5', '1e3', '', '70000', '-1'])
      expect(() => port(bad)).toThrow(InvalidArgumentError);
  });

  it('collects key=value pairs, keeping "=" in values', () => {
    expect(collectKeyValue('a=b=c', collectKeyValue('x=1', undefined))).toEqual([
      ['x', '1'],
      ['a', 'b=c'],
    ]);
    expect(() => collectKeyValue('novalue', undefined)).toThrow(InvalidArgumentError);
    expect(() => collectKeyValue('=v', undefined)).toThrow(InvalidArgumentError);
  });

  it('collects JSON objects and rejects other JSON', () => {
    expect(collectJsonObject('{"exact":{"type":"a"}}', undefined)).toEqual([{ exact: { type: 'a' } }]);
    expect(() => collectJsonObject('{oops', undefined)).toThrow(/Not valid JSON/);
    expect(() => collectJsonObject('[1]', undefined)).toThrow(/JSON object/);
  });
});

describe('buildPublishRequest', () => {
  const base = { type: 'com.acme.order.created', source: '/shop', id: 'e1', contentType: 'application/json' };

  it('builds a structured CloudEvent with JSON data, subject and extensions', () => {
    const request = buildPublishRequest({
      ...base,
      subject: 'orders/1',
      extensions: [['partitionkey', 'cust-42']],
      data: '{"total":120}',
    });
    expect(request).toEqual({
      method: 'POST',
      path: '/v1/events',
      contentType: 'application/cloudevents+json',
      body: {
        specversion: '1.0',
        id: 'e1',
        source: '/shop',
        type: 'com.acme.order.created',
        subject: 'orders/1',
        partitionkey: 'cust-42',
        datacontenttype: 'application/json',
        data: { total: 120 },
      },
    });
  });

  it('leaves data and datacontenttype out when there is no data', () => {
    const body = buildPublishRequest(base).body as Record<string, unknown>;
    expect(body).not.toHaveProperty('data');
    expect(body).not.toHaveProperty('datacontenttype');
  });

  it('rejects invalid JSON data before sending', () => {
    expect(() => buildPublishRequest({ ...base, data: '{total:' })).toThrow(UsageError);
    expect(() =>
      buildPublishRequest({ ...base, contentType: 'application/vnd.acme+json', data: 'x' }),
    ).toThrow(/not valid JSON/);
  });

  it('sends text as a string and other media types as base64', () => {
    const text = buildPublishRequest({ ...base, contentType: 'text/plain', data: 'hello' }).body;
    expect(text).toMatchObject({ data: 'hello', datacontenttype: 'text/plain' });
    const binary = buildPublishRequest({
      ...base,
      contentType: 'application/octet-stream',
      data: new Uint8Array([0, 255]),
    }).body;
    expect(binary).toMatchObject({ data_base64: 'AP8=' });
  });

  it('accepts JSON data with a byte-order mark, as some editors save it', () => {
    const body = buildPublishRequest({ ...base, data: Buffer.from('\uFEFF[1]') }).body;
    expect(body).toMatchObject({ data: [1] });
  });

  it('rejects extensions that shadow attributes or break the naming rule', () => {
    expect(() => buildPublishRequest({ ...base, extensions: [['id', 'x']] })).toThrow(/not an extension/);
    expect(() => buildPublishRequest({ ...base, extensions: [['Trace-Id', 'x']] })).toThrow(/lower-case/);
    expect(() =>
      buildPublishRequest({
        ...base,
        extensions: [
          ['a1', 'x'],
          ['a1', 'y'],
        ],
      }),
    ).toThrow(/more than once/);
  });
});

describe('buildSubscriptionRequest', () => {
  it('sends only the sink and protocol when nothing else is given', () => {
    expect(buildSubscriptionRequest({ sink: 'https://crm.example.com/h' })).toEqual({
      method: 'POST',
      path: '/v1/subscriptions',
      body: { sink: 'https://crm.example.com/h', protocol: 'HTTP' },
    });
  });

  it('maps every option to its place in the subscription', () => {
    const { body } = buildSubscriptionRequest({
      sink: 'https://crm.example.com/h',
      types: ['a.b', 'c.d'],
      filters: [{ prefix: { subject: 'orders/' } }],
      format: 'webhook',
      headers: [['x-team', 'crm']],
      maxAttempts: 5,
      timeoutMs: 2000,
    });
    expect(body).toEqual({
      sink: 'https://crm.example.com/h',
      protocol: 'HTTP',
      types: ['a.b', 'c.d'],
      filters: [{ prefix: { subject: 'orders/' } }],
      protocolsettings: { headers: { 'x-team': 'crm' } },
      delivery: { format: 'webhook', maxAttempts: 5, timeoutMs: 2000 },
    });
  });

  it('names a preset, and none as null', () => {
    expect(
      buildSubscriptionRequest({ sink: 'https://n8n.example.com/webhook/x', preset: 'n8n' }).body,
    ).toMatchObject({
      delivery: { preset: 'n8n' },
    });
    expect(
      buildSubscriptionRequest({ sink: 'https://hooks.slack.com/x', preset: 'none' }).body,
    ).toMatchObject({
      delivery: { preset: null },
    });
  });

  it('rejects a sink that is not an http(s) URL', () => {
    expect(() => buildSubscriptionRequest({ sink: 'crm.example.com' })).toThrow(UsageError);
    expect(() => buildSubscriptionRequest({ sink: 'ftp://example.com' })).toThrow(/http or https/);
  });
});

describe('dead-letter requests', () => {
  it('maps list options to the query', () => {
    expect(buildDeadLetterListRequest({ subscription: 'sub_1', limit: 5 })).toEqual({
      method: 'GET',
      path: '/v1/dead-letters',
      query: { subscription: 'sub_1', limit: 5, after: undefined },
    });
  });

  it('redrives by ids or by subscription, never both or neither', () => {
    expect(buildRedriveRequest({ ids: ['d1', 'd2'] }).body).toEqual({ ids: ['d1', 'd2'] });
    expect(buildRedriveRequest({ subscription: 'sub_1' }).body).toEqual({ subscription: 'sub_1' });
    expect(() => buildRedriveRequest({})).toThrow(UsageError);
    expect(() => buildRedriveRequest({ ids: ['d1'], subscription: 'sub_1' })).toThrow(UsageError);
  });

  it('discards by ids or by subscription, with the same guard as redrive', () => {
    expect(buildDiscardRequest({ ids: ['d1'] })).toEqual({
      method: 'POST',
      path: '/v1/dead-letters/discard',
      body: { ids: ['d1'] },
    });
    expect(buildDiscardRequest({ subscription: 'sub_1' }).body).toEqual({ subscription: 'sub_1' });
    expect(() => buildDiscardRequest({})).toThrow(UsageError);
    expect(() => buildDiscardRequest({ ids: ['d1'], subscription: 'sub_1' })).toThrow(UsageError);
  });
});

describe('client helpers', () => {
  it('keeps a path prefix of the base URL and drops empty query values', () => {
    const url = buildUrl('https://example.com/junction', '/v1/dead-letters', {
      limit: 3,
      subscription: undefined,
    });
    expect(url.href).toBe('https://example.com/junction/v1/dead-letters?limit=3');
  });

  it('rejects a base URL that is not http(s)', () => {
    expect(() => buildUrl('localhost:8080', '/v1/events')).toThrow(UsageError);
    expect(() => buildUrl('not a url', '/v1/events')).toThrow(UsageError);
  });

  it('formats problem+json with its pointers', () => {
    const text = formatProblem(400, 'Bad Request', {
      type: 'about:blank',
      title: 'Invalid event',
      status: 400,
      detail: 'The event is missing required attributes.',
      errors: [{ pointer: '/type', message: 'is required' }],
    });
    expect(text).toBe(
      'Invalid event (HTTP 400)\n  The event is missing required attributes.\n  /type: is required',
    );
  });

  it('formats a body that is not problem+json as an excerpt, with a hint for a missing key', () => {
    expect(formatProblem(502, 'Bad Gateway', '<html>oops</html>')).toBe(
      'HTTP 502 Bad Gateway\n  <html>oops</html>',
    );
    expect(formatProblem(401, 'Unauthorized', { title: 'Unauthorized' }, false)).toContain('JUNCTION_KEY');
  });
});

describe('formatters', () => {
  it('aligns table columns', () => {
    expect(formatTable(['ID', 'STATUS'], [['sub_1', 'active']])).toBe('ID     STATUS\nsub_1  active');
  });

  it('shows "*" for a subscription without types', () => {
    const text = formatSubscriptions([{ id: 'sub_1', status: 'active', sink: 'https://x' }]);
    expect(text.split('\n')[1]).toMatch(/^sub_1\s+active\s+\*\s+https:\/\/x$/);
  });

  it('points to the next page of dead letters', () => {
    const text = formatDeadLetters({ items: [{ id: 'd1', attempts: 3 }], next: 'c2' });
    expect(text).toContain('--after c2');
  });

  it('lists each delivery attempt of a looked-up event', () => {
    const text = formatLookup({
      event: { specversion: '1.0', id: 'e1', source: '/shop', type: 'a.b' },
      seq: 7,
      deliveries: [
        {
          id: 'd1',
          subscriptionId: 'sub_1',
          status: 'delivered',
          attempts: 2,
          attemptLog: [
            { n: 1, at: 't1', status: 500, outcome: 'retry', latencyMs: 12, error: 'HTTP 500' },
            { n: 2, at: 't2', status: 200, outcome: 'delivered', latencyMs: 9, error: null },
          ],
        },
      ],
    });
    expect(text).toContain('Deliveries (1):');
    expect(text).toMatch(/#1 {2}t1 {2}HTTP 500 {2}retry {2}12ms {2}HTTP 500/);
    expect(text).toMatch(/#2 {2}t2 {2}HTTP 200 {2}delivered {2}9ms/);
  });

  it("shows a subscription's stats with its breaker", () => {
    const text = formatStats('sub_1', {
      deliveries: { delivered: 10, dead: 1, retrying: 2 },
      breaker: {
        endpoint: 'https://x.example.com/h',
        state: 'open',
        requests: 20,
        failures: 15,
        reopenAt: '2026-11-26T08:00:30.000Z',
      },
      failingSince: '2026-11-26T07:59:00.000Z',
    });
    expect(text).toMatch(/^subscription\s+sub_1$/m);
    expect(text).toMatch(/^deliveries\s+retrying 2, delivered 10, dead 1$/m);
    expect(text).toMatch(/^endpoint\s+https:\/\/x\.example\.com\/h$/m);
    expect(text).toMatch(/^breaker\s+open until 2026-11-26T08:00:30\.000Z \(20 requests, 15 failed\)$/m);
    expect(text).toMatch(/^failing since\s+2026-11-26T07:59:00\.000Z$/m);
    expect(formatStats('sub_2', { breaker: { endpoint: 'https://y', state: 'closed' } })).toMatch(
      /^breaker\s+closed$/m,
    );
  });

  it('lays out channels and endpoints', () => {
    const channels = formatChannels([
      {
        name: 'default',
        types: ['*'],
        mode: 'stream',
        concurrency: 256,
        retentionMs: 604_800_000,
        batch: null,
      },
      {
        name: 'analytics',
        types: ['com.acme.click.*', 'com.acme.view'],
        mode: 'batch',
        concurrency: 4,
        retentionMs: 86_400_000,
        batch: { maxEvents: 100, maxWaitMs: 5_000, maxBytes: 1_048_576 },
      },
    ]);
    expect(channels.split('\n')[0]).toMatch(/^NAME\s+MODE\s+CONCURRENCY\s+RETENTION\s+BATCH\s+TYPES$/);
    expect(channels).toMatch(/^default\s+stream\s+256\s+7d\s+-\s+\*$/m);
    expect(channels).toMatch(
      /^analytics\s+batch\s+4\s+1d\s+100 events \/ 5s \/ 1048576 bytes\s+com\.acme\.click\.\*,com\.acme\.view$/m,
    );
    expect(formatBreakers([])).toMatch(/No endpoints yet/);
    expect(
      formatBreakers([
        { endpoint: 'https://x/h', state: 'half-open', requests: 1, failures: 0, reopenAt: null },
      ]),
    ).toMatch(/^https:\/\/x\/h\s+half-open\s+1\s+0\s+-$/m);
  });

  it('passes only the serve options that were given', () => {
    expect(toServeOptions({ port: 9000, host: undefined, maxBatchEvents: 10, other: 1 })).toEqual({
      port: 9000,
      maxBatchEvents: 10,
    });
  });
});

// The commands below run as real processes against the compiled CLI (`npm test` builds first) and a
// real HTTP server that records each request and answers with canned JSON.
const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
interface Canned {
  status: number;
  body?: unknown;
  contentType?: string;
}

let server: Server;
let baseUrl: string;
let closedUrl: string;
const requests: Recorded[] = [];
const routes = new Map<string, Canned>();

function runCli(
  args: string[],
  options: { input?: string; env?: Record<string, string>; interruptWhen?: RegExp } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env.PATH ?? '', JUNCTION_URL: baseUrl, JUNCTION_KEY: 'test-key', ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    let interrupted = false;
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      // Ctrl-C in a terminal sends SIGINT to the process; this does the same, once.
      if (options.interruptWhen && !interrupted && options.interruptWhen.test(stderr)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

function listen(s: Server): Promise<string> {
  return new Promise((resolve) =>
    s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)),
  );
}

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` before these tests.`);
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const canned = routes.get(`${req.method} ${new URL(req.url ?? '/', 'http://x').pathname}`) ?? {
        status: 404,
        body: { type: 'about:blank', title: 'Not Found', status: 404 },
        contentType: 'application/problem+json',
      };
      res.writeHead(canned.status, { 'content-type': canned.contentType ?? 'application/json' });
      res.end(canned.body === undefined ? '' : JSON.stringify(canned.body));
    });
  });
  baseUrl = await listen(server);
  // A port that was just free and is now closed gives a real "connection refused".
  const closed = createServer();
  closedUrl = await listen(closed);
  await new Promise((resolve) => closed.close(resolve));
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  requests.length = 0;
  routes.clear();
});

describe('junction (compiled) against a real HTTP server', () => {
  it('prints help for every command, with examples, and the package version', async () => {
    const root = await runCli(['--help']);
    expect(root.code).toBe(0);
    for (const name of ['serve', 'publish', 'sub', 'dlq', 'replay', 'events', 'channels', 'endpoints']) {
      expect(root.stdout).toContain(name);
    }
    for (const args of [
      ['serve'],
      ['publish'],
      ['sub'],
      ['sub', 'add'],
      ['sub', 'list'],
      ['sub', 'get'],
      ['sub', 'rm'],
      ['sub', 'stats'],
      ['dlq'],
      ['dlq', 'list'],
      ['dlq', 'redrive'],
      ['dlq', 'discard'],
      ['replay'],
      ['replay', 'start'],
      ['replay', 'get'],
      ['replay', 'list'],
      ['replay', 'cancel'],
      ['events', 'lookup'],
      ['channels'],
      ['endpoints'],
    ]) {
      const result = await runCli([...args, '--help']);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout, args.join(' ')).toMatch(/Examples?:/);
    }
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect((await runCli(['--version'])).stdout.trim()).toBe(pkg.version);
  });

  it('exits 2 with a clear message on bad usage, sending nothing', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['serve', '--port', 'abc'], /'abc' is invalid\. Expected an integer/],
      [['serve', '--max-batch-events', '1.5'], /Expected an integer/],
      [['publish', '--source', '/shop'], /required option '-t, --type <type>'/],
      [['publish', '-t', 'a', '-s', '/b', '-d', '{bad'], /not valid JSON/],
      [['publish', '-t', 'a', '-s', '/b', '-d', '{}', '--data-file', 'x.json'], /cannot be used with/],
      [
        ['sub', 'add', '--sink', 'https://x', '--format', 'xml'],
        /Allowed choices are binary, structured, webhook/,
      ],
      [['sub', 'add', '--sink', 'https://x', '--filter', 'nope'], /Not valid JSON/],
      [['dlq', 'redrive'], /either --id/],
      [['dlq', 'discard', '--id', 'd1', '--subscription', 's'], /either --id/],
      [['replay', 'start', '--from', '-1h'], /required option '--subscription <id>'/],
      [['replay', 'start', '--subscription', 's'], /required option '--from <time>'/],
      [
        ['replay', 'start', '--subscription', 's', '--from', 'yesterday'],
        /'yesterday' is invalid\. Expected an RFC 3339 time/,
      ],
      [
        ['replay', 'start', '--subscription', 's', '--from', '-1h', '--to', '-2h'],
        /--from .* must be before --to/,
      ],
      [['replay', 'get'], /missing required argument 'id'/],
      [['dlq', 'list', '--limit', 'ten'], /Expected an integer/],
      [['nope'], /unknown command 'nope'/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
    expect(requests).toHaveLength(0);
  });

  it('publishes a structured event with the bearer key and prints its status', async () => {
    routes.set('POST /v1/events', {
      status: 202,
      body: { events: [{ source: '/shop', id: 'order-1', status: 'accepted' }] },
    });
    const result = await runCli([
      'publish',
      ...['-t', 'com.acme.order.created', '-s', '/shop', '--id', 'order-1', '-d', '{"total":120}'],
      ...['--ext', 'partitionkey=cust-42', '--subject', 'orders/1'],
    ]);
    expect(result).toMatchObject({ code: 0, stdout: 'accepted order-1\n' });
    const [request] = requests;
    expect(request?.headers['content-type']).toBe('application/cloudevents+json');
    expect(request?.headers.authorization).toBe('Bearer test-key');
    expect(JSON.parse(request?.body ?? '')).toEqual({
      specversion: '1.0',
      id: 'order-1',
      source: '/shop',
      type: 'com.acme.order.created',
      subject: 'orders/1',
      partitionkey: 'cust-42',
      datacontenttype: 'application/json',
      data: { total: 120 },
    });
  });

  it('reads data from piped stdin and generates an id', async () => {
    routes.set('POST /v1/events', {
      status: 202,
      body: { events: [{ source: '/s', id: 'x', status: 'duplicate' }] },
    });
    const result = await runCli(['publish', '-t', 'a.b', '-s', '/s'], { input: '{"from":"stdin"}' });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('duplicate x\n');
    const body = JSON.parse(requests[0]?.body ?? '');
    expect(body.data).toEqual({ from: 'stdin' });
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('prints a 400 problem+json readably and exits 1', async () => {
    routes.set('POST /v1/events', {
      status: 400,
      contentType: 'application/problem+json',
      body: {
        type: 'https://junction.dev/problems/invalid-event',
        title: 'Invalid event',
        status: 400,
        detail: 'The event does not match its contract.',
        errors: [
          { pointer: '/data/total', message: 'must be number' },
          { pointer: '/source', message: 'must be a URI-reference' },
        ],
      },
    });
    const result = await runCli(['publish', '-t', 'a.b', '-s', '/s', '-d', '{"total":"x"}']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'error: Invalid event (HTTP 400)\n  The event does not match its contract.\n' +
        '  /data/total: must be number\n  /source: must be a URI-reference\n',
    );
  });

  it('names the URL when the server cannot be reached, without a stack trace', async () => {
    const result = await runCli(['sub', 'list', '--url', closedUrl]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot reach Junction at ${closedUrl} (ECONNREFUSED)`);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('creates a subscription and shows its secret once', async () => {
    routes.set('POST /v1/subscriptions', {
      status: 201,
      body: {
        id: 'sub_1',
        status: 'active',
        secret: 'whsec_abc',
        types: ['a.b'],
        sink: 'https://crm.example.com/h',
      },
    });
    const result = await runCli([
      'sub',
      'add',
      ...[
        '--sink',
        'https://crm.example.com/h',
        '--type',
        'a.b',
        '--header',
        'x-team=crm',
        '--max-attempts',
        '5',
      ],
      ...['--filter', '{"prefix":{"subject":"orders/"}}'],
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/secret\s+whsec_abc/);
    expect(result.stderr).toMatch(/shown only this once/);
    expect(JSON.parse(requests[0]?.body ?? '')).toEqual({
      sink: 'https://crm.example.com/h',
      protocol: 'HTTP',
      types: ['a.b'],
      filters: [{ prefix: { subject: 'orders/' } }],
      protocolsettings: { headers: { 'x-team': 'crm' } },
      delivery: { maxAttempts: 5 },
    });
  });

  it('lists, shows and deletes subscriptions', async () => {
    const subs = [
      { id: 'sub_1', status: 'active', types: ['a.b', 'c.d'], sink: 'https://one.example.com' },
      { id: 'sub_2', status: 'disabled', sink: 'https://two.example.com' },
    ];
    routes.set('GET /v1/subscriptions', { status: 200, body: subs });
    routes.set('GET /v1/subscriptions/sub_1', { status: 200, body: subs[0] });
    routes.set('DELETE /v1/subscriptions/sub_1', { status: 204 });

    const list = await runCli(['sub', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+STATUS\s+TYPES\s+SINK$/);
    expect(list.stdout).toMatch(/sub_1\s+active\s+a\.b,c\.d\s+https:\/\/one\.example\.com/);
    expect(list.stdout).toMatch(/sub_2\s+disabled\s+\*\s+https:\/\/two\.example\.com/);
    expect(JSON.parse((await runCli(['sub', 'list', '--json'])).stdout)).toEqual(subs);

    const get = await runCli(['sub', 'get', 'sub_1']);
    expect(JSON.parse(get.stdout)).toEqual(subs[0]);

    const rm = await runCli(['sub', 'rm', 'sub_1']);
    expect(rm).toMatchObject({ code: 0, stdout: 'deleted sub_1\n' });
    expect(requests.at(-1)).toMatchObject({ method: 'DELETE', url: '/v1/subscriptions/sub_1' });

    const missing = await runCli(['sub', 'get', 'sub_9']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Not Found (HTTP 404)');
  });

  it('lists and redrives dead letters', async () => {
    routes.set('GET /v1/dead-letters', {
      status: 200,
      body: {
        items: [
          {
            id: 'dlv_1',
            subscriptionId: 'sub_1',
            eventSeq: 3,
            webhookId: 'msg_1',
            status: 'dead',
            attempts: 12,
            nextAttemptAt: null,
            lastError: 'HTTP 500 from sink',
            createdAt: '2025-01-01T00:00:00Z',
            updatedAt: '2025-01-01T01:00:00Z',
            event: { source: '/shop', id: 'order-1', type: 'a.b' },
          },
        ],
        next: null,
      },
    });
    routes.set('POST /v1/dead-letters/redrive', { status: 200, body: { redriven: 2 } });

    const list = await runCli(['dlq', 'list', '--subscription', 'sub_1', '--limit', '10']);
    expect(list.code).toBe(0);
    expect(requests[0]?.url).toBe('/v1/dead-letters?subscription=sub_1&limit=10');
    expect(list.stdout).toMatch(
      /dlv_1\s+sub_1\s+a\.b \/shop order-1\s+12\s+2025-01-01T01:00:00Z\s+HTTP 500 from sink/,
    );

    const byIds = await runCli(['dlq', 'redrive', '--id', 'dlv_1', '--id', 'dlv_2']);
    expect(byIds).toMatchObject({ code: 0, stdout: 'redriven 2\n' });
    expect(JSON.parse(requests.at(-1)?.body ?? '')).toEqual({ ids: ['dlv_1', 'dlv_2'] });
    await runCli(['dlq', 'redrive', '--subscription', 'sub_1']);
    expect(JSON.parse(requests.at(-1)?.body ?? '')).toEqual({ subscription: 'sub_1' });
  });

  it('looks up an event with its deliveries and attempts', async () => {
    routes.set('GET /v1/events/lookup', {
      status: 200,
      body: {
        event: { specversion: '1.0', id: 'order-1', source: '/shop', type: 'a.b', data: { total: 1 } },
        receivedAt: '2025-01-01T00:00:00Z',
        seq: 3,
        deliveries: [
          {
            id: 'dlv_1',
            subscriptionId: 'sub_1',
            webhookId: 'msg_1',
            status: 'delivered',
            attempts: 2,
            attemptLog: [
              {
                n: 1,
                at: '2025-01-01T00:00:01Z',
                status: 503,
                outcome: 'retry',
                latencyMs: 40,
                error: 'HTTP 503',
              },
              {
                n: 2,
                at: '2025-01-01T00:00:06Z',
                status: 200,
                outcome: 'delivered',
                latencyMs: 12,
                error: null,
              },
            ],
          },
        ],
      },
    });
    const result = await runCli(['events', 'lookup', '--source', '/shop', '--id', 'order-1']);
    expect(result.code).toBe(0);
    expect(requests[0]?.url).toBe('/v1/events/lookup?source=%2Fshop&id=order-1');
    expect(result.stdout).toContain('Event a.b  source=/shop  id=order-1');
    expect(result.stdout).toMatch(/dlv_1 {2}subscription sub_1 {2}delivered {2}attempts 2/);
    expect(result.stdout).toMatch(/#1 {2}2025-01-01T00:00:01Z {2}HTTP 503 {2}retry {2}40ms/);
    expect(result.stdout).toMatch(/#2 {2}2025-01-01T00:00:06Z {2}HTTP 200 {2}delivered {2}12ms/);
  });

  it('discards dead letters and says when more remain', async () => {
    routes.set('POST /v1/dead-letters/discard', {
      status: 200,
      body: { discarded: 1, skipped: ['dlv_9'] },
    });
    const byIds = await runCli(['dlq', 'discard', '--id', 'dlv_1', '--id', 'dlv_9']);
    expect(byIds).toMatchObject({ code: 0, stdout: 'discarded 1\nskipped (unknown, or not dead) dlv_9\n' });
    expect(requests.at(-1)).toMatchObject({ method: 'POST', url: '/v1/dead-letters/discard' });
    expect(JSON.parse(requests.at(-1)?.body ?? '')).toEqual({ ids: ['dlv_1', 'dlv_9'] });

    routes.set('POST /v1/dead-letters/discard', {
      status: 200,
      body: { discarded: 10000, skipped: [], more: true },
    });
    const bySub = await runCli(['dlq', 'discard', '--subscription', 'sub_1']);
    expect(bySub.stdout).toBe('discarded 10000\nmore dead letters remain: run the same command again\n');
    expect(JSON.parse(requests.at(-1)?.body ?? '')).toEqual({ subscription: 'sub_1' });
  });

  it('shows subscription stats, channels and endpoints from their endpoints', async () => {
    routes.set('GET /v1/subscriptions/sub_1/stats', {
      status: 200,
      body: {
        deliveries: { delivered: 4, dead: 1 },
        breaker: {
          endpoint: 'https://x.example.com/h',
          state: 'closed',
          requests: 5,
          failures: 1,
          reopenAt: null,
        },
        failingSince: null,
      },
    });
    routes.set('GET /v1/channels', {
      status: 200,
      body: [
        {
          name: 'default',
          types: ['*'],
          mode: 'stream',
          concurrency: 256,
          retentionMs: 604800000,
          batch: null,
        },
      ],
    });
    routes.set('GET /v1/endpoints', { status: 200, body: [] });

    const stats = await runCli(['sub', 'stats', 'sub_1']);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/^deliveries\s+delivered 4, dead 1$/m);
    expect(stats.stdout).toMatch(/^breaker\s+closed \(5 requests, 1 failed\)$/m);
    expect((await runCli(['channels'])).stdout).toMatch(/^default\s+stream\s+256\s+7d\s+-\s+\*$/m);
    expect((await runCli(['endpoints'])).stdout).toMatch(/No endpoints yet/);
    expect(requests.map((r) => r.url)).toEqual([
      '/v1/subscriptions/sub_1/stats',
      '/v1/channels',
      '/v1/endpoints',
    ]);
  });

  const replay = {
    id: 'rpl_1',
    subscriptionId: 'sub_1',
    from: '2026-11-26T08:00:00Z',
    to: '2026-11-26T09:00:00.000Z',
    types: ['a.b'],
    filters: [],
    newWebhookIds: true,
    status: 'completed',
    scanned: 10,
    matched: 0,
    total: 10,
    cursor: 10,
    error: null,
    createdAt: '2026-11-26T09:00:00.000Z',
    updatedAt: '2026-11-26T09:00:00.000Z',
    deliveries: {},
  };

  it('starts a replay with every option mapped to the body', async () => {
    routes.set('POST /v1/replays', { status: 202, body: replay });
    const result = await runCli([
      ...['replay', 'start', '--subscription', 'sub_1', '--from', '2026-11-26T08:00:00Z', '--to', 'now'],
      ...['--type', 'a.b', '--filter', '{"prefix":{"subject":"orders/"}}', '--new-webhook-ids', '--no-wait'],
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^replay\s+rpl_1$/m);
    expect(result.stdout).toMatch(/^webhook-ids\s+new$/m);
    const body = JSON.parse(requests[0]?.body ?? '');
    expect(body).toMatchObject({
      subscription: 'sub_1',
      from: '2026-11-26T08:00:00Z',
      types: ['a.b'],
      filters: [{ prefix: { subject: 'orders/' } }],
      newWebhookIds: true,
    });
    expect(Math.abs(Date.parse(body.to) - Date.now())).toBeLessThan(60_000);
  });

  it('stops following a replay on Ctrl-C with exit code 130, leaving it running', async () => {
    const running = { ...replay, status: 'running', scanned: 5, matched: 2 };
    routes.set('POST /v1/replays', { status: 202, body: running });
    routes.set('GET /v1/replays/rpl_1', { status: 200, body: running });
    const result = await runCli(['replay', 'start', '--subscription', 'sub_1', '--from', '-1h'], {
      interruptWhen: /scanning events 5\/10/,
    });
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('replay rpl_1: scanning events 5/10 (2 matched)');
    expect(result.stderr).toContain('stopped following; replay rpl_1 goes on in the hub.');
    expect(result.stderr).toContain('junction replay cancel rpl_1');
    expect(result.stderr).not.toContain('error:');
    expect(result.stdout).toMatch(/^status\s+running$/m);
    expect(requests.some((r) => r.url.endsWith('/cancel'))).toBe(false);
  });

  it('exits 1 when the replay failed or was cancelled, and cancels on request', async () => {
    routes.set('POST /v1/replays', {
      status: 202,
      body: { ...replay, status: 'failed', error: 'the subscription was deleted' },
    });
    const failed = await runCli(['replay', 'start', '--subscription', 'sub_1', '--from', '-1h']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^error\s+the subscription was deleted$/m);
    expect(failed.stderr).toBe('error: replay rpl_1 failed: the subscription was deleted\n');

    routes.set('POST /v1/replays/rpl_1/cancel', { status: 200, body: { ...replay, status: 'cancelled' } });
    expect(await runCli(['replay', 'cancel', 'rpl_1'])).toMatchObject({
      code: 0,
      stdout: 'cancelled rpl_1\n',
    });
    routes.set('GET /v1/replays/rpl_1', { status: 200, body: { ...replay, status: 'cancelled' } });
    const get = await runCli(['replay', 'get', 'rpl_1', '--wait']);
    expect(get).toMatchObject({ code: 1, stderr: 'error: replay rpl_1 was cancelled.\n' });
  });

  it('lets --url and --key override the environment', async () => {
    routes.set('GET /v1/subscriptions', { status: 200, body: [] });
    const result = await runCli(['sub', 'list', '--url', baseUrl, '--key', 'flag-key'], {
      env: { JUNCTION_URL: closedUrl },
    });
    expect(result).toMatchObject({ code: 0, stdout: 'No subscriptions.\n' });
    expect(requests[0]?.headers.authorization).toBe('Bearer flag-key');
  });
});
