/**
 * What the compatibility checker knows about JSON Schema keywords: which it understands, which are
 * annotations, and small readings of a schema (its types, its finite set of values).
 */
import { isObject, type JsonSchema, jsonEqual, type SchemaObject } from './schema-walk.js';

export const KNOWN = new Set([
  'type',
  'enum',
  'const',
  'required',
  'properties',
  'additionalProperties',
  'patternProperties',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  '$ref',
]);

/** Keywords that never change which instances validate (in 2020-12, `format` is compared, not ignored). */
export const ANNOTATIONS = new Set([
  '$schema',
  '$id',
  '$anchor',
  '$comment',
  '$defs',
  'definitions',
  '$vocabulary',
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  'contentMediaType',
  'contentEncoding',
]);

export const ALL_TYPES = ['null', 'boolean', 'object', 'array', 'string', 'number'] as const;

export function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'boolean' || isObject(value);
}

export function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function validRegex(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

/** Every `$ref` in the document points into `$defs` or `definitions`. */
export function onlyDefRefs(node: unknown): boolean {
  if (Array.isArray(node)) return node.every(onlyDefRefs);
  if (!isObject(node)) return true;
  return Object.entries(node).every(([key, value]) => {
    if (key === '$dynamicRef') return false;
    if (key === '$ref') return typeof value === 'string' && /^#\/(\$defs|definitions)\//.test(value);
    return onlyDefRefs(value);
  });
}

/** The finite set of values a schema allows, when `const`, `enum` or its types make it finite. */
export function finiteValues(s: SchemaObject): unknown[] | undefined {
  let values: unknown[] | undefined;
  if (Array.isArray(s.enum)) values = s.enum;
  if (Object.hasOwn(s, 'const')) values = values ? values.filter((v) => jsonEqual(v, s.const)) : [s.const];
  if (values) return values;
  const types = typeSet(s);
  if (types && types.size > 0 && [...types].every((t) => t === 'null' || t === 'boolean')) {
    return [...(types.has('null') ? [null] : []), ...(types.has('boolean') ? [true, false] : [])];
  }
  return undefined;
}

/** The declared types, all of them when `type` is absent; undefined when `type` is malformed. */
export function typeSet(s: SchemaObject): Set<string> | undefined {
  if (s.type === undefined) return new Set(ALL_TYPES);
  const list = Array.isArray(s.type) ? s.type : [s.type];
  const known = new Set<string>([...ALL_TYPES, 'integer']);
  if (!list.every((t) => typeof t === 'string' && known.has(t))) return undefined;
  return new Set(list as string[]);
}

export function covers(readerTypes: Set<string>, type: string, writer: SchemaObject): boolean {
  if (readerTypes.has(type)) return true;
  if (type === 'integer') return readerTypes.has('number');
  // A number that is a multiple of an integer is an integer.
  return type === 'number' && readerTypes.has('integer') && Number.isInteger(writer.multipleOf);
}
