/**
 * Every kind of bad input the API can be sent, one named case each, against one real hub process:
 * each gets a 4xx RFC 9457 problem that names the field and what to change, nothing is stored, and
 * the process stays up.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubProcess, startHub } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';
const MIB = 1024 * 1024;

let hub: HubProcess;
let sink: Sink;
let existingId: string;

beforeAll(async () => {
  sink = await startSink();
  hub = await startHub();
  existingId = (await hub.subscribe({ sink: sink.url, delivery: { maxAttempts: 1 } })).id;
});

afterAll(async () => {
  await hub?.stop();
  await sink?.close();
});

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: Array<{ pointer: string; message: string }>;
}

interface Expected {
  status: number;
  /** A field error must be reported at exactly this pointer. */
  pointer?: string;
  /** With `pointer`: an error inside it counts too (too-deep nesting names the exact place). */
  within?: boolean;
  /** The detail (or the message at `pointer`) must match this: it names the field or the limit. */
  says?: RegExp;
}

/** Asserts a 4xx problem+json with every RFC 9457 member, and returns it. */
async function expectProblem(res: Response, expected: Expected): Promise<Problem> {
  const text = await res.text();
  const context = `${res.status} ${text.slice(0, 600)}`;
  expect(res.status, context).toBe(expected.status);
  expect(res.headers.get('content-type') ?? '', context).toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(text) as Problem;
  expect(problem.type, context).toMatch(/^https?:\/\/\S+/);
  expect(problem.title, context).toEqual(expect.any(String));
  expect(problem.title.length, context).toBeGreaterThan(0);
  expect(problem.status, context).toBe(expected.status);
  expect(problem.detail.trim().length, context).toBeGreaterThan(10);
  if (expected.pointer !== undefined) {
    expect(problem.errors, context).toEqual(expect.any(Array));
    const at = problem.errors!.find(
      (e) =>
        e.pointer === expected.pointer || (expected.within && e.pointer.startsWith(`${expected.pointer}/`)),
    );
    expect(at, `no error at pointer '${expected.pointer}': ${context}`).toBeDefined();
    expect(at!.message.trim().length, context).toBeGreaterThan(10);
    if (expected.says) expect(`${at!.message} ${problem.detail}`, context).toMatch(expected.says);
  } else if (expected.says) {
    expect(problem.detail, context).toMatch(expected.says);
  }
  for (const e of problem.errors ?? []) {
    expect(typeof e.pointer, context).toBe('string');
    expect(e.message.length, context).toBeGreaterThan(0);
  }
  return problem;
}

async function lookupStatus(source: string, id: string): Promise<number> {
  const res = await hub.fetch(`/v1/events/lookup?${new URLSearchParams({ source, id })}`);
  await res.arrayBuffer();
  return res.status;
}

async function subscriptionCount(): Promise<number> {
  const res = await hub.fetch('/v1/subscriptions');
  expect(res.status).toBe(200);
  return ((await res.json()) as unknown[]).length;
}

/** Sends raw bytes on a fresh connection and returns the response as latin1 text. */
function rawRequest(bytes: Buffer): Promise<string> {
  const { hostname, port } = new URL(hub.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    // The hub may answer and close before it has read everything (an oversize body): keep the answer.
    socket.on('error', (error) => (chunks.length > 0 ? undefined : reject(error)));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer in 5 s')));
    socket.end(bytes);
  });
}

function parseRawResponse(raw: string): { status: number; headers: Record<string, string>; body: string } {
  const [head = '', ...rest] = raw.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

/**
 * A POST whose head declares `length` bytes of body and that sends none of them, answered as a fetch
 * Response: what a client sees when the hub refuses a body by its Content-Length. Sending the body
 * too races the hub's close against the client's writes, and the reset can come before the answer.
 */
function postHeadOnly(path: string, headers: Record<string, string>, length: number): Promise<Response> {
  const { hostname, port } = new URL(hub.url);
  const lines = Object.entries({
    ...headers,
    authorization: `Bearer ${hub.key}`,
    'content-length': String(length),
  })
    .map(([n, v]) => `${n}: ${v}\r\n`)
    .join('');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const done = () => {
      const answer = parseRawResponse(Buffer.concat(chunks).toString('latin1'));
      resolve(new Response(answer.body, { status: answer.status, headers: answer.headers }));
    };
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const declared = /\r\ncontent-length:\s*(\d+)/i.exec(text);
      if (end >= 0 && declared && Buffer.byteLength(text.slice(end + 4), 'latin1') >= Number(declared[1])) {
        socket.destroy();
        done();
      }
    });
    socket.on('error', (error) => (chunks.length > 0 ? undefined : reject(error)));
    socket.on('close', () => (chunks.length > 0 ? done() : reject(new Error('closed without an answer'))));
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer in 5 s')));
    socket.write(`POST ${path} HTTP/1.1\r\nhost: x\r\n${lines}\r\n`);
  });
}

/** A POST on a raw socket, answered as a fetch Response. */
async function rawPost(path: string, headers: Record<string, string>, body: Buffer): Promise<Response> {
  const lines = Object.entries({
    ...headers,
    authorization: `Bearer ${hub.key}`,
    'content-length': String(body.length),
    connection: 'close',
  })
    .map(([n, v]) => `${n}: ${v}\r\n`)
    .join('');
  const answer = parseRawResponse(
    await rawRequest(Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nhost: x\r\n${lines}\r\n`), body])),
  );
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}

// ---------------------------------------------------------------------------------------------
// POST /v1/events

let serial = 0;
const SOURCE = '/bad-input';
const newId = () => `bad-${++serial}`;
const event = (patch: Record<string, unknown> = {}) => {
  const e: Record<string, unknown> = {
    specversion: '1.0',
    id: newId(),
    source: SOURCE,
    type: 'com.acme.order.created',
  };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete e[k];
    else e[k] = v;
  }
  return e;
};

interface EventCase extends Expected {
  name: string;
  headers: Record<string, string>;
  body: Buffer | string;
  /** (source, id) pairs that must not be stored afterwards. */
  notStored: Array<[string, string]>;
  /**
   * Sent on a raw socket: the hub answers an oversize body as soon as it sees Content-Length and
   * closes, and fetch reports that as EPIPE instead of returning the answer.
   */
  raw?: boolean;
  /** Sent as a request head declaring the body's length, without the body (see `postHeadOnly`). */
  headOnly?: boolean;
}

function structuredCase(name: string, patch: Record<string, unknown>, expected: Expected): EventCase {
  const e = event(patch);
  return {
    name,
    headers: { 'content-type': STRUCTURED },
    body: JSON.stringify(e),
    notStored: [
      [
        typeof e.source === 'string' && e.source ? e.source : SOURCE,
        typeof e.id === 'string' && e.id ? e.id : 'x',
      ],
    ],
    ...expected,
  };
}

function binaryCase(
  name: string,
  ce: Record<string, string | undefined>,
  expected: Expected,
  contentType?: string,
  body = '{"a":1}',
): EventCase {
  const id = newId();
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries({ specversion: '1.0', id, source: SOURCE, type: 't', ...ce })) {
    if (v !== undefined) headers[`ce-${k}`] = v;
  }
  if (contentType !== undefined) headers['content-type'] = contentType;
  return { name, headers, body, notStored: [[SOURCE, id]], ...expected };
}

const eventCases: EventCase[] = [
  // Malformed bodies and wrong content types.
  (() => {
    const id = newId();
    return {
      name: 'structured: malformed JSON',
      headers: { 'content-type': STRUCTURED },
      body: `{"specversion":"1.0","id":"${id}","source":"${SOURCE}","type":"t",}`,
      notStored: [[SOURCE, id]] as Array<[string, string]>,
      status: 400,
      says: /not valid JSON.*position/,
    };
  })(),
  (() => {
    const id = newId();
    return {
      name: 'batch: malformed JSON',
      headers: { 'content-type': BATCH },
      body: `[{"specversion":"1.0","id":"${id}","source":"${SOURCE}","type":"t"}`,
      notStored: [[SOURCE, id]] as Array<[string, string]>,
      status: 400,
      says: /not valid JSON/,
    };
  })(),
  binaryCase(
    'binary: malformed JSON data',
    {},
    { status: 400, says: /not valid JSON/ },
    'application/json',
    '{"a":',
  ),
  {
    name: 'text/plain without ce- headers',
    headers: { 'content-type': 'text/plain' },
    body: 'hello',
    notStored: [],
    status: 415,
    says: /content-type/i,
  },
  {
    name: 'no content type and no ce- headers',
    headers: {},
    body: 'hello',
    notStored: [],
    status: 415,
    says: /content-type/i,
  },
  {
    name: 'application/json without ce- headers',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(event()),
    notStored: [],
    status: 415,
    says: /ce-/,
  },
  {
    name: 'unsupported event format application/cloudevents+xml',
    headers: { 'content-type': 'application/cloudevents+xml' },
    body: '<e/>',
    notStored: [],
    status: 415,
    says: /cloudevents\+xml/,
  },
  {
    name: 'structured in charset latin1',
    headers: { 'content-type': `${STRUCTURED}; charset=latin1` },
    body: JSON.stringify(event()),
    notStored: [],
    status: 415,
    says: /charset/,
  },
  binaryCase('binary: unparseable Content-Type', {}, { status: 415, says: /content-type/i }, 'foo', 'hi'),
  // Required attributes.
  ...(['id', 'source', 'type', 'specversion'] as const).flatMap((name) => [
    structuredCase(
      `structured: missing ${name}`,
      { [name]: undefined },
      { status: 400, pointer: `/${name}`, says: new RegExp(name) },
    ),
    structuredCase(
      `structured: empty ${name}`,
      { [name]: '' },
      { status: 400, pointer: `/${name}`, says: new RegExp(name) },
    ),
  ]),
  structuredCase(
    'structured: specversion 0.3',
    { specversion: '0.3' },
    { status: 400, pointer: '/specversion', says: /1\.0/ },
  ),
  structuredCase('structured: id is a number', { id: 42 }, { status: 400, pointer: '/id' }),
  structuredCase(
    'structured: bad time',
    { time: '2024-13-45 25:00' },
    { status: 400, pointer: '/time', says: /RFC 3339/ },
  ),
  structuredCase(
    'structured: source is not a URI-reference',
    { source: 'has space' },
    { status: 400, pointer: '/source', says: /URI-reference/ },
  ),
  structuredCase(
    'structured: invalid attribute name',
    { 'Bad-Name': 'x' },
    { status: 400, pointer: '/Bad-Name', says: /lowercase/ },
  ),
  structuredCase(
    'structured: attribute name over 50 characters',
    { ['a'.repeat(51)]: 'x' },
    { status: 400, pointer: `/${'a'.repeat(51)}` },
  ),
  structuredCase(
    'structured: extension is an object',
    { region: { a: 1 } },
    { status: 400, pointer: '/region', says: /string/ },
  ),
  structuredCase(
    'structured: NUL in subject',
    { subject: 'a\u0000b' },
    { status: 400, pointer: '/subject', says: /U\+0000/ },
  ),
  structuredCase(
    'structured: data and data_base64 both',
    { data: { a: 1 }, data_base64: 'YQ==' },
    { status: 400, pointer: '/data_base64', says: /mutually exclusive/ },
  ),
  structuredCase(
    'structured: invalid base64',
    { data_base64: '@@@' },
    { status: 400, pointer: '/data_base64', says: /base64/ },
  ),
  structuredCase(
    'structured: non-string data under text/plain',
    { datacontenttype: 'text/plain', data: { a: 1 } },
    { status: 400, pointer: '/data' },
  ),
  (() => {
    const body = { specversion: '1.0', id: newId(), source: SOURCE, type: 't' };
    // The JSON text itself is valid, but "__proto__" must be refused as an attribute name, not absorbed.
    const text = `${JSON.stringify(body).slice(0, -1)},"__proto__":{"polluted":true}}`;
    return {
      name: 'structured: __proto__ attribute',
      headers: { 'content-type': STRUCTURED },
      body: text,
      notStored: [[SOURCE, body.id]] as Array<[string, string]>,
      status: 400,
      pointer: '/__proto__',
    };
  })(),
  (() => {
    const id = newId();
    const prefix = Buffer.from(
      `{"specversion":"1.0","id":"${id}","source":"${SOURCE}","type":"t","subject":"`,
    );
    return {
      name: 'structured: non-UTF-8 bytes in the body',
      headers: { 'content-type': STRUCTURED },
      body: Buffer.concat([prefix, Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]),
      notStored: [[SOURCE, id]] as Array<[string, string]>,
      status: 400,
      says: /UTF-8/,
    };
  })(),
  {
    name: 'structured: an array, not an event',
    headers: { 'content-type': STRUCTURED },
    body: '[]',
    notStored: [],
    status: 400,
    pointer: '',
  },
  // Binary mode.
  binaryCase(
    'binary: missing ce-type',
    { type: undefined },
    { status: 400, pointer: '/type' },
    'application/json',
  ),
  binaryCase(
    'binary: ce-specversion 0.3',
    { specversion: '0.3' },
    { status: 400, pointer: '/specversion' },
    'application/json',
  ),
  binaryCase(
    'binary: bad percent-encoding in ce-subject',
    { subject: 'a%zz' },
    { status: 400, says: /ce-subject.*%XX/ },
    'application/json',
  ),
  binaryCase(
    'binary: overlong UTF-8 escape in ce-subject',
    { subject: 'a%C0%A0' },
    { status: 400, says: /ce-subject.*UTF-8/ },
    'application/json',
  ),
  binaryCase(
    'binary: ce-datacontenttype header',
    { datacontenttype: 'application/json' },
    { status: 400, pointer: '/datacontenttype', says: /Content-Type/ },
    'application/json',
  ),
  binaryCase('binary: ce-data header', { data: 'x' }, { status: 400, pointer: '/data' }, 'application/json'),
  binaryCase(
    'binary: bad time',
    { time: 'yesterday' },
    { status: 400, pointer: '/time' },
    'application/json',
  ),
  // Batches.
  (() => {
    const events = [event(), event(), event({ type: undefined }), event()];
    return {
      name: 'batch: one bad event at index 2 rejects the whole batch',
      headers: { 'content-type': BATCH },
      body: JSON.stringify(events),
      notStored: events.map((e) => [SOURCE, e.id as string] as [string, string]),
      status: 400,
      pointer: '/2/type',
    };
  })(),
  (() => {
    const events = [event(), event({ time: 'x' }), event(), event({ source: 'a b' })];
    return {
      name: 'batch: every bad event is reported',
      headers: { 'content-type': BATCH },
      body: JSON.stringify(events),
      notStored: events.map((e) => [SOURCE, e.id as string] as [string, string]),
      status: 400,
      pointer: '/3/source',
    };
  })(),
  {
    name: 'batch: empty',
    headers: { 'content-type': BATCH },
    body: '[]',
    notStored: [],
    status: 400,
    pointer: '',
    says: /empty/,
  },
  {
    name: 'batch: an object, not an array',
    headers: { 'content-type': BATCH },
    body: JSON.stringify(event()),
    notStored: [],
    status: 400,
    pointer: '',
    says: /array/,
  },
  {
    name: 'batch: member is not an object',
    headers: { 'content-type': BATCH },
    body: JSON.stringify([event(), 1]),
    notStored: [],
    status: 400,
    pointer: '/1',
  },
  // Limits.
  structuredCase(
    'structured: event over 1 MiB',
    { data: 'x'.repeat(MIB + 10) },
    { status: 413, says: /1048576/ },
  ),
  binaryCase(
    'binary: body over 1 MiB',
    {},
    { status: 413, says: /1048576/ },
    'text/plain',
    'x'.repeat(MIB + 10),
  ),
  (() => {
    const events = [event(), event({ data: 'x'.repeat(MIB + 10) })];
    return {
      name: 'batch: one member over 1 MiB',
      headers: { 'content-type': BATCH },
      body: JSON.stringify(events),
      notStored: events.map((e) => [SOURCE, e.id as string] as [string, string]),
      status: 413,
      pointer: '/1',
      says: /1048576/,
    };
  })(),
  (() => {
    const events = Array.from({ length: 1001 }, () => event());
    return {
      name: 'batch: 1001 events',
      headers: { 'content-type': BATCH },
      body: JSON.stringify(events),
      notStored: [events[0], events[1000]].map((e) => [SOURCE, e!.id as string] as [string, string]),
      status: 413,
      says: /1000/,
    };
  })(),
  (() => {
    const id = newId();
    const head = `[{"specversion":"1.0","id":"${id}","source":"${SOURCE}","type":"t","data":"`;
    return {
      name: 'batch: body over 10 MiB',
      headers: { 'content-type': BATCH },
      body: `${head}${'x'.repeat(10 * MIB)}"}]`,
      notStored: [[SOURCE, id]] as Array<[string, string]>,
      status: 413,
      says: /10485760/,
      // The hub answers 413 as soon as it reads Content-Length: the body need not be sent.
      headOnly: true,
    };
  })(),
];

describe('POST /v1/events with bad input', () => {
  it.each(eventCases)('$name', async (c) => {
    const send = () =>
      c.headOnly
        ? postHeadOnly('/v1/events', c.headers, Buffer.byteLength(c.body))
        : c.raw
          ? rawPost('/v1/events', c.headers, Buffer.from(c.body))
          : hub.fetch('/v1/events', {
              method: 'POST',
              headers: c.headers,
              body: typeof c.body === 'string' ? c.body : new Uint8Array(c.body),
            });
    await expectProblem(await send(), c);
    for (const [source, id] of c.notStored)
      expect(await lookupStatus(source, id), `${source} ${id} was stored`).toBe(404);
  });

  it('stores the good events of a batch once the bad one is fixed (the ids above were free)', async () => {
    const events = [event(), event(), event(), event()];
    const res = await hub.fetch('/v1/events', {
      method: 'POST',
      headers: { 'content-type': BATCH },
      body: JSON.stringify(events),
    });
    expect(res.status).toBe(202);
    await res.arrayBuffer();
    for (const e of events) expect(await lookupStatus(SOURCE, e.id as string)).toBe(200);
  });

  it('answers data nested 150,000 deep with a 2xx it keeps or a 4xx problem, never a 5xx', async () => {
    const id = newId();
    const depth = 150_000;
    const body = `{"specversion":"1.0","id":"${id}","source":"${SOURCE}","type":"t","data":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const res = await hub.fetch('/v1/events', {
      method: 'POST',
      headers: { 'content-type': STRUCTURED },
      body,
    });
    if (res.status === 202) {
      await res.arrayBuffer();
      expect(await lookupStatus(SOURCE, id)).toBe(200);
    } else {
      await expectProblem(res, { status: 400, pointer: '/data', within: true });
      expect(await lookupStatus(SOURCE, id)).toBe(404);
    }
  });

  it('answers a batch whose member is nested 150,000 deep with a 4xx problem or a 2xx, never a 5xx', async () => {
    const ids = [newId(), newId()];
    const depth = 150_000;
    const body = `[{"specversion":"1.0","id":"${ids[0]}","source":"${SOURCE}","type":"t"},{"specversion":"1.0","id":"${ids[1]}","source":"${SOURCE}","type":"t","data":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}]`;
    const res = await hub.fetch('/v1/events', { method: 'POST', headers: { 'content-type': BATCH }, body });
    if (res.status === 202) {
      await res.arrayBuffer();
      for (const id of ids) expect(await lookupStatus(SOURCE, id)).toBe(200);
    } else {
      await expectProblem(res, { status: 400, pointer: '/1/data', within: true });
      for (const id of ids) expect(await lookupStatus(SOURCE, id)).toBe(404);
    }
  });

  it('answers a raw non-ASCII byte in a ce- header with a 400 problem naming the header', async () => {
    const request = Buffer.concat([
      Buffer.from(
        `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${hub.key}\r\nce-specversion: 1.0\r\nce-id: raw-ff\r\nce-source: ${SOURCE}\r\nce-type: t\r\nce-subject: a`,
      ),
      Buffer.from([0xff]),
      Buffer.from('b\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'),
    ]);
    const res = parseRawResponse(await rawRequest(request));
    expect(res.status, res.body).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = JSON.parse(res.body) as Problem;
    expect(problem).toMatchObject({ status: 400, type: expect.any(String), title: expect.any(String) });
    expect(problem.detail).toMatch(/ce-subject/);
    expect(await lookupStatus(SOURCE, 'raw-ff')).toBe(404);
  });

  it('answers a raw control byte in a header with a 400 problem from the HTTP parser', async () => {
    const request = Buffer.concat([
      Buffer.from(
        `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${hub.key}\r\nce-specversion: 1.0\r\nce-id: raw-nul\r\nce-source: ${SOURCE}\r\nce-type: t\r\nce-subject: a`,
      ),
      Buffer.from([0x00]),
      Buffer.from('b\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'),
    ]);
    const res = parseRawResponse(await rawRequest(request));
    expect(res.status, res.body).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = JSON.parse(res.body) as Problem;
    expect(problem).toMatchObject({ status: 400, type: expect.any(String), title: expect.any(String) });
    expect(problem.detail).toMatch(/header/);
    expect(await lookupStatus(SOURCE, 'raw-nul')).toBe(404);
  });
});

// ---------------------------------------------------------------------------------------------
// Subscriptions

interface SubscriptionCase extends Expected {
  name: string;
  body: string | Buffer;
  contentType?: string;
}

const valid = { sink: 'http://127.0.0.1:9/hook' };
const sub = (patch: Record<string, unknown>) => JSON.stringify({ ...valid, ...patch });

const subscriptionCases: SubscriptionCase[] = [
  {
    name: 'unknown filter dialect',
    body: sub({ filters: [{ regex: { type: 'a.*' } }] }),
    status: 400,
    pointer: '/filters/0/regex',
    says: /exact, prefix/,
  },
  {
    name: 'unknown dialect nested in all',
    body: sub({ filters: [{ all: [{ exact: { type: 'a' } }, { jsonpath: '$.x' }] }] }),
    status: 400,
    pointer: '/filters/0/all/1/jsonpath',
  },
  {
    name: 'filter with two dialects',
    body: sub({ filters: [{ exact: { type: 'a' }, prefix: { type: 'b' } }] }),
    status: 400,
    pointer: '/filters/0',
  },
  {
    name: 'filters not an array',
    body: sub({ filters: { exact: { type: 'a' } } }),
    status: 400,
    pointer: '/filters',
  },
  { name: 'sink ftp://x', body: sub({ sink: 'ftp://x' }), status: 400, pointer: '/sink', says: /http/ },
  {
    name: 'sink missing',
    body: JSON.stringify({ types: ['a'] }),
    status: 400,
    pointer: '/sink',
    says: /required/,
  },
  { name: 'sink empty', body: sub({ sink: '' }), status: 400, pointer: '/sink' },
  { name: 'sink not a URL', body: sub({ sink: 'not a url' }), status: 400, pointer: '/sink', says: /URL/ },
  { name: 'sink is a number', body: sub({ sink: 42 }), status: 400, pointer: '/sink' },
  {
    name: 'sink with credentials',
    body: sub({ sink: 'https://user:pw@example.com/x' }),
    status: 400,
    pointer: '/sink',
    says: /credentials/,
  },
  {
    name: 'reserved header webhook-id',
    body: sub({ protocolsettings: { headers: { 'webhook-id': 'x' } } }),
    status: 400,
    pointer: '/protocolsettings/headers/webhook-id',
    says: /set by the hub/,
  },
  {
    name: 'reserved header Content-Type',
    body: sub({ protocolsettings: { headers: { 'Content-Type': 'x' } } }),
    status: 400,
    pointer: '/protocolsettings/headers/Content-Type',
  },
  {
    name: 'header value with a line break',
    body: sub({ protocolsettings: { headers: { 'x-a': 'a\r\nb: c' } } }),
    status: 400,
    pointer: '/protocolsettings/headers/x-a',
  },
  {
    name: 'bad method',
    body: sub({ protocolsettings: { method: 'GET' } }),
    status: 400,
    pointer: '/protocolsettings/method',
  },
  { name: 'protocol KAFKA', body: sub({ protocol: 'KAFKA' }), status: 400, pointer: '/protocol' },
  { name: 'protocol MQTT to an http sink', body: sub({ protocol: 'MQTT' }), status: 400, pointer: '/sink' },
  { name: 'types not an array', body: sub({ types: 'a' }), status: 400, pointer: '/types' },
  { name: 'empty type', body: sub({ types: ['a', ''] }), status: 400, pointer: '/types/1' },
  {
    name: 'unknown top-level field',
    body: sub({ retries: 3 }),
    status: 400,
    pointer: '/retries',
    says: /delivery/,
  },
  { name: 'bad status', body: sub({ status: 'paused' }), status: 400, pointer: '/status' },
  {
    name: 'delivery.maxAttempts 0',
    body: sub({ delivery: { maxAttempts: 0 } }),
    status: 400,
    pointer: '/delivery/maxAttempts',
    says: /1 to 100/,
  },
  {
    name: 'delivery.timeoutMs a string',
    body: sub({ delivery: { timeoutMs: 'fast' } }),
    status: 400,
    pointer: '/delivery/timeoutMs',
  },
  {
    name: 'delivery.format xml',
    body: sub({ delivery: { format: 'xml' } }),
    status: 400,
    pointer: '/delivery/format',
    says: /binary/,
  },
  {
    name: 'unknown delivery setting',
    body: sub({ delivery: { retryForever: true } }),
    status: 400,
    pointer: '/delivery/retryForever',
  },
  {
    name: 'delivery initialDelayMs over maxDelayMs',
    body: sub({ delivery: { initialDelayMs: 10_000, maxDelayMs: 1000 } }),
    status: 400,
    pointer: '/delivery/initialDelayMs',
  },
  { name: 'delivery not an object', body: sub({ delivery: [1] }), status: 400, pointer: '/delivery' },
  {
    name: 'delivery setting named constructor',
    body: sub({ delivery: { constructor: 5 } }),
    status: 400,
    pointer: '/delivery/constructor',
  },
  {
    name: 'delivery setting named toString',
    body: sub({ delivery: { toString: 5 } }),
    status: 400,
    pointer: '/delivery/toString',
  },
  {
    name: 'delivery setting named __proto__',
    body: `{"sink":"${valid.sink}","delivery":{"__proto__":5}}`,
    status: 400,
    pointer: '/delivery/__proto__',
  },
  { name: 'non-object body: array', body: '[]', status: 400, pointer: '' },
  { name: 'non-object body: string', body: '"x"', status: 400, pointer: '' },
  { name: 'non-object body: null', body: 'null', status: 400, pointer: '' },
  { name: 'malformed JSON', body: '{"sink":', status: 400, says: /not valid JSON/ },
  { name: 'empty body', body: '', status: 400, says: /empty/ },
  {
    name: 'non-UTF-8 body',
    body: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
    status: 400,
    says: /UTF-8/,
  },
  {
    name: 'wrong content type text/plain',
    body: sub({}),
    contentType: 'text/plain',
    status: 415,
    says: /application\/json/,
  },
  { name: 'no content type', body: sub({}), contentType: '', status: 415, says: /application\/json/ },
  {
    name: 'unparseable content type',
    body: sub({}),
    contentType: 'json',
    status: 415,
    says: /application\/json/,
  },
  { name: 'body over 1 MiB', body: sub({ types: ['x'.repeat(MIB)] }), status: 413, says: /1048576/ },
  {
    // Found by the fuzz test: a value whose toString is not a function broke the error message.
    name: 'protocol is an object that cannot become a string',
    body: `{"sink":"${valid.sink}","protocol":{"toString":1,"valueOf":2}}`,
    status: 400,
    pointer: '/protocol',
  },
  {
    name: 'filters nested 6,000 deep',
    body: `{"sink":"${valid.sink}","filters":[${'{"not":'.repeat(6000)}{"exact":{"type":"a"}}${'}'.repeat(6000)}]}`,
    status: 400,
    pointer: '/filters/0',
    within: true,
  },
];

describe('POST /v1/subscriptions with bad input', () => {
  it.each(subscriptionCases)('$name', async (c) => {
    const before = await subscriptionCount();
    const headers: Record<string, string> =
      c.contentType === '' ? {} : { 'content-type': c.contentType ?? 'application/json' };
    const res = await hub.fetch('/v1/subscriptions', {
      method: 'POST',
      headers,
      body: typeof c.body === 'string' ? c.body : new Uint8Array(c.body),
    });
    await expectProblem(res, c);
    expect(await subscriptionCount(), 'a subscription was stored').toBe(before);
  });

  it('PUT with a bad body leaves the subscription as it was', async () => {
    const before = await (await hub.fetch(`/v1/subscriptions/${existingId}`)).json();
    for (const c of subscriptionCases.filter(
      (s) => s.status === 400 && s.pointer?.startsWith('/') && !s.name.includes('nested'),
    )) {
      const res = await hub.fetch(`/v1/subscriptions/${existingId}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: c.body,
      });
      await expectProblem(res, c);
    }
    const res = await hub.fetch(`/v1/subscriptions/${existingId}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: sub({ id: 'sub_other' }),
    });
    await expectProblem(res, { status: 400, pointer: '/id', says: /does not match/ });
    expect(await (await hub.fetch(`/v1/subscriptions/${existingId}`)).json()).toEqual(before);
  });

  it.each([
    ['GET', '/v1/subscriptions/sub_nope'],
    ['PUT', '/v1/subscriptions/sub_nope'],
    ['DELETE', '/v1/subscriptions/sub_nope'],
    ['GET', '/v1/subscriptions/sub_nope/deliveries'],
  ])('%s %s on an unknown id is a 404 problem', async (method, path) => {
    const init: RequestInit = { method };
    if (method === 'PUT')
      Object.assign(init, { headers: { 'content-type': 'application/json' }, body: sub({}) });
    const problem = await expectProblem(await hub.fetch(path, init), { status: 404 });
    expect(problem.detail).toMatch(/sub_nope/);
  });

  it('a path with a bad percent-encoding is a 400 problem', async () => {
    await expectProblem(await hub.fetch('/v1/subscriptions/%ZZ'), { status: 400 });
  });

  it('an unknown route is a 404 problem', async () => {
    await expectProblem(await hub.fetch('/v1/nothing-here'), { status: 404, says: /\/v1\/nothing-here/ });
  });
});

// ---------------------------------------------------------------------------------------------
// Query parameters, redrive and auth

describe('query parameters, redrive and auth', () => {
  it.each([
    ['/v1/dead-letters?limit=0', '/limit'],
    ['/v1/dead-letters?limit=1001', '/limit'],
    ['/v1/dead-letters?limit=abc', '/limit'],
    ['/v1/dead-letters?limit=2.5', '/limit'],
    [`/v1/subscriptions/{id}/deliveries?limit=0`, '/limit'],
    [`/v1/subscriptions/{id}/deliveries?status=lost`, '/status'],
    ['/v1/events/lookup?source=/x', '/id'],
    ['/v1/events/lookup?id=x', '/source'],
  ])('GET %s names %s', async (path, pointer) => {
    await expectProblem(await hub.fetch(path.replace('{id}', existingId)), { status: 400, pointer });
  });

  it.each([
    ['neither ids nor subscription', {}, ''],
    ['both ids and subscription', { ids: ['dlv_x'], subscription: 'sub_x' }, ''],
    ['empty ids', { ids: [] }, '/ids'],
    ['ids not strings', { ids: [1] }, '/ids'],
    ['empty subscription', { subscription: '' }, '/subscription'],
    ['a non-object body', [], ''],
  ])('redrive with %s is a 400 problem', async (_name, body, pointer) => {
    const res = await hub.fetch('/v1/dead-letters/redrive', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await expectProblem(res, { status: 400, pointer });
  });

  it('redrive of an unknown subscription is a 404 problem', async () => {
    const res = await hub.fetch('/v1/dead-letters/redrive', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subscription: 'sub_nope' }),
    });
    await expectProblem(res, { status: 404 });
  });

  it.each([
    ['no key', undefined],
    ['a wrong key', 'Bearer not-the-key'],
    ['another scheme', `Basic ${Buffer.from('a:b').toString('base64')}`],
    ['an empty bearer', 'Bearer '],
  ])('%s is a 401 problem with www-authenticate', async (_name, authorization) => {
    for (const [method, path] of [
      ['GET', '/v1/subscriptions'],
      ['POST', '/v1/events'],
    ] as const) {
      const headers: Record<string, string> = { 'content-type': STRUCTURED };
      if (authorization) headers.authorization = authorization;
      const id = newId();
      const res = await fetch(hub.url + path, {
        method,
        headers,
        ...(method === 'POST' ? { body: JSON.stringify(event({ id })) } : {}),
      });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      await expectProblem(res, { status: 401, says: /key|Authorization/ });
      if (method === 'POST') expect(await lookupStatus(SOURCE, id)).toBe(404);
    }
  });
});

describe('after all of it', () => {
  it('the process is still up and healthy', async () => {
    expect(hub.proc.exitCode).toBeNull();
    expect(hub.proc.signalCode).toBeNull();
    expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
  });
});
