/**
 * The error kinds of CESQL v1 (spec §3.3) and the one error class thrown at compile time.
 *
 * Evaluation never throws: the spec makes every operator and function total, so a runtime
 * problem is reported next to a default value instead (see `evaluator.ts`). Only an expression
 * that cannot be compiled at all throws, as a `CesqlCompileError`.
 */

export type CesqlErrorKind =
  | 'parse'
  | 'math'
  | 'cast'
  | 'missingFunction'
  | 'functionEvaluation'
  | 'missingAttribute'
  | 'generic';

/** One error met while compiling or evaluating; `position` is a 0-based character offset where known. */
export interface CesqlError {
  kind: CesqlErrorKind;
  message: string;
  position?: number;
}

/**
 * Thrown by `compileCesql` for an expression that does not parse (kind `parse`) or that calls an
 * unknown function or a known one with the wrong number of arguments (kind `missingFunction`).
 *
 * @example
 * try { compileCesql("subject LIKE 12") } catch (e) {
 *   if (e instanceof CesqlCompileError) console.log(e.kind, e.position) // 'parse' 13
 * }
 */
export class CesqlCompileError extends Error {
  readonly kind: 'parse' | 'missingFunction';
  readonly position: number;

  constructor(kind: 'parse' | 'missingFunction', message: string, position: number) {
    super(message);
    this.name = 'CesqlCompileError';
    this.kind = kind;
    this.position = position;
  }
}

/** A parse error at `position`: the common case for the lexer and the parser. */
export function parseError(message: string, position: number): CesqlCompileError {
  return new CesqlCompileError('parse', `${message} at position ${position}`, position);
}
