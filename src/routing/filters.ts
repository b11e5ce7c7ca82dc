/**
 * Filter dialects: those of the CloudEvents Subscriptions API that every implementation must
 * support (`exact`, `prefix`, `suffix`, `all`, `any`, `not`), CESQL (`sql`, also `cesql` as Knative
 * names it), and EventBridge-style content patterns (`pattern`). A filter is compiled once into a
 * predicate.
 */

import { type FieldError, pointerToken } from '../core/errors.js';
import type { CloudEvent } from '../core/event.js';
import type { Filter } from '../storage/ports.js';
import { CesqlCompileError, compileCesql } from './cesql/index.js';
import { checkPattern, compilePattern } from './patterns.js';

export type Predicate = (event: CloudEvent) => boolean;

const ATTRIBUTE_DIALECTS = ['exact', 'prefix', 'suffix'] as const;
const SUPPORTED = 'exact, prefix, suffix, all, any, not, sql, pattern';
const ATTRIBUTE_NAME = /^[a-z0-9]{1,50}$/;

/**
 * The string form of an attribute, as the spec compares them: booleans and integers by their
 * canonical string encoding. Absent attributes never match. Exported so the matcher index looks
 * values up exactly as the predicates compare them.
 */
export function attributeString(event: CloudEvent, name: string): string | undefined {
  const value = event[name];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** Checks a list of filters and returns every problem, each located by a JSON pointer. */
export function checkFilters(filters: unknown, pointer: string): FieldError[] {
  if (!Array.isArray(filters)) return [{ pointer, message: 'filters must be an array of filter objects' }];
  return filters.flatMap((f, i) => checkFilter(f, `${pointer}/${i}`));
}

function checkFilter(filter: unknown, pointer: string): FieldError[] {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    return [{ pointer, message: `a filter must be an object with one dialect (${SUPPORTED})` }];
  }
  const keys = Object.keys(filter);
  if (keys.length !== 1) {
    return [
      { pointer, message: `a filter must have exactly one dialect (${SUPPORTED}); found ${keys.length}` },
    ];
  }
  const dialect = keys[0]!;
  const value = (filter as Record<string, unknown>)[dialect];
  const at = `${pointer}/${pointerToken(dialect)}`;
  switch (dialect) {
    case 'exact':
    case 'prefix':
    case 'suffix': {
      if (
        typeof value !== 'object' ||
        value === null ||
        Array.isArray(value) ||
        Object.keys(value).length === 0
      ) {
        return [{ pointer: at, message: `${dialect} takes an object of attribute names to string values` }];
      }
      return Object.entries(value).flatMap(([name, v]): FieldError[] => {
        if (!ATTRIBUTE_NAME.test(name)) {
          return [
            {
              pointer: `${at}/${pointerToken(name)}`,
              message: 'attribute names are lowercase letters and digits',
            },
          ];
        }
        if (typeof v !== 'string')
          return [{ pointer: `${at}/${pointerToken(name)}`, message: `${dialect} values must be strings` }];
        if (dialect !== 'exact' && v === '') {
          return [
            {
              pointer: `${at}/${pointerToken(name)}`,
              message: `an empty ${dialect} matches everything; omit the filter`,
            },
          ];
        }
        return [];
      });
    }
    case 'all':
    case 'any':
      if (!Array.isArray(value) || value.length === 0) {
        return [{ pointer: at, message: `${dialect} takes a non-empty array of filters` }];
      }
      return value.flatMap((f, i) => checkFilter(f, `${at}/${i}`));
    case 'not':
      return checkFilter(value, at);
    case 'sql':
    case 'cesql':
      return checkSql(value, at);
    case 'pattern':
      return checkPattern(value, at);
    default:
      return [{ pointer: at, message: `unknown filter dialect '${dialect}'; use one of ${SUPPORTED}` }];
  }
}

/** Checks a CESQL expression by compiling it: the message gives the character where it fails. */
function checkSql(value: unknown, pointer: string): FieldError[] {
  if (typeof value !== 'string' || value.trim() === '') {
    return [
      { pointer, message: 'sql takes a CESQL expression as a string, such as "subject LIKE \'orders/%\'"' },
    ];
  }
  try {
    compileCesql(value);
    return [];
  } catch (error) {
    if (!(error instanceof CesqlCompileError)) throw error;
    const what = error.kind === 'missingFunction' ? 'calls an unknown function' : 'does not parse';
    return [{ pointer, message: `the expression ${what} at character ${error.position}: ${error.message}` }];
  }
}

/** Compiles checked filters into one predicate: the list matches when every filter matches. */
export function compileFilters(filters: readonly Filter[]): Predicate {
  let compiled = compiledLists.get(filters);
  if (!compiled) {
    compiled = every(filters.map(compileFilter));
    compiledLists.set(filters, compiled);
  }
  return compiled;
}

/**
 * Compiled filter lists by the list itself: a subscription's `filters` array is never changed in
 * place (a change replaces the subscription), and the index is rebuilt whenever any subscription
 * changes, so without this every rebuild would compile every CESQL and pattern filter again.
 */
const compiledLists = new WeakMap<readonly Filter[], Predicate>();

// The combinators below are plain loops, with the one-element cases unwrapped: routing runs them
// for every candidate subscription of every event, and closures over `every`/`some` showed as the
// largest share of routing time in the routing bench's profile.

function every(ps: Predicate[]): Predicate {
  if (ps.length === 0) return () => true;
  if (ps.length === 1) return ps[0]!;
  return (event) => {
    for (const p of ps) if (!p(event)) return false;
    return true;
  };
}

function some(ps: Predicate[]): Predicate {
  if (ps.length === 1) return ps[0]!;
  return (event) => {
    for (const p of ps) if (p(event)) return true;
    return false;
  };
}

/** One attribute compared with one value, by the dialect's test. */
function attributeTest(dialect: string, name: string, v: string): Predicate {
  if (dialect === 'exact') return (event) => attributeString(event, name) === v;
  if (dialect === 'prefix') {
    return (event) => attributeString(event, name)?.startsWith(v) === true;
  }
  return (event) => attributeString(event, name)?.endsWith(v) === true;
}

/**
 * The index of the first filter the event does not match, or -1 when it matches them all: what a
 * simulation reports as the filter that decided.
 */
export function firstFailingFilter(filters: readonly Filter[], event: CloudEvent): number {
  return filters.findIndex((f) => !compiledFilter(f)(event));
}

/** One filter compiled, reused while the filter object lives (a simulation asks for each often). */
const compiledFilters = new WeakMap<Filter, Predicate>();

function compiledFilter(filter: Filter): Predicate {
  let compiled = compiledFilters.get(filter);
  if (!compiled) {
    compiled = compileFilter(filter);
    compiledFilters.set(filter, compiled);
  }
  return compiled;
}

function compileFilter(filter: Filter): Predicate {
  const [dialect, value] = Object.entries(filter)[0] as [string, unknown];
  if ((ATTRIBUTE_DIALECTS as readonly string[]).includes(dialect)) {
    return every(
      Object.entries(value as Record<string, string>).map(([name, v]) => attributeTest(dialect, name, v)),
    );
  }
  if (dialect === 'all') return every((value as Filter[]).map(compileFilter));
  if (dialect === 'any') return some((value as Filter[]).map(compileFilter));
  if (dialect === 'not') {
    const p = compileFilter(value as Filter);
    return (event) => !p(event);
  }
  if (dialect === 'sql' || dialect === 'cesql') {
    const compiled = compileCesql(value as string);
    // An evaluation error (a failed cast, a missing attribute) means no match, as in Knative.
    return (event) => {
      const { result, error } = compiled.evaluate(event);
      return error === null && result === true;
    };
  }
  if (dialect === 'pattern') return compilePattern(value as Record<string, unknown>);
  throw new Error(`filter dialect '${dialect}' was not checked before compiling`);
}
