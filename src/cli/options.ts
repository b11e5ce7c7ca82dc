/**
 * Argument parsers shared by the commands. Each throws commander's `InvalidArgumentError`, which
 * commander turns into `error: option '--x <n>' argument 'y' is invalid. <reason>` and exit code 2.
 */
import { InvalidArgumentError } from 'commander';
import { isRfc3339Timestamp } from '../core/timestamp.js';

/**
 * Makes a parser for an integer option within `[min, max]`.
 *
 * @example
 * program.option('--port <n>', 'port', integer({ min: 0, max: 65535 }));
 */
export function integer(range: { min?: number; max?: number } = {}): (value: string) => number {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range;
  return (value) => {
    // Number('') is 0 and Number('1e3') is 1000; only plain decimal digits are accepted.
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError('Expected an integer.');
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER ? `Expected an integer >= ${min}.` : `Expected ${min}..${max}.`,
      );
    }
    return n;
  };
}

/** Collects a repeatable option into an array, keeping the order given. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Parses one `key=value` pair; the value may itself contain `=`. */
export function keyValue(value: string): [string, string] {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError('Expected key=value.');
  return [value.slice(0, at), value.slice(at + 1)];
}

/** Collects repeatable `key=value` options into a list of pairs. */
export function collectKeyValue(
  value: string,
  previous: Array<[string, string]> | undefined,
): Array<[string, string]> {
  return [...(previous ?? []), keyValue(value)];
}

/** Collects repeatable JSON-object options, such as subscription filters. */
export function collectJsonObject(
  value: string,
  previous: Array<Record<string, unknown>> | undefined,
): Array<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(`Not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidArgumentError('Expected a JSON object, such as {"exact":{"type":"a.b"}}.');
  }
  return [...(previous ?? []), parsed as Record<string, unknown>];
}

/** Milliseconds per unit of a relative time such as `-90m`. */
const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const RELATIVE = /^-((?:\d+[smhdw])+)$/;

/**
 * Parses a point in time given as RFC 3339 (kept as written, for the server to read), as `now`, or
 * as a time ago: a minus sign then one or more amounts with units `s`, `m`, `h`, `d` or `w`
 * (`-30m`, `-2d`, `-1h30m`). A time ago becomes RFC 3339 in UTC, counted back from `now`, which is
 * this machine's clock, not the hub's.
 *
 * @example
 * parseTime('-1h', Date.parse('2026-11-26T09:00:00Z')); // '2026-11-26T08:00:00.000Z'
 * parseTime('2026-11-26T08:00:00+01:00'); // '2026-11-26T08:00:00+01:00'
 */
export function parseTime(value: string, now: number = Date.now()): string {
  const text = value.trim();
  if (isRfc3339Timestamp(text)) return text;
  if (text === 'now') return new Date(now).toISOString();
  const relative = RELATIVE.exec(text);
  if (relative) {
    let ago = 0;
    for (const [, amount, unit] of relative[1]!.matchAll(/(\d+)([smhdw])/g)) {
      ago += Number(amount) * UNIT_MS[unit!]!;
    }
    const at = new Date(now - ago);
    // Far enough back, a date has no RFC 3339 form (years before 0000, or no valid Date at all).
    if (Number.isNaN(at.getTime()) || at.getUTCFullYear() < 0) {
      throw new InvalidArgumentError(`${text} reaches back further than RFC 3339 times can.`);
    }
    return at.toISOString();
  }
  throw new InvalidArgumentError(
    'Expected an RFC 3339 time such as 2026-11-26T08:00:00Z, "now", or a time ago such as -30m, -1h or -2d.',
  );
}

/** `parseTime` as a commander argument parser: the time ago is counted from when the command runs. */
export function time(value: string): string {
  return parseTime(value);
}
