/**
 * JSONata (the library) compiled once and evaluated within a time and depth budget, so that one bad
 * expression cannot stall the hub: JSONata has no budget of its own, but calls a hook on entering
 * and leaving every step of an evaluation, where the budget is checked.
 */
import jsonata from 'jsonata';
import { ValidationError } from '../core/errors.js';

export interface Budget {
  /** Wall time of one evaluation. */
  timeMs: number;
  /** Nesting of evaluation steps: recursion in a user function is what runs deep. */
  depth: number;
}

export const DEFAULT_BUDGET: Budget = { timeMs: 100, depth: 500 };

/** The longest expression taken: a converter or transform is a few lines, not a program. */
export const MAX_EXPRESSION_LENGTH = 64 * 1024;

/** Per-evaluation state, reached by the hooks through a binding of the evaluation. */
const STATE = '__junctionbudget';

interface State {
  deadline: number;
  depth: number;
  maxDepth: number;
  timeMs: number;
}

export class BudgetExceededError extends Error {
  override readonly name = 'BudgetExceededError';
}

export type CompiledExpression = jsonata.Expression;

/**
 * Compiles an expression, located in the request at `pointer`.
 *
 * @throws ValidationError with JSONata's message and the position of the error.
 * @example
 * compileExpression('{ "orderId": id, "total": amount.value }', '/expression');
 */
export function compileExpression(expression: unknown, pointer: string): CompiledExpression {
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw ValidationError.field(pointer, 'expression must be a non-empty JSONata expression');
  }
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    throw ValidationError.field(pointer, `expression must be at most ${MAX_EXPRESSION_LENGTH} characters`);
  }
  let compiled: jsonata.Expression;
  try {
    compiled = jsonata(expression);
  } catch (error) {
    const e = error as { message?: string; position?: number; token?: string };
    const where = typeof e.position === 'number' ? ` at character ${e.position}` : '';
    throw ValidationError.field(
      pointer,
      `the JSONata expression does not parse${where}: ${e.message ?? String(error)}`,
    );
  }
  const assign = compiled.assign as unknown as (name: symbol, value: unknown) => void;
  assign(Symbol.for('jsonata.__evaluate_entry'), (_expr: unknown, _input: unknown, env: Environment) => {
    const state = env.lookup(STATE) as State | undefined;
    if (!state) return;
    if (++state.depth > state.maxDepth) {
      throw new BudgetExceededError(
        `the expression nests deeper than ${state.maxDepth} steps (runaway recursion?)`,
      );
    }
    if (Date.now() > state.deadline) {
      throw new BudgetExceededError(`the expression ran longer than ${state.timeMs} ms`);
    }
  });
  assign(Symbol.for('jsonata.__evaluate_exit'), (_expr: unknown, _input: unknown, env: Environment) => {
    const state = env.lookup(STATE) as State | undefined;
    if (state) state.depth--;
  });
  return compiled;
}

interface Environment {
  lookup(name: string): unknown;
}

/**
 * Evaluates a compiled expression against `input` within `budget`.
 *
 * @throws BudgetExceededError past the budget; JSONata's own errors for a failed evaluation.
 */
export async function evaluateWithin(
  compiled: CompiledExpression,
  input: unknown,
  bindings: Record<string, unknown>,
  budget: Budget = DEFAULT_BUDGET,
): Promise<unknown> {
  const state: State = {
    deadline: Date.now() + budget.timeMs,
    depth: 0,
    maxDepth: budget.depth,
    timeMs: budget.timeMs,
  };
  return compiled.evaluate(input, { ...bindings, [STATE]: state });
}
