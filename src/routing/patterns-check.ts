/**
 * Checking of `pattern` filters (EventBridge-style content patterns). Every problem is reported at
 * once, each located by a JSON pointer and saying what to change, in the style of `checkFilters`.
 * The bounds below keep a stored pattern cheap to compile and to evaluate on every event.
 */

import { type FieldError, pointerToken } from '../core/errors.js';

/** Deepest nesting of pattern objects (the top level is 1; each nested field or `$or` branch adds 1). */
export const MAX_PATTERN_DEPTH = 32;
/** Most values a pattern may hold: every alternative and every element of a list inside a matcher. */
export const MAX_PATTERN_VALUES = 1000;

export const MATCHERS = 'prefix, suffix, anything-but, numeric, exists, equals-ignore-case, wildcard';
const ATTRIBUTE_NAME = /^[a-z0-9]{1,50}$/;
const NUMERIC_OPERATORS = new Set(['<', '<=', '=', '>', '>=']);

/** What the walk carries: where errors go and how many values have been counted so far. */
interface Walk {
  errors: FieldError[];
  values: number;
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a whole pattern; the top level names event attributes and `data`. */
export function checkPatternValue(value: unknown, pointer: string): FieldError[] {
  const walk: Walk = { errors: [], values: 0 };
  checkObject(value, pointer, 1, true, walk);
  return walk.errors;
}

function fail(walk: Walk, pointer: string, message: string): void {
  walk.errors.push({ pointer, message });
}

function checkObject(value: unknown, pointer: string, depth: number, root: boolean, walk: Walk): void {
  if (!isPlainObject(value)) {
    fail(walk, pointer, 'a pattern is an object of field names to arrays of alternatives or nested patterns');
    return;
  }
  // Stopping here also keeps the walk itself from recursing without bound on hostile input.
  if (depth > MAX_PATTERN_DEPTH) {
    fail(walk, pointer, `patterns nest at most ${MAX_PATTERN_DEPTH} levels deep; flatten this part`);
    return;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) {
    fail(walk, pointer, 'an empty pattern matches everything; name at least one field, or omit it');
    return;
  }
  for (const key of keys) checkMember(key, value[key], `${pointer}/${pointerToken(key)}`, depth, root, walk);
}

function checkMember(
  key: string,
  value: unknown,
  pointer: string,
  depth: number,
  root: boolean,
  walk: Walk,
): void {
  if (key === '$or') {
    checkOr(value, pointer, depth, root, walk);
    return;
  }
  if (key.startsWith('$')) {
    fail(walk, pointer, `unknown operator '${key}'; the only operator is $or`);
    return;
  }
  const attribute = root && key !== 'data';
  if (attribute && !ATTRIBUTE_NAME.test(key)) {
    fail(
      walk,
      pointer,
      'attribute names are 1 to 50 lowercase letters and digits; put payload fields under "data"',
    );
    return;
  }
  if (Array.isArray(value)) {
    checkAlternatives(value, pointer, walk);
    return;
  }
  if (isPlainObject(value)) {
    if (attribute) {
      fail(walk, pointer, `attribute '${key}' has no nested fields; give an array such as ["value"]`);
      return;
    }
    checkObject(value, pointer, depth + 1, false, walk);
    return;
  }
  fail(walk, pointer, 'give an array of alternatives, such as ["paid"], or a nested pattern object');
}

/** `$or` branches sit at the level of the object holding them, so `root` carries over. */
function checkOr(value: unknown, pointer: string, depth: number, root: boolean, walk: Walk): void {
  if (!Array.isArray(value) || value.length === 0) {
    fail(walk, pointer, '$or takes a non-empty array of patterns');
    return;
  }
  value.forEach((branch, i) => {
    checkObject(branch, `${pointer}/${i}`, depth + 1, root, walk);
  });
}

/** Counts one value; reports the bound once, at the first value past it. */
function count(walk: Walk, pointer: string): void {
  walk.values++;
  if (walk.values === MAX_PATTERN_VALUES + 1) {
    fail(
      walk,
      pointer,
      `a pattern holds at most ${MAX_PATTERN_VALUES} values; split it across subscriptions`,
    );
  }
}

function checkAlternatives(list: unknown[], pointer: string, walk: Walk): void {
  if (list.length === 0) {
    fail(walk, pointer, 'give at least one alternative; an empty array would match nothing');
    return;
  }
  list.forEach((alternative, i) => {
    const at = `${pointer}/${i}`;
    count(walk, at);
    checkAlternative(alternative, at, walk);
  });
}

function checkAlternative(value: unknown, pointer: string, walk: Walk): void {
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(walk, pointer, 'numbers must be finite');
    return;
  }
  if (isPlainObject(value)) {
    checkMatcher(value, pointer, walk);
    return;
  }
  fail(
    walk,
    pointer,
    `an alternative is a string, number, boolean, null or one matcher object (${MATCHERS})`,
  );
}

function checkMatcher(matcher: Record<string, unknown>, pointer: string, walk: Walk): void {
  const keys = Object.keys(matcher);
  if (keys.length !== 1) {
    fail(walk, pointer, `a matcher has exactly one operator (${MATCHERS}); found ${keys.length}`);
    return;
  }
  const operator = keys[0]!;
  const value = matcher[operator];
  const at = `${pointer}/${pointerToken(operator)}`;
  switch (operator) {
    case 'prefix':
    case 'suffix':
      checkAffix(operator, value, at, walk);
      return;
    case 'equals-ignore-case':
      if (typeof value !== 'string') fail(walk, at, 'equals-ignore-case takes a string');
      return;
    case 'wildcard':
      checkWildcard(value, at, walk);
      return;
    case 'exists':
      if (typeof value !== 'boolean') fail(walk, at, 'exists takes true or false');
      return;
    case 'numeric':
      checkNumeric(value, at, walk);
      return;
    case 'anything-but':
      checkAnythingBut(value, at, walk);
      return;
    default:
      fail(walk, at, `unknown matcher '${operator}'; use one of ${MATCHERS}`);
  }
}

/** `prefix` and `suffix` take a non-empty string, or `{"equals-ignore-case": string}`. */
function checkAffix(operator: string, value: unknown, pointer: string, walk: Walk): void {
  if (isPlainObject(value) && Object.keys(value).length === 1 && 'equals-ignore-case' in value) {
    checkAffix(operator, value['equals-ignore-case'], `${pointer}/equals-ignore-case`, walk);
    return;
  }
  if (typeof value !== 'string') {
    fail(walk, pointer, `${operator} takes a string or {"equals-ignore-case": string}`);
    return;
  }
  if (value === '') fail(walk, pointer, `an empty ${operator} matches every string; use {"exists": true}`);
}

/**
 * Wildcards allow `*` (any run) and the escapes `\*` and `\\`. Consecutive stars are refused as
 * EventBridge does: they add nothing, and refusing them keeps patterns canonical.
 */
function checkWildcard(value: unknown, pointer: string, walk: Walk): void {
  if (typeof value !== 'string') {
    fail(walk, pointer, 'wildcard takes a string');
    return;
  }
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\') {
      const next = value[i + 1];
      if (next !== '*' && next !== '\\') {
        fail(walk, pointer, 'in a wildcard, a backslash escapes only * or \\; write \\\\ for a backslash');
        return;
      }
      i++;
    } else if (c === '*' && value[i + 1] === '*') {
      fail(walk, pointer, 'a wildcard may not hold consecutive *; one * already matches any run');
      return;
    }
  }
}

/** One comparison (`[op, n]`), or a lower then an upper bound (`[">", 0, "<=", 100]`). */
function checkNumeric(value: unknown, pointer: string, walk: Walk): void {
  const shape = 'numeric takes [op, number] or [">" or ">=", low, "<" or "<=", high]';
  if (!Array.isArray(value) || (value.length !== 2 && value.length !== 4)) {
    fail(walk, pointer, shape);
    return;
  }
  const before = walk.errors.length;
  for (let i = 0; i < value.length; i += 2) {
    if (!NUMERIC_OPERATORS.has(value[i] as string)) {
      fail(walk, `${pointer}/${i}`, 'numeric operators are <, <=, =, > and >=');
    }
    const n = value[i + 1];
    if (typeof n !== 'number' || !Number.isFinite(n))
      fail(walk, `${pointer}/${i + 1}`, 'give a finite number');
  }
  if (value.length === 2 || walk.errors.length > before) return;
  const [low, lowValue, high, highValue] = value as [string, number, string, number];
  if (!low.startsWith('>') || !high.startsWith('<')) {
    fail(walk, pointer, shape);
    return;
  }
  if (lowValue > highValue || (lowValue === highValue && (low === '>' || high === '<'))) {
    fail(walk, pointer, 'this range holds no number; put the lower bound first and below the upper');
  }
}

const ANYTHING_BUT_SHAPE =
  'anything-but takes a string, a number, a non-empty array of them, or one of {"prefix"}, {"suffix"}, {"equals-ignore-case"}, {"wildcard"}';

function checkAnythingBut(value: unknown, pointer: string, walk: Walk): void {
  if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) return;
  if (Array.isArray(value)) {
    checkAnythingButList(value, pointer, walk, 'strings or numbers');
    return;
  }
  if (!isPlainObject(value) || Object.keys(value).length !== 1) {
    fail(walk, pointer, ANYTHING_BUT_SHAPE);
    return;
  }
  const [operator, inner] = Object.entries(value)[0]!;
  const at = `${pointer}/${pointerToken(operator)}`;
  switch (operator) {
    case 'prefix':
    case 'suffix':
      if (typeof inner !== 'string' || inner === '') fail(walk, at, `${operator} takes a non-empty string`);
      return;
    case 'equals-ignore-case':
      if (Array.isArray(inner)) {
        checkAnythingButList(inner, at, walk, 'strings');
        return;
      }
      if (typeof inner !== 'string')
        fail(walk, at, 'equals-ignore-case takes a string or an array of strings');
      return;
    case 'wildcard':
      if (Array.isArray(inner)) {
        checkAnythingButList(inner, at, walk, 'wildcards');
        return;
      }
      checkWildcard(inner, at, walk);
      return;
    default:
      fail(walk, pointer, ANYTHING_BUT_SHAPE);
  }
}

/** Lists inside anything-but: booleans and null are refused, as EventBridge refuses them. */
function checkAnythingButList(list: unknown[], pointer: string, walk: Walk, kind: string): void {
  if (list.length === 0) {
    fail(walk, pointer, `give a non-empty array of ${kind}`);
    return;
  }
  list.forEach((item, i) => {
    const at = `${pointer}/${i}`;
    count(walk, at);
    if (kind === 'wildcards') {
      checkWildcard(item, at, walk);
      return;
    }
    const ok =
      typeof item === 'string' || (kind !== 'strings' && typeof item === 'number' && Number.isFinite(item));
    if (!ok) fail(walk, at, `anything-but lists hold only ${kind}`);
  });
}
