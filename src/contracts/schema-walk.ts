/**
 * Small helpers over JSON Schema documents for the compatibility checker: local `$ref` resolution,
 * JSON equality, and a validator for the subset the checker understands. Ajv validates payloads at
 * the edge; this validator exists only so the checker can test a finite set of values (`enum`,
 * `const`) against a reader schema without compiling it.
 */

export type JsonSchema = boolean | { [keyword: string]: unknown };
export type SchemaObject = { [keyword: string]: unknown };

export function isObject(value: unknown): value is SchemaObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON equality: key order does not matter, array order does. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]));
  }
  return false;
}

/** Escapes one reference token for a JSON pointer (RFC 6901). */
export function pointerToken(token: string | number): string {
  return String(token).replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * Resolves a `$ref` that is a JSON pointer into the same document (`#`, `#/$defs/x`, `#/definitions/x`).
 * Returns undefined for anything else: Junction never fetches a schema by URL.
 */
export function resolveLocalRef(
  root: unknown,
  ref: string,
): { schema: unknown; pointer: string } | undefined {
  if (ref === '#') return { schema: root, pointer: '' };
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const token = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (isObject(node) && Object.hasOwn(node, token)) node = node[token];
    else if (Array.isArray(node) && /^\d+$/.test(token)) node = node[Number(token)];
    else return undefined;
    if (node === undefined) return undefined;
  }
  return { schema: node, pointer: ref.slice(1) };
}

/** True when some `$ref` or `$dynamicRef` occurs anywhere in the subtree. */
export function containsRef(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(containsRef);
  if (!isObject(node)) return false;
  return Object.entries(node).some(
    ([key, value]) => key === '$ref' || key === '$dynamicRef' || containsRef(value),
  );
}

/** The JSON type names a value has; integers are also numbers. */
export function jsonTypesOf(value: unknown): string[] {
  if (value === null) return ['null'];
  if (Array.isArray(value)) return ['array'];
  switch (typeof value) {
    case 'boolean':
      return ['boolean'];
    case 'string':
      return ['string'];
    case 'number':
      return Number.isInteger(value) ? ['integer', 'number'] : ['number'];
    case 'object':
      return ['object'];
    default:
      return [];
  }
}

function num(schema: SchemaObject, key: string): number | undefined {
  const value = schema[key];
  return typeof value === 'number' ? value : undefined;
}

function matchesPattern(pattern: unknown, text: string): boolean {
  if (typeof pattern !== 'string') return false;
  try {
    return new RegExp(pattern, 'u').test(text);
  } catch {
    return false;
  }
}

/**
 * Whether `value` is valid under `schema` for the keywords the checker understands. Keywords outside that
 * subset are ignored: the checker refuses any change to them before relying on this function, so an
 * identical unknown keyword constrains the writer's values exactly as it constrains the reader's.
 */
export function acceptsValue(schema: unknown, value: unknown, root: unknown, depth = 0): boolean {
  if (schema === true) return true;
  if (schema === false || !isObject(schema) || depth > 64) return false;
  if (typeof schema.$ref === 'string') {
    const target = resolveLocalRef(root, schema.$ref);
    if (!target || !acceptsValue(target.schema, value, root, depth + 1)) return false;
  }
  const types = jsonTypesOf(value);
  if (schema.type !== undefined) {
    const wanted = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!wanted.some((t) => typeof t === 'string' && types.includes(t))) return false;
  }
  if (Object.hasOwn(schema, 'const') && !jsonEqual(schema.const, value)) return false;
  if (Array.isArray(schema.enum) && !schema.enum.some((item) => jsonEqual(item, value))) return false;
  if (typeof value === 'number') {
    const min = num(schema, 'minimum');
    const max = num(schema, 'maximum');
    const exMin = num(schema, 'exclusiveMinimum');
    const exMax = num(schema, 'exclusiveMaximum');
    const multipleOf = num(schema, 'multipleOf');
    if (min !== undefined && value < min) return false;
    if (max !== undefined && value > max) return false;
    if (exMin !== undefined && value <= exMin) return false;
    if (exMax !== undefined && value >= exMax) return false;
    if (multipleOf !== undefined && !Number.isInteger(value / multipleOf)) return false;
  }
  if (typeof value === 'string') {
    const length = [...value].length;
    const minLength = num(schema, 'minLength');
    const maxLength = num(schema, 'maxLength');
    if (minLength !== undefined && length < minLength) return false;
    if (maxLength !== undefined && length > maxLength) return false;
    if (schema.pattern !== undefined && !matchesPattern(schema.pattern, value)) return false;
    // Whether `format` asserts depends on how Ajv is set up (ajv-formats); assume it does and that it fails.
    if (schema.format !== undefined) return false;
  }
  if (Array.isArray(value)) return acceptsArray(schema, value, root, depth);
  if (isObject(value)) return acceptsObject(schema, value, root, depth);
  return true;
}

function acceptsArray(schema: SchemaObject, value: unknown[], root: unknown, depth: number): boolean {
  const minItems = num(schema, 'minItems');
  const maxItems = num(schema, 'maxItems');
  if (minItems !== undefined && value.length < minItems) return false;
  if (maxItems !== undefined && value.length > maxItems) return false;
  if (schema.uniqueItems === true) {
    for (let i = 0; i < value.length; i++) {
      for (let j = i + 1; j < value.length; j++) if (jsonEqual(value[i], value[j])) return false;
    }
  }
  const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
  return value.every((item, i) => {
    const itemSchema = i < prefix.length ? prefix[i] : schema.items;
    return itemSchema === undefined || acceptsValue(itemSchema, item, root, depth + 1);
  });
}

function acceptsObject(schema: SchemaObject, value: SchemaObject, root: unknown, depth: number): boolean {
  const keys = Object.keys(value);
  const minProperties = num(schema, 'minProperties');
  const maxProperties = num(schema, 'maxProperties');
  if (minProperties !== undefined && keys.length < minProperties) return false;
  if (maxProperties !== undefined && keys.length > maxProperties) return false;
  if (
    Array.isArray(schema.required) &&
    !schema.required.every((k) => typeof k === 'string' && Object.hasOwn(value, k))
  ) {
    return false;
  }
  const properties = isObject(schema.properties) ? schema.properties : {};
  const patterns = isObject(schema.patternProperties) ? Object.entries(schema.patternProperties) : [];
  return keys.every((key) => {
    let covered = false;
    if (Object.hasOwn(properties, key)) {
      covered = true;
      if (!acceptsValue(properties[key], value[key], root, depth + 1)) return false;
    }
    for (const [pattern, sub] of patterns) {
      if (!matchesPattern(pattern, key)) continue;
      covered = true;
      if (!acceptsValue(sub, value[key], root, depth + 1)) return false;
    }
    if (covered || schema.additionalProperties === undefined) return true;
    return acceptsValue(schema.additionalProperties, value[key], root, depth + 1);
  });
}
