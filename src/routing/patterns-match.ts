/**
 * Compilation of one leaf of a checked pattern (an array of alternatives) into a test of one event
 * field. Everything that can be worked out from the pattern alone (lower-cased strings, wildcard
 * segments, numeric bounds) is worked out here, once, so the per-event work is comparisons only.
 */

import { isPlainObject } from './patterns-check.js';

/** A test of one leaf value of an event (a string, number, boolean or null; objects never pass). */
type ValueTest = (value: unknown) => boolean;
/** A test of one field; `undefined` stands for a field the event does not have. */
export type FieldTest = (value: unknown) => boolean;

/** How deep arrays nested in arrays are searched: deeper elements are ignored, never recursed into. */
const MAX_ARRAY_DEPTH = 32;

/**
 * Whether `test` passes for the value, or, when the value is an array, for any element (arrays in
 * arrays are flattened). This is EventBridge's rule that an array matches when any element does.
 */
export function someElement(value: unknown, test: ValueTest, depth = 0): boolean {
  if (!Array.isArray(value)) return test(value);
  if (depth >= MAX_ARRAY_DEPTH) return false;
  for (const element of value) {
    if (someElement(element, test, depth + 1)) return true;
  }
  return false;
}

/** An empty array holds no value, so for `exists` it is the same as a missing field. */
const present = (value: unknown): boolean => value !== undefined;

/**
 * Compiles an array of alternatives. A missing field (or an empty array) matches only
 * `{"exists": false}`; a present one matches when any of its values passes any other alternative.
 */
export function compileLeaf(alternatives: readonly unknown[]): FieldTest {
  let existsTrue = false;
  let existsFalse = false;
  const tests: ValueTest[] = [];
  for (const alternative of alternatives) {
    if (isPlainObject(alternative) && typeof alternative.exists === 'boolean') {
      if (alternative.exists) existsTrue = true;
      else existsFalse = true;
    } else {
      tests.push(compileAlternative(alternative));
    }
  }
  const test = anyOf(tests);
  return (value) => {
    if (value === undefined) return existsFalse;
    if (!Array.isArray(value)) return existsTrue || test(value);
    if (!someElement(value, present)) return existsFalse;
    return existsTrue || someElement(value, test);
  };
}

function anyOf(tests: ValueTest[]): ValueTest {
  if (tests.length === 1) return tests[0]!;
  return (value) => {
    for (const test of tests) if (test(value)) return true;
    return false;
  };
}

/** Literals match by strict equality: numbers numerically, never a number against a string. */
function compileAlternative(alternative: unknown): ValueTest {
  if (!isPlainObject(alternative)) return (value) => value === alternative;
  const [operator, operand] = Object.entries(alternative)[0]!;
  switch (operator) {
    case 'prefix':
      return stringTest(affix(operand, (s, p) => s.startsWith(p)));
    case 'suffix':
      return stringTest(affix(operand, (s, p) => s.endsWith(p)));
    case 'equals-ignore-case': {
      const lower = (operand as string).toLowerCase();
      return stringTest((s) => s.toLowerCase() === lower);
    }
    case 'wildcard':
      return stringTest(compileWildcard(operand as string));
    case 'numeric':
      return compileNumeric(operand as (string | number)[]);
    case 'anything-but':
      return compileAnythingBut(operand);
    default:
      // Unreachable for a checked pattern; matching nothing is the safe reading of the unknown.
      return () => false;
  }
}

const stringTest =
  (test: (s: string) => boolean): ValueTest =>
  (value) =>
    typeof value === 'string' && test(value);

/** `"x"` or `{"equals-ignore-case": "x"}` as the operand of prefix or suffix. */
function affix(operand: unknown, has: (s: string, part: string) => boolean): (s: string) => boolean {
  if (typeof operand === 'string') return (s) => has(s, operand);
  const lower = String((operand as Record<string, unknown>)['equals-ignore-case']).toLowerCase();
  return (s) => has(s.toLowerCase(), lower);
}

function compileNumeric(operand: (string | number)[]): ValueTest {
  const first = comparison(operand[0] as string, operand[1] as number);
  if (operand.length < 4) return (value) => typeof value === 'number' && first(value);
  const second = comparison(operand[2] as string, operand[3] as number);
  return (value) => typeof value === 'number' && first(value) && second(value);
}

function comparison(operator: string, bound: number): (n: number) => boolean {
  switch (operator) {
    case '<':
      return (n) => n < bound;
    case '<=':
      return (n) => n <= bound;
    case '>':
      return (n) => n > bound;
    case '>=':
      return (n) => n >= bound;
    default:
      return (n) => n === bound;
  }
}

/**
 * anything-but with values matches every present leaf value (booleans and null included) that is
 * not listed; its string forms match only strings, since "does not start with x" says nothing
 * sensible about a number. Objects are not leaf values and never match.
 */
function compileAnythingBut(operand: unknown): ValueTest {
  if (!isPlainObject(operand)) {
    const excluded = new Set(Array.isArray(operand) ? operand : [operand]);
    return (value) => (typeof value !== 'object' || value === null) && !excluded.has(value);
  }
  const [operator, inner] = Object.entries(operand)[0]!;
  const list = (Array.isArray(inner) ? inner : [inner]) as string[];
  let test: (s: string) => boolean;
  if (operator === 'prefix') test = (s) => s.startsWith(inner as string);
  else if (operator === 'suffix') test = (s) => s.endsWith(inner as string);
  else if (operator === 'wildcard') test = anyString(list.map(compileWildcard));
  else {
    const lowered = new Set(list.map((s) => s.toLowerCase()));
    test = (s) => lowered.has(s.toLowerCase());
  }
  return stringTest((s) => !test(s));
}

function anyString(tests: ((s: string) => boolean)[]): (s: string) => boolean {
  return (s) => tests.some((t) => t(s));
}

/** Splits a checked wildcard at its unescaped stars, removing the escapes from each literal part. */
export function wildcardSegments(pattern: string): string[] {
  const segments: string[] = [];
  let current = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) current += pattern[++i];
    else if (c === '*') {
      segments.push(current);
      current = '';
    } else current += c;
  }
  segments.push(current);
  return segments;
}

/**
 * A glob matcher in linear time, written by hand because a translated regular expression can
 * backtrack. With only `*`, matching the literal parts leftmost and in order is exact: the first
 * part must open the text, the last must close it, and each middle part is found by a KMP scan
 * that resumes where the previous part ended, so no character is examined more than a bounded
 * number of times.
 */
export function compileWildcard(pattern: string): (text: string) => boolean {
  const segments = wildcardSegments(pattern);
  const first = segments[0]!;
  if (segments.length === 1) return (text) => text === first;
  const last = segments[segments.length - 1]!;
  const middle = segments
    .slice(1, -1)
    .filter((s) => s !== '')
    .map((needle) => ({ needle, table: kmpTable(needle) }));
  const minimum = first.length + last.length;
  return (text) => {
    if (text.length < minimum || !text.startsWith(first) || !text.endsWith(last)) return false;
    let from = first.length;
    const end = text.length - last.length;
    for (const { needle, table } of middle) {
      const at = kmpIndexOf(text, needle, table, from, end);
      if (at < 0) return false;
      from = at + needle.length;
    }
    return true;
  };
}

/** The KMP failure table: for each prefix of the needle, the longest proper border. */
function kmpTable(needle: string): Int32Array {
  const table = new Int32Array(needle.length);
  let k = 0;
  for (let i = 1; i < needle.length; i++) {
    while (k > 0 && needle.charCodeAt(i) !== needle.charCodeAt(k)) k = table[k - 1]!;
    if (needle.charCodeAt(i) === needle.charCodeAt(k)) k++;
    table[i] = k;
  }
  return table;
}

/** The first index at or after `from` where the needle lies wholly before `end`, or -1. */
function kmpIndexOf(text: string, needle: string, table: Int32Array, from: number, end: number): number {
  let k = 0;
  for (let i = from; i < end; i++) {
    const c = text.charCodeAt(i);
    while (k > 0 && c !== needle.charCodeAt(k)) k = table[k - 1]!;
    if (c === needle.charCodeAt(k)) k++;
    if (k === needle.length) return i - k + 1;
  }
  return -1;
}
