import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CesqlCompileError,
  type CesqlValue,
  compileCesql,
  evaluateExpression,
  MAX_DEPTH,
  MAX_LENGTH,
} from '../../src/routing/cesql/index.js';
import { tokenize } from '../../src/routing/cesql/lexer.js';
import { compileLike } from '../../src/routing/cesql/like.js';
import { parse } from '../../src/routing/cesql/parser.js';

const EVENT = { specversion: '1.0', id: 'e-1', source: '/shop', type: 'com.acme.order.created' };

function run(expression: string, event: Record<string, unknown> = EVENT) {
  return compileCesql(expression).evaluate(event);
}

function compileError(expression: string): CesqlCompileError {
  try {
    compileCesql(expression);
  } catch (error) {
    if (error instanceof CesqlCompileError) return error;
    throw error;
  }
  throw new Error(`'${expression}' compiled`);
}

describe('lexer', () => {
  it('gives every token its offset', () => {
    expect(tokenize("a <> 'x y' AND f(1)").map((t) => [t.type, t.text, t.position])).toEqual([
      ['word', 'a', 0],
      ['operator', '<>', 2],
      ['string', 'x y', 5],
      ['word', 'AND', 11],
      ['word', 'f', 15],
      ['lparen', '(', 16],
      ['integer', '1', 17],
      ['rparen', ')', 18],
      ['end', '', 19],
    ]);
  });

  it('unescapes only the delimiting quote and keeps other backslashes', () => {
    expect(tokenize(String.raw`'it\'s \% "q"'`)[0]!.text).toBe(String.raw`it's \% "q"`);
    expect(tokenize(String.raw`"say \"hi\" \'"`)[0]!.text).toBe(String.raw`say "hi" \'`);
  });

  it('reports an unterminated string at its opening quote and a stray character where it is', () => {
    expect(compileError("subject = 'abc")).toMatchObject({ kind: 'parse', position: 10 });
    expect(compileError('subject = #')).toMatchObject({ kind: 'parse', position: 10 });
  });
});

describe('parser', () => {
  it('locates parse errors', () => {
    expect(compileError('subject LIKE 12')).toMatchObject({ kind: 'parse', position: 13 });
    expect(compileError('(1 + 2')).toMatchObject({ kind: 'parse', position: 6 });
    expect(compileError('1 +')).toMatchObject({ kind: 'parse', position: 3 });
    expect(compileError('a b')).toMatchObject({ kind: 'parse', position: 2 });
    expect(compileError('Subject = 1')).toMatchObject({ kind: 'parse', position: 0 });
    expect(compileError('EXISTS 1 + 1').kind).toBe('parse');
    expect(compileError('')).toMatchObject({ kind: 'parse', position: 0 });
  });

  it('reports unknown functions and wrong arities as missingFunction at the name', () => {
    expect(compileError('1 = NOPE(1)')).toMatchObject({ kind: 'missingFunction', position: 4 });
    expect(compileError('LENGTH()')).toMatchObject({ kind: 'missingFunction', position: 0 });
    expect(compileError('x AND substring("a", 1, 2, 3)')).toMatchObject({
      kind: 'missingFunction',
      position: 6,
    });
  });

  it('keeps positions on nodes', () => {
    const node = parse('  NOT exists subject');
    expect(node).toMatchObject({
      kind: 'not',
      position: 2,
      operand: { kind: 'exists', name: 'subject', position: 6 },
    });
  });

  it('reads integer literals within 32 bits only, with a sign on the literal', () => {
    expect(run('-2147483648').result).toBe(-2147483648);
    expect(run('2147483647').result).toBe(2147483647);
    expect(compileError('2147483648')).toMatchObject({ kind: 'parse', position: 0 });
    expect(compileError('1 + -2147483649')).toMatchObject({ kind: 'parse', position: 4 });
    expect(run('+5').result).toBe(5);
    expect(run('007').result).toBe(7);
  });

  it('follows the reference grammar: unary binds tightest, AND/OR/XOR group to the right', () => {
    expect(run('4 * 2 + 4 / 2').result).toBe(10);
    expect(run('FALSE AND FALSE OR TRUE').result).toBe(false); // FALSE AND (FALSE OR TRUE)
    expect(run('TRUE OR FALSE AND FALSE').result).toBe(true); // TRUE OR (…)
    expect(run('TRUE XOR TRUE XOR TRUE').result).toBe(true);
    expect(run('NOT TRUE = FALSE').result).toBe(true); // (NOT TRUE) = FALSE
    expect(run("NOT 'abc' LIKE 'a%'")).toMatchObject({ result: false, error: { kind: 'cast' } });
  });

  it('refuses expressions nested too deeply or too long, without overflowing the stack', () => {
    const deep = `${'('.repeat(100_000)}1${')'.repeat(100_000)}`;
    expect(compileError(deep).kind).toBe('parse');
    expect(compileError(`${'NOT '.repeat(50_000)}TRUE`).kind).toBe('parse');
    expect(compileError(`${'- '.repeat(50_000)}'1'`).kind).toBe('parse');
    expect(compileError(`${'ABS('.repeat(50_000)}1${')'.repeat(50_000)}`).kind).toBe('parse');
    expect(compileError(`1 IN ${'(1 IN '.repeat(50_000)}`).kind).toBe('parse');
    expect(run(`${'('.repeat(MAX_DEPTH - 1)}1${')'.repeat(MAX_DEPTH - 1)}`).result).toBe(1);
    expect(compileError(`'${'a'.repeat(MAX_LENGTH)}'`)).toMatchObject({
      kind: 'parse',
      position: MAX_LENGTH,
    });
  });

  it('evaluates long flat chains without deep recursion', () => {
    const ors = Array.from({ length: 2000 }, (_, i) => `id = 'x${i}'`).join(' OR ');
    expect(run(`${ors} OR id = 'e-1'`).result).toBe(true);
    expect(run(Array.from({ length: 5000 }, () => '1').join(' + ')).result).toBe(5000);
  });
});

describe('case insensitivity', () => {
  it('accepts keywords, booleans and function names in any case', () => {
    expect(run("exists id and Not false xor FALSE or id like 'E%'")).toEqual({ result: true, error: null });
    expect(run("lower('AB') = 'ab' AND Concat_Ws('-', 'a', 'b') = 'a-b'").result).toBe(true);
    expect(run("'x' not in ('y') and 1 Not In (2)").result).toBe(true);
  });

  it('keeps attribute names and string comparison case-sensitive', () => {
    expect(run("type = 'COM.ACME.ORDER.CREATED'").result).toBe(false);
  });
});

describe('casts', () => {
  it('casts the left operand of = to the type of the right one', () => {
    expect(run("'TRUE' = true").result).toBe(true);
    expect(run("true = 'TRUE'").result).toBe(false);
    expect(run("'007' = 7").result).toBe(true);
    expect(run("7 = '007'").result).toBe(false);
    expect(run("'x' = 1")).toMatchObject({ result: false, error: { kind: 'cast', position: 4 } });
  });

  it('casts set elements to the type of the left operand of IN', () => {
    expect(run("'true' IN (TRUE)").result).toBe(true);
    expect(run("TRUE IN ('true')").result).toBe(true);
    expect(run("1 IN ('x', '1')")).toMatchObject({ result: true, error: { kind: 'cast' } });
  });

  it('casts operands of arithmetic and ordering to integers', () => {
    expect(run("'5' + TRUE").result).toBe(6);
    expect(run("'10' > '9'").result).toBe(true);
    expect(run("'abc' + 1")).toMatchObject({ result: 1, error: { kind: 'cast' } });
    expect(run("'99999999999' + 1")).toMatchObject({ result: 1, error: { kind: 'cast' } });
  });

  it('turns integers into booleans only through BOOL()', () => {
    expect(run('BOOL(-3)')).toEqual({ result: true, error: null });
    expect(run('NOT 0')).toMatchObject({ result: true, error: { kind: 'cast', position: 0 } });
    expect(run('1 AND TRUE')).toMatchObject({ result: false, error: { kind: 'cast' } });
  });

  it('casts function arguments to the declared parameter types', () => {
    expect(run('LENGTH(12345)').result).toBe(5);
    expect(run("LEFT('abcdef', '2')").result).toBe('ab');
    expect(run("LEFT('abcdef', 'x')")).toMatchObject({ result: '', error: { kind: 'cast' } });
    expect(run("IS_INT('-12') AND IS_BOOL('False') AND NOT IS_INT('1.5')").result).toBe(true);
  });
});

describe('LIKE', () => {
  it('matches % and _ and their escapes', () => {
    expect(compileLike('a%c').matches('abbbc')).toBe(true);
    expect(compileLike('a_c').matches('ac')).toBe(false);
    expect(compileLike(String.raw`100\%`).matches('100%')).toBe(true);
    expect(compileLike(String.raw`100\%`).matches('1000')).toBe(false);
    expect(compileLike(String.raw`a\_b`).matches('axb')).toBe(false);
    expect(compileLike(String.raw`a\\%`).matches(String.raw`a\anything`)).toBe(true);
    expect(compileLike(String.raw`a\b`).matches(String.raw`a\b`)).toBe(true);
    expect(compileLike('%').matches('')).toBe(true);
    expect(compileLike('_').matches('😀')).toBe(true);
  });

  it('stays fast on patterns that make a backtracking regex explode', () => {
    const started = performance.now();
    expect(compileLike('%a%a%a%a%a%a%a%a%b').matches('a'.repeat(5000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('reads the pattern as written: no cast, no expression', () => {
    expect(compileError('type LIKE id').kind).toBe('parse');
    expect(run("sequence LIKE '1%'", { ...EVENT, sequence: 12 }).result).toBe(true);
  });
});

describe('integers', () => {
  it('saturates on overflow and reports a math error', () => {
    expect(run('2147483647 + 1')).toMatchObject({
      result: 2147483647,
      error: { kind: 'math', position: 11 },
    });
    expect(run('-2147483648 - 1')).toMatchObject({ result: -2147483648, error: { kind: 'math' } });
    expect(run('65536 * 65536')).toMatchObject({ result: 2147483647, error: { kind: 'math' } });
    expect(run('-2147483648 / -1')).toMatchObject({ result: 2147483647, error: { kind: 'math' } });
    expect(run('-(-2147483648)')).toMatchObject({ result: 2147483647, error: { kind: 'math' } });
    expect(run('ABS(-2147483648)')).toMatchObject({ result: 2147483647, error: { kind: 'math' } });
  });

  it('truncates division toward zero and keeps the sign of the dividend', () => {
    expect(run('-7 / 2').result).toBe(-3);
    expect(run('-7 % 2').result).toBe(-1);
    expect(run('7 % -2').result).toBe(1);
    expect(Object.is(run('-4 % 2').result, 0)).toBe(true);
  });
});

describe('missing attributes and errors', () => {
  it('gives zero values from the operator that reads a missing attribute up to the root', () => {
    expect(run('missing')).toMatchObject({ result: false, error: { kind: 'missingAttribute', position: 0 } });
    expect(run('NOT (missing = 1)')).toMatchObject({ result: false, error: { kind: 'missingAttribute' } });
    expect(run('LENGTH(missing) + 1')).toMatchObject({ result: 0, error: { kind: 'missingAttribute' } });
    expect(run("CONCAT('a', missing)")).toMatchObject({ result: '', error: { kind: 'missingAttribute' } });
    expect(run('TRUE OR missing')).toEqual({ result: true, error: null });
    expect(run('missing OR TRUE')).toMatchObject({ result: false, error: { kind: 'missingAttribute' } });
    expect(run('TRUE XOR (FALSE AND missing)').result).toBe(true);
    expect(run('1 IN (missing, 1)')).toMatchObject({ result: false, error: { kind: 'missingAttribute' } });
  });

  it('does not read the payload, and EXISTS reports no error', () => {
    expect(run('EXISTS data', { ...EVENT, data: { a: 1 } })).toEqual({ result: false, error: null });
    expect(run('EXISTS id AND NOT EXISTS subject')).toEqual({ result: true, error: null });
    expect(run('EXISTS constructor')).toEqual({ result: false, error: null });
  });

  it('reports the first error, and operators above it give their zero values', () => {
    expect(run("1 / 0 = 0 OR INT('x') = 0")).toMatchObject({
      result: false,
      error: { kind: 'math', position: 2 },
    });
    expect(run("NOT NOT 'x'")).toMatchObject({ result: false, error: { kind: 'cast', position: 4 } });
    expect(run("STRING(INT('x'))")).toMatchObject({ result: '', error: { kind: 'cast' } });
  });

  it('lets an operator go on with the zero value after its own failed cast', () => {
    expect(run("NOT 'x'")).toMatchObject({ result: true, error: { kind: 'cast' } });
    expect(run("'x' OR TRUE")).toMatchObject({ result: true, error: { kind: 'cast', position: 0 } });
    expect(run("'x' AND TRUE OR TRUE")).toMatchObject({
      result: false,
      error: { kind: 'cast', position: 0 },
    });
    expect(run("TRUE AND 'x'")).toMatchObject({ result: false, error: { kind: 'cast' } });
    expect(run("TRUE XOR 'x'")).toMatchObject({ result: true, error: { kind: 'cast' } });
    expect(run("TRUE XOR 'x' XOR TRUE")).toMatchObject({ result: false, error: { kind: 'cast' } });
  });

  it('maps compile errors to a false result in evaluateExpression', () => {
    expect(evaluateExpression('CONCAT_WS()', EVENT)).toMatchObject({
      result: false,
      error: { kind: 'missingFunction' },
    });
    expect(evaluateExpression('1 +', EVENT)).toMatchObject({
      result: false,
      error: { kind: 'parse', position: 3 },
    });
  });
});

describe('functions', () => {
  it('count characters, not UTF-16 units', () => {
    expect(run("LENGTH('héllo😀')").result).toBe(6);
    expect(run("RIGHT('ab😀', 1)").result).toBe('😀');
    expect(run("SUBSTRING('😀bc', 1, 1)").result).toBe('😀');
  });

  it('trims ASCII whitespace only at the edges', () => {
    expect(run("TRIM(' \t a b \n')").result).toBe('a b');
  });
});

// --- property tests -------------------------------------------------------------------------

const TOKENS = [
  'AND',
  'or',
  'Xor',
  'NOT',
  'LIKE',
  'IN',
  'EXISTS',
  'TRUE',
  'false',
  '(',
  ')',
  ',',
  '+',
  '-',
  '*',
  '/',
  '%',
  '=',
  '!=',
  '<>',
  '<',
  '<=',
  '>',
  '>=',
  "'a%'",
  '"x\\"y"',
  "'\\'",
  '0',
  '1',
  '-2147483648',
  '2147483648',
  'id',
  'subject',
  'missing',
  'myint',
  'LENGTH',
  'CONCAT',
  'SUBSTRING',
  'ABS',
  'INT',
  'BOOL',
  'NOPE',
  'Sub',
  '#',
];

function expectCompileErrorOnly(expression: string): void {
  try {
    compileCesql(expression);
  } catch (error) {
    expect(error).toBeInstanceOf(CesqlCompileError);
    const { kind, position } = error as CesqlCompileError;
    expect(['parse', 'missingFunction']).toContain(kind);
    expect(position).toBeGreaterThanOrEqual(0);
    expect(position).toBeLessThanOrEqual(expression.length);
  }
}

/** Expressions built from the grammar, so that most of them compile and reach the evaluator. */
const { expression: grammarExpression } = fc.letrec<{ expression: string; atom: string }>((tie) => ({
  atom: fc.oneof(
    fc.integer({ min: -2147483648, max: 2147483647 }).map(String),
    fc.boolean().map((b) => (b ? 'TRUE' : 'false')),
    fc.string({ maxLength: 6 }).map((s) => `'${s.replaceAll('\\', '').replaceAll("'", "\\'")}'`),
    fc.constantFrom(
      'id',
      'subject',
      'myint',
      'mybool',
      'mystr',
      'missing',
      'EXISTS subject',
      'EXISTS missing',
    ),
  ),
  expression: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('atom'),
    fc
      .tuple(
        tie('expression'),
        fc.constantFrom('AND', 'OR', 'XOR', '=', '<>', '<', '>=', '+', '-', '*', '/', '%'),
        tie('expression'),
      )
      .map(([a, op, b]) => `${a} ${op} ${b}`),
    fc.tuple(fc.constantFrom('NOT ', '-'), tie('expression')).map(([op, a]) => `${op}(${a})`),
    tie('expression').map((a) => `(${a})`),
    fc
      .tuple(tie('expression'), fc.constantFrom('LIKE', 'NOT LIKE'), fc.constantFrom("'%a_'", "'\\%'", "''"))
      .map((p) => p.join(' ')),
    fc
      .tuple(tie('expression'), fc.array(tie('expression'), { minLength: 1, maxLength: 3 }))
      .map(([a, set]) => `${a} IN (${set.join(', ')})`),
    fc
      .tuple(
        fc.constantFrom(
          'ABS',
          'LENGTH',
          'LOWER',
          'INT',
          'BOOL',
          'STRING',
          'IS_INT',
          'TRIM',
          'CONCAT',
          'LEFT',
          'SUBSTRING',
        ),
        fc.array(tie('expression'), { minLength: 1, maxLength: 3 }),
      )
      .map(([f, args]) => `${f}(${args.join(', ')})`),
  ),
}));

const attributeValue = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.boolean(),
  fc.constantFrom('5', 'true', 'TRUE', '-2147483648', '', '%'),
  fc.double(),
  fc.constant(null),
  fc.object({ maxDepth: 1 }),
);
const arbitraryEvent = fc.record(
  {
    id: fc.string(),
    subject: attributeValue,
    myint: attributeValue,
    mybool: attributeValue,
    mystr: attributeValue,
  },
  { requiredKeys: ['id'] },
);

const isValue = (v: unknown): v is CesqlValue =>
  typeof v === 'boolean' ||
  typeof v === 'string' ||
  (typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647);

describe('properties', () => {
  it('compiling arbitrary text throws nothing but CesqlCompileError', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), expectCompileErrorOnly), {
      numRuns: 2000,
    });
  });

  it('compiling token soup throws nothing but CesqlCompileError', () => {
    const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 30 }).map((t) => t.join(' '));
    fc.assert(fc.property(soup, expectCompileErrorOnly), { numRuns: 5000 });
  });

  it('evaluation of any compiled expression terminates with a value and never throws', () => {
    let runs = 0;
    let compiledRuns = 0;
    fc.assert(
      fc.property(
        grammarExpression,
        fc.array(arbitraryEvent, { minLength: 1, maxLength: 3 }),
        (expression, events) => {
          runs++;
          let compiled: ReturnType<typeof compileCesql>;
          try {
            compiled = compileCesql(expression);
          } catch (error) {
            expect(error).toBeInstanceOf(CesqlCompileError);
            return;
          }
          compiledRuns++;
          for (const event of events) {
            const { result, error } = compiled.evaluate(event);
            expect(isValue(result)).toBe(true);
            // `generic` would mean the evaluator's safety net caught an exception.
            if (error !== null) expect(error.kind).not.toBe('generic');
          }
        },
      ),
      { numRuns: 3000 },
    );
    // The generator is only useful if most of what it builds reaches the evaluator.
    expect(compiledRuns / runs).toBeGreaterThan(0.5);
  });
});

describe('LIKE fast paths', () => {
  it('agree with the general matcher on text with surrogate pairs', () => {
    const text = 'x\u{1F600}';
    // A lone low surrogate in the pattern: by code points it matches nothing in a pair.
    for (const pattern of ['%\\uDE00', '_%\\uDE00']) {
      const expression = `a LIKE '${pattern.replace('\\uDE00', '\uDE00')}'`;
      expect(evaluateExpression(expression, { a: text }).result).toBe(false);
    }
    expect(evaluateExpression(`a LIKE '%\u{1F600}'`, { a: text }).result).toBe(true);
    expect(evaluateExpression("a LIKE 'x%'", { a: text }).result).toBe(true);
    expect(evaluateExpression("a LIKE '%x%'", { a: text }).result).toBe(true);
  });
});
