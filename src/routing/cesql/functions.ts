/**
 * The built-in functions of CESQL v1 (spec §3.5), looked up by name and arity at compile time.
 *
 * Each function declares its parameter types; the evaluator casts the arguments to them before the
 * call (spec §3.7), so an implementation only sees values of the declared types. A function never
 * throws: it reports through `fail` and returns the value the spec names for that case.
 */

import type { CesqlErrorKind } from './errors.js';
import {
  type CesqlType,
  type CesqlValue,
  clampInt32,
  INT32_MIN,
  parseBoolean,
  parseInteger,
  toBoolean,
  toInteger,
  toStringValue,
} from './types.js';

/** `any` takes the argument as it is: the cast functions decide themselves what they accept. */
export type ParameterType = CesqlType | 'any';

export type Fail = (kind: CesqlErrorKind, message: string) => void;

export interface CesqlFunction {
  name: string;
  /** The fixed leading parameters. */
  parameters: readonly ParameterType[];
  /** The type of any further arguments, for a variadic function. */
  variadic?: ParameterType;
  returns: CesqlType;
  call(args: CesqlValue[], fail: Fail): CesqlValue;
}

/** Whitespace removed by TRIM: the ASCII set, as for the lexer. */
const TRIM_EDGES = /^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g;

/** Strings are sequences of Unicode characters (spec §3.1), so lengths count code points. */
const codePoints = (s: string): string[] => Array.from(s);

const str = (v: CesqlValue | undefined): string => v as string;
const int = (v: CesqlValue | undefined): number => v as number;

const BUILT_INS: CesqlFunction[] = [
  {
    name: 'ABS',
    parameters: ['integer'],
    returns: 'integer',
    call: ([x], fail) => {
      // |−2³¹| does not fit in 32 bits: saturate and report, as the TCK expects.
      if (int(x) === INT32_MIN) fail('math', 'ABS overflows: the result does not fit in 32 bits');
      return clampInt32(Math.abs(int(x))).value;
    },
  },
  {
    name: 'LENGTH',
    parameters: ['string'],
    returns: 'integer',
    call: ([x]) => codePoints(str(x)).length,
  },
  {
    name: 'CONCAT',
    parameters: [],
    variadic: 'string',
    returns: 'string',
    call: (args) => args.join(''),
  },
  {
    name: 'CONCAT_WS',
    parameters: ['string'],
    variadic: 'string',
    returns: 'string',
    call: ([delimiter, ...rest]) => rest.join(str(delimiter)),
  },
  { name: 'LOWER', parameters: ['string'], returns: 'string', call: ([x]) => str(x).toLowerCase() },
  { name: 'UPPER', parameters: ['string'], returns: 'string', call: ([x]) => str(x).toUpperCase() },
  { name: 'TRIM', parameters: ['string'], returns: 'string', call: ([x]) => str(x).replace(TRIM_EDGES, '') },
  {
    name: 'LEFT',
    parameters: ['string', 'integer'],
    returns: 'string',
    call: ([x, y], fail) => {
      if (int(y) < 0) {
        fail('functionEvaluation', 'LEFT takes a length of 0 or more');
        return str(x);
      }
      return codePoints(str(x)).slice(0, int(y)).join('');
    },
  },
  {
    name: 'RIGHT',
    parameters: ['string', 'integer'],
    returns: 'string',
    call: ([x, y], fail) => {
      if (int(y) < 0) {
        fail('functionEvaluation', 'RIGHT takes a length of 0 or more');
        return str(x);
      }
      const chars = codePoints(str(x));
      return chars.slice(Math.max(0, chars.length - int(y))).join('');
    },
  },
  {
    name: 'SUBSTRING',
    parameters: ['string', 'integer'],
    returns: 'string',
    call: ([x, pos], fail) => substring(str(x), int(pos), undefined, fail),
  },
  {
    name: 'SUBSTRING',
    parameters: ['string', 'integer', 'integer'],
    returns: 'string',
    call: ([x, pos, len], fail) => substring(str(x), int(pos), int(len), fail),
  },
  {
    name: 'INT',
    parameters: ['any'],
    returns: 'integer',
    call: ([x], fail) => {
      const n = toInteger(x!);
      if (n === undefined) fail('cast', `cannot cast ${JSON.stringify(x)} to an integer`);
      return n ?? 0;
    },
  },
  {
    name: 'BOOL',
    parameters: ['any'],
    returns: 'boolean',
    call: ([x], fail) => {
      const b = toBoolean(x!, true);
      if (b === undefined) fail('cast', `cannot cast ${JSON.stringify(x)} to a boolean`);
      return b ?? false;
    },
  },
  { name: 'STRING', parameters: ['any'], returns: 'string', call: ([x]) => toStringValue(x!) },
  // IS_BOOL and IS_INT take a String (as the reference SDKs declare them) and tell whether it would cast.
  {
    name: 'IS_BOOL',
    parameters: ['string'],
    returns: 'boolean',
    call: ([x]) => parseBoolean(str(x)) !== undefined,
  },
  {
    name: 'IS_INT',
    parameters: ['string'],
    returns: 'boolean',
    call: ([x]) => parseInteger(str(x)) !== undefined,
  },
];

/**
 * SUBSTRING as spec §3.5.1 defines it: 1-based `pos`, counted from the end when negative, empty
 * for 0; out of range (or a negative `len`) gives the empty string and an error.
 */
function substring(x: string, pos: number, len: number | undefined, fail: Fail): string {
  const chars = codePoints(x);
  if (pos > chars.length || pos < -chars.length) {
    fail('functionEvaluation', `SUBSTRING position ${pos} is outside a string of length ${chars.length}`);
    return '';
  }
  if (len !== undefined && len < 0) {
    fail('functionEvaluation', 'SUBSTRING takes a length of 0 or more');
    return '';
  }
  if (pos === 0) return '';
  const start = pos > 0 ? pos - 1 : chars.length + pos;
  return chars.slice(start, len === undefined ? undefined : start + len).join('');
}

const BY_NAME = new Map<string, CesqlFunction[]>();
for (const f of BUILT_INS) BY_NAME.set(f.name, [...(BY_NAME.get(f.name) ?? []), f]);

/**
 * Finds the function for a call: names are case-insensitive (spec §2), overloads are told apart
 * by arity (spec §3.5). `undefined` when no function of that name takes that many arguments.
 *
 * @example
 * resolveFunction('substring', 3)?.parameters // ['string', 'integer', 'integer']
 */
export function resolveFunction(name: string, arity: number): CesqlFunction | undefined {
  const overloads = BY_NAME.get(name.toUpperCase());
  if (overloads === undefined) return undefined;
  return (
    overloads.find((f) => f.variadic === undefined && f.parameters.length === arity) ??
    overloads.find((f) => f.variadic !== undefined && arity >= f.parameters.length)
  );
}

/** Whether any function has this name, for a better message when only the arity is wrong. */
export function isFunctionName(name: string): boolean {
  return BY_NAME.has(name.toUpperCase());
}
