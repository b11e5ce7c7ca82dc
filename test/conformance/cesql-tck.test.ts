/**
 * The CloudEvents SQL TCK, run as the files stand: every case of every `.yaml` in
 * `shared/conformance/cesql-tck/`, through `evaluateExpression`, checking the result and the
 * error kind. Nothing is skipped; a missing TCK directory fails the suite.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CORE_SCHEMA, FAILSAFE_SCHEMA, load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { evaluateExpression } from '../../src/routing/cesql/index.js';

interface TckCase {
  name: string;
  expression: string;
  result?: unknown;
  error?: string;
  event?: Record<string, unknown>;
  eventOverrides?: Record<string, unknown>;
}

/**
 * The TCK lives beside the repository (`../shared/…` from a checkout at `/work/main`), or inside
 * it in some clones: walk up from this file until one of them is found.
 */
function findTck(): string | undefined {
  let dir = import.meta.dirname;
  for (;;) {
    for (const candidate of [
      join(dir, 'shared/conformance/cesql-tck'),
      join(dir, '../shared/conformance/cesql-tck'),
    ]) {
      if (existsSync(candidate)) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Any valid event will do where a case gives none (TCK README); its overrides go on top. */
const DEFAULT_EVENT = {
  specversion: '1.0',
  id: 'tck-event',
  source: 'https://example.com/tck',
  type: 'io.cloudevents.tck',
};

/**
 * Each file is read twice: with the failsafe schema every scalar stays the text written, which is
 * what an expression is (`expression: 0` or `expression: TRUE` must not become a number or a
 * boolean first); with the core schema results and attributes get their YAML 1.2 types, without
 * the timestamp type that would turn `time: 2018-04-26T14:48:09+02:00` into a Date.
 */
function readCases(file: string): TckCase[] {
  const text = readFileSync(file, 'utf8');
  const typed = load(text, { schema: CORE_SCHEMA, filename: file }) as { tests: TckCase[] };
  const raw = load(text, { schema: FAILSAFE_SCHEMA, filename: file }) as { tests: { expression: string }[] };
  return typed.tests.map((test, i) => ({ ...test, expression: raw.tests[i]!.expression }));
}

const tckDir = findTck();

describe('CESQL TCK', () => {
  it('finds the TCK directory', () => {
    expect(tckDir, 'shared/conformance/cesql-tck not found above test/conformance').toBeDefined();
  });

  const files =
    tckDir === undefined
      ? []
      : readdirSync(tckDir)
          .filter((f) => f.endsWith('.yaml'))
          .sort();

  it('has TCK files to run', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    describe(file, () => {
      for (const test of readCases(join(tckDir!, file))) {
        it(test.name, () => {
          const event = test.event ?? { ...DEFAULT_EVENT, ...test.eventOverrides };
          const outcome = evaluateExpression(test.expression, event);
          expect(outcome.error?.kind ?? null, `error for ${test.expression}`).toBe(test.error ?? null);
          if ('result' in test)
            expect(outcome.result, `result of ${test.expression}`).toStrictEqual(test.result);
        });
      }
    });
  }
});
