/**
 * One expression evaluated against one event, in any filter dialect: what
 * `POST /v1/expressions/evaluate` and `junction filter test` answer. An expression that does not
 * parse is an answer (`error.kind: "parse"`), not a bad request; only a request without the
 * fields, or in an unknown dialect, is.
 */
import { ValidationError } from '../core/errors.js';
import type { CloudEvent } from '../core/event.js';
import { type CesqlError, type CesqlValue, evaluateExpression } from './cesql/index.js';
import { checkFilters, compileFilters } from './filters.js';
import { checkPattern, compilePattern } from './patterns.js';

/** The dialects the endpoint evaluates: CESQL, patterns, and the Subscriptions API's own. */
export const DIALECTS = [
  'sql',
  'cesql',
  'pattern',
  'exact',
  'prefix',
  'suffix',
  'all',
  'any',
  'not',
] as const;
export type Dialect = (typeof DIALECTS)[number];

export interface EvaluationRequest {
  dialect: Dialect;
  expression: unknown;
  event: CloudEvent;
}

export interface Evaluation {
  result: CesqlValue | null;
  error: CesqlError | null;
}

/**
 * Reads `{dialect, expression, event}`.
 *
 * @throws ValidationError for a missing field, an unknown dialect, a `sql` expression that is not
 * a string, or an event that is not an object.
 */
export function parseEvaluationRequest(body: unknown): EvaluationRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw ValidationError.field('', 'send {"dialect": "sql", "expression": "…", "event": {…}}');
  }
  const b = body as Record<string, unknown>;
  const errors = [];
  if (!DIALECTS.includes(b.dialect as Dialect)) {
    errors.push({ pointer: '/dialect', message: `dialect must be one of ${DIALECTS.join(', ')}` });
  }
  if (b.expression === undefined) errors.push({ pointer: '/expression', message: 'expression is required' });
  else if ((b.dialect === 'sql' || b.dialect === 'cesql') && typeof b.expression !== 'string') {
    errors.push({ pointer: '/expression', message: 'a sql expression is a string' });
  }
  if (b.event === null || typeof b.event !== 'object' || Array.isArray(b.event)) {
    errors.push({ pointer: '/event', message: 'event is required: a CloudEvent as a JSON object' });
  }
  if (errors.length > 0) {
    throw new ValidationError(errors.map((e) => `${e.pointer} ${e.message}`).join('; '), { errors });
  }
  return { dialect: b.dialect as Dialect, expression: b.expression, event: b.event as CloudEvent };
}

/**
 * Evaluates the expression. A filter dialect's result is whether the event matches.
 *
 * @example
 * evaluate({ dialect: 'sql', expression: "subject LIKE 'orders/%'", event });
 * // { result: true, error: null }
 */
export function evaluate({ dialect, expression, event }: EvaluationRequest): Evaluation {
  if (dialect === 'sql' || dialect === 'cesql') return evaluateExpression(expression as string, event);
  const problems =
    dialect === 'pattern' ? checkPattern(expression, '') : checkFilters([{ [dialect]: expression }], '');
  if (problems.length > 0) {
    const first = problems[0]!;
    return { result: null, error: { kind: 'parse', message: `${first.pointer || '/'}: ${first.message}` } };
  }
  const matches =
    dialect === 'pattern'
      ? compilePattern(expression as Record<string, unknown>)
      : compileFilters([{ [dialect]: expression }]);
  return { result: matches(event), error: null };
}
