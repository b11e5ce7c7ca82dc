import { describe, expect, it } from 'vitest';
import {
  type CompatibilityMode,
  checkCompatibility,
  type JsonSchema,
  readerBreaks,
  UnknownCompatibilityModeError,
} from '../../src/contracts/compatibility.js';

type Case = {
  name: string;
  old: JsonSchema;
  next: JsonSchema;
  /** Expected verdicts: can the new schema read old data (BACKWARD), can the old read new data (FORWARD). */
  backward: boolean;
  forward: boolean;
  optionalFriendly?: boolean;
};

const obj = (
  properties: Record<string, JsonSchema>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> => ({
  type: 'object',
  properties,
  ...extra,
});
const closed = { additionalProperties: false };
const str: JsonSchema = { type: 'string' };
const int: JsonSchema = { type: 'integer' };
const num: JsonSchema = { type: 'number' };

const node = (value: JsonSchema): JsonSchema => ({
  type: 'object',
  properties: { value, children: { type: 'array', items: { $ref: '#' } } },
});

const cases: Case[] = [
  // type
  { name: 'identical object', old: obj({ a: str }), next: obj({ a: str }), backward: true, forward: true },
  { name: 'type string -> number', old: str, next: num, backward: false, forward: false },
  { name: 'type integer -> number widens', old: int, next: num, backward: true, forward: false },
  { name: 'type number -> integer narrows', old: num, next: int, backward: false, forward: true },
  {
    name: 'type string -> [string, null]',
    old: str,
    next: { type: ['string', 'null'] },
    backward: true,
    forward: false,
  },
  {
    name: 'type [string, null] -> string',
    old: { type: ['string', 'null'] },
    next: str,
    backward: false,
    forward: true,
  },
  {
    name: 'number multipleOf 1 <-> integer',
    old: { type: 'number', multipleOf: 1 },
    next: int,
    backward: true,
    forward: true,
  },
  { name: 'no type -> object', old: {}, next: { type: 'object' }, backward: false, forward: true },
  {
    name: 'nullable object -> object',
    old: { type: ['object', 'null'] },
    next: { type: 'object' },
    backward: false,
    forward: true,
  },
  // enum and const
  {
    name: 'enum value added',
    old: { enum: ['a', 'b'] },
    next: { enum: ['a', 'b', 'c'] },
    backward: true,
    forward: false,
  },
  {
    name: 'enum value removed',
    old: { enum: ['a', 'b'] },
    next: { enum: ['a'] },
    backward: false,
    forward: true,
  },
  { name: 'const -> enum', old: { const: 'x' }, next: { enum: ['x', 'y'] }, backward: true, forward: false },
  { name: 'const changed', old: { const: 1 }, next: { const: 2 }, backward: false, forward: false },
  { name: 'string -> enum', old: str, next: { enum: ['a', 'b'] }, backward: false, forward: true },
  {
    name: 'mixed enum -> types',
    old: { enum: [1, 'a'] },
    next: { type: ['integer', 'string'] },
    backward: true,
    forward: false,
  },
  {
    name: 'boolean <-> enum [true, false]',
    old: { type: 'boolean' },
    next: { enum: [true, false] },
    backward: true,
    forward: true,
  },
  {
    name: 'enum reordered',
    old: { enum: ['a', 'b'] },
    next: { enum: ['b', 'a'] },
    backward: true,
    forward: true,
  },
  // required
  {
    name: 'required added',
    old: obj({ a: str }),
    next: obj({ a: str }, { required: ['a'] }),
    backward: false,
    forward: true,
  },
  {
    name: 'required removed',
    old: obj({ a: str }, { required: ['a'] }),
    next: obj({ a: str }),
    backward: true,
    forward: false,
  },
  // open and closed content models
  {
    name: 'optional property added to open model (strict)',
    old: obj({ a: str }),
    next: obj({ a: str, b: str }),
    backward: false,
    forward: true,
  },
  {
    name: 'optional property added to open model (optional-friendly)',
    old: obj({ a: str }),
    next: obj({ a: str, b: str }),
    backward: true,
    forward: true,
    optionalFriendly: true,
  },
  {
    name: 'optional property removed from open model (strict)',
    old: obj({ a: str, b: str }),
    next: obj({ a: str }),
    backward: true,
    forward: false,
  },
  {
    name: 'optional property removed from open model (optional-friendly)',
    old: obj({ a: str, b: str }),
    next: obj({ a: str }),
    backward: true,
    forward: true,
    optionalFriendly: true,
  },
  {
    name: 'required property added to open model (optional-friendly)',
    old: obj({ a: str }),
    next: obj({ a: str, b: str }, { required: ['b'] }),
    backward: false,
    forward: true,
    optionalFriendly: true,
  },
  {
    name: 'unconstrained property added to open model',
    old: obj({ a: str }),
    next: obj({ a: str, b: {} }),
    backward: true,
    forward: true,
  },
  {
    name: 'property added to closed model',
    old: obj({ a: str }, closed),
    next: obj({ a: str, b: str }, closed),
    backward: true,
    forward: false,
  },
  {
    name: 'property added to closed model (optional-friendly)',
    old: obj({ a: str }, closed),
    next: obj({ a: str, b: str }, closed),
    backward: true,
    forward: false,
    optionalFriendly: true,
  },
  {
    name: 'property removed from closed model',
    old: obj({ a: str, b: str }, closed),
    next: obj({ a: str }, closed),
    backward: false,
    forward: true,
  },
  {
    name: 'open -> closed',
    old: obj({ a: str }),
    next: obj({ a: str }, closed),
    backward: false,
    forward: true,
  },
  {
    name: 'closed -> open',
    old: obj({ a: str }, closed),
    next: obj({ a: str }),
    backward: true,
    forward: false,
  },
  {
    name: 'additionalProperties schema widened',
    old: { type: 'object', additionalProperties: str },
    next: { type: 'object', additionalProperties: { type: ['string', 'null'] } },
    backward: true,
    forward: false,
  },
  {
    name: 'additionalProperties schema changed type',
    old: { type: 'object', additionalProperties: str },
    next: { type: 'object', additionalProperties: num },
    backward: false,
    forward: false,
  },
  {
    name: 'property schema becomes false',
    old: obj({ a: str }),
    next: obj({ a: false }),
    backward: false,
    forward: true,
  },
  // patternProperties
  {
    name: 'patternProperties added to open model',
    old: { type: 'object' },
    next: { type: 'object', patternProperties: { '^x-': str } },
    backward: false,
    forward: true,
  },
  {
    name: 'patternProperties widened',
    old: { type: 'object', patternProperties: { '^x-': str } },
    next: { type: 'object', patternProperties: { '^x-': { type: ['string', 'number'] } } },
    backward: true,
    forward: false,
  },
  {
    name: 'patternProperties added to closed model',
    old: obj({ a: str }, closed),
    next: obj({ a: str }, { ...closed, patternProperties: { '^x-': str } }),
    backward: true,
    forward: false,
  },
  {
    name: 'listed property now also matched by a reader pattern',
    old: obj({ 'x-id': num }),
    next: obj({ 'x-id': num }, { patternProperties: { '^x-': str } }),
    backward: false,
    forward: true,
  },
  // numeric bounds
  { name: 'minimum added', old: num, next: { type: 'number', minimum: 0 }, backward: false, forward: true },
  {
    name: 'minimum lowered',
    old: { type: 'number', minimum: 5 },
    next: { type: 'number', minimum: 0 },
    backward: true,
    forward: false,
  },
  {
    name: 'maximum raised',
    old: { type: 'number', maximum: 10 },
    next: { type: 'number', maximum: 20 },
    backward: true,
    forward: false,
  },
  {
    name: 'minimum -> exclusiveMinimum at the same value',
    old: { type: 'number', minimum: 0 },
    next: { type: 'number', exclusiveMinimum: 0 },
    backward: false,
    forward: true,
  },
  {
    name: 'exclusiveMaximum -> maximum at the same value',
    old: { type: 'number', exclusiveMaximum: 10 },
    next: { type: 'number', maximum: 10 },
    backward: true,
    forward: false,
  },
  {
    name: 'multipleOf 2 -> 4',
    old: { type: 'integer', multipleOf: 2 },
    next: { type: 'integer', multipleOf: 4 },
    backward: false,
    forward: true,
  },
  {
    name: 'multipleOf 0.2 -> 0.1 (refused: floating-point division cannot be trusted)',
    old: { type: 'number', multipleOf: 0.2 },
    next: { type: 'number', multipleOf: 0.1 },
    backward: false,
    forward: false,
  },
  {
    name: 'multipleOf added',
    old: num,
    next: { type: 'number', multipleOf: 0.5 },
    backward: false,
    forward: true,
  },
  // string bounds
  {
    name: 'minLength raised',
    old: { type: 'string', minLength: 1 },
    next: { type: 'string', minLength: 3 },
    backward: false,
    forward: true,
  },
  {
    name: 'maxLength lowered',
    old: { type: 'string', maxLength: 10 },
    next: { type: 'string', maxLength: 5 },
    backward: false,
    forward: true,
  },
  {
    name: 'maxLength removed',
    old: { type: 'string', maxLength: 10 },
    next: str,
    backward: true,
    forward: false,
  },
  {
    name: 'pattern changed (even if wider)',
    old: { type: 'string', pattern: '^a' },
    next: { type: 'string', pattern: '^(a|b)' },
    backward: false,
    forward: false,
  },
  {
    name: 'pattern added',
    old: str,
    next: { type: 'string', pattern: '^a' },
    backward: false,
    forward: true,
  },
  {
    name: 'pattern removed',
    old: { type: 'string', pattern: '^a' },
    next: str,
    backward: true,
    forward: false,
  },
  {
    name: 'format added',
    old: str,
    next: { type: 'string', format: 'email' },
    backward: false,
    forward: true,
  },
  {
    name: 'enum read by a schema with a format (refused: whether format asserts depends on the validator)',
    old: { enum: ['a@example.com'] },
    next: { type: 'string', format: 'email' },
    backward: false,
    forward: false,
  },
  // arrays
  {
    name: 'items type changed',
    old: { type: 'array', items: str },
    next: { type: 'array', items: num },
    backward: false,
    forward: false,
  },
  {
    name: 'items widened',
    old: { type: 'array', items: str },
    next: { type: 'array', items: { type: ['string', 'null'] } },
    backward: true,
    forward: false,
  },
  {
    name: 'items added',
    old: { type: 'array' },
    next: { type: 'array', items: str },
    backward: false,
    forward: true,
  },
  {
    name: 'minItems raised',
    old: { type: 'array', minItems: 0 },
    next: { type: 'array', minItems: 1 },
    backward: false,
    forward: true,
  },
  {
    name: 'maxItems raised',
    old: { type: 'array', maxItems: 3 },
    next: { type: 'array', maxItems: 5 },
    backward: true,
    forward: false,
  },
  {
    name: 'uniqueItems added',
    old: { type: 'array' },
    next: { type: 'array', uniqueItems: true },
    backward: false,
    forward: true,
  },
  {
    name: 'prefixItems: extra items allowed',
    old: { type: 'array', prefixItems: [str, num], items: false },
    next: { type: 'array', prefixItems: [str, num], items: { type: 'boolean' } },
    backward: true,
    forward: false,
  },
  {
    name: 'prefixItems: first item type changed',
    old: { type: 'array', prefixItems: [str] },
    next: { type: 'array', prefixItems: [num] },
    backward: false,
    forward: false,
  },
  // nested objects
  {
    name: 'nested property type changed',
    old: obj({ customer: obj({ age: int }) }),
    next: obj({ customer: obj({ age: str }) }),
    backward: false,
    forward: false,
  },
  {
    name: 'nested required added',
    old: obj({ customer: obj({ id: str }) }),
    next: obj({ customer: obj({ id: str }, { required: ['id'] }) }),
    backward: false,
    forward: true,
  },
  // $ref
  {
    name: '$ref unchanged',
    old: { $defs: { id: str }, ...obj({ a: { $ref: '#/$defs/id' } }) },
    next: { $defs: { id: str }, ...obj({ a: { $ref: '#/$defs/id' } }) },
    backward: true,
    forward: true,
  },
  {
    name: '$ref target widened',
    old: { $defs: { zip: str }, ...obj({ zip: { $ref: '#/$defs/zip' } }) },
    next: { $defs: { zip: { type: ['string', 'null'] } }, ...obj({ zip: { $ref: '#/$defs/zip' } }) },
    backward: true,
    forward: false,
  },
  {
    name: 'inline schema -> $ref to the same schema',
    old: obj({ a: str }),
    next: { $defs: { s: str }, ...obj({ a: { $ref: '#/$defs/s' } }) },
    backward: true,
    forward: true,
  },
  {
    name: '$ref into definitions (draft-07 style) with a narrowed target',
    old: { definitions: { n: num }, ...obj({ a: { $ref: '#/definitions/n' } }) },
    next: { definitions: { n: int }, ...obj({ a: { $ref: '#/definitions/n' } }) },
    backward: false,
    forward: true,
  },
  {
    name: '$ref with a sibling constraint in the reader',
    old: { $defs: { s: str }, ...obj({ a: { $ref: '#/$defs/s' } }) },
    next: { $defs: { s: str }, ...obj({ a: { $ref: '#/$defs/s', maxLength: 3 } }) },
    backward: false,
    forward: true,
  },
  {
    name: '$ref with a sibling constraint in the writer',
    old: { $defs: { s: str }, ...obj({ a: { $ref: '#/$defs/s', maxLength: 3 } }) },
    next: obj({ a: { type: 'string', maxLength: 5 } }),
    backward: true,
    forward: false,
  },
  { name: 'recursive $ref unchanged', old: node(num), next: node(num), backward: true, forward: true },
  {
    name: 'recursive $ref changed',
    old: node(num),
    next: node({ type: ['number', 'null'] }),
    backward: false,
    forward: false,
  },
  {
    name: '$ref outside the document',
    old: obj({ a: str }),
    next: obj({ a: { $ref: 'https://example.com/a.json' } }),
    // The registry refuses such a schema outright; the checker refuses it in both directions.
    backward: false,
    forward: false,
  },
  // keywords the checker does not understand
  {
    name: 'oneOf unchanged, other property widened',
    old: obj({ a: int }, { oneOf: [{ required: ['a'] }, { required: ['b'] }] }),
    next: obj({ a: num }, { oneOf: [{ required: ['a'] }, { required: ['b'] }] }),
    backward: true,
    forward: false,
  },
  {
    name: 'oneOf changed',
    old: { oneOf: [str, num] },
    next: { oneOf: [str, num, { type: 'null' }] },
    backward: false,
    forward: false,
  },
  {
    name: 'anyOf added',
    old: str,
    next: { type: 'string', anyOf: [{ minLength: 1 }] },
    backward: false,
    forward: false,
  },
  {
    name: 'if/then changed',
    // biome-ignore lint/suspicious/noThenProperty: `then` is a JSON Schema keyword here, not a thenable.
    old: { if: { type: 'string' }, then: { minLength: 1 } },
    // biome-ignore lint/suspicious/noThenProperty: `then` is a JSON Schema keyword here, not a thenable.
    next: { if: { type: 'string' }, then: { minLength: 2 } },
    backward: false,
    forward: false,
  },
  {
    name: 'not added',
    old: str,
    next: { type: 'string', not: { const: '' } },
    backward: false,
    forward: false,
  },
  {
    name: 'dependentSchemas identical, required removed',
    old: obj({ a: str }, { required: ['a'], dependentSchemas: { a: { required: ['b'] } } }),
    next: obj({ a: str }, { dependentSchemas: { a: { required: ['b'] } } }),
    backward: true,
    forward: false,
  },
  {
    name: 'unevaluatedProperties with changed properties',
    old: obj({ a: str }, { unevaluatedProperties: false }),
    next: obj({ a: str, b: str }, { unevaluatedProperties: false }),
    backward: false,
    forward: false,
  },
  // boolean schemas and annotations
  { name: 'true -> false', old: true, next: false, backward: false, forward: true },
  { name: 'true -> string', old: true, next: str, backward: false, forward: true },
  { name: 'false -> string', old: false, next: str, backward: true, forward: false },
  { name: '{} <-> true', old: {}, next: true, backward: true, forward: true },
  {
    name: 'only annotations changed',
    old: { ...obj({ a: str }), title: 'Order' },
    next: { ...obj({ a: { type: 'string', description: 'the id' } }), title: 'Order v2', $comment: 'x' },
    backward: true,
    forward: true,
  },
  {
    name: 'minProperties raised',
    old: { type: 'object', minProperties: 1 },
    next: { type: 'object', minProperties: 2 },
    backward: false,
    forward: true,
  },
];

const verdict = (
  candidate: JsonSchema,
  old: JsonSchema,
  mode: CompatibilityMode,
  optionalFriendly?: boolean,
) => checkCompatibility(candidate, [old], mode, { optionalFriendly }).length === 0;

describe('checkCompatibility: table of schema pairs', () => {
  it('has at least 60 pairs', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });

  it.each(cases)('$name', ({ old, next, backward, forward, optionalFriendly }) => {
    expect({
      BACKWARD: verdict(next, old, 'BACKWARD', optionalFriendly),
      FORWARD: verdict(next, old, 'FORWARD', optionalFriendly),
      FULL: verdict(next, old, 'FULL', optionalFriendly),
      NONE: verdict(next, old, 'NONE', optionalFriendly),
    }).toEqual({ BACKWARD: backward, FORWARD: forward, FULL: backward && forward, NONE: true });
  });
});

describe('checkCompatibility: transitive modes against three-version chains', () => {
  it('BACKWARD checks only the last version, BACKWARD_TRANSITIVE all of them', () => {
    const chain: JsonSchema[] = [{ enum: ['a', 'b', 'c'] }, { enum: ['a', 'b'] }];
    const candidate: JsonSchema = { enum: ['a', 'b', 'd'] };
    expect(checkCompatibility(candidate, chain, 'BACKWARD')).toEqual([]);
    const breaks = checkCompatibility(candidate, chain, 'BACKWARD_TRANSITIVE');
    expect(breaks).toHaveLength(1);
    expect(breaks[0]).toMatchObject({ direction: 'BACKWARD', againstVersion: 1, kind: 'value-rejected' });
    expect(breaks[0]?.message).toContain('"c"');
  });

  it('FORWARD checks only the last version, FORWARD_TRANSITIVE all of them', () => {
    const chain: JsonSchema[] = [{ enum: ['a', 'b'] }, { enum: ['a', 'b', 'c'] }];
    const candidate: JsonSchema = { enum: ['a', 'c'] };
    expect(checkCompatibility(candidate, chain, 'FORWARD')).toEqual([]);
    const breaks = checkCompatibility(candidate, chain, 'FORWARD_TRANSITIVE');
    expect(breaks.map((b) => [b.direction, b.againstVersion])).toEqual([['FORWARD', 1]]);
  });

  it('FULL checks only the last version, FULL_TRANSITIVE all of them in both directions', () => {
    const chain: JsonSchema[] = [obj({ a: str }, closed), obj({ a: str, b: int }, closed)];
    const candidate: JsonSchema = { ...obj({ a: str, b: int }, closed), description: 'orders' };
    expect(checkCompatibility(candidate, chain, 'FULL')).toEqual([]);
    const breaks = checkCompatibility(candidate, chain, 'FULL_TRANSITIVE');
    expect(breaks.map((b) => [b.direction, b.againstVersion])).toEqual([['FORWARD', 1]]);
  });

  it('a change compatible with every version passes every mode', () => {
    const chain: JsonSchema[] = [obj({ a: str }), obj({ a: str }, { description: 'v2' })];
    const candidate = obj({ a: str }, { description: 'v3' });
    for (const mode of ['BACKWARD_TRANSITIVE', 'FORWARD_TRANSITIVE', 'FULL_TRANSITIVE'] as const) {
      expect(checkCompatibility(candidate, chain, mode)).toEqual([]);
    }
  });

  it('NONE and an empty history accept anything; an unknown mode is refused', () => {
    expect(checkCompatibility(str, [num, int], 'NONE')).toEqual([]);
    expect(checkCompatibility(str, [], 'FULL_TRANSITIVE')).toEqual([]);
    expect(() => checkCompatibility(str, [num], 'SIDEWAYS' as CompatibilityMode)).toThrow(
      UnknownCompatibilityModeError,
    );
  });
});

describe('readerBreaks: cycles and limits', () => {
  const linked = (extra: Record<string, unknown>): JsonSchema => ({
    $defs: {
      a: { $ref: '#/$defs/b', properties: { x: { $ref: '#/$defs/a' }, y: { $ref: '#/$defs/a' } } },
      b: { type: 'object', ...extra },
    },
    $ref: '#/$defs/a',
  });

  it('refuses a changed recursion through $ref siblings, once, without exploring every path', () => {
    const started = Date.now();
    const breaks = readerBreaks(linked({}), linked({ required: [] }));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(breaks).toEqual([expect.objectContaining({ pointer: '/$defs/a', kind: 'recursive-ref' })]);
  });

  it('accepts the same recursive document', () => {
    expect(readerBreaks(linked({}), linked({}))).toEqual([]);
  });

  it('refuses a $ref that only points at itself instead of looping', () => {
    const loop: JsonSchema = { $defs: { a: { $ref: '#/$defs/a' } }, $ref: '#/$defs/a' };
    expect(readerBreaks(str, loop).map((b) => b.kind)).toEqual(['recursive-ref']);
  });
});

describe('readerBreaks: pointers and messages', () => {
  it('names the nested pointer of a changed type and says what to do', () => {
    const breaks = readerBreaks(obj({ order: obj({ total: num }) }), obj({ order: obj({ total: str }) }));
    expect(breaks).toHaveLength(1);
    expect(breaks[0]?.pointer).toBe('/properties/order/properties/total/type');
    expect(breaks[0]?.kind).toBe('type-narrowed');
    expect(breaks[0]?.message).toMatch(/number.*string.*add a new property/);
  });

  it('points into $defs when the reader reaches a changed definition through $ref', () => {
    const writer = { $defs: { money: num }, ...obj({ total: { $ref: '#/$defs/money' } }) };
    const reader = { $defs: { money: int }, ...obj({ total: { $ref: '#/$defs/money' } }) };
    expect(readerBreaks(writer, reader).map((b) => b.pointer)).toEqual(['/$defs/money/type']);
  });

  it('names a property missing from a closed reader', () => {
    const breaks = readerBreaks(obj({ a: str, note: str }, closed), obj({ a: str }, closed));
    expect(breaks.map((b) => [b.pointer, b.kind])).toEqual([['/additionalProperties', 'property-removed']]);
    expect(breaks[0]?.message).toContain('"note"');
  });

  it('escapes property names in pointers', () => {
    const breaks = readerBreaks(obj({ 'a/b': str }), obj({ 'a/b': num }));
    expect(breaks[0]?.pointer).toBe('/properties/a~1b/type');
  });

  it('explains the strict open-model reading and points to optional-friendly', () => {
    const breaks = readerBreaks(obj({ a: str }), obj({ a: str, b: str }));
    expect(breaks.map((b) => b.kind)).toContain('open-model-property-constrained');
    expect(breaks.map((b) => b.message).join('\n')).toContain('optional-friendly');
  });

  it('names an unsupported keyword that changed', () => {
    const breaks = readerBreaks({ anyOf: [str] }, { anyOf: [num] });
    expect(breaks).toEqual([expect.objectContaining({ pointer: '/anyOf', kind: 'unsupported-keyword' })]);
  });

  it('tags each change with its direction and the version it was compared against', () => {
    const breaks = checkCompatibility(num, [str], 'FULL');
    expect(breaks.map((b) => [b.direction, b.againstVersion])).toEqual([
      ['BACKWARD', 1],
      ['FORWARD', 1],
    ]);
    expect(breaks[0]?.message).toContain('data written with version 1');
    expect(breaks[1]?.message).toContain('but version 1 accepts only string');
  });
});
