import { HTTP, CloudEvent as SdkEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import {
  MalformedRequestError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../src/core/errors.js';
import { type CloudEvent, eventJson } from '../../src/core/event.js';
import {
  DEFAULT_INGEST_LIMITS,
  encodeEvent,
  type IngestHeaders,
  type IngestLimits,
  parseIngest,
} from '../../src/core/http-binding.js';

const attrs = {
  specversion: '1.0',
  id: 'evt-1',
  source: '/shop/orders',
  type: 'com.acme.order.created',
} as const;
const STRUCTURED = { 'content-type': 'application/cloudevents+json' };
const BATCH = { 'content-type': 'application/cloudevents-batch+json' };
const binaryHeaders = {
  'ce-specversion': '1.0',
  'ce-id': 'evt-1',
  'ce-source': '/shop/orders',
  'ce-type': 'com.acme.order.created',
};
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const received = new Date('2024-05-01T12:00:05.000Z');

/** Runs `fn`, expecting it to throw an error of `type`; returns the error for further checks. */
function thrown<T extends Error>(type: new (...args: never[]) => T, fn: () => unknown): T {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as T;
  }
  throw new Error(`expected ${type.name}`);
}

describe('parseIngest: structured mode', () => {
  it('reads one event and keeps JSON data as a JSON value', () => {
    const event = { ...attrs, datacontenttype: 'application/json', data: { total: 12, tags: ['a'] } };
    expect(parseIngest(STRUCTURED, json(event), DEFAULT_INGEST_LIMITS)).toEqual({
      mode: 'structured',
      events: [event],
    });
  });

  it('keeps a JSON string as data rather than parsing it again', () => {
    const event = { ...attrs, data: '{"not":"parsed"}' };
    expect(parseIngest(STRUCTURED, json(event), DEFAULT_INGEST_LIMITS).events[0]?.data).toBe(
      '{"not":"parsed"}',
    );
  });

  it('accepts a UTF-8 charset and a BOM, and refuses other charsets with 415', () => {
    const headers = { 'content-type': 'Application/CloudEvents+JSON; charset="UTF-8"' };
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json(attrs)]);
    expect(parseIngest(headers, bom, DEFAULT_INGEST_LIMITS).events).toEqual([attrs]);
    const error = thrown(UnsupportedMediaTypeError, () =>
      parseIngest(
        { 'content-type': 'application/cloudevents+json; charset=iso-8859-1' },
        json(attrs),
        DEFAULT_INGEST_LIMITS,
      ),
    );
    expect(error.status).toBe(415);
    expect(error.message).toContain('charset=iso-8859-1');
  });

  it('rejects bytes that are not UTF-8', () => {
    const body = Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]);
    const error = thrown(MalformedRequestError, () => parseIngest(STRUCTURED, body, DEFAULT_INGEST_LIMITS));
    expect(error.message).toContain('not valid UTF-8');
  });

  it('names the line, column and position of a JSON syntax error', () => {
    const error = thrown(MalformedRequestError, () =>
      parseIngest(STRUCTURED, Buffer.from('{\n  "id": "1",\n  "type": }'), DEFAULT_INGEST_LIMITS),
    );
    expect(error.message).toBe(
      "the request body is not valid JSON: unexpected '}' at line 3, column 11 (position 25)",
    );
    for (const [text, detail] of [
      ['', 'unexpected end of input at line 1, column 1 (position 0)'],
      ['{"a":1', "unexpected end of input (expected ',' or '}') at line 1, column 7 (position 6)"],
      ['{"a":1,}', 'expected a property name in double quotes'],
      ["{'a':1}", 'expected a property name in double quotes'],
      ['{"a":"x\ny"}', 'control character in string'],
      ['{"a":01}', 'position 6'],
      ['{"a":1} x', 'after the end of the JSON value'],
      ['{"a":"\\q"}', 'invalid escape sequence'],
      ['{"a":tru}', 'expected true'],
    ] as const) {
      const syntax = thrown(MalformedRequestError, () =>
        parseIngest(STRUCTURED, Buffer.from(text), DEFAULT_INGEST_LIMITS),
      );
      expect(syntax.message, text).toContain(detail);
    }
  });

  it('throws one ValidationError listing every invalid attribute', () => {
    const error = thrown(ValidationError, () =>
      parseIngest(
        STRUCTURED,
        json({ specversion: '1.0', id: '', source: 'a b', type: 't', time: 'x' }),
        DEFAULT_INGEST_LIMITS,
      ),
    );
    expect(error.status).toBe(400);
    expect(error.errors?.map((e) => e.pointer)).toEqual(['/id', '/source', '/time']);
    expect(error.message).toContain('(and 2 more)');
  });

  it('rejects a body that is not an event object', () => {
    const error = thrown(ValidationError, () =>
      parseIngest(STRUCTURED, json([attrs]), DEFAULT_INGEST_LIMITS),
    );
    expect(error.errors).toEqual([{ pointer: '', message: expect.stringContaining('JSON object') }]);
  });

  it('enforces maxEventBytes on the body', () => {
    const body = json({ ...attrs, data: 'x'.repeat(200) });
    const limits: IngestLimits = { ...DEFAULT_INGEST_LIMITS, maxEventBytes: 100 };
    const error = thrown(PayloadTooLargeError, () => parseIngest(STRUCTURED, body, limits));
    expect(error.status).toBe(413);
    expect(error.message).toBe(
      `the request body is ${body.length} bytes; an event may be at most 100 bytes (maxEventBytes)`,
    );
  });

  it('refuses other event formats with 415', () => {
    for (const type of [
      'application/cloudevents+avro',
      'application/cloudevents',
      'application/cloudevents-batch+protobuf',
    ]) {
      const error = thrown(UnsupportedMediaTypeError, () =>
        parseIngest({ 'content-type': type }, json(attrs), DEFAULT_INGEST_LIMITS),
      );
      expect(error.message).toContain('event format is not supported');
    }
  });
});

describe('parseIngest: batch mode', () => {
  const second = { ...attrs, id: 'evt-2', data_base64: 'AAEC' };

  it('reads every event of a JSON array', () => {
    expect(parseIngest(BATCH, json([attrs, second]), DEFAULT_INGEST_LIMITS)).toEqual({
      mode: 'batch',
      events: [attrs, second],
    });
  });

  it('refuses an empty batch and a non-array body', () => {
    const empty = thrown(ValidationError, () => parseIngest(BATCH, json([]), DEFAULT_INGEST_LIMITS));
    expect(empty.errors).toEqual([{ pointer: '', message: 'the batch is empty; send at least one event' }]);
    const object = thrown(ValidationError, () => parseIngest(BATCH, json(attrs), DEFAULT_INGEST_LIMITS));
    expect(object.errors?.[0]?.message).toContain('JSON array');
  });

  it('is all-or-nothing, reporting every invalid index', () => {
    const error = thrown(ValidationError, () =>
      parseIngest(
        BATCH,
        json([{ ...attrs, id: '' }, attrs, { ...attrs, source: '' }, 'junk']),
        DEFAULT_INGEST_LIMITS,
      ),
    );
    expect(error.errors?.map((e) => e.pointer)).toEqual(['/0/id', '/2/source', '/3']);
  });

  it('enforces maxBatchBytes, maxBatchEvents and maxEventBytes per member', () => {
    const limits: IngestLimits = { maxEventBytes: 200, maxBatchBytes: 1000, maxBatchEvents: 3 };
    const bytes = thrown(PayloadTooLargeError, () =>
      parseIngest(BATCH, json([{ ...attrs, data: 'x'.repeat(1000) }]), limits),
    );
    expect(bytes.message).toMatch(/a batch may be at most 1000 bytes \(maxBatchBytes\)$/);
    const count = thrown(PayloadTooLargeError, () =>
      parseIngest(BATCH, json([attrs, attrs, attrs, attrs]), limits),
    );
    expect(count.message).toBe('the batch has 4 events; a batch may hold at most 3 (maxBatchEvents)');
    const big = { ...attrs, data: 'y'.repeat(150) };
    const member = thrown(PayloadTooLargeError, () => parseIngest(BATCH, json([attrs, big, attrs]), limits));
    const size = Buffer.byteLength(JSON.stringify(big));
    expect(member.message).toBe(
      `event /1 is ${size} bytes; an event may be at most 200 bytes (maxEventBytes)`,
    );
    expect(member.errors?.map((e) => e.pointer)).toEqual(['/1']);
  });
});

describe('parseIngest: binary mode', () => {
  const parse = (headers: IngestHeaders, body: Buffer | string = '') =>
    parseIngest({ ...binaryHeaders, ...headers }, Buffer.from(body), DEFAULT_INGEST_LIMITS);
  const event = (headers: IngestHeaders, body: Buffer | string = '') => parse(headers, body).events[0];

  it('maps ce- headers to attributes and Content-Type to datacontenttype', () => {
    const result = parse(
      {
        'content-type': 'application/json',
        'ce-subject': 'orders/42',
        'ce-partitionkey': 'cust-7',
        'x-other': 'ignored',
      },
      '{"total":12}',
    );
    expect(result).toEqual({
      mode: 'binary',
      events: [
        {
          ...attrs,
          subject: 'orders/42',
          partitionkey: 'cust-7',
          datacontenttype: 'application/json',
          data: { total: 12 },
        },
      ],
    });
  });

  it('reads the body as JSON without a Content-Type, and an empty body as no data', () => {
    expect(event({}, '[1,2]')).toEqual({ ...attrs, data: [1, 2] });
    expect(event({}, '')).toEqual(attrs);
    expect(event({ 'content-type': 'application/json' }, '')).toEqual({
      ...attrs,
      datacontenttype: 'application/json',
    });
    expect(event({}, 'null')).toEqual({ ...attrs, data: null });
  });

  it('parses +json types and refuses a non-UTF-8 JSON charset with 415', () => {
    expect(event({ 'content-type': 'application/vnd.acme+json; version=2' }, '{"a":1}')?.data).toEqual({
      a: 1,
    });
    expect(event({ 'content-type': 'application/json; charset=utf-8' }, '"s"')?.data).toBe('s');
    thrown(UnsupportedMediaTypeError, () =>
      parse({ 'content-type': 'application/json; charset=utf-16' }, '{}'),
    );
  });

  it('reports a JSON body that does not parse', () => {
    const error = thrown(MalformedRequestError, () => parse({ 'content-type': 'application/json' }, 'hello'));
    expect(error.message).toBe(
      "the request body (JSON event data) is not valid JSON: unexpected 'h' at line 1, column 1 (position 0)",
    );
  });

  it('keeps text as a string and other bytes as data_base64', () => {
    expect(event({ 'content-type': 'text/plain; charset=utf-8' }, 'héllo')?.data).toBe('héllo');
    expect(event({ 'content-type': 'application/xml' }, '<a/>')?.data).toBe('<a/>');
    const bytes = Buffer.from([0, 1, 2, 0xff]);
    expect(event({ 'content-type': 'application/octet-stream' }, bytes)).toEqual({
      ...attrs,
      datacontenttype: 'application/octet-stream',
      data_base64: 'AAEC/w==',
    });
    // Text that is not UTF-8 is kept byte for byte rather than refused.
    const latin1 = Buffer.from('caf\xe9', 'latin1');
    expect(event({ 'content-type': 'text/plain' }, latin1)?.data_base64).toBe(latin1.toString('base64'));
    expect(event({ 'content-type': 'text/plain; charset=iso-8859-1' }, 'abc')?.data_base64).toBe('YWJj');
  });

  it('percent-decodes header values as UTF-8', () => {
    const decoded = event({
      'ce-subject': 'caf%C3%A9%20%22100%25%22',
      'ce-note': '%41%42c',
      'ce-emoji': '%F0%9F%98%80',
    });
    expect(decoded).toMatchObject({ subject: 'café "100%"', note: 'ABc', emoji: '😀' });
  });

  it('reads raw UTF-8 bytes, which Node hands over as latin1 characters', () => {
    const rawUtf8 = Buffer.from('café ✓').toString('latin1');
    expect(event({ 'ce-subject': rawUtf8 })?.subject).toBe('café ✓');
  });

  it('rejects bad escapes and invalid UTF-8, naming the header', () => {
    for (const value of ['100%', '%zz', '%4', '%C0%A0', '%FF', 'caf\xe9', 'euro €']) {
      const error = thrown(MalformedRequestError, () => parse({ 'ce-subject': value }));
      expect(error.message, value).toMatch(/^the ce-subject header is not valid: /);
    }
  });

  it('validates the decoded attributes, collecting every problem', () => {
    const error = thrown(ValidationError, () =>
      parseIngest(
        { 'ce-specversion': '1.0', 'ce-source': 'has space', 'ce-time': '2024-02-30T00:00:00Z' },
        Buffer.alloc(0),
        DEFAULT_INGEST_LIMITS,
      ),
    );
    expect(error.errors?.map((e) => e.pointer)).toEqual(['/source', '/time', '/id', '/type']);
    const decodedControl = thrown(ValidationError, () => parse({ 'ce-subject': 'a%0Ab' }));
    expect(decodedControl.errors?.[0]?.pointer).toBe('/subject');
  });

  it('refuses ce-datacontenttype and ce-data headers', () => {
    const error = thrown(ValidationError, () =>
      parse({ 'ce-datacontenttype': 'text/plain', 'ce-data': 'x', 'ce-id': '' }),
    );
    expect(error.errors?.map((e) => e.pointer)).toEqual(['/datacontenttype', '/data', '/id']);
  });

  it('refuses a repeated ce- header', () => {
    const error = thrown(MalformedRequestError, () => parse({ 'ce-id': ['a', 'b'] }));
    expect(error.message).toContain('ce-id header appears more than once');
  });

  it('enforces maxEventBytes on the body', () => {
    const limits = { ...DEFAULT_INGEST_LIMITS, maxEventBytes: 10 };
    const error = thrown(PayloadTooLargeError, () =>
      parseIngest(binaryHeaders, Buffer.from('"0123456789"'), limits),
    );
    expect(error.message).toContain('at most 10 bytes (maxEventBytes)');
  });

  it('answers 415 naming the accepted modes when the request is no CloudEvent', () => {
    for (const headers of [{ 'content-type': 'application/json' }, {}, { 'content-type': 'not a type' }]) {
      const error = thrown(UnsupportedMediaTypeError, () =>
        parseIngest(headers, json(attrs), DEFAULT_INGEST_LIMITS),
      );
      expect(error.status).toBe(415);
      expect(error.message).toContain('application/cloudevents+json (structured mode)');
      expect(error.message).toContain('ce-specversion');
    }
  });
});

describe('encodeEvent', () => {
  const full: CloudEvent = {
    ...attrs,
    subject: 'café "100%" ✓',
    time: '2024-05-01T12:00:00.000Z',
    dataschema: 'https://schemas.example.com/order.json',
    correlationid: 'corr 1',
    sequence: 42,
    replayed: true,
    data: { total: 12, name: 'Zoë' },
  };

  it('binary: writes percent-encoded ce- headers, Content-Type and the data as the body', () => {
    const { headers, body } = encodeEvent(full, 'binary', received);
    expect(headers).toEqual({
      'ce-specversion': '1.0',
      'ce-id': 'evt-1',
      'ce-source': '/shop/orders',
      'ce-type': 'com.acme.order.created',
      'ce-subject': 'caf%C3%A9%20%22100%25%22%20%E2%9C%93',
      'ce-time': '2024-05-01T12:00:00.000Z',
      'ce-dataschema': 'https://schemas.example.com/order.json',
      'ce-correlationid': 'corr%201',
      'ce-sequence': '42',
      'ce-replayed': 'true',
      'content-type': 'application/json',
    });
    expect(JSON.parse(body.toString())).toEqual(full.data);
    for (const value of Object.values(headers)) expect(value).toMatch(/^[\x21-\x7e]+$/);
  });

  it('binary: writes text as UTF-8, base64 data as bytes, and no data as an empty body', () => {
    const text = encodeEvent(
      { ...attrs, datacontenttype: 'text/plain; charset=utf-8', data: 'héllo' },
      'binary',
      received,
    );
    expect(text.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(text.body.toString()).toBe('héllo');
    const jsonString = encodeEvent(
      { ...attrs, datacontenttype: 'application/json', data: 'quoted' },
      'binary',
      received,
    );
    expect(jsonString.body.toString()).toBe('"quoted"');
    const bytes = encodeEvent({ ...attrs, data_base64: 'AAEC/w==' }, 'binary', received);
    expect(bytes.headers['content-type']).toBe('application/octet-stream');
    expect([...bytes.body]).toEqual([0, 1, 2, 255]);
    const none = encodeEvent(attrs, 'binary', received);
    expect(none.body.length).toBe(0);
    expect(none.headers['content-type']).toBeUndefined();
    expect(encodeEvent({ ...attrs, data: null }, 'binary', received).body.toString()).toBe('null');
  });

  it('binary output parses back to the same event', () => {
    for (const event of [
      full,
      { ...attrs, datacontenttype: 'text/plain', data: 'plain text' },
      { ...attrs, datacontenttype: 'image/png', data_base64: 'iVBORw0KGgo=' },
    ]) {
      const { headers, body } = encodeEvent(event, 'binary', received);
      const back = parseIngest(headers, body, DEFAULT_INGEST_LIMITS);
      // The implied application/json becomes explicit, as the JSON format (§3.1.2) asks. Header
      // values carry no type, so integer and boolean extensions come back as their canonical strings.
      const typed = Object.fromEntries(
        Object.entries(event).map(([name, value]) => [
          name,
          typeof value === 'number' || typeof value === 'boolean' ? String(value) : value,
        ]),
      );
      expect(back).toEqual({ mode: 'binary', events: [{ datacontenttype: 'application/json', ...typed }] });
    }
  });

  it('structured: writes the JSON event format, which parses back to the same event', () => {
    const { headers, body } = encodeEvent(full, 'structured', received);
    expect(headers).toEqual({ 'content-type': 'application/cloudevents+json; charset=utf-8' });
    expect(JSON.parse(body.toString())).toEqual(full);
    expect(parseIngest(headers, body, DEFAULT_INGEST_LIMITS).events).toEqual([full]);
  });

  it('webhook: writes {id, type, source, subject, timestamp, data}', () => {
    const { headers, body } = encodeEvent(full, 'webhook', received);
    expect(headers).toEqual({ 'content-type': 'application/json' });
    expect(body.toString()).toBe(
      JSON.stringify({
        id: 'evt-1',
        type: 'com.acme.order.created',
        source: '/shop/orders',
        subject: 'café "100%" ✓',
        timestamp: '2024-05-01T12:00:00.000Z',
        data: { total: 12, name: 'Zoë' },
      }),
    );
  });

  it('webhook: falls back to receivedAt, omits an absent subject and passes base64 data through', () => {
    const payload = JSON.parse(
      encodeEvent({ ...attrs, data_base64: 'AAEC' }, 'webhook', received).body.toString(),
    );
    expect(payload).toEqual({
      id: 'evt-1',
      type: attrs.type,
      source: attrs.source,
      timestamp: received.toISOString(),
      data: 'AAEC',
    });
    expect(JSON.parse(encodeEvent(attrs, 'webhook', received).body.toString()).data).toBeNull();
  });
});

/**
 * Interoperability with the official JavaScript SDK (cloudevents@10). Its quirks, all checked below:
 * - It neither percent-encodes nor percent-decodes ce- header values (binding §3.1.3.2), so
 *   non-ASCII values go out raw and our encoded values come back still encoded.
 * - `HTTP.binary` leaves non-string extension values (numbers, booleans) unconverted in the headers
 *   object; an HTTP client stringifies them, as the test does.
 * - A new SDK event always gets a `time` (now, if unset), normalised with `toISOString()`, so
 *   fixtures use millisecond UTC times.
 * - Its binary decoder only parses JSON for exact content types such as `application/json`, and
 *   only from a string body.
 */
describe('cloudevents SDK interoperability', () => {
  const sdkFixture = {
    ...attrs,
    subject: 'orders/42',
    time: '2024-05-01T12:00:00.000Z',
    datacontenttype: 'application/json',
    correlationid: 'corr-1',
    sequence: 5,
    data: { total: 12, items: ['a', 'b'] },
  };
  const asNodeHeaders = (headers: Record<string, unknown>): IngestHeaders =>
    Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)]));

  it('reads HTTP.binary output', () => {
    const message = HTTP.binary(new SdkEvent(sdkFixture));
    const [event] = parseIngest(
      asNodeHeaders(message.headers),
      Buffer.from(message.body as string),
      DEFAULT_INGEST_LIMITS,
    ).events;
    // Binary mode carries no types: the SDK's integer extension arrives as a string.
    expect(event).toEqual({ ...sdkFixture, sequence: '5' });
  });

  it('reads HTTP.binary output with binary data', () => {
    const bytes = new Uint8Array([0, 1, 2, 250]);
    const message = HTTP.binary(
      new SdkEvent({ ...attrs, datacontenttype: 'application/octet-stream', data: bytes }),
    );
    const [event] = parseIngest(
      asNodeHeaders(message.headers),
      Buffer.from(message.body as Uint8Array),
      DEFAULT_INGEST_LIMITS,
    ).events;
    expect(event?.data_base64).toBe(Buffer.from(bytes).toString('base64'));
  });

  it('refuses the raw non-ASCII headers HTTP.binary writes, as the binding requires', () => {
    const message = HTTP.binary(new SdkEvent({ ...sdkFixture, subject: 'café' }));
    // Node's client writes 'é' as the single latin1 byte 0xE9, which is not UTF-8.
    thrown(MalformedRequestError, () =>
      parseIngest(asNodeHeaders(message.headers), Buffer.from(message.body as string), DEFAULT_INGEST_LIMITS),
    );
  });

  it('reads HTTP.structured output, including non-ASCII values', () => {
    const message = HTTP.structured(new SdkEvent({ ...sdkFixture, subject: 'café ✓' }));
    const [event] = parseIngest(
      asNodeHeaders(message.headers),
      Buffer.from(message.body as string),
      DEFAULT_INGEST_LIMITS,
    ).events;
    expect(event).toEqual({ ...sdkFixture, subject: 'café ✓' });
  });

  const ours: CloudEvent = {
    ...attrs,
    subject: 'café "50%" ✓',
    time: '2024-05-01T12:00:00.000Z',
    datacontenttype: 'application/json',
    correlationid: 'corr-1',
    replayed: true,
    data: { total: 12, name: 'Zoë' },
  };

  it('our binary output is read by HTTP.toEvent', () => {
    const { headers, body } = encodeEvent(ours, 'binary', received);
    const sdk = HTTP.toEvent({ headers, body: body.toString() }) as SdkEvent<unknown>;
    expect(sdk).toMatchObject({
      id: 'evt-1',
      source: attrs.source,
      type: attrs.type,
      time: ours.time,
      data: ours.data,
    });
    expect(sdk.datacontenttype).toBe('application/json');
    // The SDK does not percent-decode: it hands back what was on the wire. Decoding that value
    // as the binding prescribes gives the original.
    expect(sdk.subject).toBe('caf%C3%A9%20%2250%25%22%20%E2%9C%93');
    expect(decodeURIComponent(sdk.subject ?? '')).toBe(ours.subject);
    expect(sdk.correlationid).toBe('corr-1');
    expect(sdk.replayed).toBe('true');
  });

  it('our binary output with bytes is read by HTTP.toEvent', () => {
    const event = { ...attrs, datacontenttype: 'application/octet-stream', data_base64: 'AAEC+g==' };
    const { headers, body } = encodeEvent(event, 'binary', received);
    const sdk = HTTP.toEvent({ headers, body }) as SdkEvent<unknown>;
    expect(sdk.data_base64).toBe('AAEC+g==');
  });

  it('our structured output is read by HTTP.toEvent with the same attributes and data', () => {
    const { headers, body } = encodeEvent({ ...ours, sequence: 7 }, 'structured', received);
    const sdk = HTTP.toEvent({ headers, body: body.toString() }) as SdkEvent<unknown>;
    expect(sdk).toMatchObject({ ...ours, sequence: 7 });
    const bytes = encodeEvent({ ...attrs, time: ours.time, data_base64: 'AAEC+g==' }, 'structured', received);
    expect(
      (HTTP.toEvent({ headers: bytes.headers, body: bytes.body.toString() }) as SdkEvent<unknown>)
        .data_base64,
    ).toBe('AAEC+g==');
  });
});

describe('the JSON text kept for storage', () => {
  const structured = { 'content-type': 'application/cloudevents+json' };

  it('is the request body when validation changed nothing', () => {
    const text = '{"specversion":"1.0","id":"t1","source":"/s","type":"t","data":{"a":1}}';
    const [event] = parseIngest(structured, Buffer.from(text), DEFAULT_INGEST_LIMITS).events;
    expect(eventJson(event!)).toBe(text);
  });

  it('is serialised afresh when a null attribute was dropped', () => {
    const text = '{"specversion":"1.0","id":"t2","source":"/s","type":"t","subject":null}';
    const [event] = parseIngest(structured, Buffer.from(text), DEFAULT_INGEST_LIMITS).events;
    expect(JSON.parse(eventJson(event!))).toEqual({ specversion: '1.0', id: 't2', source: '/s', type: 't' });
  });
});
