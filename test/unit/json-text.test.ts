import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedRequestError, ValidationError } from '../../src/core/errors.js';
import { MAX_JSON_DEPTH, parseJsonText } from '../../src/core/json-text.js';

/** How deep a parsed value nests arrays and objects. */
const depthOf = (value: unknown): number =>
  value !== null && typeof value === 'object'
    ? 1 + Math.max(0, ...Object.values(value as object).map(depthOf))
    : 0;

/** Wraps `value` in `levels` arrays and objects whose keys and siblings hold quotes, backslashes and brackets. */
function wrap(value: unknown, levels: number, noise: string): unknown {
  let wrapped = value;
  for (let i = 0; i < levels; i++) {
    wrapped = i % 3 === 0 ? { [`${noise}"\\`]: wrapped, k: '\\"[{' } : [wrapped, noise, '\\\\"]}'];
  }
  return wrapped;
}

describe('parseJsonText', () => {
  it('refuses text exactly when it nests deeper than the limit, whatever its strings hold', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 4 }),
        fc.integer({ min: MAX_JSON_DEPTH - 8, max: MAX_JSON_DEPTH + 4 }),
        fc.string(),
        fc.boolean(),
        (value, levels, noise, pretty) => {
          const wrapped = wrap(value, levels, noise);
          const text = JSON.stringify(wrapped, null, pretty ? 1 : undefined);
          let refused = false;
          try {
            parseJsonText(text, 'the body');
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
            refused = true;
          }
          return refused === depthOf(wrapped) > MAX_JSON_DEPTH;
        },
      ),
      { numRuns: 1_500 },
    );
  });

  it('names the pointer of the first container past the limit', () => {
    const text = JSON.stringify(wrap(1, MAX_JSON_DEPTH + 1, 'a"b'));
    expect(() => parseJsonText(text, 'the body')).toThrow(/nests 101 levels deep; at most 100/);
  });

  it('locates a syntax error by line and column', () => {
    expect(() => parseJsonText('{\n  "a": }', 'the body')).toThrow(MalformedRequestError);
    expect(() => parseJsonText('{\n  "a": }', 'the body')).toThrow(/line 2, column 8/);
  });
});
