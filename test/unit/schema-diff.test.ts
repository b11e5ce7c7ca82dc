/**
 * The structural diff between two schemas: the JSON Patch it answers applies, set-like arrays are
 * compared as sets, ordered arrays by their items, and each operation has a summary.
 */
import { patch } from 'jsondiffpatch/formatters/jsonpatch';
import { describe, expect, it } from 'vitest';
import { canonicalJson, diffSchemas, type SchemaPatchOperation } from '../../src/contracts/schema-diff.js';
import { summarize } from '../../src/contracts/schema-diff-summary.js';
import type { JsonSchema } from '../../src/contracts/schema-walk.js';

function apply(from: unknown, ops: SchemaPatchOperation[]): unknown {
  if (ops.length === 1 && ops[0]?.path === '') return ops[0].value;
  const doc = structuredClone(from);
  patch(doc, ops as Parameters<typeof patch>[1]);
  return doc;
}

const ops = (from: unknown, to: unknown) =>
  diffSchemas(from as JsonSchema, to as JsonSchema).map(({ summary: _, ...op }) => op);

describe('diffSchemas', () => {
  it('answers no operation for equal schemas, whatever their key order', () => {
    expect(diffSchemas({ type: 'string', minLength: 1 }, { minLength: 1, type: 'string' })).toEqual([]);
  });

  it('ignores the order of required, enum and type, and adds a new member at the end', () => {
    const from = { type: ['string', 'null'], enum: ['a', 'b', 'c'], required: ['x', 'y', 'z'] };
    expect(
      diffSchemas(from, { type: ['null', 'string'], enum: ['c', 'a', 'b'], required: ['z', 'y', 'x'] }),
    ).toEqual([]);
    expect(ops(from, { ...from, required: ['w', 'z', 'x'] })).toEqual([
      { op: 'remove', path: '/required/1', oldValue: 'y' },
      { op: 'add', path: '/required/2', value: 'w' },
    ]);
  });

  it('keeps the order of ordered arrays: an insertion is one add, a reordering a move', () => {
    const a = { type: 'string' };
    const b = { type: 'integer' };
    const c = { type: 'null' };
    expect(ops({ anyOf: [a, b] }, { anyOf: [c, a, b] })).toEqual([{ op: 'add', path: '/anyOf/0', value: c }]);
    expect(ops({ prefixItems: [a, b] }, { prefixItems: [b, a] })).toEqual([
      { op: 'move', from: '/prefixItems/1', path: '/prefixItems/0' },
    ]);
    expect(
      ops({ anyOf: [{ required: ['a'] }] }, { anyOf: [{ required: ['c'] }, { required: ['a'] }] }),
    ).toEqual([{ op: 'add', path: '/anyOf/0', value: { required: ['c'] } }]);
    // An edited branch is matched by content, so it reads as removed and added.
    expect(ops({ anyOf: [a, b] }, { anyOf: [a, c] })).toEqual([
      { op: 'remove', path: '/anyOf/1', oldValue: b },
      { op: 'add', path: '/anyOf/1', value: c },
    ]);
  });

  it('only treats schema keywords as sets: an enum inside a default keeps its order', () => {
    const from = { default: { enum: ['a', 'b'] } };
    const to = { default: { enum: ['b', 'a'] } };
    const patchOps = diffSchemas(from, to);
    expect(patchOps).not.toEqual([]);
    expect(apply(from, patchOps)).toEqual(to);
  });

  it('aligns sets in nested schemas: properties, items, combinators, definitions', () => {
    const from = {
      properties: { a: { items: { enum: [1, 2] } } },
      allOf: [{ required: ['p', 'q'] }],
      $defs: { d: { type: ['string', 'integer'] } },
      dependentRequired: { a: ['b', 'c'] },
    };
    const to = {
      properties: { a: { items: { enum: [2, 1] } } },
      allOf: [{ required: ['q', 'p'] }],
      $defs: { d: { type: ['integer', 'string'] } },
      dependentRequired: { a: ['c', 'b'] },
    };
    expect(diffSchemas(from, to)).toEqual([]);
  });

  it('records what each remove and replace took away, even after earlier operations on the array', () => {
    const from = { anyOf: [{ required: ['a', 'b', 'c'] }, { const: 1 }], title: 'Order' };
    const to = { anyOf: [{ const: 0 }, { required: ['a', 'c'] }, { const: 1 }], title: 'An order' };
    const patchOps = diffSchemas(from, to);
    expect(apply(from, patchOps)).toEqual(to);
    for (const op of patchOps.filter((o) => o.op === 'remove')) expect(op.oldValue).toBeDefined();
    expect(patchOps).toContainEqual(
      expect.objectContaining({ op: 'replace', path: '/title', oldValue: 'Order' }),
    );
  });

  it('escapes property names in paths, and replaces a boolean schema whole', () => {
    expect(ops({ properties: {} }, { properties: { 'a/b~c': true } })).toEqual([
      { op: 'add', path: '/properties/a~1b~0c', value: true },
    ]);
    expect(diffSchemas(true, { type: 'string' })).toEqual([
      {
        op: 'replace',
        path: '',
        value: { type: 'string' },
        oldValue: true,
        summary: 'the whole schema replaced',
      },
    ]);
  });

  it('compares a large enum as a set in one pass, and replaces another very large array whole', () => {
    const values = Array.from({ length: 5000 }, (_, i) => `v${i}`);
    const odd = values.filter((_, i) => i % 2 === 1);
    let started = performance.now();
    const enumOps = diffSchemas({ enum: values }, { enum: [...odd].reverse() });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(enumOps).toHaveLength(2500);
    expect(enumOps.every((op) => op.op === 'remove')).toBe(true);
    expect(ops({ enum: values }, { enum: ['new', ...values.slice(1)] })).toEqual([
      { op: 'remove', path: '/enum/0', oldValue: 'v0' },
      { op: 'add', path: '/enum/4999', value: 'new' },
    ]);

    // `examples` keep their order; far too many differences for an item-by-item comparison.
    started = performance.now();
    const exampleOps = diffSchemas({ examples: values }, { examples: odd });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(exampleOps).toEqual([expect.objectContaining({ op: 'replace', path: '/examples', value: odd })]);
  });

  it('is deterministic', () => {
    const from = { properties: { a: { type: 'string' }, b: { enum: [1, 2] } }, required: ['a'] };
    const to = { properties: { c: { type: 'string' }, b: { enum: [2, 3] } }, required: ['c', 'b'] };
    expect(diffSchemas(from, to)).toEqual(diffSchemas(structuredClone(from), structuredClone(to)));
    expect(apply(from, diffSchemas(from, to))).toEqual({
      properties: { b: { enum: [2, 3] }, c: { type: 'string' } },
      required: ['c', 'b'],
    });
  });
});

describe('summaries', () => {
  it('names properties, required names, enum values, types and keywords', () => {
    expect(summarize({ op: 'add', path: '/properties/currency', value: {} })).toBe(
      'property `currency` added to /properties',
    );
    expect(summarize({ op: 'remove', path: '/properties/a/properties/b', oldValue: {} })).toBe(
      'property `b` removed from /properties/a/properties',
    );
    expect(summarize({ op: 'add', path: '/$defs/money', value: {} })).toBe(
      'definition `money` added to /$defs',
    );
    expect(summarize({ op: 'add', path: '/required/2', value: 'currency' })).toBe(
      '`currency` is now required',
    );
    expect(summarize({ op: 'remove', path: '/properties/a/required/0', oldValue: 'b' })).toBe(
      '`b` is no longer required at /properties/a',
    );
    expect(summarize({ op: 'add', path: '/properties/s/enum/3', value: 'x' })).toBe(
      'value "x" added to the enum at /properties/s',
    );
    expect(summarize({ op: 'remove', path: '/type/1', oldValue: 'null' })).toBe(
      'type "null" no longer allowed',
    );
    expect(summarize({ op: 'add', path: '/properties/a/maxLength', value: 10 })).toBe(
      '`maxLength` set to 10 at /properties/a',
    );
    expect(summarize({ op: 'remove', path: '/additionalProperties', oldValue: false })).toBe(
      '`additionalProperties` (was false) removed at /',
    );
    expect(summarize({ op: 'replace', path: '/maximum', value: 20, oldValue: 10 })).toBe(
      '`maximum` changed from 10 to 20 at /',
    );
    expect(summarize({ op: 'add', path: '/allOf/1', value: {} })).toBe('item added to /allOf at index 1');
    expect(summarize({ op: 'move', from: '/allOf/1', path: '/allOf/0' })).toBe(
      'item moved from /allOf/1 to /allOf/0',
    );
    expect(summarize({ op: 'add', path: '/properties/required', value: {} })).toBe(
      'property `required` added to /properties',
    );
  });

  it('cuts long values short', () => {
    const summary = summarize({ op: 'add', path: '/default', value: 'x'.repeat(200) });
    expect(summary.length).toBeLessThan(90);
    expect(summary).toContain('…');
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: [2, { d: 1, c: 0 }], a: null })).toBe('{"a":null,"b":[2,{"c":0,"d":1}]}');
  });
});
