/**
 * The CloudEvents SQL TCK as data: its cases read from `../shared/conformance/cesql-tck/` beside
 * the project, for the conformance tests (in process and over HTTP).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CORE_SCHEMA, FAILSAFE_SCHEMA, load } from 'js-yaml';

export interface TckCase {
  name: string;
  expression: string;
  result?: unknown;
  error?: string;
  event?: Record<string, unknown>;
  eventOverrides?: Record<string, unknown>;
}

/**
 * The TCK is read from `../shared/conformance/` beside the project root, where the conformance
 * data lives (its NOTICE.md says so); a clone on its own has none.
 */
export const TCK_DIR = resolve(import.meta.dirname, '../../../shared/conformance/cesql-tck');

/** Any valid event will do where a case gives none (TCK README); its overrides go on top. */
export const DEFAULT_EVENT = {
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
export function readCases(file: string): TckCase[] {
  const text = readFileSync(file, 'utf8');
  const typed = load(text, { schema: CORE_SCHEMA, filename: file }) as { tests: TckCase[] };
  const raw = load(text, { schema: FAILSAFE_SCHEMA, filename: file }) as { tests: { expression: string }[] };
  return typed.tests.map((test, i) => ({ ...test, expression: raw.tests[i]!.expression }));
}

export const tckDir = existsSync(TCK_DIR) ? TCK_DIR : undefined;
/** Under CI the TCK must be there; a local clone without `../shared/` skips, saying so. */
export const required = process.env.CI === 'true';
if (tckDir === undefined && !required) {
  console.warn(
    `CESQL TCK skipped: ${TCK_DIR} is not there (a clone without ../shared); under CI=true this fails`,
  );
}

/** The TCK's files, sorted; none when it is not there. */
export const tckFiles: string[] =
  tckDir === undefined
    ? []
    : readdirSync(tckDir)
        .filter((f) => f.endsWith('.yaml'))
        .sort();

/** The event a case runs against: its own, or any valid event with its overrides on top. */
export function eventOf(test: TckCase): Record<string, unknown> {
  return test.event ?? { ...DEFAULT_EVENT, ...test.eventOverrides };
}

/** Every case of a file, read from the TCK directory. */
export function casesOf(file: string): TckCase[] {
  return readCases(join(tckDir!, file));
}
