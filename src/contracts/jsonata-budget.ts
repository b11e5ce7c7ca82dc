/**
 * JSONata (the library) compiled once and evaluated within a time and depth budget, so that one bad
 * expression cannot stall the hub. JSONata has no budget of its own, but calls a hook on entering
 * and leaving every step of an evaluation, where the budget is checked.
 *
 * Evaluations run one at a time. JSONata awaits between steps, so evaluations run side by side
 * would share the wall clock and charge each other's time to their own budgets; and an evaluation
 * yields only to other promise callbacks, never to I/O, so side by side they would not let the
 * hub do anything else in the meantime either.
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

interface State {
  deadline: number;
  depth: number;
  budget: Budget;
}

/** The budget of the evaluation under way: there is at most one (see above). */
let active: State | undefined;
/** The evaluation queue. */
let queue: Promise<unknown> = Promise.resolve();

export class BudgetExceededError extends Error {
  override readonly name = 'BudgetExceededError';
}

export type CompiledExpression = jsonata.Expression;

function onEntry(): void {
  const state = active;
  if (!state) return;
  if (++state.depth > state.budget.depth) {
    throw new BudgetExceededError(
      `the expression nests deeper than ${state.budget.depth} steps (runaway recursion?)`,
    );
  }
  if (Date.now() > state.deadline) {
    throw new BudgetExceededError(`the expression ran longer than ${state.budget.timeMs} ms`);
  }
}

function onExit(): void {
  if (active) active.depth--;
}

/**
 * What the budget cannot bound, found in a compiled expression: a regular expression runs in
 * JavaScript's backtracking engine, within one step (`/^(a+)+$/` takes seconds on a short string),
 * and `$eval` builds an expression the check never saw.
 */
function unbounded(node: unknown): string | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = unbounded(item);
      if (found) return found;
    }
    return undefined;
  }
  const n = node as { type?: unknown; value?: unknown };
  if (n.type === 'regex' || n.value instanceof RegExp) return 'a regular expression';
  if (n.type === 'variable' && n.value === 'eval') return '$eval';
  for (const value of Object.values(node)) {
    const found = unbounded(value);
    if (found) return found;
  }
  return undefined;
}

/**
 * Compiles an expression, located in the request at `pointer`.
 *
 * @throws ValidationError with JSONata's message and the position of the error, or naming what
 * the expression may not use.
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
    const e = error as { message?: string; position?: number };
    const where = typeof e.position === 'number' ? ` at character ${e.position}` : '';
    throw ValidationError.field(
      pointer,
      `the JSONata expression does not parse${where}: ${e.message ?? String(error)}`,
    );
  }
  const refused = unbounded(compiled.ast());
  if (refused) {
    throw ValidationError.field(
      pointer,
      `the expression uses ${refused}, which Junction does not run (it cannot be held to a time budget); use $contains, $substringBefore and the like with plain strings`,
    );
  }
  const assign = compiled.assign as unknown as (name: symbol, value: unknown) => void;
  assign(Symbol.for('jsonata.__evaluate_entry'), onEntry);
  assign(Symbol.for('jsonata.__evaluate_exit'), onExit);
  return compiled;
}

/** Compiled expressions kept at most; a miss only compiles again. */
const MAX_CACHED = 10_000;
const cached = new Map<string, CompiledExpression>();

/**
 * The compiled form of an expression that was checked when it was saved (a converter, a
 * transform), compiled once and shared by everything that runs it.
 *
 * @throws ValidationError naming `pointer`, should the expression no longer compile.
 */
export function compiledExpression(expression: string, pointer: string): CompiledExpression {
  let compiled = cached.get(expression);
  if (!compiled) {
    if (cached.size >= MAX_CACHED) cached.clear();
    compiled = compileExpression(expression, pointer);
    cached.set(expression, compiled);
  }
  return compiled;
}

/**
 * Evaluates a compiled expression against `input` within `budget`, after any evaluation before it.
 *
 * @throws BudgetExceededError past the budget; JSONata's own errors for a failed evaluation.
 */
export function evaluateWithin(
  compiled: CompiledExpression,
  input: unknown,
  bindings: Record<string, unknown>,
  budget: Budget = DEFAULT_BUDGET,
): Promise<unknown> {
  const run = queue.then(async () => {
    active = { deadline: Date.now() + budget.timeMs, depth: 0, budget };
    try {
      return await compiled.evaluate(input, bindings);
    } finally {
      active = undefined;
    }
  });
  queue = run.catch(() => undefined);
  return run;
}
