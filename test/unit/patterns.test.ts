import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../src/core/event.js';
import { checkFilters, compileFilters } from '../../src/routing/filters.js';
import { checkPattern, compilePattern } from '../../src/routing/patterns.js';
import { compileWildcard } from '../../src/routing/patterns-match.js';

function event(extra: Record<string, unknown> = {}): CloudEvent {
  return {
    specversion: '1.0',
    id: 'e-1',
    source: '/shop',
    type: 'com.acme.order.paid',
    subject: 'orders/42/paid',
    ...extra,
  };
}

/** A pattern over one data field `f`, and an event whose `data.f` is the value (omitted when undefined). */
const onField = (alternatives: unknown[]) => ({ data: { f: alternatives } });
const withField = (value: unknown) => event({ data: value === undefined ? {} : { f: value } });

type Case = [string, unknown[], unknown, boolean];

/** Runs a table of [name, alternatives, value of data.f, expected]; checks each pattern is valid first. */
function table(name: string, cases: Case[]): void {
  describe(name, () => {
    it.each(cases)('%s', (_title, alternatives, value, expected) => {
      const pattern = onField(alternatives);
      expect(checkPattern(pattern, '/pattern')).toEqual([]);
      expect(compilePattern(pattern)(withField(value))).toBe(expected);
    });
  });
}

table('literals', [
  ['string equal', ['paid'], 'paid', true],
  ['string differs', ['paid'], 'Paid', false],
  ['empty string matches only empty', [''], '', true],
  ['empty string is not null', [''], null, false],
  ['null matches null', [null], null, true],
  ['null does not match a missing field', [null], undefined, false],
  ['number equal', [100], 100, true],
  ['numbers compare numerically', [100], 100.0, true],
  ['number does not match numeric string', [100], '100', false],
  ['numeric string does not match number', ['100'], 100, false],
  ['boolean', [true], true, true],
  ['boolean is not its string', [true], 'true', false],
  ['any alternative', ['a', 'b', 3], 3, true],
  ['array in event, one element matches', ['b'], ['a', 'b'], true],
  ['array in event, none matches', ['c'], ['a', 'b'], false],
  ['nested arrays flatten', ['c'], [['a'], ['b', ['c']]], true],
  ['object value is not a leaf', ['a'], { a: 'a' }, false],
  ['missing field', ['a'], undefined, false],
]);

table('prefix', [
  ['starts with', [{ prefix: 'ord' }], 'orders', true],
  ['whole string', [{ prefix: 'orders' }], 'orders', true],
  ['does not start with', [{ prefix: 'ord' }], 'word', false],
  ['case-sensitive', [{ prefix: 'Ord' }], 'orders', false],
  ['ignore case', [{ prefix: { 'equals-ignore-case': 'ORD' } }], 'orders', true],
  ['ignore case, no match', [{ prefix: { 'equals-ignore-case': 'x' } }], 'orders', false],
  ['numbers are not strings', [{ prefix: '1' }], 12, false],
  ['array in event', [{ prefix: 'b' }], ['abc', 'bcd'], true],
  ['missing field', [{ prefix: 'a' }], undefined, false],
  ['null', [{ prefix: 'n' }], null, false],
]);

table('suffix', [
  ['ends with', [{ suffix: '.png' }], 'cat.png', true],
  ['does not end with', [{ suffix: '.png' }], 'cat.jpg', false],
  ['case-sensitive', [{ suffix: '.PNG' }], 'cat.png', false],
  ['ignore case', [{ suffix: { 'equals-ignore-case': '.PNG' } }], 'cat.png', true],
  ['longer than the value', [{ suffix: 'xcat.png' }], 'cat.png', false],
  ['numbers are not strings', [{ suffix: '0' }], 10, false],
  ['array in event', [{ suffix: 'z' }], ['a', 'yz'], true],
  ['missing field', [{ suffix: 'a' }], undefined, false],
  ['or with a literal', [{ suffix: '.png' }, 'readme'], 'readme', true],
]);

table('equals-ignore-case', [
  ['same case', [{ 'equals-ignore-case': 'paid' }], 'paid', true],
  ['other case', [{ 'equals-ignore-case': 'paid' }], 'PaId', true],
  ['pattern upper case', [{ 'equals-ignore-case': 'PAID' }], 'paid', true],
  ['different text', [{ 'equals-ignore-case': 'paid' }], 'paid!', false],
  ['non-ASCII', [{ 'equals-ignore-case': 'ÉTÉ' }], 'été', true],
  ['empty', [{ 'equals-ignore-case': '' }], '', true],
  ['numbers are not strings', [{ 'equals-ignore-case': '1' }], 1, false],
  ['array in event', [{ 'equals-ignore-case': 'b' }], ['a', 'B'], true],
  ['missing field', [{ 'equals-ignore-case': 'a' }], undefined, false],
]);

table('wildcard', [
  ['star in the middle', [{ wildcard: 'orders/*/paid' }], 'orders/42/paid', true],
  ['star matches empty', [{ wildcard: 'orders/*/paid' }], 'orders//paid', true],
  ['star spans slashes', [{ wildcard: 'orders/*/paid' }], 'orders/a/b/paid', true],
  ['no match', [{ wildcard: 'orders/*/paid' }], 'orders/42/shipped', false],
  ['no star is exact', [{ wildcard: 'abc' }], 'abc', true],
  ['no star, different', [{ wildcard: 'abc' }], 'abcd', false],
  ['lone star matches any string', [{ wildcard: '*' }], '', true],
  ['lone star does not match numbers', [{ wildcard: '*' }], 5, false],
  ['escaped star is literal', [{ wildcard: 'a\\*b' }], 'a*b', true],
  ['escaped star does not glob', [{ wildcard: 'a\\*b' }], 'axb', false],
  ['escaped backslash', [{ wildcard: 'a\\\\*' }], 'a\\xyz', true],
  ['prefix and suffix overlap not allowed', [{ wildcard: 'ab*ba' }], 'aba', false],
  ['several stars in order', [{ wildcard: '*a*b*c*' }], 'xxaxxbxxcxx', true],
  ['several stars out of order', [{ wildcard: '*a*b*c*' }], 'cba', false],
  ['repeated parts', [{ wildcard: '*aab*' }], 'aaab', true],
  ['array in event', [{ wildcard: 'x*' }], ['a', 'xy'], true],
  ['missing field', [{ wildcard: '*' }], undefined, false],
]);

table('numeric', [
  ['greater than', [{ numeric: ['>', 100] }], 100.5, true],
  ['greater than, at the bound', [{ numeric: ['>', 100] }], 100, false],
  ['at least, at the bound', [{ numeric: ['>=', 100] }], 100, true],
  ['less than', [{ numeric: ['<', 0] }], -1, true],
  ['at most, above', [{ numeric: ['<=', 0] }], 0.001, false],
  ['equals', [{ numeric: ['=', 3] }], 3.0, true],
  ['equals, zero and negative zero', [{ numeric: ['=', 0] }], -0, true],
  ['range inside', [{ numeric: ['>', 0, '<=', 100] }], 100, true],
  ['range, low bound excluded', [{ numeric: ['>', 0, '<=', 100] }], 0, false],
  ['range above', [{ numeric: ['>', 0, '<=', 100] }], 101, false],
  ['numeric strings do not count', [{ numeric: ['>', 0] }], '5', false],
  ['booleans do not count', [{ numeric: ['>', 0] }], true, false],
  ['array in event, one in range', [{ numeric: ['>', 10] }], [1, 20], true],
  ['array in event, none in range', [{ numeric: ['>', 10] }], [1, 2], false],
  ['large and fractional', [{ numeric: ['>=', 1e15, '<', 1e16] }], 5.5e15, true],
  ['missing field', [{ numeric: ['>', 0] }], undefined, false],
]);

table('exists', [
  ['true on a string', [{ exists: true }], 'x', true],
  ['true on null', [{ exists: true }], null, true],
  ['true on an object', [{ exists: true }], { a: 1 }, true],
  ['true on a missing field', [{ exists: true }], undefined, false],
  ['true on an empty array', [{ exists: true }], [], false],
  ['false on a missing field', [{ exists: false }], undefined, true],
  ['false on an empty array', [{ exists: false }], [], true],
  ['false on an empty string', [{ exists: false }], '', false],
  ['false on false', [{ exists: false }], false, false],
  ['false or a literal', [{ exists: false }, 'x'], 'x', true],
]);

table('anything-but', [
  ['one string, other value', [{ 'anything-but': 'init' }], 'done', true],
  ['one string, that value', [{ 'anything-but': 'init' }], 'init', false],
  ['one number', [{ 'anything-but': 5 }], 5, false],
  ['a number is not a string', [{ 'anything-but': '5' }], 5, true],
  ['list', [{ 'anything-but': ['a', 'b'] }], 'b', false],
  ['list, other', [{ 'anything-but': ['a', 'b'] }], 'c', true],
  ['null is anything but a string', [{ 'anything-but': 'a' }], null, true],
  ['missing field never matches', [{ 'anything-but': 'a' }], undefined, false],
  ['objects are not leaf values', [{ 'anything-but': 'a' }], { b: 1 }, false],
  ['array: any element not listed', [{ 'anything-but': 'a' }], ['a', 'b'], true],
  ['array: every element listed', [{ 'anything-but': ['a', 'b'] }], ['a', 'b'], false],
  ['prefix', [{ 'anything-but': { prefix: 'us-' } }], 'eu-west-1', true],
  ['prefix, excluded', [{ 'anything-but': { prefix: 'us-' } }], 'us-east-1', false],
  ['prefix, numbers never match', [{ 'anything-but': { prefix: 'us-' } }], 7, false],
  ['suffix', [{ 'anything-but': { suffix: '.png' } }], 'a.png', false],
  ['equals-ignore-case', [{ 'anything-but': { 'equals-ignore-case': 'INIT' } }], 'init', false],
  ['equals-ignore-case list', [{ 'anything-but': { 'equals-ignore-case': ['a', 'B'] } }], 'b', false],
  ['equals-ignore-case, other', [{ 'anything-but': { 'equals-ignore-case': ['a'] } }], 'c', true],
  ['wildcard', [{ 'anything-but': { wildcard: '*/lib/*' } }], 'src/lib/x.ts', false],
  ['wildcard, other', [{ 'anything-but': { wildcard: '*/lib/*' } }], 'src/app.ts', true],
]);

describe('fields, nesting and $or', () => {
  const cases: [string, Record<string, unknown>, CloudEvent, boolean][] = [
    ['attribute', { type: ['com.acme.order.paid'] }, event(), true],
    ['attribute, other value', { type: ['com.acme.order.created'] }, event(), false],
    ['missing attribute', { region: ['eu'] }, event(), false],
    ['missing attribute, exists false', { region: [{ exists: false }] }, event(), true],
    ['extension attribute', { region: ['eu'] }, event({ region: 'eu' }), true],
    ['all fields must match', { type: ['com.acme.order.paid'], source: ['/other'] }, event(), false],
    ['nested data', { data: { order: { total: [100] } } }, event({ data: { order: { total: 100 } } }), true],
    ['nested data, missing level', { data: { order: { total: [100] } } }, event({ data: {} }), false],
    [
      'nested data, missing level and exists false',
      { data: { order: { total: [{ exists: false }] } } },
      event({ data: { order: 5 } }),
      true,
    ],
    [
      'array of objects, one element has both fields',
      { data: { items: { sku: ['a'], qty: [2] } } },
      event({
        data: {
          items: [
            { sku: 'a', qty: 1 },
            { sku: 'a', qty: 2 },
          ],
        },
      }),
      true,
    ],
    [
      'array of objects, fields on different elements',
      { data: { items: { sku: ['a'], qty: [2] } } },
      event({
        data: {
          items: [
            { sku: 'a', qty: 1 },
            { sku: 'b', qty: 2 },
          ],
        },
      }),
      false,
    ],
    ['data itself as a leaf', { data: [42] }, event({ data: 42 }), true],
    ['JSON string data', { data: ['hi'] }, event({ data: 'hi', datacontenttype: 'application/json' }), true],
    ['text data is not JSON', { data: ['hi'] }, event({ data: 'hi', datacontenttype: 'text/plain' }), false],
    [
      'text data: exists false',
      { data: [{ exists: false }] },
      event({ data: 'hi', datacontenttype: 'text/plain' }),
      true,
    ],
    ['binary data has no fields', { data: { a: [{ exists: true }] } }, event({ data_base64: 'AAAA' }), false],
    ['binary data: exists false', { data: { a: [{ exists: false }] } }, event({ data_base64: 'AAAA' }), true],
    [
      'prototype names are not fields',
      { data: { constructor: [{ exists: true }] } },
      event({ data: {} }),
      false,
    ],
    [
      '$or at the top, first branch',
      { $or: [{ type: ['com.acme.order.paid'] }, { source: ['/x'] }] },
      event(),
      true,
    ],
    ['$or at the top, second branch', { $or: [{ type: ['x'] }, { source: ['/shop'] }] }, event(), true],
    ['$or at the top, no branch', { $or: [{ type: ['x'] }, { source: ['/x'] }] }, event(), false],
    [
      '$or with a sibling field',
      { source: ['/other'], $or: [{ type: ['com.acme.order.paid'] }, { subject: ['x'] }] },
      event(),
      false,
    ],
    [
      '$or nested in data',
      { data: { $or: [{ total: [{ numeric: ['>', 100] }] }, { vip: [true] }] } },
      event({ data: { total: 5, vip: true } }),
      true,
    ],
    [
      '$or nested in data, no branch',
      { data: { $or: [{ total: [{ numeric: ['>', 100] }] }, { vip: [true] }] } },
      event({ data: { total: 5, vip: false } }),
      false,
    ],
    [
      '$or inside $or',
      { $or: [{ type: ['x'] }, { $or: [{ source: ['/y'] }, { data: { a: [1] } }] }] },
      event({ data: { a: 1 } }),
      true,
    ],
  ];
  it.each(cases)('%s', (_title, pattern, e, expected) => {
    expect(checkPattern(pattern, '/pattern')).toEqual([]);
    expect(compilePattern(pattern)(e)).toBe(expected);
  });

  it('routes data.total > 100 through the filters API', () => {
    const filters = [{ pattern: { data: { total: [{ numeric: ['>', 100] }] } } }];
    expect(checkFilters(filters, '/filters')).toEqual([]);
    const matches = compileFilters(filters);
    expect(matches(event({ data: { total: 150 } }))).toBe(true);
    expect(matches(event({ data: { total: 50 } }))).toBe(false);
  });

  it('reports pattern problems under the filter pointer', () => {
    const errors = checkFilters([{ pattern: { data: { total: [{ numeric: ['>'] }] } } }], '/filters');
    expect(errors.map((e) => e.pointer)).toEqual(['/filters/0/pattern/data/total/0/numeric']);
  });

  it('never throws, even on an event whose getter throws', () => {
    const hostile = event();
    Object.defineProperty(hostile, 'subject', {
      get() {
        throw new Error('boom');
      },
    });
    expect(compilePattern({ subject: ['x'] })(hostile)).toBe(false);
  });
});

const deep = (levels: number): Record<string, unknown> => {
  let pattern: Record<string, unknown> = { leaf: [1] };
  for (let i = 1; i < levels; i++) pattern = { n: pattern };
  return { data: pattern };
};

describe('checkPattern refuses bad patterns', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['not an object', ['x'], '/p', /object of field names/],
    ['null', null, '/p', /object of field names/],
    ['empty pattern', {}, '/p', /empty pattern matches everything/],
    ['empty nested pattern', { data: {} }, '/p/data', /empty pattern/],
    ['bare value', { type: 'x' }, '/p/type', /array of alternatives/],
    ['empty alternatives', { data: { total: [] } }, '/p/data/total', /at least one alternative/],
    ['bad attribute name', { Type: ['x'] }, '/p/Type', /lowercase letters and digits/],
    ['nested attribute', { source: { a: ['x'] } }, '/p/source', /no nested fields/],
    ['unknown operator key', { $and: [] }, '/p/$and', /only operator is \$or/],
    ['$or not an array', { $or: { type: ['x'] } }, '/p/$or', /non-empty array of patterns/],
    ['$or empty', { $or: [] }, '/p/$or', /non-empty array/],
    ['$or branch not an object', { $or: [{ type: ['x'] }, 'y'] }, '/p/$or/1', /object of field names/],
    ['nested array alternative', { data: { a: [['x']] } }, '/p/data/a/0', /one matcher object/],
    ['two operators in a matcher', { data: { a: [{ prefix: 'a', suffix: 'b' }] } }, '/p/data/a/0', /found 2/],
    ['unknown matcher', { data: { a: [{ contains: 'a' }] } }, '/p/data/a/0/contains', /unknown matcher/],
    ['prefix not a string', { data: { a: [{ prefix: 1 }] } }, '/p/data/a/0/prefix', /takes a string/],
    ['empty prefix', { data: { a: [{ prefix: '' }] } }, '/p/data/a/0/prefix', /exists/],
    [
      'empty ignore-case suffix',
      { data: { a: [{ suffix: { 'equals-ignore-case': '' } }] } },
      '/p/data/a/0/suffix/equals-ignore-case',
      /empty suffix/,
    ],
    ['exists not boolean', { data: { a: [{ exists: 'yes' }] } }, '/p/data/a/0/exists', /true or false/],
    ['numeric one value', { data: { a: [{ numeric: [5] }] } }, '/p/data/a/0/numeric', /numeric takes/],
    ['numeric bad operator', { data: { a: [{ numeric: ['!=', 5] }] } }, '/p/data/a/0/numeric/0', /operators/],
    ['numeric string bound', { data: { a: [{ numeric: ['>', '5'] }] } }, '/p/data/a/0/numeric/1', /finite/],
    [
      'numeric bounds reversed',
      { data: { a: [{ numeric: ['<', 5, '>', 0] }] } },
      '/p/data/a/0/numeric',
      /numeric takes/,
    ],
    [
      'numeric empty range',
      { data: { a: [{ numeric: ['>', 5, '<', 5] }] } },
      '/p/data/a/0/numeric',
      /holds no number/,
    ],
    ['wildcard **', { data: { a: [{ wildcard: 'a**b' }] } }, '/p/data/a/0/wildcard', /consecutive/],
    ['wildcard bad escape', { data: { a: [{ wildcard: 'a\\b' }] } }, '/p/data/a/0/wildcard', /backslash/],
    [
      'wildcard trailing backslash',
      { data: { a: [{ wildcard: 'a\\' }] } },
      '/p/data/a/0/wildcard',
      /backslash/,
    ],
    [
      'anything-but boolean',
      { data: { a: [{ 'anything-but': true }] } },
      '/p/data/a/0/anything-but',
      /anything-but takes/,
    ],
    [
      'anything-but empty list',
      { data: { a: [{ 'anything-but': [] }] } },
      '/p/data/a/0/anything-but',
      /non-empty/,
    ],
    [
      'anything-but null in list',
      { data: { a: [{ 'anything-but': ['x', null] }] } },
      '/p/data/a/0/anything-but/1',
      /only strings or numbers/,
    ],
    [
      'anything-but unknown form',
      { data: { a: [{ 'anything-but': { numeric: ['>', 1] } }] } },
      '/p/data/a/0/anything-but',
      /anything-but takes/,
    ],
    [
      'anything-but bad wildcard',
      { data: { a: [{ 'anything-but': { wildcard: '**' } }] } },
      '/p/data/a/0/anything-but/wildcard',
      /consecutive/,
    ],
    ['pointer escaping', { data: { 'a/b~c': 'x' } }, '/p/data/a~1b~0c', /array of alternatives/],
    ['too deep', deep(40), `/p/data${'/n'.repeat(31)}`, /at most 32 levels/],
    [
      'too many values',
      { data: { a: Array.from({ length: 1001 }, (_, i) => i) } },
      '/p/data/a/1000',
      /at most 1000 values/,
    ],
  ];
  it.each(cases)('%s', (_title, pattern, pointer, message) => {
    const errors = checkPattern(pattern, '/p');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.pointer).toBe(pointer);
    expect(errors[0]!.message).toMatch(message);
  });

  it('reports every problem, not just the first', () => {
    const errors = checkPattern({ type: 'x', data: { a: [], b: [{ exists: 1 }] } }, '/p');
    expect(errors.map((e) => e.pointer)).toEqual(['/p/type', '/p/data/a', '/p/data/b/0/exists']);
  });

  it('accepts the deepest and the largest allowed patterns', () => {
    expect(checkPattern(deep(31), '/p')).toEqual([]);
    expect(checkPattern({ data: { a: Array.from({ length: 1000 }, (_, i) => i) } }, '/p')).toEqual([]);
  });
});

describe('wildcard matching', () => {
  it('is fast on inputs that make backtracking matchers explode', () => {
    // A translated regular expression would try every split of the a's between the 50 stars.
    const match = compileWildcard(`${'*a'.repeat(50)}*b*`);
    const started = performance.now();
    expect(match('a'.repeat(100_000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('agrees with a reference regular expression on small inputs', () => {
    const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const reference = (glob: string) =>
      new RegExp(`^${glob.split('*').map(escapeRegExp).join('[\\s\\S]*')}$`);
    const glob = fc
      .array(fc.constantFrom('a', 'b', '*'), { maxLength: 8 })
      .map((parts) => parts.join(''))
      .filter((g) => !g.includes('**'));
    fc.assert(
      fc.property(glob, fc.stringMatching(/^[ab]{0,10}$/), (g, text) => {
        expect(compileWildcard(g)(text)).toBe(reference(g).test(text));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('properties', () => {
  const NAMES = ['a', 'b', 'c'];
  const scalar = fc.constantFrom<unknown>('x', 'xy', 'X', '', 'y*', 0, -1, 1.5, 100, true, false, null);
  const matcher = fc.constantFrom<unknown>(
    { prefix: 'x' },
    { prefix: { 'equals-ignore-case': 'X' } },
    { suffix: 'y' },
    { 'equals-ignore-case': 'xy' },
    { wildcard: 'x*' },
    { wildcard: '*\\*' },
    { numeric: ['>', 0] },
    { numeric: ['>=', -1, '<', 100] },
    { numeric: ['=', 1.5] },
    { exists: true },
    { exists: false },
    { 'anything-but': 'x' },
    { 'anything-but': [0, 'xy'] },
    { 'anything-but': { prefix: 'x' } },
    { 'anything-but': { wildcard: ['*y', 'X'] } },
  );
  const leaf = fc.array(fc.oneof(scalar, matcher), { minLength: 1, maxLength: 3 });

  /**
   * Nested data patterns to a fixed depth, so generation always terminates. Each object has one or
   * two members, so that a fair share of random events match; written without `filter`, which
   * makes recursive generation slow.
   */
  const dataPattern = (depth: number): fc.Arbitrary<Record<string, unknown>> => {
    if (depth === 0) return fc.record({ b: leaf });
    const field = fc.oneof(leaf, dataPattern(depth - 1));
    const branches = fc.array(dataPattern(depth - 1), { minLength: 1, maxLength: 2 });
    return fc.oneof(
      fc.record({ a: field }),
      fc.record({ b: leaf }),
      fc.record({ c: field }),
      fc.record({ $or: branches }),
      fc.record({ a: field, b: leaf }),
      fc.record({ c: field, $or: branches }),
    );
  };
  const data = fc.oneof(dataPattern(3), leaf);
  const pattern = fc.oneof(
    fc.record({ type: leaf }),
    fc.record({ subject: leaf }),
    fc.record({ region: leaf }),
    fc.record({ data }),
    fc.record({ data }),
    fc.record({ type: leaf, data }),
    fc.record({ $or: fc.tuple(fc.record({ region: leaf }), fc.record({ data })) }),
  );

  const { value: dataValue } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      scalar,
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom(...NAMES), tie('value'), { maxKeys: 3 }),
    ),
  }));
  // Small patterns over a small vocabulary, so that a fair share of random events match.
  const anEvent = fc.record({
    type: fc.constantFrom('x', 'xy', 'com.acme'),
    subject: scalar,
    region: fc.option(scalar, { nil: undefined }),
    data: fc.oneof(
      { weight: 4, arbitrary: fc.dictionary(fc.constantFrom(...NAMES), dataValue, { maxKeys: 3 }) },
      { weight: 1, arbitrary: fc.anything() },
    ),
    datacontenttype: fc.constantFrom(
      undefined,
      'application/json',
      'application/json',
      'text/plain',
      'nonsense',
    ),
    data_base64: fc.option(fc.constant('AAAA'), { nil: undefined }),
  });
  const toEvent = (fields: Record<string, unknown>): CloudEvent => {
    const e = event();
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) e[k] = v;
    return e;
  };

  it('generates only valid patterns', () => {
    fc.assert(
      fc.property(pattern, (p) => {
        expect(checkPattern(p, '')).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('evaluation never throws and returns a boolean', () => {
    fc.assert(
      fc.property(pattern, anEvent, (p, e) => {
        expect(typeof compilePattern(p)(toEvent(e))).toBe('boolean');
      }),
      { numRuns: 1000 },
    );
  });

  it('{"$or": [a, b]} matches exactly when a or b matches', () => {
    fc.assert(
      fc.property(pattern, pattern, anEvent, (a, b, fields) => {
        const e = toEvent(fields);
        const either = compilePattern({ $or: [a, b] })(e);
        expect(either).toBe(compilePattern(a)(e) || compilePattern(b)(e));
      }),
      { numRuns: 1000 },
    );
  });
});
