/**
 * A structural diff between two JSON Schema documents as RFC 6902 JSON Patch operations, each with a
 * summary a person can read. jsondiffpatch computes the diff (its LCS array diff turns an insertion
 * into one `add`, where an index-by-index comparison would replace every later item); this file only
 * prepares the documents and describes the operations.
 */
import { create } from 'jsondiffpatch';
import { format, type Op, patch } from 'jsondiffpatch/formatters/jsonpatch';
import { pointerTokens, summarize } from './schema-diff-summary.js';
import { isObject, type JsonSchema, pointerToken, type SchemaObject } from './schema-walk.js';

/** One JSON Patch operation, with the value it removes or replaces and a summary. */
export interface SchemaPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move';
  path: string;
  /** `move` only: where the item was. */
  from?: string;
  /** `add` and `replace`: the new value. */
  value?: unknown;
  /**
   * `remove` and `replace`: the value there before. Not part of RFC 6902; a patch library ignores
   * members it does not know, so the operations still apply as they are.
   */
  oldValue?: unknown;
  summary: string;
}

/** Arrays whose order JSON Schema ignores: a reordering changes nothing a validator sees. */
const SET_KEYWORDS = ['required', 'enum', 'type'] as const;
const ONE_SCHEMA = [
  'additionalProperties',
  'items',
  'not',
  'if',
  'then',
  'else',
  'contains',
  'propertyNames',
  'unevaluatedProperties',
  'unevaluatedItems',
  'additionalItems',
];
const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];
const SCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'];
/**
 * The LCS array diff needs a table of (length - common ends) squared cells, about 80 ms a million; past
 * that, an array is replaced whole rather than let one request hold the hub's CPU and memory (the
 * `examples` of a 256 KiB schema can hold tens of thousands of values).
 */
const MAX_LCS_CELLS = 1_000_000;

/** JSON text with object keys sorted, so that equal values give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

// Array items that are objects (the branches of `anyOf`, say) are matched by content: an inserted or
// moved branch then reads as one `add` or `move`, and an edited branch as its removal and addition.
const differ = create({ objectHash: (item: object) => canonicalJson(item) });

/**
 * The operations that turn `from` into `to`, in the order they apply. Set-like keyword arrays
 * (`required`, `enum`, an array `type`) are compared as sets: the patch yields `to` up to their order,
 * so a reordering gives no operation, a removed name one `remove` and an added name one `add` at the
 * end. Their operations come after the others.
 *
 * @example
 * diffSchemas({ type: 'object', properties: {} }, { type: 'object', properties: { id: { type: 'string' } } });
 * // [{ op: 'add', path: '/properties/id', value: { type: 'string' }, summary: 'property `id` added to /properties' }]
 */
export function diffSchemas(from: JsonSchema, to: JsonSchema): SchemaPatchOperation[] {
  const setOps: Op[] = [];
  const target = splitSets(from, to, '', setOps);
  const delta = differ.diff(capArrays(from, target), target);
  const all = [...(delta === undefined ? [] : format(delta)), ...setOps];
  // Applying the operations one by one shows what each removes or replaces: after an earlier
  // operation on the same array, an index no longer points where it pointed in `from`.
  let doc: unknown = structuredClone(from);
  return all.map((op) => {
    const before = op.op === 'remove' || op.op === 'replace' ? valueAt(doc, op.path) : undefined;
    if (op.path === '' && op.op === 'replace') doc = structuredClone(op.value);
    else patch(doc, [op]);
    const out: Omit<SchemaPatchOperation, 'summary'> =
      op.op === 'remove' || op.op === 'replace' ? { ...op, oldValue: before } : { ...op };
    return { ...out, summary: summarize(out) };
  });
}

function valueAt(doc: unknown, pointer: string): unknown {
  let node = doc;
  for (const token of pointerTokens(pointer)) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isObject(node)) node = node[token];
    else return undefined;
  }
  return node;
}

/**
 * `to` with each set-like array at a schema position swapped for `from`'s array there, pushing onto
 * `ops` the operations that turn the one into the other as a set. They are computed here rather than
 * by the LCS array diff, which would show a reordering as moves, and whose cost grows with the square
 * of the length (an enum may hold thousands of values). Walks only schema positions, so an `enum`
 * inside a `default` value keeps its order.
 */
function splitSets(from: unknown, to: unknown, path: string, ops: Op[]): unknown {
  if (!isObject(from) || !isObject(to)) return to;
  const out: SchemaObject = { ...to };
  const at = (...tokens: string[]) => `${path}/${tokens.map(pointerToken).join('/')}`;
  for (const key of SET_KEYWORDS) {
    const [a, b] = [from[key], to[key]];
    if (Array.isArray(a) && Array.isArray(b)) out[key] = setDiff(a, b, at(key), ops);
  }
  for (const key of ONE_SCHEMA) {
    if (key in to) out[key] = splitSets(from[key], to[key], at(key), ops);
  }
  for (const key of SCHEMA_MAPS) {
    const [a, b] = [from[key], to[key]];
    if (isObject(a) && isObject(b)) {
      out[key] = Object.fromEntries(
        Object.entries(b).map(([name, s]) => [name, splitSets(a[name], s, at(key, name), ops)]),
      );
    }
  }
  for (const key of SCHEMA_LISTS) {
    const [a, b] = [from[key], to[key]];
    // Branches are paired by position only when none was added or removed: after an insertion,
    // position no longer says which branch became which, and the LCS diff pairs them by content.
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      out[key] = b.map((s, i) => splitSets(a[i], s, at(key, String(i)), ops));
    }
  }
  const [a, b] = [from.dependentRequired, to.dependentRequired];
  if (isObject(a) && isObject(b)) {
    out.dependentRequired = Object.fromEntries(
      Object.entries(b).map(([name, list]) => {
        const old = a[name];
        const same = Array.isArray(old) && Array.isArray(list);
        return [name, same ? setDiff(old, list, at('dependentRequired', name), ops) : list];
      }),
    );
  }
  return out;
}

/**
 * Pushes the removals (last first, so that each index still holds) and then the additions that turn
 * `from` into `to` as sets; answers `from`, which the rest of the diff then sees unchanged.
 */
function setDiff(from: unknown[], to: unknown[], path: string, ops: Op[]): unknown[] {
  const unmatched = new Map<string, number>();
  for (const item of to) {
    const key = canonicalJson(item);
    unmatched.set(key, (unmatched.get(key) ?? 0) + 1);
  }
  const removed: number[] = [];
  from.forEach((item, i) => {
    const key = canonicalJson(item);
    const left = unmatched.get(key) ?? 0;
    if (left > 0) unmatched.set(key, left - 1);
    else removed.push(i);
  });
  for (const i of removed.reverse()) ops.push({ op: 'remove', path: `${path}/${i}` });
  let next = from.length - removed.length;
  for (const item of to) {
    const key = canonicalJson(item);
    const left = unmatched.get(key) ?? 0;
    if (left === 0) continue;
    unmatched.set(key, left - 1);
    ops.push({ op: 'add', path: `${path}/${next++}`, value: item });
  }
  return from;
}

/**
 * `from` with every array that would need too large an LCS table (against the array at the same
 * path in `to`) swapped for a marker, so that the diff replaces that array whole.
 */
function capArrays(from: unknown, to: unknown): unknown {
  if (Array.isArray(from) && Array.isArray(to)) {
    const [head, tail] = commonEnds(from, to);
    if ((from.length - head - tail) * (to.length - head - tail) > MAX_LCS_CELLS) {
      return { 'junction:array-too-large-to-compare': true };
    }
    return from.map((item, i) => capArrays(item, to[i]));
  }
  if (isObject(from) && isObject(to)) {
    return Object.fromEntries(Object.entries(from).map(([k, v]) => [k, capArrays(v, to[k])]));
  }
  return from;
}

function commonEnds(a: unknown[], b: unknown[]): [number, number] {
  const same = (x: unknown, y: unknown) => x === y || canonicalJson(x) === canonicalJson(y);
  let head = 0;
  while (head < a.length && head < b.length && same(a[head], b[head])) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    same(a[a.length - 1 - tail], b[b.length - 1 - tail])
  ) {
    tail++;
  }
  return [head, tail];
}
