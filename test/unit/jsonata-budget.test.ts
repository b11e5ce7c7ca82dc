import { describe, expect, it } from 'vitest';
import {
  BudgetExceededError,
  compileExpression,
  evaluateWithin,
} from '../../src/contracts/jsonata-budget.js';
import { ValidationError } from '../../src/core/errors.js';

describe('compileExpression', () => {
  it('compiles once and evaluates with bindings', async () => {
    const compiled = compileExpression('{ "id": $event.id, "n": count }', '/expression');
    expect(await evaluateWithin(compiled, { count: 2 }, { event: { id: 'e1' } })).toEqual({ id: 'e1', n: 2 });
  });

  it('refuses an expression that does not parse, with where', () => {
    expect(() => compileExpression('{ "a": ', '/expression')).toThrow(ValidationError);
    try {
      compileExpression('$sum(1,', '/transform');
    } catch (error) {
      expect((error as ValidationError).errors?.[0]).toEqual({
        pointer: '/transform',
        message: expect.stringMatching(/does not parse at character \d+/),
      });
    }
  });

  it('refuses an empty or non-string expression', () => {
    expect(() => compileExpression('  ', '/e')).toThrow(/non-empty/);
    expect(() => compileExpression(42, '/e')).toThrow(/non-empty/);
  });
});

describe('evaluateWithin', () => {
  it('stops runaway recursion at the depth budget', async () => {
    // Not a tail call (JSONata runs those in a loop, which the time budget stops instead).
    const compiled = compileExpression('($f := function($n) { 1 + $f($n + 1) }; $f(0))', '/e');
    await expect(evaluateWithin(compiled, {}, {}, { timeMs: 5_000, depth: 200 })).rejects.toThrow(
      /deeper than 200 steps/,
    );
  });

  it('stops a long evaluation at the time budget', async () => {
    const compiled = compileExpression('$sum([1..2000000].($ * 2))', '/e');
    const started = Date.now();
    await expect(evaluateWithin(compiled, {}, {}, { timeMs: 20, depth: 10_000 })).rejects.toThrow(
      /longer than 20 ms/,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('keeps each evaluation to its own budget when several run at once', async () => {
    const compiled = compileExpression('$count([1..1000])', '/e');
    const results = await Promise.all(Array.from({ length: 20 }, () => evaluateWithin(compiled, {}, {})));
    expect(results).toEqual(Array(20).fill(1000));
  });
});

describe('what the budget cannot bound', () => {
  it.each([
    ['$contains(name, /^(a+)+$/)', /regular expression/],
    ['$eval("1 + 1")', /\$eval/],
    ['($e := $eval; $e("1"))', /\$eval/],
  ])('refuses %s', (expression, message) => {
    expect(() => compileExpression(expression, '/expression')).toThrow(message);
  });

  it('cannot be escaped by shadowing a variable', async () => {
    const compiled = compileExpression(
      '($__junctionbudget := {}; $f := function($n) { $n > 3000000 ? $n : $f($n + 1) }; $f(0))',
      '/e',
    );
    const started = Date.now();
    await expect(evaluateWithin(compiled, {}, {}, { timeMs: 50, depth: 100_000 })).rejects.toThrow(
      BudgetExceededError,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('charges each evaluation only its own time when many are asked for at once', async () => {
    const compiled = compileExpression('$sum([1..5000].($ * 2))', '/e');
    const results = await Promise.all(
      Array.from({ length: 8 }, () => evaluateWithin(compiled, {}, {}, { timeMs: 1_000, depth: 10_000 })),
    );
    expect(results).toEqual(Array(8).fill(25_005_000));
  });
});
