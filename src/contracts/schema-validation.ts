/**
 * What a schema must be before the registry takes it: a JSON Schema (draft 2020-12) that Ajv
 * compiles, self-contained, and within the size limit.
 */
import { PayloadTooLargeError, pointerToken, ValidationError } from '../core/errors.js';
import { isPatternSyntaxError, newAjv } from './ajv.js';

/** The largest schema the registry stores, as JSON text: 256 KiB. */
export const MAX_SCHEMA_BYTES = 256 * 1024;

const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

/** Keywords whose values are data, not subschemas: a `$ref` inside them is not a reference. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'example']);

/** Reference keywords: Junction resolves them only within the document, and never fetches a URL. */
const REF_KEYWORDS = ['$ref', '$dynamicRef'] as const;

/**
 * The deepest nesting of objects and arrays a schema may have. Real schemas stay far below it; the
 * walks over a schema (here, in Ajv, in the checker) recurse, and must not run out of stack.
 */
export const MAX_SCHEMA_DEPTH = 64;

/**
 * The longest array `uniqueItems` may compare item by item. Over objects or arrays Ajv compares
 * every pair (a 1 MiB event of 20,000 small objects took 9 s); over scalar items it hashes.
 */
export const MAX_UNIQUE_ITEMS = 1_000;

const SCALAR_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);

/** Whether a `uniqueItems` schema bounds the work of checking it: scalar items, or few of them. */
function boundedUniqueItems(node: Record<string, unknown>): boolean {
  const items = node.items;
  const types =
    items !== null && typeof items === 'object' && !Array.isArray(items)
      ? (items as { type?: unknown }).type
      : undefined;
  const list = typeof types === 'string' ? [types] : Array.isArray(types) ? types : [];
  if (list.length > 0 && list.every((t) => SCALAR_TYPES.has(t as string))) return true;
  return typeof node.maxItems === 'number' && node.maxItems <= MAX_UNIQUE_ITEMS;
}

/** The JSON pointer of every reference that leaves the document, with its target. */
function externalRefs(
  node: unknown,
  pointer: string,
  out: { pointer: string; ref: string }[],
  depth = 0,
): void {
  if (node === null || typeof node !== 'object') return;
  if (depth >= MAX_SCHEMA_DEPTH) {
    throw ValidationError.field(
      pointer,
      `the schema is nested more than ${MAX_SCHEMA_DEPTH} levels deep here; flatten it with $defs and "#/$defs/..." references`,
    );
  }
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) externalRefs(item, `${pointer}/${i}`, out, depth + 1);
    return;
  }
  for (const [key, value] of Object.entries(node)) {
    const at = `${pointer}/${pointerToken(key)}`;
    if ((REF_KEYWORDS as readonly string[]).includes(key) && typeof value === 'string') {
      if (!value.startsWith('#')) out.push({ pointer: at, ref: value });
      continue;
    }
    if (DATA_KEYWORDS.has(key)) continue;
    if (key === 'uniqueItems' && value === true && !boundedUniqueItems(node as Record<string, unknown>)) {
      throw ValidationError.field(
        at,
        `uniqueItems over items that may be objects or arrays compares every pair; give items a scalar type, or add maxItems of at most ${MAX_UNIQUE_ITEMS}`,
      );
    }
    externalRefs(value, at, out, depth + 1);
  }
}

/**
 * Checks a candidate schema, located in the request at `pointer`.
 *
 * @throws PayloadTooLargeError over MAX_SCHEMA_BYTES; ValidationError when it is not an object or
 * boolean, refers outside itself, or is not a valid draft 2020-12 schema that Ajv compiles.
 * @example
 * validateSchema({ type: 'object', properties: { id: { type: 'string' } } }, '/schema');
 */
export function validateSchema(schema: unknown, pointer: string): void {
  if (schema === undefined) throw ValidationError.field(pointer, 'schema is required: send a JSON Schema');
  if (
    typeof schema !== 'boolean' &&
    (schema === null || typeof schema !== 'object' || Array.isArray(schema))
  ) {
    throw ValidationError.field(pointer, 'schema must be a JSON Schema: an object (or true/false)');
  }
  // The walk comes first: it bounds the depth, which JSON.stringify below needs.
  const refs: { pointer: string; ref: string }[] = [];
  externalRefs(schema, pointer, refs);
  if (refs.length > 0) {
    throw new ValidationError(
      'a schema may refer only within itself ($ref "#..."); Junction never fetches a URL to resolve one: inline the referenced schema under $defs',
      {
        errors: refs.map((r) => ({
          pointer: r.pointer,
          message: `${JSON.stringify(r.ref)} is outside the document; use a "#/$defs/..." reference to a copy under $defs`,
        })),
      },
    );
  }
  const bytes = Buffer.byteLength(JSON.stringify(schema));
  if (bytes > MAX_SCHEMA_BYTES) {
    throw new PayloadTooLargeError(
      `the schema is ${bytes} bytes, over the limit of ${MAX_SCHEMA_BYTES} bytes (256 KiB); split it or remove unused definitions`,
      { errors: [{ pointer, message: `over the limit of ${MAX_SCHEMA_BYTES} bytes` }] },
    );
  }
  const dialect = typeof schema === 'object' ? (schema as { $schema?: unknown }).$schema : undefined;
  if (dialect !== undefined && dialect !== DRAFT_2020_12 && dialect !== `${DRAFT_2020_12}#`) {
    throw ValidationError.field(
      `${pointer}/$schema`,
      `the registry takes JSON Schema draft 2020-12 only: set $schema to "${DRAFT_2020_12}" or leave it out`,
    );
  }
  const ajv = newAjv();
  if (!ajv.validateSchema(schema)) {
    const errors = (ajv.errors ?? []).map((e) => ({
      pointer: pointer + e.instancePath,
      message: `${e.message ?? 'is invalid'}${e.params && 'allowedValues' in e.params ? `: ${(e.params.allowedValues as unknown[]).join(', ')}` : ''}`,
    }));
    throw new ValidationError(
      `the schema is not a valid JSON Schema (draft 2020-12): ${errors.map((e) => `${e.pointer} ${e.message}`).join('; ')}`,
      { errors },
    );
  }
  try {
    ajv.compile(schema as object | boolean);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (isPatternSyntaxError(error)) {
      throw ValidationError.field(
        pointer,
        `a pattern uses syntax Junction does not run (${message}): patterns are matched in linear time (RE2), without lookaround or backreferences; rewrite it without them`,
      );
    }
    throw ValidationError.field(pointer, `the schema does not compile: ${message}`);
  }
}

/**
 * Checks an event type name by the CloudEvents rules: a non-empty string of printable characters.
 *
 * @throws ValidationError naming `pointer`.
 */
export function checkTypeName(type: string, pointer = '/type'): void {
  if (type.length === 0) throw ValidationError.field(pointer, 'the event type must not be empty');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
  if (/[\u0000-\u001f\u007f-\u009f]/.test(type)) {
    throw ValidationError.field(
      pointer,
      'the event type must be printable: remove control characters (tabs, newlines, ...)',
    );
  }
}
