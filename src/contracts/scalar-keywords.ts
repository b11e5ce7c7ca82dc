/**
 * Compatibility of the numeric and string keywords (and the length bounds arrays share with strings): each
 * function reports what the reader requires beyond what the writer guarantees.
 */
import { jsonEqual, type SchemaObject } from './schema-walk.js';

export interface KeywordContext {
  labels: { writer: string; reader: string };
  report(kind: string, pointer: string, detail: string, advice: string): void;
}

export function compareNumbers(
  ctx: KeywordContext,
  w: SchemaObject,
  r: SchemaObject,
  rp: string,
  integersOnly: boolean,
): void {
  for (const key of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf']) {
    for (const s of [w, r]) {
      if (s[key] !== undefined && typeof s[key] !== 'number' && !jsonEqual(w[key], r[key])) {
        ctx.report('invalid-schema', `${rp}/${key}`, `"${key}" must be a number`, 'fix the schema');
        return;
      }
    }
  }
  const W = ctx.labels.writer;
  const R = ctx.labels.reader;
  const rLow = bound(r, 'minimum', 'exclusiveMinimum', Math.max);
  const wLow = bound(w, 'minimum', 'exclusiveMinimum', Math.max);
  if (
    rLow &&
    !(wLow && (wLow.value > rLow.value || (wLow.value === rLow.value && (!rLow.exclusive || wLow.exclusive))))
  ) {
    ctx.report(
      'minimum-raised',
      `${rp}/${rLow.exclusive ? 'exclusiveMinimum' : 'minimum'}`,
      `${R} requires numbers ${rLow.exclusive ? '>' : '>='} ${rLow.value} but ${W} allows ${describe(wLow, 'lower')}`,
      'keep the old lower bound or lower it; raise it only in a new property',
    );
  }
  const rHigh = bound(r, 'maximum', 'exclusiveMaximum', Math.min);
  const wHigh = bound(w, 'maximum', 'exclusiveMaximum', Math.min);
  if (
    rHigh &&
    !(
      wHigh &&
      (wHigh.value < rHigh.value || (wHigh.value === rHigh.value && (!rHigh.exclusive || wHigh.exclusive)))
    )
  ) {
    ctx.report(
      'maximum-lowered',
      `${rp}/${rHigh.exclusive ? 'exclusiveMaximum' : 'maximum'}`,
      `${R} requires numbers ${rHigh.exclusive ? '<' : '<='} ${rHigh.value} but ${W} allows ${describe(wHigh, 'upper')}`,
      'keep the old upper bound or raise it; lower it only in a new property',
    );
  }
  const rStep = r.multipleOf;
  if (typeof rStep === 'number') {
    const wStep = w.multipleOf;
    // Validators test multipleOf by floating-point division, so only integer ratios of integer steps are safe.
    const ok =
      (integersOnly && rStep === 1) ||
      wStep === rStep ||
      (Number.isInteger(wStep) && Number.isInteger(rStep) && (wStep as number) % rStep === 0);
    if (!ok) {
      ctx.report(
        'multiple-of-changed',
        `${rp}/multipleOf`,
        `${R} requires multiples of ${rStep} but ${W} allows ${typeof wStep === 'number' ? `multiples of ${wStep}` : 'any number'}`,
        'use a multipleOf that divides the old one, or drop it',
      );
    }
  }
}

export function compareStrings(ctx: KeywordContext, w: SchemaObject, r: SchemaObject, rp: string): void {
  compareLengths(ctx, w, r, rp, 'minLength', 'maxLength', 'characters');
  if (r.pattern !== undefined && w.pattern !== r.pattern) {
    ctx.report(
      'pattern-changed',
      `${rp}/pattern`,
      `${ctx.labels.reader} requires strings matching ${JSON.stringify(r.pattern)} but ${ctx.labels.writer} ${
        w.pattern === undefined ? 'has no pattern' : `uses ${JSON.stringify(w.pattern)}`
      }; the checker treats any change of pattern as breaking`,
      'keep the pattern identical, or put the new format in a new property',
    );
  }
  if (r.format !== undefined && w.format !== r.format) {
    ctx.report(
      'format-changed',
      `${rp}/format`,
      `${ctx.labels.reader} requires format ${JSON.stringify(r.format)} but ${ctx.labels.writer} does not guarantee it`,
      'keep the format identical, or drop it from the reader',
    );
  }
}

export function compareLengths(
  ctx: KeywordContext,
  w: SchemaObject,
  r: SchemaObject,
  rp: string,
  minKey: string,
  maxKey: string,
  unit: string,
) {
  const rMin = typeof r[minKey] === 'number' ? r[minKey] : 0;
  const wMin = typeof w[minKey] === 'number' ? w[minKey] : 0;
  if (rMin > wMin) {
    ctx.report(
      `${minKey}-raised`,
      `${rp}/${minKey}`,
      `${ctx.labels.reader} requires at least ${rMin} ${unit} but ${ctx.labels.writer} allows ${wMin}`,
      `keep ${minKey} at ${wMin} or lower`,
    );
  }
  const rMax = r[maxKey];
  const wMax = w[maxKey];
  if (typeof rMax === 'number' && !(typeof wMax === 'number' && wMax <= rMax)) {
    ctx.report(
      `${maxKey}-lowered`,
      `${rp}/${maxKey}`,
      `${ctx.labels.reader} allows at most ${rMax} ${unit} but ${ctx.labels.writer} allows ${
        typeof wMax === 'number' ? wMax : 'any number'
      }`,
      `keep ${maxKey} at ${typeof wMax === 'number' ? `${wMax} or higher` : 'unset'}`,
    );
  }
}

interface Bound {
  value: number;
  exclusive: boolean;
}

function bound(
  s: SchemaObject,
  inclusiveKey: string,
  exclusiveKey: string,
  tighter: typeof Math.max,
): Bound | undefined {
  const inclusive = typeof s[inclusiveKey] === 'number' ? s[inclusiveKey] : undefined;
  const exclusive = typeof s[exclusiveKey] === 'number' ? s[exclusiveKey] : undefined;
  if (inclusive === undefined)
    return exclusive === undefined ? undefined : { value: exclusive, exclusive: true };
  if (exclusive === undefined) return { value: inclusive, exclusive: false };
  const value = tighter(inclusive, exclusive);
  return { value, exclusive: value === exclusive };
}

function describe(b: Bound | undefined, side: 'lower' | 'upper'): string {
  if (!b) return `no ${side} bound`;
  return `${side === 'lower' ? (b.exclusive ? '>' : '>=') : b.exclusive ? '<' : '<='} ${b.value}`;
}
