/**
 * Argument parsers shared by the commands. Each throws commander's `InvalidArgumentError`, which
 * commander turns into `error: option '--x <n>' argument 'y' is invalid. <reason>` and exit code 2.
 */
import { InvalidArgumentError } from 'commander';

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
