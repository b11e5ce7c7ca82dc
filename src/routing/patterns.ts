/**
 * The `pattern` filter dialect: content patterns in the style of Amazon EventBridge, over event
 * attributes and the fields of JSON `data`. Checking lives in `patterns-check.ts`, the leaf
 * matchers in `patterns-match.ts`; this file compiles the object structure (fields, nesting, `$or`)
 * and holds the public API. The semantics are described in docs/patterns.md.
 */

import type { FieldError } from '../core/errors.js';
import type { CloudEvent } from '../core/event.js';
import { isJsonMediaType, parseMediaType } from '../core/media-type.js';
import { checkPatternValue, isPlainObject } from './patterns-check.js';
import { compileLeaf, someElement } from './patterns-match.js';

type Container = Record<string, unknown>;
type ObjectTest = (container: Container) => boolean;

/** What a nested pattern sees when the event has no object at that place: every field missing. */
const NOTHING: Container = Object.freeze({});

/**
 * Checks a pattern, returning every problem located by JSON pointer under `pointer` (e.g.
 * "/filters/0/pattern/data/total/0"), each message saying what to change.
 *
 * @example
 * checkPattern({ type: ['com.acme.order.paid'], data: { total: [{ numeric: ['>', 100] }] } }, '/pattern');
 * // []
 * checkPattern({ data: { total: [] } }, '/pattern');
 * // [{ pointer: '/pattern/data/total', message: 'give at least one alternative; …' }]
 */
export function checkPattern(value: unknown, pointer: string): FieldError[] {
  return checkPatternValue(value, pointer);
}

/**
 * Compiles a checked pattern once into a predicate; evaluation must be fast (it runs per event in
 * routing) and never throw.
 *
 * @example
 * const bigOrder = compilePattern({ data: { total: [{ numeric: ['>', 100] }] } });
 * bigOrder({ specversion: '1.0', id: '1', source: '/shop', type: 'order', data: { total: 250 } }); // true
 */
export function compilePattern(pattern: Record<string, unknown>): (event: CloudEvent) => boolean {
  const test = compileObject(pattern, true);
  return (event) => {
    // Events built in code rather than parsed from JSON may carry getters that throw; routing must
    // treat such an event as not matching rather than fail.
    try {
      return test(event);
    } catch {
      return false;
    }
  };
}

/** Every member must match: fields by their own test, `$or` when any branch matches. */
function compileObject(pattern: Container, root: boolean): ObjectTest {
  const tests = Object.entries(pattern).map(([key, value]) =>
    key === '$or' ? compileOr(value as Container[], root) : compileField(key, value, root),
  );
  if (tests.length === 1) return tests[0]!;
  return (container) => {
    for (const test of tests) if (!test(container)) return false;
    return true;
  };
}

function compileOr(branches: Container[], root: boolean): ObjectTest {
  const tests = branches.map((branch) => compileObject(branch, root));
  return (container) => {
    for (const test of tests) if (test(container)) return true;
    return false;
  };
}

function compileField(key: string, value: unknown, root: boolean): ObjectTest {
  const read = root && key === 'data' ? readData : (container: Container) => ownValue(container, key);
  if (Array.isArray(value)) {
    const leaf = compileLeaf(value);
    return (container) => leaf(read(container));
  }
  const nested = compileObject(value as Container, false);
  return (container) => matchNested(read(container), nested);
}

/** Own members only, so a field named `constructor` or `toString` is not found on the prototype. */
function ownValue(container: Container, key: string): unknown {
  return Object.hasOwn(container, key) ? container[key] : undefined;
}

/**
 * A nested pattern over an array matches when it matches one element as a whole, so
 * `{"items": {"sku": ["a"], "qty": [2]}}` needs one item with both. Where the event has no object
 * at all (a missing field, a scalar, an array of scalars) the nested fields are all missing, so
 * only `{"exists": false}` can match there.
 */
function matchNested(value: unknown, nested: ObjectTest): boolean {
  if (isPlainObject(value)) return nested(value);
  if (Array.isArray(value)) {
    if (someElement(value, (element) => isPlainObject(element) && nested(element))) return true;
    if (someElement(value, isPlainObject)) return false;
  }
  return nested(NOTHING);
}

/**
 * `data` has fields only when it is JSON: binary data (`data_base64`) and text under a non-JSON
 * `datacontenttype` read as missing. A string under a JSON type (or with no type, which the JSON
 * event format reads as JSON) is a JSON string value.
 */
function readData(event: Container): unknown {
  if (event.data_base64 !== undefined) return undefined;
  const data = ownValue(event, 'data');
  if (typeof data !== 'string' || typeof event.datacontenttype !== 'string') return data;
  const mediaType = parseMediaType(event.datacontenttype);
  return mediaType !== undefined && isJsonMediaType(mediaType) ? data : undefined;
}
