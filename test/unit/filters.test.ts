import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../src/core/event.js';
import { checkFilters, compileFilters } from '../../src/routing/filters.js';
import type { Filter } from '../../src/storage/ports.js';

function event(extra: Record<string, unknown> = {}): CloudEvent {
  return {
    specversion: '1.0',
    id: 'e-1',
    source: '/shop',
    type: 'com.acme.order.created',
    subject: 'orders/42',
    ...extra,
  };
}

const pointers = (filters: unknown) => checkFilters(filters, '/filters').map((e) => e.pointer);

describe('checkFilters', () => {
  it('accepts every supported dialect, nested', () => {
    const filters = [
      { exact: { type: 'com.acme.order.created', subject: '' } },
      { prefix: { subject: 'orders/' } },
      { suffix: { source: '/shop' } },
      {
        all: [
          { exact: { type: 'a' } },
          { any: [{ prefix: { subject: 'x' } }, { not: { exact: { id: '1' } } }] },
        ],
      },
      { not: { any: [{ suffix: { subject: '9' } }] } },
    ];
    expect(checkFilters(filters, '/filters')).toEqual([]);
    expect(checkFilters([], '/filters')).toEqual([]);
  });

  it('rejects a non-array at the given pointer', () => {
    for (const bad of [{}, 'exact', null, 3, undefined]) {
      const errors = checkFilters(bad, '/filters');
      expect(errors).toHaveLength(1);
      expect(errors[0]!.pointer).toBe('/filters');
      expect(errors[0]!.message).toMatch(/array/);
    }
  });

  it('rejects filters that are not objects', () => {
    expect(pointers(['x', null, [], 5])).toEqual(['/filters/0', '/filters/1', '/filters/2', '/filters/3']);
    expect(checkFilters(['x'], '/filters')[0]!.message).toMatch(/exact, prefix, suffix, all, any, not/);
  });

  it('rejects a filter with no dialect or more than one', () => {
    const errors = checkFilters([{}, { exact: { a: 'b' }, prefix: { a: 'b' } }], '/filters');
    expect(errors.map((e) => e.pointer)).toEqual(['/filters/0', '/filters/1']);
    expect(errors[0]!.message).toMatch(/found 0/);
    expect(errors[1]!.message).toMatch(/found 2/);
  });

  it('rejects an unknown dialect at /filters/<i>/<dialect>', () => {
    const errors = checkFilters([{ exact: { a: 'b' } }, { regex: { subject: '.*' } }], '/filters');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.pointer).toBe('/filters/1/regex');
    expect(errors[0]!.message).toMatch(/unknown filter dialect 'regex'/);
  });

  it.each(['exact', 'prefix', 'suffix'])('rejects %s values that are not a non-empty object', (dialect) => {
    for (const value of [null, 'subject', ['subject'], {}, 3]) {
      expect(pointers([{ [dialect]: value }])).toEqual([`/filters/0/${dialect}`]);
    }
  });

  it('rejects attribute names that are not lowercase alphanumeric', () => {
    const errors = checkFilters(
      [{ exact: { Subject: 'a', ok: 'b', 'data-x': 'c', ['a'.repeat(51)]: 'd' } }],
      '/filters',
    );
    expect(errors.map((e) => e.pointer)).toEqual([
      '/filters/0/exact/Subject',
      '/filters/0/exact/data-x',
      `/filters/0/exact/${'a'.repeat(51)}`,
    ]);
    expect(errors[0]!.message).toMatch(/lowercase letters and digits/);
    expect(checkFilters([{ exact: { ['a'.repeat(50)]: 'x' } }], '/filters')).toEqual([]);
  });

  it('rejects non-string attribute values', () => {
    const errors = checkFilters([{ prefix: { subject: 1, type: true, source: null } }], '/f');
    expect(errors.map((e) => e.pointer)).toEqual([
      '/f/0/prefix/subject',
      '/f/0/prefix/type',
      '/f/0/prefix/source',
    ]);
    expect(errors[0]!.message).toMatch(/prefix values must be strings/);
  });

  it('rejects empty prefix and suffix values but allows an empty exact value', () => {
    expect(
      pointers([{ prefix: { subject: '' } }, { suffix: { subject: '' } }, { exact: { subject: '' } }]),
    ).toEqual(['/filters/0/prefix/subject', '/filters/1/suffix/subject']);
  });

  it.each(['all', 'any'])('rejects %s without a non-empty array, and locates nested problems', (dialect) => {
    for (const value of [[], {}, null, 'x'])
      expect(pointers([{ [dialect]: value }])).toEqual([`/filters/0/${dialect}`]);
    expect(pointers([{ [dialect]: [{ exact: { a: 'b' } }, { nope: {} }, { prefix: { a: '' } }] }])).toEqual([
      `/filters/0/${dialect}/1/nope`,
      `/filters/0/${dialect}/2/prefix/a`,
    ]);
  });

  it('checks the filter under not, and deep nesting keeps the full pointer', () => {
    expect(pointers([{ not: 'x' }])).toEqual(['/filters/0/not']);
    expect(pointers([{ not: {} }])).toEqual(['/filters/0/not']);
    expect(pointers([{ not: { all: [{ any: [{ not: { suffix: { Subject: 'x' } } }] }] } }])).toEqual([
      '/filters/0/not/all/0/any/0/not/suffix/Subject',
    ]);
  });

  it('reports every problem across the list at once', () => {
    expect(pointers([{ bad: 1 }, { exact: { a: 1 } }, { any: [] }, { exact: { ok: 'x' } }])).toEqual([
      '/filters/0/bad',
      '/filters/1/exact/a',
      '/filters/2/any',
    ]);
  });

  it('escapes "/" and "~" in the pointer as RFC 6901 requires', () => {
    // FieldError.pointer is documented as an RFC 6901 JSON pointer: a member name containing "/" must
    // appear as "~1" and "~" as "~0", or the pointer names a different location.
    expect(pointers([{ exact: { 'a/b': 'x' } }])).toEqual(['/filters/0/exact/a~1b']);
    expect(pointers([{ 'x~y': {} }])).toEqual(['/filters/0/x~0y']);
  });
});

describe('compileFilters', () => {
  const matches = (filters: Filter[], e: CloudEvent) => compileFilters(filters)(e);

  it('an empty filter list matches every event', () => {
    expect(matches([], event())).toBe(true);
    expect(matches([], event({ subject: undefined }))).toBe(true);
  });

  it('exact compares the whole string, for every listed attribute', () => {
    expect(matches([{ exact: { subject: 'orders/42' } }], event())).toBe(true);
    expect(matches([{ exact: { subject: 'orders/4' } }], event())).toBe(false);
    expect(matches([{ exact: { subject: 'ORDERS/42' } }], event())).toBe(false);
    expect(matches([{ exact: { subject: 'orders/42', source: '/shop' } }], event())).toBe(true);
    expect(matches([{ exact: { subject: 'orders/42', source: '/other' } }], event())).toBe(false);
  });

  it('an empty exact value matches only an empty attribute, not a missing one', () => {
    expect(matches([{ exact: { subject: '' } }], event({ subject: '' }))).toBe(true);
    expect(matches([{ exact: { subject: '' } }], event({ subject: undefined }))).toBe(false);
  });

  it('prefix and suffix', () => {
    expect(matches([{ prefix: { subject: 'orders/' } }], event())).toBe(true);
    expect(matches([{ prefix: { subject: 'customers/' } }], event())).toBe(false);
    expect(matches([{ prefix: { type: 'com.acme.' } }], event())).toBe(true);
    expect(matches([{ suffix: { type: '.created' } }], event())).toBe(true);
    expect(matches([{ suffix: { type: '.updated' } }], event())).toBe(false);
    expect(matches([{ suffix: { subject: 'orders/42' } }], event())).toBe(true);
  });

  it('a missing attribute never matches exact, prefix or suffix', () => {
    const e = event();
    for (const dialect of ['exact', 'prefix', 'suffix']) {
      expect(matches([{ [dialect]: { partitionkey: 'a' } }], e)).toBe(false);
    }
    // ... so "not" of it matches.
    expect(matches([{ not: { exact: { partitionkey: 'a' } } }], e)).toBe(true);
  });

  it('compares boolean and integer extension values by their string form', () => {
    const e = event({ sequence: 42, urgent: true, archived: false, count: 0 });
    expect(matches([{ exact: { sequence: '42' } }], e)).toBe(true);
    expect(matches([{ exact: { sequence: '042' } }], e)).toBe(false);
    expect(matches([{ prefix: { sequence: '4' } }], e)).toBe(true);
    expect(matches([{ suffix: { sequence: '2' } }], e)).toBe(true);
    expect(matches([{ exact: { urgent: 'true' } }], e)).toBe(true);
    expect(matches([{ exact: { urgent: 'false' } }], e)).toBe(false);
    expect(matches([{ exact: { archived: 'false' } }], e)).toBe(true);
    expect(matches([{ exact: { count: '0' } }], e)).toBe(true);
    expect(matches([{ exact: { sequence: '-42' } }], event({ sequence: -42 }))).toBe(true);
  });

  it('objects and other non-scalar values never match', () => {
    const e = event({ data: { a: 1 }, nested: { x: 'y' }, nil: null });
    expect(matches([{ exact: { data: '[object Object]' } }], e)).toBe(false);
    expect(matches([{ exact: { nested: '[object Object]' } }], e)).toBe(false);
    expect(matches([{ exact: { nil: 'null' } }], e)).toBe(false);
  });

  it('all matches when every member matches', () => {
    const f: Filter[] = [{ all: [{ prefix: { subject: 'orders/' } }, { suffix: { type: '.created' } }] }];
    expect(matches(f, event())).toBe(true);
    expect(matches(f, event({ type: 'com.acme.order.updated' }))).toBe(false);
  });

  it('any matches when one member matches', () => {
    const f: Filter[] = [{ any: [{ exact: { subject: 'orders/1' } }, { exact: { subject: 'orders/42' } }] }];
    expect(matches(f, event())).toBe(true);
    expect(matches(f, event({ subject: 'orders/7' }))).toBe(false);
  });

  it('not inverts its filter', () => {
    expect(matches([{ not: { prefix: { subject: 'orders/' } } }], event())).toBe(false);
    expect(matches([{ not: { prefix: { subject: 'customers/' } } }], event())).toBe(true);
    expect(matches([{ not: { not: { exact: { subject: 'orders/42' } } } }], event())).toBe(true);
  });

  it('nests all, any and not', () => {
    const f: Filter[] = [
      {
        all: [
          { prefix: { type: 'com.acme.' } },
          { any: [{ exact: { dataregion: 'eu' } }, { not: { exact: { urgent: 'false' } } }] },
        ],
      },
    ];
    expect(matches(f, event({ dataregion: 'eu', urgent: false }))).toBe(true);
    expect(matches(f, event({ dataregion: 'us', urgent: true }))).toBe(true);
    expect(matches(f, event({ dataregion: 'us', urgent: false }))).toBe(false);
    // A missing urgent fails the exact, so its not matches.
    expect(matches(f, event({ dataregion: 'us' }))).toBe(true);
    expect(matches(f, event({ type: 'org.other.x', dataregion: 'eu' }))).toBe(false);
  });

  it('a list of filters matches only when every filter matches', () => {
    const f: Filter[] = [{ prefix: { subject: 'orders/' } }, { exact: { dataregion: 'eu' } }];
    expect(matches(f, event({ dataregion: 'eu' }))).toBe(true);
    expect(matches(f, event({ dataregion: 'us' }))).toBe(false);
    expect(matches(f, event({ subject: 'x', dataregion: 'eu' }))).toBe(false);
  });

  it('refuses to compile a dialect that was never checked', () => {
    expect(() => compileFilters([{ regex: { subject: '.*' } }])).toThrow(/regex/);
  });
});

describe('the sql dialect (CESQL)', () => {
  const event = {
    specversion: '1.0',
    id: '1',
    source: '/shop',
    type: 'order',
    subject: 'orders/eu/1',
    total: '120',
  } as const;

  it('matches when the expression is true, and not on false or an evaluation error', () => {
    expect(compileFilters([{ sql: "subject LIKE 'orders/eu/%' AND int(total) > 100" }])(event)).toBe(true);
    expect(compileFilters([{ cesql: 'int(total) > 500' }])(event)).toBe(false);
    // A missing attribute is an evaluation error: no match.
    expect(compileFilters([{ sql: "region = 'eu'" }])(event)).toBe(false);
    expect(compileFilters([{ sql: 'int(subject) = 0' }])(event)).toBe(false);
  });

  it('refuses an expression that does not parse or calls an unknown function, with the character', () => {
    expect(checkFilters([{ sql: 'subject = ' }], '/filters')).toEqual([
      { pointer: '/filters/0/sql', message: expect.stringMatching(/does not parse at character \d+/) },
    ]);
    expect(checkFilters([{ sql: 'NOPE(subject)' }], '/filters')).toEqual([
      { pointer: '/filters/0/sql', message: expect.stringMatching(/unknown function at character 0/) },
    ]);
    expect(checkFilters([{ sql: 42 }], '/filters')[0]?.pointer).toBe('/filters/0/sql');
  });
});
