/**
 * The operators' arithmetic, comparisons and implicit casts, and the per-evaluation state they
 * report errors to (spec §3.4, §3.7). Kept apart from `evaluator.ts`, which only wires nodes.
 */

import type { CesqlError, CesqlErrorKind } from './errors.js';
import type { ArithmeticOperator, ComparisonOperator } from './parser.js';
import { type CesqlValue, castTo, clampInt32, isInt32, toBoolean, toInteger, typeOf, ZERO } from './types.js';

/**
 * The per-evaluation state: the event, the first error met, and how many were reported, which is
 * how an operator sees that evaluating one of its operands went wrong.
 */
export class State {
  error: CesqlError | null = null;
  errors = 0;

  constructor(readonly event: Record<string, unknown>) {}

  report(kind: CesqlErrorKind, message: string, position: number): void {
    this.errors++;
    this.error ??= { kind, message, position };
  }
}

/**
 * The value of a context attribute or extension, or `undefined` when the event has none. Strings,
 * booleans and 32-bit integers keep their type (the TCK reads `myint` as 10 and `mybool` as true);
 * other numbers are read as their string form. `data` is not an attribute: CESQL does not look
 * into the payload (spec §1).
 */
export function readAttribute(event: Record<string, unknown>, name: string): CesqlValue | undefined {
  if (name === 'data' || !Object.hasOwn(event, name)) return undefined;
  const value = event[name];
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return isInt32(value) ? value : String(value);
  return undefined;
}

export function asBoolean(state: State, value: CesqlValue, position: number): boolean {
  const b = toBoolean(value, false);
  if (b !== undefined) return b;
  state.report('cast', `cannot cast ${JSON.stringify(value)} to a boolean`, position);
  return false;
}

export function asInteger(state: State, value: CesqlValue, position: number): number {
  const n = toInteger(value);
  if (n !== undefined) return n;
  state.report('cast', `cannot cast ${JSON.stringify(value)} to an integer`, position);
  return 0;
}

export function arithmetic(
  state: State,
  op: ArithmeticOperator,
  a: number,
  b: number,
  position: number,
): number {
  let exact: number;
  switch (op) {
    case '+':
      exact = a + b;
      break;
    case '-':
      exact = a - b;
      break;
    case '*':
      exact = a * b;
      break;
    case '/':
    case '%':
      // Division by zero gives 0 and a math error (spec §3.4.2); both operators truncate toward
      // zero, and the remainder keeps the sign of the dividend, which is what JavaScript does.
      if (b === 0) {
        state.report('math', `division by zero`, position);
        return 0;
      }
      exact = op === '/' ? Math.trunc(a / b) : a % b;
      break;
  }
  const { value, overflow } = clampInt32(exact);
  if (overflow)
    state.report('math', `integer overflow: the result of '${op}' does not fit in 32 bits`, position);
  return value;
}

export function compare(
  state: State,
  op: ComparisonOperator,
  left: CesqlValue,
  right: CesqlValue,
  position: number,
) {
  if (op === '=' || op === '!=' || op === '<>') {
    // `=` is defined for each type, so it is ambiguous: the right operand's type decides and the
    // left one is cast to it (spec §3.7), which is why `'TRUE' = true` holds and `true = 'TRUE'` does not.
    let l: CesqlValue | undefined = left;
    const type = typeOf(right);
    if (typeOf(left) !== type) {
      l = castTo(left, type);
      if (l === undefined) {
        state.report('cast', `cannot cast ${JSON.stringify(left)} to ${type} to compare it`, position);
        l = ZERO[type];
      }
    }
    return op === '=' ? l === right : l !== right;
  }
  const a = asInteger(state, left, position);
  const b = asInteger(state, right, position);
  return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
}
