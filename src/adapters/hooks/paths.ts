/**
 * Field paths: where a hook finds the type, subject, partition key or id in a request body. Either
 * dotted (`order.id`, `items.0.sku`), which is what no-code users write, or a JSON pointer
 * (`/order/id`) for a key that itself holds a dot.
 */
import { pointerToken } from '../../core/errors.js';

/** The longest path taken: a path names a field, it is not a program. */
export const MAX_PATH_LENGTH = 256;

/**
 * Splits a path into its keys, or returns undefined when it is not one.
 *
 * @example
 * parseFieldPath('order.id'); // ['order', 'id']
 * parseFieldPath('/a.b/0'); // ['a.b', '0']
 */
export function parseFieldPath(text: string): string[] | undefined {
  if (text === '' || text.length > MAX_PATH_LENGTH) return undefined;
  if (text.startsWith('/')) {
    return text
      .slice(1)
      .split('/')
      .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
  }
  const keys = text.split('.');
  return keys.every((k) => k !== '') ? keys : undefined;
}

/** The JSON pointer of a path, for errors that locate a field in the body. */
export function pointerOf(keys: readonly string[]): string {
  return keys.map((k) => `/${pointerToken(k)}`).join('');
}

/**
 * The value at a path, or undefined when some key on the way is missing. Only own properties are
 * read, so `__proto__` or `constructor` in a path finds nothing.
 */
export function readField(value: unknown, keys: readonly string[]): unknown {
  let at: unknown = value;
  for (const key of keys) {
    if (at === null || typeof at !== 'object') return undefined;
    if (Array.isArray(at)) {
      if (!/^(0|[1-9]\d*)$/.test(key)) return undefined;
      at = at[Number(key)];
    } else {
      if (!Object.hasOwn(at, key)) return undefined;
      at = (at as Record<string, unknown>)[key];
    }
  }
  return at;
}
