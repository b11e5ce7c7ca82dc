/**
 * Schema compatibility in Confluent's sense, for the JSON Schema (draft 2020-12) subset Junction understands.
 *
 * Written by hand: Ajv validates instances but does not compare schemas, and no maintained JavaScript library
 * implements Confluent-style JSON Schema compatibility. The checker answers one question, "is every instance the
 * writer schema accepts also accepted by the reader schema?", and errs on the side of "no": a refusal it cannot
 * justify is a nuisance, an acceptance it cannot justify would break consumers.
 */
import { type BreakingChange, type CheckOptions, Comparison, type Labels } from './schema-compare.js';
import type { JsonSchema } from './schema-walk.js';

export type { BreakingChange, CheckOptions, Labels } from './schema-compare.js';
export type { JsonSchema } from './schema-walk.js';

export type CompatibilityMode =
  | 'NONE'
  | 'BACKWARD'
  | 'BACKWARD_TRANSITIVE'
  | 'FORWARD'
  | 'FORWARD_TRANSITIVE'
  | 'FULL'
  | 'FULL_TRANSITIVE';

export const COMPATIBILITY_MODES: readonly CompatibilityMode[] = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
];

export class UnknownCompatibilityModeError extends Error {
  readonly code = 'UNKNOWN_COMPATIBILITY_MODE';
  override readonly name = 'UnknownCompatibilityModeError';
  constructor(mode: string) {
    super(`unknown compatibility mode "${mode}"; use one of ${COMPATIBILITY_MODES.join(', ')}`);
  }
}

/**
 * Changes that make data valid under `writer` invalid under `reader`: can `reader` read everything `writer`
 * accepts? An empty array means yes (as far as the checker can prove). `labels` name the two schemas in the
 * messages, such as "data written with version 2" and "version 5".
 *
 * @example
 * readerBreaks({ type: 'integer' }, { type: 'number' }); // []
 * readerBreaks({ type: 'number' }, { type: 'integer' }); // [{ pointer: '', kind: 'type-narrowed', ... }]
 */
export function readerBreaks(
  writer: JsonSchema,
  reader: JsonSchema,
  options: CheckOptions = {},
  labels: Labels = { writer: 'the writer schema', reader: 'the reader schema' },
): BreakingChange[] {
  return new Comparison(writer, reader, options, labels).run();
}

/**
 * Checks a candidate against the registered versions (oldest first) under a mode; [] means compatible.
 *
 * @example
 * checkCompatibility(next, [v1, v2], 'BACKWARD'); // next must read data written with v2
 */
export function checkCompatibility(
  candidate: JsonSchema,
  previous: JsonSchema[],
  mode: CompatibilityMode,
  options: CheckOptions = {},
): BreakingChange[] {
  if (!COMPATIBILITY_MODES.includes(mode)) throw new UnknownCompatibilityModeError(String(mode));
  if (mode === 'NONE' || previous.length === 0) return [];
  const transitive = mode.endsWith('_TRANSITIVE');
  const first = transitive ? 0 : previous.length - 1;
  const backward = mode.startsWith('BACKWARD') || mode.startsWith('FULL');
  const forward = mode.startsWith('FORWARD') || mode.startsWith('FULL');
  const out: BreakingChange[] = [];
  for (let i = first; i < previous.length; i++) {
    const old = previous[i] as JsonSchema;
    const version = `version ${i + 1}`;
    if (backward) {
      const labels = { writer: `data written with ${version}`, reader: 'the candidate' };
      for (const change of new Comparison(old, candidate, options, labels).run()) {
        out.push({ ...change, direction: 'BACKWARD', againstVersion: i + 1 });
      }
    }
    if (forward) {
      const labels = { writer: 'data written with the candidate', reader: version };
      for (const change of new Comparison(candidate, old, options, labels).run()) {
        out.push({ ...change, direction: 'FORWARD', againstVersion: i + 1 });
      }
    }
  }
  return out;
}
