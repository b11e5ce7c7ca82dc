/**
 * The CloudEvents SQL TCK, run as the files stand: every case of every `.yaml` in
 * `../shared/conformance/cesql-tck/` beside the project, through `evaluateExpression`, checking the
 * result and the error kind. No case is skipped or edited. A clone without `../shared/` skips the
 * suite and says why; under CI=true a missing TCK is a failure.
 */
import { describe, expect, it } from 'vitest';
import { evaluateExpression } from '../../src/routing/cesql/index.js';
import { casesOf, eventOf, required, TCK_DIR, tckDir, tckFiles } from '../helpers/cesql-tck.js';

if (tckDir === undefined && !required) {
  console.warn(
    `CESQL TCK skipped: ${TCK_DIR} is not there (a clone without ../shared); under CI=true this fails`,
  );
}

describe.skipIf(tckDir === undefined && !required)(`CESQL TCK (${TCK_DIR})`, () => {
  it('finds the TCK directory and its files', () => {
    expect(
      tckDir,
      `${TCK_DIR} not found: the conformance data lives in ../shared beside the project`,
    ).toBeDefined();
    expect(tckFiles.length).toBeGreaterThan(0);
  });

  for (const file of tckFiles) {
    describe(file, () => {
      for (const test of casesOf(file)) {
        it(test.name, () => {
          const outcome = evaluateExpression(test.expression, eventOf(test));
          expect(outcome.error?.kind ?? null, `error for ${test.expression}`).toBe(test.error ?? null);
          if ('result' in test)
            expect(outcome.result, `result of ${test.expression}`).toStrictEqual(test.result);
        });
      }
    });
  }
});
