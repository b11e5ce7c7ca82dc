/**
 * The one way Junction builds Ajv: JSON Schema draft 2020-12, every error reported, formats as
 * annotations only, and patterns matched by RE2 (the re2js library) rather than JavaScript's
 * backtracking engine. A `pattern` is producer-facing: with backtracking, `^(a+)+$` against 27
 * characters of input takes seconds, and ingest would stall on it. RE2 runs in linear time and
 * refuses what it cannot run that way (lookaround, backreferences), at registration.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { RE2JS } from 're2js';

/** What Ajv asks of a pattern: `test` finds a match anywhere in the string, as RegExp's does. */
interface PatternLike {
  test(input: string): boolean;
}

function re2(pattern: string): PatternLike {
  return RE2JS.compile(RE2JS.translateRegExp(pattern));
}
// Ajv reads `code` only to write standalone modules, which Junction does not.
re2.code = 'RE2JS.compile';

/**
 * A fresh Ajv: it keeps every schema it compiles, and two versions of a type share an `$id`.
 * `re2: false` is only for schemas registered before patterns were held to RE2.
 */
export function newAjv({ re2: linear = true }: { re2?: boolean } = {}): Ajv2020 {
  return new Ajv2020({
    allErrors: true,
    strict: false,
    validateFormats: false,
    ...(linear ? { code: { regExp: re2 } } : {}),
  });
}

/** Whether an error from compiling came from a pattern RE2 cannot run. */
export function isPatternSyntaxError(error: unknown): boolean {
  return error instanceof Error && error.constructor.name.startsWith('RE2JS');
}
