/**
 * Seeded generators for the HTTP fuzz test: a tiny PRNG (mulberry32), valid CloudEvents and
 * subscriptions, and the mutations applied to them. Every request is derived from the seed alone, so a
 * failure is reproduced by running the test again with `FUZZ_SEED` set to the seed it printed.
 */

/** A deterministic random source; every draw comes from one mulberry32 state. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1): mulberry32, public domain (Tommy Ettinger). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  /** A string of `n` characters drawn from `alphabet`. */
  string(n: number, alphabet: string): string {
    let out = '';
    for (let i = 0; i < n; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }
}

export interface FuzzRequest {
  /** Which generator made it; failures are grouped by it. */
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Sent without the bearer key (or with a wrong one) when set. */
  auth?: 'none' | 'wrong';
  /** The (source, id) pairs a POST /v1/events body names, when it names them as plain strings. */
  candidates: EventKey[];
}

export interface EventKey {
  source: string;
  id: string;
}

export const STRUCTURED = 'application/cloudevents+json';
export const BATCH = 'application/cloudevents-batch+json';

const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const PRINTABLE =
  ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~';
const UNICODE = [
  'é',
  'ß',
  '漢字',
  '😀',
  '\u200b',
  '\u202e',
  '\ufeff',
  '\ud800',
  '\udfff',
  '\u0000',
  '\u001f',
  '\u007f',
  '\u0085',
  '\ufdd0',
  '\uffff',
];
const PROTO_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
];
const ODD_KEYS = [
  ...PROTO_KEYS,
  '',
  'Bad-Name',
  'UPPER',
  'a'.repeat(60),
  'x/y',
  'a~b',
  'ñ',
  'data_base64',
  'data',
  'sequence',
  'ce-id',
  ' id',
];

export const CONTENT_TYPES = [
  STRUCTURED,
  BATCH,
  `${STRUCTURED}; charset=utf-8`,
  `${STRUCTURED}; charset=latin1`,
  `${BATCH}; charset=UTF-8`,
  'APPLICATION/CLOUDEVENTS+JSON',
  'application/cloudevents+xml',
  'application/cloudevents',
  'application/cloudevents-batch+avro',
  'application/json',
  'application/json; charset=utf-16',
  'application/ld+json',
  'text/plain',
  'text/plain; charset=iso-8859-1',
  'text/xml',
  'application/octet-stream',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '',
  'foo',
  'a/b c',
  '/json',
  'text/plain; charset',
  `${STRUCTURED};;`,
  'text/plain; x="\u00e9"',
];

/** Sinks stay on loopback: the hub must never be steered at a real host by a mutated body. */
export function loopbackSink(sink: string, fallback: string): string {
  try {
    const url = new URL(sink);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return sink;
    return ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) ? sink : fallback;
  } catch {
    return sink;
  }
}

function defineKey(target: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty, because `target.__proto__ = v` would set the prototype instead of a key.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export class FuzzGenerator {
  private serial = 0;

  constructor(
    readonly rng: Rng,
    private readonly tag: string,
    private readonly sinkUrl: string,
    private readonly fixedSubscriptionId: string,
  ) {}

  /** The next request; the mix is weighted towards the event endpoint, which stores data. */
  next(): FuzzRequest {
    const r = this.rng.next();
    let request: FuzzRequest;
    if (r < 0.22) request = this.structured();
    else if (r < 0.36) request = this.structuredBytes();
    else if (r < 0.52) request = this.binary();
    else if (r < 0.62) request = this.batch();
    else if (r < 0.68) request = this.randomBytes();
    else if (r < 0.8) request = this.subscription();
    else if (r < 0.9) request = this.randomRoute();
    else if (r < 0.95) request = this.lookup();
    else request = this.deadLetters();
    if (this.rng.chance(0.015)) request.auth = this.rng.chance(0.5) ? 'none' : 'wrong';
    return request;
  }

  /** A fresh, valid event with a unique id. */
  validEvent(): Record<string, unknown> {
    const rng = this.rng;
    const event: Record<string, unknown> = {
      specversion: '1.0',
      id: `fz-${this.tag}-${++this.serial}`,
      source: rng.pick([
        '/fuzz',
        '/fuzz/orders',
        'https://shop.example.com/orders',
        'urn:fuzz:a',
        '/fuzz/a%20b',
        'x',
      ]),
      type: rng.pick(['com.fuzz.order.created', 'com.fuzz.customer.updated', 't']),
    };
    if (rng.chance(0.4)) event.subject = `orders/${rng.int(1000)}`;
    if (rng.chance(0.4)) event.time = rng.pick(['2024-05-01T12:00:00Z', '2024-05-01T14:00:00.5+02:00']);
    if (rng.chance(0.3)) event.partitionkey = `p${rng.int(10)}`;
    if (rng.chance(0.2)) event.priority = rng.int(100);
    const payload = rng.int(10);
    if (payload < 5) {
      event.datacontenttype = 'application/json';
      event.data = this.jsonValue(3);
    } else if (payload < 7) {
      event.datacontenttype = 'text/plain';
      event.data = rng.string(rng.int(40), PRINTABLE);
    } else if (payload < 8) {
      event.data_base64 = rng.bytes(rng.int(30)).toString('base64');
    }
    return event;
  }

  private jsonValue(depth: number): unknown {
    const rng = this.rng;
    const k = depth <= 0 ? rng.int(5) : rng.int(7);
    switch (k) {
      case 0:
        return null;
      case 1:
        return rng.chance(0.5);
      case 2:
        return rng.pick([0, -1, 1.5, 1e308, -2147483649, 2 ** 53 + 1, rng.int(1e6)]);
      case 3:
        return rng.string(rng.int(20), PRINTABLE);
      case 4:
        return rng.pick(UNICODE) + rng.string(3, PRINTABLE);
      case 5: {
        const arr: unknown[] = [];
        for (let i = rng.int(4); i > 0; i--) arr.push(this.jsonValue(depth - 1));
        return arr;
      }
      default: {
        const obj: Record<string, unknown> = {};
        for (let i = rng.int(4); i > 0; i--) {
          defineKey(
            obj,
            rng.chance(0.2) ? rng.pick(PROTO_KEYS) : rng.string(1 + rng.int(8), 'abcxyz_'),
            this.jsonValue(depth - 1),
          );
        }
        return obj;
      }
    }
  }

  /** A value of a random, usually wrong, type or shape for an attribute. */
  private oddValue(): unknown {
    const rng = this.rng;
    switch (rng.int(14)) {
      case 0:
        return null;
      case 1:
        return '';
      case 2:
        return rng.int(1000);
      case 3:
        return 1.5;
      case 4:
        return rng.chance(0.5);
      case 5:
        return {};
      case 6:
        return [rng.string(3, PRINTABLE)];
      case 7:
        return `a${rng.pick(UNICODE)}b`;
      case 8:
        return 'nul\u0000byte';
      case 9:
        return rng.string(rng.chance(0.1) ? 200_000 : 2000, PRINTABLE);
      case 10:
        return rng.pick(['0.3', '1', '1.0 ', '2.0', 'has space', '%zz', '//[bad', 'http://a b']);
      case 11:
        return rng.pick(['2024-13-45T99:00:00Z', 'yesterday', '2024-05-01', '2024-05-01T12:00:00']);
      case 12:
        return 2 ** 40;
      default:
        return this.jsonValue(4);
    }
  }

  /** One to three object-level mutations of a valid event. */
  mutateEvent(event: Record<string, unknown>): Record<string, unknown> {
    const rng = this.rng;
    const out: Record<string, unknown> = { ...event };
    const attributes = () => Object.keys(out);
    for (let i = 1 + rng.int(3); i > 0; i--) {
      switch (rng.int(11)) {
        case 0:
          delete out[rng.pick(['id', 'source', 'type', 'specversion'])];
          break;
        case 1:
        case 2:
          out[rng.pick([...attributes(), 'time', 'subject', 'dataschema', 'datacontenttype'])] =
            this.oddValue();
          break;
        case 3:
          defineKey(out, rng.pick(ODD_KEYS), this.oddValue());
          break;
        case 4:
          out.data = this.deep(rng.chance(0.08) ? 150_000 : 5 + rng.int(200));
          break;
        case 5:
          out.data = rng.string(rng.chance(0.05) ? 1_100_000 : 50_000, PRINTABLE);
          break;
        case 6:
          out.data_base64 = rng.pick(['@@@', 'YQ', 'YQ==\n', '====', rng.bytes(10).toString('base64'), '']);
          break;
        case 7:
          out.data = this.jsonValue(4);
          out.datacontenttype = rng.pick([
            'text/plain',
            'application/octet-stream',
            'foo',
            'application/json',
            '',
          ]);
          break;
        case 8:
          out[rng.pick(['id', 'source', 'type', 'subject'])] = rng.pick(UNICODE).repeat(1 + rng.int(3));
          break;
        case 9:
          out[`ext${rng.int(5)}`] = this.oddValue();
          break;
        default:
          out.specversion = rng.pick(['0.3', '1', 1, '1.0', null]);
      }
    }
    return out;
  }

  private deep(depth: number): unknown {
    const asArray = this.rng.chance(0.5);
    // Very deep values are spliced in as text by toJson: JSON.stringify here would overflow the stack.
    if (depth > 1000) return `__DEEP_${depth}_${asArray ? 'a' : 'o'}__`;
    let value: unknown = asArray ? [] : {};
    for (let i = 0; i < depth; i++) value = asArray ? [value] : { a: value };
    return value;
  }

  /** Byte-level mutations: flips, deletions, insertions of JSON-significant and invalid bytes. */
  mutateBytes(input: Buffer): Buffer {
    const rng = this.rng;
    let buf = input;
    const tokens = [
      '\u0000',
      '"',
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '\\',
      '\\u',
      '\\ud800',
      '1e999',
      '-0',
      '99999999999999999999',
      '"__proto__":{},',
      '"constructor":1,',
      'null',
      '\ufeff',
    ];
    for (let i = 1 + rng.int(4); i > 0; i--) {
      const at = rng.int(buf.length + 1);
      switch (rng.int(7)) {
        case 0: {
          if (buf.length === 0) break;
          const copy = Buffer.from(buf);
          const p = Math.min(at, copy.length - 1);
          copy[p] = copy[p]! ^ (1 << rng.int(8));
          buf = copy;
          break;
        }
        case 1:
          buf = Buffer.concat([buf.subarray(0, at), buf.subarray(Math.min(buf.length, at + 1 + rng.int(8)))]);
          break;
        case 2:
          buf = Buffer.concat([buf.subarray(0, at), rng.bytes(1 + rng.int(4)), buf.subarray(at)]);
          break;
        case 3:
          buf = Buffer.concat([buf.subarray(0, at), Buffer.from(rng.pick(tokens)), buf.subarray(at)]);
          break;
        case 4:
          buf = Buffer.concat([
            buf.subarray(0, at),
            Buffer.from(rng.pick([[0xff], [0xc0, 0xa0], [0xed, 0xa0, 0x80], [0xe9]])),
            buf.subarray(at),
          ]);
          break;
        case 5:
          buf = buf.subarray(0, at);
          break;
        default:
          buf = Buffer.concat([
            buf.subarray(0, at),
            buf.subarray(at, at + 1 + rng.int(16)),
            buf.subarray(at),
          ]);
      }
    }
    return buf;
  }

  private structured(): FuzzRequest {
    const rng = this.rng;
    let event: unknown = this.validEvent();
    if (rng.chance(0.7)) event = this.mutateEvent(event as Record<string, unknown>);
    if (rng.chance(0.03)) event = rng.pick([[], 'x', 1, null, [event]]);
    const contentType = rng.chance(0.85)
      ? rng.pick([STRUCTURED, `${STRUCTURED}; charset=utf-8`])
      : rng.pick(CONTENT_TYPES);
    const body = toJson(event);
    return this.eventsRequest('structured', contentType, body);
  }

  private structuredBytes(): FuzzRequest {
    const rng = this.rng;
    const body = this.mutateBytes(toJson(this.validEvent()));
    const contentType = rng.chance(0.8) ? STRUCTURED : rng.pick(CONTENT_TYPES);
    return this.eventsRequest('structured-bytes', contentType, body);
  }

  private batch(): FuzzRequest {
    const rng = this.rng;
    const events: unknown[] = [];
    const huge = rng.chance(0.01);
    const count = huge ? 1001 : rng.chance(0.05) ? 0 : 1 + rng.int(6);
    for (let i = 0; i < count; i++) {
      const event = huge
        ? { specversion: '1.0', id: `fz-${this.tag}-${++this.serial}`, source: '/b', type: 't' }
        : this.validEvent();
      events.push(!huge && rng.chance(0.25) ? this.mutateEvent(event) : event);
    }
    let body = toJson(events);
    if (rng.chance(0.15)) body = this.mutateBytes(body);
    const contentType = rng.chance(0.85) ? BATCH : rng.pick(CONTENT_TYPES);
    return this.eventsRequest(huge ? 'batch-1001' : 'batch', contentType, body);
  }

  private eventsRequest(kind: string, contentType: string, body: Buffer): FuzzRequest {
    const headers: Record<string, string> = {};
    if (contentType !== '' || this.rng.chance(0.5)) headers['content-type'] = contentType;
    return { kind, method: 'POST', path: '/v1/events', headers, body, candidates: candidatesOf(body) };
  }

  private binary(): FuzzRequest {
    const rng = this.rng;
    const event = this.validEvent();
    const headers: Record<string, string> = {};
    for (const name of ['specversion', 'id', 'source', 'type', 'subject', 'time', 'partitionkey']) {
      const value = event[name];
      if (value === undefined || rng.chance(0.06)) continue;
      headers[`ce-${rng.chance(0.05) ? name.toUpperCase() : name}`] = rng.chance(0.12)
        ? this.headerValue()
        : String(value);
    }
    for (let i = rng.chance(0.3) ? 1 + rng.int(3) : 0; i > 0; i--) {
      const name = rng.chance(0.5)
        ? rng.pick([
            '',
            'data',
            'data_base64',
            'datacontenttype',
            '__proto__',
            'constructor',
            'Bad_Name',
            'a'.repeat(60),
            'x.y',
          ])
        : rng.string(1 + rng.int(10), TOKEN_CHARS);
      headers[`ce-${name}`] = this.headerValue();
    }
    let body: Buffer;
    switch (rng.int(6)) {
      case 0:
        body = Buffer.alloc(0);
        break;
      case 1:
        body = rng.bytes(rng.int(500));
        break;
      case 2:
        body = this.mutateBytes(Buffer.from(JSON.stringify(this.jsonValue(3))));
        break;
      case 3:
        body = rng.chance(0.05)
          ? Buffer.alloc(1_100_000, 0x61)
          : Buffer.from(rng.string(rng.int(200), PRINTABLE));
        break;
      default:
        body = Buffer.from(JSON.stringify(this.jsonValue(3)) ?? 'null');
    }
    if (rng.chance(0.7))
      headers['content-type'] = rng.pick([
        'application/json',
        'text/plain',
        'text/plain; charset=utf-8',
        ...CONTENT_TYPES,
      ]);
    const candidates: EventKey[] = [];
    const source = headers['ce-source'];
    const id = headers['ce-id'];
    if (source && id && /^[\x21-\x24\x26-\x7e]+$/.test(source + id)) candidates.push({ source, id });
    return { kind: 'binary', method: 'POST', path: '/v1/events', headers, body, candidates };
  }

  /** A header value fetch will send as is: visible ASCII, space, tab and latin1 bytes, with escapes good and bad. */
  private headerValue(): string {
    const rng = this.rng;
    switch (rng.int(6)) {
      case 0:
        return rng.pick(['%zz', '%', '%4', 'a%C0%A0', '%E9', 'caf%C3%A9', '%ED%A0%80', '%00', '%0D%0A']);
      case 1:
        return rng.string(1 + rng.int(30), `${PRINTABLE}\u00e9\u00ff\u0080\t`).trim() || 'x';
      case 2:
        return rng.string(rng.chance(0.05) ? 20_000 : 300, PRINTABLE).trim() || 'x';
      case 3:
        return rng.pick(['0.3', '1.0', '', 'x', '/a b', 'not a uri']) || 'x';
      default:
        return rng.string(1 + rng.int(10), TOKEN_CHARS);
    }
  }

  private randomBytes(): FuzzRequest {
    const rng = this.rng;
    const headers: Record<string, string> = {};
    if (rng.chance(0.8)) headers['content-type'] = rng.pick(CONTENT_TYPES);
    if (rng.chance(0.3)) headers[`ce-${rng.string(1 + rng.int(6), 'abcdefghij')}`] = this.headerValue();
    return {
      kind: 'random-bytes',
      method: 'POST',
      path: '/v1/events',
      headers,
      body: rng.bytes(rng.int(3000)),
      candidates: [],
    };
  }

  validSubscription(): Record<string, unknown> {
    const rng = this.rng;
    const sub: Record<string, unknown> = { sink: this.sinkUrl };
    if (rng.chance(0.6)) sub.types = ['com.fuzz.order.created'];
    if (rng.chance(0.5))
      sub.filters = [{ prefix: { subject: 'orders/' } }, { not: { exact: { type: 't' } } }];
    if (rng.chance(0.4)) sub.protocolsettings = { headers: { 'x-team': 'fuzz' }, method: 'POST' };
    if (rng.chance(0.5))
      sub.delivery = {
        format: rng.pick(['binary', 'structured', 'webhook']),
        maxAttempts: 2,
        timeoutMs: 1000,
      };
    return sub;
  }

  private mutateSubscription(sub: Record<string, unknown>): unknown {
    const rng = this.rng;
    const out: Record<string, unknown> = { ...sub };
    for (let i = 1 + rng.int(3); i > 0; i--) {
      switch (rng.int(10)) {
        case 0:
          delete out[rng.pick(['sink', 'types', 'filters', 'delivery'])];
          break;
        case 1:
          out.sink = rng.pick([
            'ftp://x',
            'not a url',
            '',
            'http://u:p@127.0.0.1/x',
            'javascript:alert(1)',
            'file:///etc/passwd',
            'http://[::1',
            'mailto:a@b',
            42,
            null,
          ]);
          break;
        case 2:
          out[rng.pick(['types', 'filters', 'protocolsettings', 'delivery', 'protocol', 'status', 'id'])] =
            this.oddValue();
          break;
        case 3:
          defineKey(out, rng.pick(ODD_KEYS), this.oddValue());
          break;
        case 4: {
          const delivery: Record<string, unknown> = {};
          defineKey(
            delivery,
            rng.pick([...PROTO_KEYS, 'maxAttempts', 'timeoutMs', 'format', 'initialDelayMs', 'nope']),
            this.oddValue(),
          );
          out.delivery = delivery;
          break;
        }
        case 5: {
          const filter: Record<string, unknown> = {};
          defineKey(
            filter,
            rng.pick(['regex', 'sql', 'exact', 'prefix', 'suffix', 'all', 'any', 'not', ...PROTO_KEYS]),
            this.oddValue(),
          );
          out.filters = [filter];
          break;
        }
        case 6: {
          if (rng.chance(0.05)) {
            out.filters = ['__DEEP_6000_n__'];
            break;
          }
          let filter: unknown = { exact: { type: 'a' } };
          for (let d = 1 + rng.int(100); d > 0; d--) filter = { not: filter };
          out.filters = [filter];
          break;
        }
        case 7: {
          const headers: Record<string, unknown> = {};
          defineKey(
            headers,
            rng.pick(['webhook-id', 'ce-id', 'Content-Type', 'host', 'x ok', '', ...PROTO_KEYS, 'x-fine']),
            this.oddValue(),
          );
          out.protocolsettings = { headers };
          break;
        }
        case 8:
          out.status = rng.pick(['paused', 'disabled', 'active', 1]);
          break;
        default:
          out.protocol = rng.pick(['MQTT', 'http', 'HTTP', 7]);
      }
    }
    return rng.chance(0.04) ? rng.pick([[], 'x', null, 3]) : out;
  }

  private subscription(): FuzzRequest {
    const rng = this.rng;
    let value: unknown = this.validSubscription();
    if (rng.chance(0.8)) value = this.mutateSubscription(value as Record<string, unknown>);
    let body = toJson(value);
    if (rng.chance(0.2)) body = this.mutateBytes(body);
    body = this.keepSinkLocal(body);
    const headers: Record<string, string> = {};
    if (rng.chance(0.9)) headers['content-type'] = 'application/json';
    else if (rng.chance(0.8)) headers['content-type'] = rng.pick(CONTENT_TYPES);
    const put = rng.chance(0.3);
    const path = put
      ? `/v1/subscriptions/${rng.chance(0.7) ? this.fixedSubscriptionId : `sub_${rng.string(8, 'ABC123')}`}`
      : '/v1/subscriptions';
    return {
      kind: put ? 'subscription-put' : 'subscription-post',
      method: put ? 'PUT' : 'POST',
      path,
      headers,
      body,
      candidates: [],
    };
  }

  private keepSinkLocal(body: Buffer): Buffer {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return body;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return body;
    const sink = (parsed as { sink?: unknown }).sink;
    if (typeof sink !== 'string') return body;
    const safe = loopbackSink(sink, this.sinkUrl);
    if (safe === sink) return body;
    (parsed as { sink: string }).sink = safe;
    return Buffer.from(JSON.stringify(parsed));
  }

  private randomRoute(): FuzzRequest {
    const rng = this.rng;
    const id = rng.pick([
      this.fixedSubscriptionId,
      'sub_x',
      rng.string(6, TOKEN_CHARS.replace(/[%#?]/g, '')),
      '%2F..%2F',
      'a%20b',
    ]);
    const path = rng.pick([
      '/v1/events',
      '/v1/events/lookup',
      '/v1/subscriptions',
      `/v1/subscriptions/${id}`,
      `/v1/subscriptions/${id}/deliveries?status=${rng.pick(['dead', 'bogus', '', 'pending'])}&limit=${rng.pick(['0', '5', 'x', '1001', '-1', '1e3'])}`,
      '/v1/dead-letters',
      '/v1/dead-letters/redrive',
      '/v1/replays',
      `/v1/${rng.string(1 + rng.int(12), 'abcdefghij-_.~')}`,
      '/v1//events',
      '/v1/events/',
      '/v1/subscriptions/%ZZ',
      '/v1/events?x=%&&==',
      `/v1/${'a'.repeat(rng.chance(0.1) ? 20_000 : 100)}`,
    ]);
    const method = rng.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
    const headers: Record<string, string> = {};
    let body: Buffer | undefined;
    if (method !== 'GET') {
      if (rng.chance(0.6)) {
        headers['content-type'] = rng.pick(['application/json', ...CONTENT_TYPES]);
        body = rng.chance(0.5)
          ? Buffer.from(JSON.stringify(this.jsonValue(3)) ?? '')
          : rng.bytes(rng.int(200));
      }
    }
    // A DELETE of the subscription the run relies on would change what later requests mean.
    const safePath =
      method === 'DELETE' && path.includes(this.fixedSubscriptionId) ? '/v1/subscriptions/sub_x' : path;
    return { kind: 'route', method, path: safePath, headers, body, candidates: [] };
  }

  private lookup(): FuzzRequest {
    const rng = this.rng;
    const params = new URLSearchParams();
    if (rng.chance(0.9))
      params.set('source', rng.pick(['/fuzz', '', 'x', rng.pick(UNICODE), rng.string(10, PRINTABLE)]));
    if (rng.chance(0.9))
      params.set(
        'id',
        rng.chance(0.5) ? `fz-${this.tag}-${rng.int(this.serial + 1)}` : rng.string(rng.int(10), PRINTABLE),
      );
    if (rng.chance(0.1)) params.append('id', 'twice');
    const raw = rng.chance(0.1)
      ? rng.pick(['source=%&id=%zz', 'source&id', '==&&', 'source=%C0%A0&id=1'])
      : params.toString();
    return { kind: 'lookup', method: 'GET', path: `/v1/events/lookup?${raw}`, headers: {}, candidates: [] };
  }

  private deadLetters(): FuzzRequest {
    const rng = this.rng;
    if (rng.chance(0.4)) {
      const limit = rng.pick(['0', '1', '1000', '1001', 'abc', '', '2.5', '-3']);
      return {
        kind: 'dead-letters',
        method: 'GET',
        path: `/v1/dead-letters?limit=${limit}&after=${rng.string(4, 'abc')}`,
        headers: {},
        candidates: [],
      };
    }
    const body = rng.pick<unknown>([
      {},
      { ids: [] },
      { ids: ['dlv_x'] },
      { ids: [1, 2] },
      { ids: 'x' },
      { subscription: this.fixedSubscriptionId },
      { subscription: '' },
      { subscription: 'sub_nope' },
      { ids: ['a'], subscription: 'b' },
      [],
      null,
      this.jsonValue(3),
    ]);
    let bytes = toJson(body);
    if (rng.chance(0.2)) bytes = this.mutateBytes(bytes);
    return {
      kind: 'redrive',
      method: 'POST',
      path: '/v1/dead-letters/redrive',
      headers: { 'content-type': rng.chance(0.9) ? 'application/json' : rng.pick(CONTENT_TYPES) },
      body: bytes,
      candidates: [],
    };
  }
}

/**
 * JSON.stringify, with `__DEEP_<n>_<a|o|n>__` placeholders replaced by arrays, objects or `not`
 * filters nested n deep.
 */
export function toJson(value: unknown): Buffer {
  const text = JSON.stringify(value) ?? 'null';
  return Buffer.from(
    text.replace(/"__DEEP_(\d+)_([aon])__"/g, (_m, n: string, shape: string) => {
      const depth = Number(n);
      if (shape === 'a') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
      if (shape === 'o') return `${'{"a":'.repeat(depth)}{}${'}'.repeat(depth)}`;
      return `${'{"not":'.repeat(depth)}{"exact":{"type":"a"}}${'}'.repeat(depth)}`;
    }),
  );
}

/** The (source, id) pairs named as strings by a structured or batch body, if it parses. */
export function candidatesOf(body: Buffer): EventKey[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return [];
  }
  const members = Array.isArray(parsed) ? parsed : [parsed];
  const keys: EventKey[] = [];
  for (const member of members) {
    if (typeof member !== 'object' || member === null) continue;
    const { source, id } = member as { source?: unknown; id?: unknown };
    if (typeof source === 'string' && typeof id === 'string' && source !== '' && id !== '')
      keys.push({ source, id });
  }
  return keys;
}
