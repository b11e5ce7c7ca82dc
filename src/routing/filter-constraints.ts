/**
 * What the matcher index may key a subscription on: the exact and prefix conditions on one
 * attribute that its filter list implies, i.e. conditions no event can match the list without.
 *
 * Extraction must be sound, never complete: a condition is only taken from a place where the
 * predicate requires it (a top-level filter, or a branch of `all`). Under `any` or `not`, and in
 * any dialect this file does not know (`suffix`, `sql`, `pattern`, those to come), nothing is
 * taken; such a subscription is then a candidate for every event of its types, and its compiled
 * predicate decides.
 */
import type { Filter } from '../storage/ports.js';

/** A condition on one attribute's string form (see `attributeString` in filters.ts). */
export interface Constraint {
  kind: 'exact' | 'prefix';
  attribute: string;
  value: string;
}

/**
 * Every constraint the filter list implies; any single one is a sound index key.
 *
 * @example
 * impliedConstraints([{ all: [{ exact: { source: '/shop' } }, { prefix: { subject: 'orders/' } }] }])
 * // => [{ kind: 'exact', attribute: 'source', value: '/shop' },
 * //     { kind: 'prefix', attribute: 'subject', value: 'orders/' }]
 */
export function impliedConstraints(filters: readonly Filter[]): Constraint[] {
  const out: Constraint[] = [];
  for (const filter of filters) collect(filter, out);
  return out;
}

function collect(filter: unknown, out: Constraint[]): void {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return;
  const entries = Object.entries(filter);
  // checkFilters refuses a filter with more or fewer than one dialect; take nothing from one that
  // slipped through rather than guess which of its dialects the predicate honours.
  if (entries.length !== 1) return;
  const [dialect, value] = entries[0]!;
  if (dialect === 'exact' || dialect === 'prefix') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
    for (const [attribute, v] of Object.entries(value)) {
      // A non-string value never equals an attribute's string form, so keying on it would be
      // wrong; leaving it to the predicate is always right.
      if (typeof v === 'string') out.push({ kind: dialect, attribute, value: v });
    }
  } else if (dialect === 'all' && Array.isArray(value)) {
    for (const f of value) collect(f, out);
  }
}

/**
 * Whether the filter list says nothing beyond the constraint: one `exact` or `prefix` filter on
 * one attribute. An event found under that constraint then matches without evaluating anything.
 *
 * @example
 * isWholeFilter([{ prefix: { subject: 'orders/' } }], { kind: 'prefix', attribute: 'subject', value: 'orders/' }) // => true
 */
export function isWholeFilter(filters: readonly Filter[], c: Constraint): boolean {
  if (filters.length !== 1) return false;
  const implied = impliedConstraints(filters);
  const filter = filters[0]!;
  const body = filter[c.kind];
  return (
    implied.length === 1 &&
    Object.keys(filter).length === 1 &&
    typeof body === 'object' &&
    body !== null &&
    Object.keys(body).length === 1 &&
    constraintKey(implied[0]!) === constraintKey(c)
  );
}

/** A key naming a constraint, for counting how many subscriptions share it. */
export function constraintKey(c: Constraint): string {
  return `${c.kind}\u0000${c.attribute}\u0000${c.value}`;
}

/**
 * The constraint expected to leave the fewest candidates, without knowing the traffic:
 * an exact value before a prefix (one value against a range of them); among exact values, the one
 * the fewest subscriptions share (a shared key tends to be a common value, and every sharer becomes
 * a candidate when it matches); among prefixes, the longest, then the least shared.
 *
 * @param shared how many subscriptions imply the same constraint.
 */
export function mostSelective(
  constraints: readonly Constraint[],
  shared: (c: Constraint) => number,
): Constraint | undefined {
  let best: Constraint | undefined;
  for (const c of constraints) if (best === undefined || better(c, best, shared)) best = c;
  return best;
}

function better(a: Constraint, b: Constraint, shared: (c: Constraint) => number): boolean {
  if (a.kind !== b.kind) return a.kind === 'exact';
  if (a.kind === 'prefix' && a.value.length !== b.value.length) return a.value.length > b.value.length;
  return shared(a) < shared(b);
}
