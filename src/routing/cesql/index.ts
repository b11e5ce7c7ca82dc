/**
 * CESQL v1, the CloudEvents SQL Expression Language: the `sql` (and `cesql`) filter dialect of the
 * Subscriptions API and the language of `POST /v1/expressions/evaluate`.
 *
 * Written by hand because no JavaScript library implements it: the reference implementations are
 * the Go and Java SDKs (generated with ANTLR), and there is no CESQL package on npm. The pieces are
 * small: `lexer.ts` → `parser.ts` (AST with positions) → `evaluator.ts` (closures), with the
 * operators in `operators.ts`, the casts in `types.ts`, the built-ins in `functions.ts` and `LIKE`
 * in `like.ts`. Conformance is checked
 * against the CESQL TCK by `test/conformance/cesql-tck.test.ts`.
 */

import { CesqlCompileError, type CesqlError, parseError } from './errors.js';
import { compileNode } from './evaluator.js';
import { parse } from './parser.js';
import type { CesqlValue } from './types.js';

export type { CesqlError, CesqlErrorKind } from './errors.js';
export { CesqlCompileError } from './errors.js';
export { MAX_DEPTH, MAX_LENGTH } from './parser.js';
export type { CesqlValue } from './types.js';

export interface CompiledCesql {
  readonly expression: string;
  /** Evaluates against one event; never throws. `error` is the first error met, or null. */
  evaluate(event: Record<string, unknown>): { result: CesqlValue; error: CesqlError | null };
}

/**
 * Compiles an expression once, to be evaluated against many events. Throws a CesqlCompileError
 * (kind `parse` or `missingFunction`, with the position) for an expression that cannot run;
 * unknown functions and wrong arities are caught here rather than per event (spec §3.3 asks for
 * errors to be found at compile time where possible).
 *
 * @example
 * const filter = compileCesql("type LIKE 'com.acme.order.%' AND INT(total) > 100");
 * filter.evaluate({ type: 'com.acme.order.created', total: '250' }) // { result: true, error: null }
 */
export function compileCesql(expression: string): CompiledCesql {
  if (typeof expression !== 'string') throw parseError('the expression must be a string', 0);
  const run = compileNode(parse(expression));
  return {
    expression,
    evaluate(event) {
      try {
        return run(event);
      } catch (cause) {
        // Unreachable by design (every operator is total); kept so that a bug in the evaluator
        // filters one event out with a reported error instead of crashing the dispatcher.
        return { result: false, error: { kind: 'generic', message: `evaluation failed: ${String(cause)}` } };
      }
    },
  };
}

/**
 * Compiles and evaluates in one step, reporting a compile error as the `error` of the result as
 * the CESQL TCK expects: a `parse` or `missingFunction` error with the result `false`, the zero
 * value of a boolean expression.
 *
 * @example
 * evaluateExpression('CONCAT_WS()', event) // { result: false, error: { kind: 'missingFunction', … } }
 */
export function evaluateExpression(
  expression: string,
  event: Record<string, unknown>,
): { result: CesqlValue | null; error: CesqlError | null } {
  let compiled: CompiledCesql;
  try {
    compiled = compileCesql(expression);
  } catch (error) {
    if (!(error instanceof CesqlCompileError)) throw error;
    return { result: false, error: { kind: error.kind, message: error.message, position: error.position } };
  }
  return compiled.evaluate(event);
}
