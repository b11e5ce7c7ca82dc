/**
 * CESQL values and the casts between them (spec §3.1 type system, §3.7 type casting).
 *
 * Values are plain JavaScript booleans, numbers (always a 32-bit signed integer) and strings, so
 * that a result needs no unwrapping. A cast returns the value, or `undefined` when it fails: the
 * caller reports the cast error and goes on with the zero value of the target type.
 */

export type CesqlValue = boolean | number | string;
export type CesqlType = 'boolean' | 'integer' | 'string';

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

/** The zero value of each type (spec §3.3): what an operator returns after an error. */
export const ZERO: Readonly<Record<CesqlType, CesqlValue>> = { boolean: false, integer: 0, string: '' };

export function typeOf(value: CesqlValue): CesqlType {
  return typeof value === 'boolean' ? 'boolean' : typeof value === 'number' ? 'integer' : 'string';
}

/** Signed decimal digits: the only strings that cast to an integer (leading zeros are allowed). */
const INTEGER_TEXT = /^[+-]?[0-9]+$/;

export function isInt32(n: number): boolean {
  return Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX;
}

/** Parses a string as a 32-bit integer; `undefined` when it is not one or does not fit. */
export function parseInteger(text: string): number | undefined {
  if (!INTEGER_TEXT.test(text)) return undefined;
  // Digits beyond eleven cannot fit in 32 bits; checking first keeps Number() exact.
  if (text.replace(/^[+-]?0*/, '').length > 10) return undefined;
  const n = Number(text);
  return isInt32(n) ? n || 0 : undefined;
}

/** Booleans are spelled `true` and `false` in any case, as the TCK's `BOOL('TRUE')` shows. */
export function parseBoolean(text: string): boolean | undefined {
  const lower = text.toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : undefined;
}

/** Every value has a string form (spec §3.7): integers in decimal, booleans as `true`/`false`. */
export function toStringValue(value: CesqlValue): string {
  return typeof value === 'string' ? value : String(value);
}

/** Boolean → integer is 1 or 0; a string must be a decimal integer that fits in 32 bits. */
export function toInteger(value: CesqlValue): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return parseInteger(value);
}

/**
 * Casts to boolean. `explicit` is the `BOOL()` function, which turns any non-zero integer into
 * `true`; an implicit cast of an integer (`NOT 10`) is a cast error, as the TCK requires.
 */
export function toBoolean(value: CesqlValue, explicit: boolean): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return explicit ? value !== 0 : undefined;
  return parseBoolean(value);
}

/** Casts to `type` implicitly; `undefined` when the cast fails. */
export function castTo(value: CesqlValue, type: CesqlType): CesqlValue | undefined {
  switch (type) {
    case 'string':
      return toStringValue(value);
    case 'integer':
      return toInteger(value);
    case 'boolean':
      return toBoolean(value, false);
  }
}

/**
 * Brings an exact result back into 32 bits. Out of range it saturates at the nearest bound and
 * says so: the spec requires a math error on overflow and the TCK expects `ABS(-2147483648)` to
 * give 2147483647, so saturation is the behaviour that matches both.
 */
export function clampInt32(n: number): { value: number; overflow: boolean } {
  if (n > INT32_MAX) return { value: INT32_MAX, overflow: true };
  if (n < INT32_MIN) return { value: INT32_MIN, overflow: true };
  return { value: n || 0, overflow: false };
}
