import { describe, expect, it } from 'vitest';
import { MAX_ATTRIBUTE_NAME_LENGTH, validateEvent } from '../../src/core/envelope.js';

const base = { specversion: '1.0', id: 'evt-1', source: '/shop/orders', type: 'com.acme.order.created' };

/** The errors for `base` with `patch` applied; undefined values in `patch` remove the attribute. */
function errorsFor(patch: Record<string, unknown>, pointer = '') {
  const raw: Record<string, unknown> = { ...base, ...patch };
  for (const [name, value] of Object.entries(patch)) if (value === undefined) delete raw[name];
  return validateEvent(raw, pointer).errors;
}

function pointersFor(patch: Record<string, unknown>): string[] {
  return errorsFor(patch).map((error) => error.pointer);
}

describe('validateEvent', () => {
  it('accepts a minimal event and returns it', () => {
    const result = validateEvent(base, '');
    expect(result.errors).toEqual([]);
    expect(result.event).toEqual(base);
  });

  it('accepts every optional attribute, extensions and JSON data', () => {
    const event = {
      ...base,
      datacontenttype: 'application/json',
      dataschema: 'https://schemas.example.com/order.json',
      subject: 'orders/42',
      time: '2024-05-01T12:00:00Z',
      correlationid: 'c-1',
      sequence: 7,
      replayed: false,
      data: { total: 12.5, items: [1, 2] },
    };
    expect(validateEvent(event, '')).toEqual({ event, errors: [] });
  });

  it('rejects anything but a JSON object at the event pointer', () => {
    for (const raw of [null, [], 'event', 42, undefined]) {
      const result = validateEvent(raw, '/2');
      expect(result.event).toBeUndefined();
      expect(result.errors).toEqual([{ pointer: '/2', message: expect.stringContaining('JSON object') }]);
    }
  });

  it('reports every missing required attribute at once', () => {
    const { errors } = validateEvent({}, '');
    expect(errors.map((error) => error.pointer)).toEqual(['/specversion', '/id', '/source', '/type']);
    expect(errors[0]?.message).toBe('`specversion` is required: set it to "1.0"');
  });

  it('collects problems in several attributes instead of stopping at the first', () => {
    const { errors } = validateEvent({ specversion: '0.3', id: '', source: 'a b', type: 5, time: 'now' }, '');
    expect(errors.map((error) => error.pointer)).toEqual([
      '/specversion',
      '/id',
      '/source',
      '/type',
      '/time',
    ]);
  });

  it('prefixes pointers with the batch index', () => {
    expect(errorsFor({ id: '' }, '/3')).toEqual([{ pointer: '/3/id', message: expect.any(String) }]);
  });

  it('treats null attributes as unset and keeps a null data payload', () => {
    const result = validateEvent({ ...base, subject: null, time: null, traceparent: null, data: null }, '');
    expect(result.errors).toEqual([]);
    expect(result.event).toEqual({ ...base, data: null });
    expect(result.event && 'subject' in result.event).toBe(false);
    expect(pointersFor({ id: null })).toEqual(['/id']);
  });

  it('takes traceparent and tracestate as ordinary extensions, whatever their shape', () => {
    // The dispatcher forwards them as HTTP headers only when they match W3C Trace Context; an odd
    // value from a producer must not cost the event.
    for (const [traceparent, tracestate] of [
      ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'congo=t61rcWkgMzE'],
      ['not a traceparent', 'vendor=café'],
      ['00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01', 'x'.repeat(600)],
      ['€', ''],
    ]) {
      const result = validateEvent({ ...base, traceparent, tracestate }, '');
      expect(result.errors, String(traceparent)).toEqual([]);
      expect(result.event).toMatchObject({ traceparent, tracestate });
    }
  });

  it('requires specversion to be exactly "1.0"', () => {
    for (const specversion of ['0.3', '1', '1.0.2', 1.0, 1]) {
      expect(errorsFor({ specversion })).toEqual([
        {
          pointer: '/specversion',
          message: '`specversion` must be "1.0", the CloudEvents version this hub accepts',
        },
      ]);
    }
  });

  it('requires id and type to be non-empty strings', () => {
    expect(pointersFor({ id: '' })).toEqual(['/id']);
    expect(pointersFor({ id: 42 })).toEqual(['/id']);
    expect(pointersFor({ type: '' })).toEqual(['/type']);
    expect(errorsFor({ type: '' })[0]?.message).toContain('com.acme.order.created');
  });

  it('accepts source URI-references of every RFC 3986 shape', () => {
    for (const source of [
      '/orders',
      'orders/eu',
      'https://shop.example.com/orders?region=eu#top',
      'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66',
      'mailto:ops@example.com',
      '//cdn.example.com/path',
      'http://user:pw@[::1]:8080/x',
      'http://[v1.fe80::a+en1]/',
      'a%20b',
      '.',
      '?q=1',
      '#frag',
      'tag:acme.com,2024:orders',
    ]) {
      expect(errorsFor({ source }), source).toEqual([]);
    }
  });

  it('rejects sources that break RFC 3986', () => {
    for (const source of [
      '',
      'has space',
      'bad%zzescape',
      'trailing%4',
      'tab\there',
      'line\nbreak',
      'café',
      '1abc:foo',
      'http://exa mple.com/',
      'http://[::1/x',
      'http://[fe80::1%eth0]/',
      'http://host:80a/',
      'http://a@b@c/',
      'back\\slash',
      'a<b>',
      'x#frag#again',
      42,
    ]) {
      expect(pointersFor({ source }), String(source)).toEqual(['/source']);
    }
    expect(errorsFor({ source: 'a b' })[0]?.message).toContain('URI-reference (RFC 3986)');
  });

  it('checks datacontenttype against the media type grammar', () => {
    for (const datacontenttype of [
      'application/json',
      'text/plain; charset=utf-8',
      'text/plain;charset="utf-8"',
      'application/vnd.acme.order+json; version=2',
      'text/plain;',
      'TEXT/Plain',
    ]) {
      expect(errorsFor({ datacontenttype, data: 'x' }), datacontenttype).toEqual([]);
    }
    for (const datacontenttype of [
      'json',
      'text/',
      '/plain',
      'text/plain; charset',
      'a b/c',
      'text/plain; x="open',
      'text/plain x=1',
      '',
    ]) {
      expect(pointersFor({ datacontenttype }), datacontenttype).toEqual(['/datacontenttype']);
    }
  });

  it('requires dataschema to be an absolute URI', () => {
    expect(errorsFor({ dataschema: 'https://schemas.example.com/order.json#/defs/v2' })).toEqual([]);
    expect(errorsFor({ dataschema: 'urn:acme:schema:order' })).toEqual([]);
    for (const dataschema of ['/schemas/order.json', 'order.json', 'https://exa mple.com', '']) {
      expect(pointersFor({ dataschema }), dataschema).toEqual(['/dataschema']);
    }
  });

  it('requires subject, when present, to be a non-empty string', () => {
    expect(errorsFor({ subject: 'orders/42' })).toEqual([]);
    expect(pointersFor({ subject: '' })).toEqual(['/subject']);
    expect(pointersFor({ subject: 42 })).toEqual(['/subject']);
  });

  it('accepts RFC 3339 timestamps', () => {
    for (const time of [
      '2024-05-01T12:00:00Z',
      '2024-05-01t12:00:00.123456z',
      '2024-02-29T00:00:00+05:30',
      '2000-02-29T23:59:59-12:00',
      '2024-12-31T23:59:59.9+14:00',
      '2016-12-31T23:59:60Z',
      '2017-01-01T00:59:60+01:00',
    ]) {
      expect(errorsFor({ time }), time).toEqual([]);
    }
  });

  it('rejects timestamps outside RFC 3339, with a message showing the expected form', () => {
    for (const time of [
      '2024-13-01T00:00:00Z',
      '2024-00-10T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2024-04-31T00:00:00Z',
      '2024-05-00T00:00:00Z',
      '2024-05-01T24:00:00Z',
      '2024-05-01T12:60:00Z',
      '2024-05-01T12:30:60Z',
      '2024-05-01T12:00:00+24:00',
      '2024-05-01T12:00:00+05:60',
      '2024-05-01T12:00:00+0530',
      '2024-05-01 12:00:00Z',
      '2024-05-01T12:00:00',
      '2024-05-01T12:00Z',
      '2024-05-01',
      '2024-05-01T12:00:00.Z',
      '24-05-01T12:00:00Z',
      ' 2024-05-01T12:00:00Z',
      1714564800,
    ]) {
      expect(pointersFor({ time }), String(time)).toEqual(['/time']);
    }
    expect(errorsFor({ time: 'yesterday' })[0]?.message).toBe(
      '`time` must be an RFC 3339 timestamp such as 2024-05-01T12:00:00Z or 2024-05-01T14:00:00.5+02:00',
    );
  });

  it('requires lowercase alphanumeric attribute names, escaping the pointer', () => {
    expect(pointersFor({ Foo: 'x', foo_bar: 'x', 'a-b': 'x', 'a/b~c': 'x', '': 'x' })).toEqual([
      '/Foo',
      '/foo_bar',
      '/a-b',
      '/a~1b~0c',
      '/',
    ]);
    expect(errorsFor({ fooBar: 1 })[0]?.message).toBe(
      'attribute names may only use lowercase letters a-z and digits 0-9; rename "fooBar"',
    );
  });

  it('accepts names past the recommended 20 characters up to the hard ceiling', () => {
    expect(errorsFor({ ['a'.repeat(21)]: 'x' })).toEqual([]);
    expect(errorsFor({ ['b'.repeat(MAX_ATTRIBUTE_NAME_LENGTH)]: 'x' })).toEqual([]);
    expect(pointersFor({ ['c'.repeat(MAX_ATTRIBUTE_NAME_LENGTH + 1)]: 'x' })).toHaveLength(1);
  });

  it('accepts string, boolean and int32 extension values', () => {
    for (const value of ['', 'text', true, false, 0, -2147483648, 2147483647, 1e3]) {
      expect(errorsFor({ ext: value }), String(value)).toEqual([]);
    }
  });

  it('rejects other extension values, saying which types are allowed', () => {
    for (const value of [1.5, 2147483648, -2147483649, Number.MAX_SAFE_INTEGER, {}, [], { a: 1 }]) {
      expect(pointersFor({ ext: value }), JSON.stringify(value)).toEqual(['/ext']);
    }
    expect(errorsFor({ ext: 1.5 })[0]?.message).toContain('must be a string, a boolean or an integer');
    expect(errorsFor({ ext: 2 ** 31 })[0]?.message).toContain('-2147483648..2147483647');
  });

  it("rejects characters the spec's String type forbids", () => {
    expect(errorsFor({ subject: 'café ✓ 😀', id: 'ünïcode' })).toEqual([]);
    for (const value of [
      'a\nb',
      'nul\u0000',
      'del\u007f',
      'c1\u0085',
      'lone\ud800',
      'lone\udc00x',
      'non\ufffe',
      'non\ufdd0',
      'non\u{1ffff}',
    ]) {
      expect(pointersFor({ subject: value }), JSON.stringify(value)).toEqual(['/subject']);
      expect(pointersFor({ ext: value }), JSON.stringify(value)).toEqual(['/ext']);
    }
    expect(errorsFor({ id: 'a\tb' })[0]?.message).toContain('remove U+0009 at index 1');
  });

  it('accepts data_base64 in standard padded base64', () => {
    for (const data_base64 of ['', 'YWJj', 'YWI=', 'YQ==', 'AP+/']) {
      expect(errorsFor({ data_base64 }), data_base64).toEqual([]);
    }
  });

  it('rejects data_base64 that is not standard base64', () => {
    for (const data_base64 of ['abc', 'YQ', 'ab=c', 'YW Jj', 'YWJj\n', 'YW-_', '====', 42]) {
      expect(pointersFor({ data_base64 }), String(data_base64)).toEqual(['/data_base64']);
    }
  });

  it('rejects data and data_base64 together', () => {
    const errors = errorsFor({ data: { a: 1 }, data_base64: 'YWJj' });
    expect(errors).toEqual([
      { pointer: '/data_base64', message: expect.stringContaining('mutually exclusive') },
    ]);
    expect(errorsFor({ data: null, data_base64: 'YWJj' })).toHaveLength(1);
    expect(errorsFor({ data: { a: 1 }, data_base64: null })).toEqual([]);
  });

  it('requires string data under a non-JSON datacontenttype', () => {
    expect(errorsFor({ datacontenttype: 'text/plain', data: 'hello' })).toEqual([]);
    expect(errorsFor({ datacontenttype: 'application/json', data: 'a JSON string' })).toEqual([]);
    expect(errorsFor({ datacontenttype: 'text/json', data: [1] })).toEqual([]);
    expect(errorsFor({ data: { implied: 'application/json' } })).toEqual([]);
    expect(pointersFor({ datacontenttype: 'text/plain', data: { a: 1 } })).toEqual(['/data']);
    expect(pointersFor({ datacontenttype: 'application/xml', data: 5 })).toEqual(['/data']);
  });

  it('treats undefined members from JS callers as absent', () => {
    expect(
      validateEvent({ ...base, subject: undefined, data: undefined, data_base64: 'YWJj' }, '').event,
    ).toEqual({
      ...base,
      data_base64: 'YWJj',
    });
  });

  it('returns a copy that does not share the input object', () => {
    const raw = { ...base };
    const result = validateEvent(raw, '');
    expect(result.event).not.toBe(raw);
  });
});
