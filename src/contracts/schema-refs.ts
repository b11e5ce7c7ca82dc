/**
 * Moves a registered schema into a larger document. A registered schema refers only within itself
 * (`#`, `#/$defs/x`); once it sits at some path inside an AsyncAPI document or a combined codegen
 * schema, those references resolve against the new root and must be rewritten to keep their target.
 */
import { isObject } from './schema-walk.js';

/** Keywords whose values are data, not subschemas: a `$ref` inside them is not a reference. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples', 'example']);

/**
 * A copy of `schema` with each JSON-pointer `$ref` (`#` or `#/...`) replaced by `rebase(ref)`.
 * Other references (`#anchor`) are kept as they are. The input is not changed.
 *
 * @example
 * rebaseRefs({ $ref: '#/$defs/a' }, (ref) => `#/components/schemas/X${ref.slice(1)}`);
 * // { $ref: '#/components/schemas/X/$defs/a' }
 */
export function rebaseRefs(schema: unknown, rebase: (ref: string) => string): unknown {
  if (Array.isArray(schema)) return schema.map((item) => rebaseRefs(item, rebase));
  if (!isObject(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && typeof value === 'string' && (value === '#' || value.startsWith('#/'))) {
      out[key] = rebase(value);
    } else if (DATA_KEYWORDS.has(key)) {
      out[key] = value;
    } else {
      out[key] = rebaseRefs(value, rebase);
    }
  }
  return out;
}

/**
 * A rebase function that prefixes every pointer with `base`, the JSON pointer (with its leading
 * `#`) at which the schema now sits.
 *
 * @example
 * under('#/components/schemas/X')('#/$defs/a'); // '#/components/schemas/X/$defs/a'
 */
export function under(base: string): (ref: string) => string {
  return (ref) => base + ref.slice(1);
}
