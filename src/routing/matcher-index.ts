/**
 * The matcher index: finds the subscriptions an event matches without evaluating all of them.
 *
 * Subscriptions are bucketed by type (one bucket per exact type name, one for `types: []`). Within
 * a bucket, each subscription sits under exactly one key chosen from the constraints its filters
 * imply (filter-constraints.ts): an (attribute, value) hash for `exact`, a per-attribute table of
 * prefixes for `prefix`, or, when nothing can be extracted, a list of candidates for every event.
 * An event then costs one hash lookup per indexed attribute, one per distinct prefix length of
 * that attribute, and one evaluation of the full compiled predicate per candidate (skipped when the
 * key is the whole filter list), and nothing for the subscriptions ruled out by type or key.
 */
import type { CloudEvent } from '../core/event.js';
import type { Subscription } from '../storage/ports.js';
import {
  type Constraint,
  constraintKey,
  impliedConstraints,
  isWholeFilter,
  mostSelective,
} from './filter-constraints.js';
import { attributeString, compileFilters, type Predicate } from './filters.js';
import { PrefixTable } from './prefix-table.js';

/** One subscription as indexed: its predicate, compiled once, and its place in the loaded list. */
interface Entry {
  subscription: Subscription;
  matches: Predicate;
  /** Position in the list given to the constructor; results are ordered by it within a bucket. */
  ordinal: number;
  /** The key it is indexed under; undefined when it is a candidate for every event of its types. */
  key: Constraint | undefined;
}

/** Why a subscription was considered for an event, and what its filters decided. */
export interface Explanation {
  subscription: Subscription;
  /** The constraint that made it a candidate, or null when every event of its types is one. */
  indexedBy: Constraint | null;
  matched: boolean;
}

/** The subscriptions of one type (or of every type), indexed by their chosen key. */
class Bucket {
  private readonly unconstrained: Entry[] = [];
  private readonly exact = new Map<string, Map<string, Entry[]>>();
  private readonly prefix = new Map<string, PrefixTable<Entry>>();

  add(entry: Entry): void {
    const key = entry.key;
    if (key === undefined) {
      this.unconstrained.push(entry);
    } else if (key.kind === 'exact') {
      const values = getOrAdd(this.exact, key.attribute, () => new Map<string, Entry[]>());
      getOrAdd(values, key.value, () => []).push(entry);
    } else {
      getOrAdd(this.prefix, key.attribute, () => new PrefixTable<Entry>()).add(key.value, entry);
    }
  }

  /** Appends every candidate for the event; each entry at most once, as it has a single key. */
  candidates(event: CloudEvent, out: Entry[]): void {
    for (const e of this.unconstrained) out.push(e);
    for (const [attribute, values] of this.exact) {
      const s = attributeString(event, attribute);
      if (s === undefined) continue;
      const list = values.get(s);
      if (list) for (const e of list) out.push(e);
    }
    for (const [attribute, table] of this.prefix) {
      const s = attributeString(event, attribute);
      if (s !== undefined) table.collect(s, out);
    }
  }
}

const byOrdinal = (a: Entry, b: Entry) => a.ordinal - b.ordinal;
const always: Predicate = () => true;

function getOrAdd<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/**
 * An immutable index over a list of subscriptions; build a new one to change it.
 *
 * Results keep the order today's callers have always had: the subscriptions listing the event's
 * type, in the order given, then those with `types: []`, in the order given.
 *
 * @example
 * const index = new MatcherIndex([orderSub, auditSub]);
 * index.match({ specversion: '1.0', id: '1', source: '/shop', type: 'order.created' }); // => [orderSub, auditSub]
 */
export class MatcherIndex {
  private readonly byType = new Map<string, Bucket>();
  private readonly anyType = new Bucket();

  constructor(subscriptions: readonly Subscription[]) {
    const implied = subscriptions.map((s) => impliedConstraints(s.filters));
    const shared = new Map<string, number>();
    for (const constraints of implied) {
      // A subscription implying the same constraint twice still shares it with nobody but itself.
      for (const key of new Set(constraints.map(constraintKey))) shared.set(key, (shared.get(key) ?? 0) + 1);
    }
    const count = (c: Constraint) => shared.get(constraintKey(c)) ?? 0;
    subscriptions.forEach((subscription, ordinal) => {
      const key = mostSelective(implied[ordinal]!, count);
      // When the key is all the filters say, finding the entry under it has already decided.
      const whole = key !== undefined && isWholeFilter(subscription.filters, key);
      const matches = whole ? always : compileFilters(subscription.filters);
      const entry: Entry = { subscription, matches, ordinal, key };
      if (subscription.types.length === 0) this.anyType.add(entry);
      for (const type of new Set(subscription.types)) {
        getOrAdd(this.byType, type, () => new Bucket()).add(entry);
      }
    });
  }

  /** The subscriptions whose types and filters match the event. */
  match(event: CloudEvent): Subscription[] {
    const out: Subscription[] = [];
    const typed = this.byType.get(event.type);
    if (typed) matchIn(typed, event, out);
    matchIn(this.anyType, event, out);
    return out;
  }

  /**
   * Every candidate the index considered for the event, with the key that made it one and the
   * verdict of its filters, in result order. A subscription not listed was ruled out by its types
   * or its key without being evaluated.
   */
  explain(event: CloudEvent): Explanation[] {
    const typed = this.byType.get(event.type);
    const buckets = typed ? [typed, this.anyType] : [this.anyType];
    return buckets.flatMap((bucket) => {
      const candidates: Entry[] = [];
      bucket.candidates(event, candidates);
      return candidates.sort(byOrdinal).map((e) => ({
        subscription: e.subscription,
        indexedBy: e.key ?? null,
        matched: e.matches(event),
      }));
    });
  }
}

/**
 * Appends the bucket's matches to `out` in load order. Each key's list is in load order but the
 * lists interleave, so the matches are sorted when, and only when, they came out of order.
 */
function matchIn(bucket: Bucket, event: CloudEvent, out: Subscription[]): void {
  const candidates: Entry[] = [];
  bucket.candidates(event, candidates);
  const matched: Entry[] = [];
  let inOrder = true;
  let last = -1;
  for (const e of candidates) {
    if (!e.matches(event)) continue;
    if (e.ordinal < last) inOrder = false;
    last = e.ordinal;
    matched.push(e);
  }
  if (!inOrder) sortByOrdinal(matched);
  for (const e of matched) out.push(e.subscription);
}

/**
 * Sorts entries by ordinal. In bench/routing.mjs, `Array.prototype.sort` with a comparator took
 * about a quarter of the time per event (noisy runs on a shared machine); the matches are short
 * lists made of a few sorted runs (one per key list), which an insertion sort orders in close to
 * linear time. Large fan-outs, where that stops being true, take the library sort.
 */
function sortByOrdinal(entries: Entry[]): void {
  if (entries.length > 64) {
    entries.sort(byOrdinal);
    return;
  }
  for (let i = 1; i < entries.length; i++) {
    const e = entries[i]!;
    let j = i - 1;
    while (j >= 0 && entries[j]!.ordinal > e.ordinal) {
      entries[j + 1] = entries[j]!;
      j--;
    }
    entries[j + 1] = e;
  }
}
