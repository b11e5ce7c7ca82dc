import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DELIVERY_POLICY } from '../../src/core/config.js';
import type { CloudEvent } from '../../src/core/event.js';
import { impliedConstraints, isWholeFilter, mostSelective } from '../../src/routing/filter-constraints.js';
import { compileFilters } from '../../src/routing/filters.js';
import { MatcherIndex } from '../../src/routing/matcher-index.js';
import { PrefixTable } from '../../src/routing/prefix-table.js';
import { Router } from '../../src/routing/router.js';
import type { Filter, Subscription, SubscriptionStatus } from '../../src/storage/ports.js';

function sub(
  id: string,
  types: string[],
  filters: Filter[] = [],
  extra: Partial<Subscription> = {},
): Subscription {
  return {
    id,
    status: 'active',
    statusReason: null,
    types,
    filters,
    sink: `https://example.com/${id}`,
    protocol: 'HTTP',
    protocolsettings: {},
    delivery: { ...DEFAULT_DELIVERY_POLICY },
    secrets: ['whsec_AAAA'],
    failingSince: null,
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    ...extra,
  };
}

function event(type: string, extra: Record<string, unknown> = {}): CloudEvent {
  return { specversion: '1.0', id: 'e1', source: '/s', type, ...extra };
}

/** The oracle: every subscription's predicate, in the order the index promises. */
function scan(subscriptions: readonly Subscription[], e: CloudEvent): Subscription[] {
  const active = subscriptions.filter((s) => s.status === 'active');
  const typed = active.filter((s) => s.types.includes(e.type) && compileFilters(s.filters)(e));
  const untyped = active.filter((s) => s.types.length === 0 && compileFilters(s.filters)(e));
  return [...typed, ...untyped];
}

describe('impliedConstraints', () => {
  it('takes every attribute of exact and prefix filters at the top level', () => {
    expect(
      impliedConstraints([{ exact: { subject: 'orders/1', source: '/shop' } }, { prefix: { id: 'x' } }]),
    ).toEqual([
      { kind: 'exact', attribute: 'subject', value: 'orders/1' },
      { kind: 'exact', attribute: 'source', value: '/shop' },
      { kind: 'prefix', attribute: 'id', value: 'x' },
    ]);
  });

  it('looks inside all, nested', () => {
    expect(
      impliedConstraints([
        { all: [{ suffix: { subject: '1' } }, { all: [{ prefix: { subject: 'orders/' } }] }] },
      ]),
    ).toEqual([{ kind: 'prefix', attribute: 'subject', value: 'orders/' }]);
  });

  it('takes nothing under any or not, nor from suffix', () => {
    expect(impliedConstraints([{ any: [{ exact: { subject: 'a' } }, { exact: { subject: 'b' } }] }])).toEqual(
      [],
    );
    expect(impliedConstraints([{ not: { exact: { subject: 'a' } } }])).toEqual([]);
    expect(impliedConstraints([{ suffix: { subject: '/1' } }])).toEqual([]);
    expect(impliedConstraints([{ all: [{ any: [{ exact: { subject: 'a' } }] }] }])).toEqual([]);
    expect(impliedConstraints([])).toEqual([]);
  });

  it('treats dialects it does not know as opaque', () => {
    expect(impliedConstraints([{ sql: "subject = 'a'" }, { pattern: { subject: ['a'] } }])).toEqual([]);
    expect(impliedConstraints([{ sql: 'x' }, { exact: { subject: 'a' } }])).toEqual([
      { kind: 'exact', attribute: 'subject', value: 'a' },
    ]);
  });

  it('takes nothing from malformed filters', () => {
    expect(impliedConstraints([{ exact: { subject: 'a' }, prefix: { subject: 'b' } }])).toEqual([]);
    expect(impliedConstraints([{ exact: { n: 1 } }, { exact: ['a'] }, { all: 'x' } as Filter])).toEqual([]);
  });
});

describe('mostSelective', () => {
  const exact = (attribute: string, value: string) => ({ kind: 'exact' as const, attribute, value });
  const prefix = (attribute: string, value: string) => ({ kind: 'prefix' as const, attribute, value });
  const none = () => 1;

  it('prefers an exact value to any prefix', () => {
    expect(mostSelective([prefix('subject', 'orders/1/lines/'), exact('source', '/s')], none)).toEqual(
      exact('source', '/s'),
    );
  });

  it('prefers the longest prefix, then the least shared key', () => {
    expect(mostSelective([prefix('subject', 'o'), prefix('source', '/shop/')], none)).toEqual(
      prefix('source', '/shop/'),
    );
    const shared = (c: { value: string }) => (c.value === 'common' ? 50 : 2);
    expect(mostSelective([exact('source', 'common'), exact('subject', 'rare')], shared)).toEqual(
      exact('subject', 'rare'),
    );
  });

  it('has no answer without constraints', () => {
    expect(mostSelective([], none)).toBeUndefined();
  });
});

describe('isWholeFilter', () => {
  const key = { kind: 'exact' as const, attribute: 'subject', value: 'a' };

  it('holds for one filter on one attribute that is the key', () => {
    expect(isWholeFilter([{ exact: { subject: 'a' } }], key)).toBe(true);
    expect(isWholeFilter([{ prefix: { subject: 'a' } }], { ...key, kind: 'prefix' })).toBe(true);
  });

  it('does not hold when the filters say more', () => {
    expect(isWholeFilter([{ exact: { subject: 'a', source: 'b' } }], key)).toBe(false);
    expect(isWholeFilter([{ exact: { subject: 'a' } }, { suffix: { id: '1' } }], key)).toBe(false);
    expect(isWholeFilter([{ all: [{ exact: { subject: 'a' } }] }], key)).toBe(false);
    expect(isWholeFilter([{ exact: { subject: 'b' } }], key)).toBe(false);
    expect(isWholeFilter([], key)).toBe(false);
  });
});

describe('PrefixTable', () => {
  it('finds the items of every prefix of a value, the empty one and the value itself included', () => {
    const table = new PrefixTable<string>();
    for (const [p, item] of [
      ['orders/', 'a'],
      ['orders/1', 'b'],
      ['users/', 'c'],
      ['', 'd'],
      ['orders/12', 'e'],
      ['orders/123', 'f'],
    ] as const)
      table.add(p, item);
    const out: string[] = [];
    table.collect('orders/12', out);
    expect(out).toEqual(['d', 'a', 'b', 'e']);
  });
});

describe('MatcherIndex', () => {
  it('finds a subscription by its exact key, and only events with that value', () => {
    const s = sub('s', ['a'], [{ exact: { subject: 'orders/1' } }]);
    const index = new MatcherIndex([s]);
    expect(index.match(event('a', { subject: 'orders/1' }))).toEqual([s]);
    expect(index.match(event('a', { subject: 'orders/2' }))).toEqual([]);
    expect(index.match(event('a'))).toEqual([]);
    expect(index.explain(event('a', { subject: 'orders/2' }))).toEqual([]);
  });

  it('compares integers and booleans by their string form, as the predicates do', () => {
    const s = sub('s', ['a'], [{ exact: { sequence: '7', flag: 'true' } }]);
    const index = new MatcherIndex([s]);
    expect(index.match(event('a', { sequence: 7, flag: true }))).toEqual([s]);
    expect(index.match(event('a', { sequence: 7, flag: false }))).toEqual([]);
  });

  it('finds a subscription by every prefix of the event value', () => {
    const short = sub('short', ['a'], [{ prefix: { subject: 'orders/' } }]);
    const long = sub('long', ['a'], [{ prefix: { subject: 'orders/1' } }]);
    const index = new MatcherIndex([long, short]);
    expect(index.match(event('a', { subject: 'orders/12' }))).toEqual([long, short]);
    expect(index.match(event('a', { subject: 'orders/2' }))).toEqual([short]);
    expect(index.match(event('a', { subject: 'order' }))).toEqual([]);
  });

  it('keys an all on its most selective part and still evaluates the rest', () => {
    const s = sub(
      's',
      ['a'],
      [{ all: [{ prefix: { subject: 'orders/' } }, { exact: { source: '/shop' } }] }],
    );
    const index = new MatcherIndex([s]);
    const [why] = index.explain(event('a', { source: '/shop', subject: 'users/1' }));
    expect(why).toEqual({
      subscription: s,
      indexedBy: { kind: 'exact', attribute: 'source', value: '/shop' },
      matched: false,
    });
    expect(index.match(event('a', { source: '/shop', subject: 'orders/1' }))).toEqual([s]);
  });

  it('makes subscriptions without a key candidates for every event of their types', () => {
    const general = sub('g', ['a'], [{ any: [{ exact: { subject: 'x' } }, { suffix: { subject: '9' } }] }]);
    const negated = sub('n', ['a'], [{ not: { exact: { subject: 'x' } } }]);
    const plain = sub('p', ['a']);
    const index = new MatcherIndex([general, negated, plain]);
    expect(
      index.explain(event('a', { subject: 'y' })).map((e) => [e.subscription.id, e.indexedBy, e.matched]),
    ).toEqual([
      ['g', null, false],
      ['n', null, true],
      ['p', null, true],
    ]);
    expect(index.match(event('b', { subject: 'x' }))).toEqual([]);
  });

  it('keeps load order within a bucket, typed subscriptions before types: []', () => {
    const all = sub('all', [], [{ prefix: { subject: 'o' } }]);
    const s1 = sub('s1', ['a'], [{ prefix: { subject: 'orders/' } }]);
    const s2 = sub('s2', ['a']);
    const s3 = sub('s3', ['a'], [{ exact: { subject: 'orders/1' } }]);
    const index = new MatcherIndex([all, s1, s2, s3]);
    expect(index.match(event('a', { subject: 'orders/1' }))).toEqual([s1, s2, s3, all]);
  });
});

const TYPES = ['a', 'b', 'c'];
const ATTRIBUTES = ['subject', 'source', 'region', 'sequence'];
const VALUES = ['', 'a', 'ab', 'abc', 'b', 'ba', '1', '12', 'true'];

const attributeMap = fc.dictionary(fc.constantFrom(...ATTRIBUTES), fc.constantFrom(...VALUES), {
  minKeys: 1,
  maxKeys: 2,
});

const { filter } = fc.letrec<{ filter: Filter }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ exact: attributeMap }),
    fc.record({ prefix: attributeMap }),
    fc.record({ suffix: attributeMap }),
    fc.record({ all: fc.array(tie('filter'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ any: fc.array(tie('filter'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ not: tie('filter') }),
  ),
}));

const subscriptions = fc
  .array(
    fc.record({
      types: fc.array(fc.constantFrom(...TYPES), { maxLength: 3 }),
      filters: fc.array(filter, { maxLength: 3 }),
      status: fc.constantFrom<SubscriptionStatus>('active', 'active', 'active', 'disabled'),
    }),
    { maxLength: 40 },
  )
  .map((specs) => specs.map((s, i) => sub(`s${i}`, s.types, s.filters, { status: s.status })));

/** Attribute values as events carry them: strings, and the integers and booleans extensions may be. */
const attributeValue = fc.oneof(fc.constantFrom(...VALUES), fc.constantFrom(1, 12, 123), fc.boolean());

const events = fc
  .record({
    type: fc.constantFrom(...TYPES, 'z'),
    attributes: fc.dictionary(fc.constantFrom(...ATTRIBUTES.filter((a) => a !== 'source')), attributeValue),
    source: fc.constantFrom(...VALUES),
  })
  .map(({ type, attributes, source }) => event(type, { ...attributes, source }));

describe('MatcherIndex against a scan of every subscription', () => {
  it('gives the same subscriptions, in the same order', () => {
    fc.assert(
      fc.property(subscriptions, fc.array(events, { minLength: 1, maxLength: 10 }), (subs, evs) => {
        const router = new Router();
        router.load(subs);
        for (const e of evs) expect(router.route(e)).toEqual(scan(subs, e));
      }),
      { numRuns: 500 },
    );
  });

  it('explains exactly the matches as matched', () => {
    fc.assert(
      fc.property(subscriptions, events, (subs, e) => {
        const active = subs.filter((s) => s.status === 'active');
        const index = new MatcherIndex(active);
        const matched = index.explain(e).filter((x) => x.matched);
        expect(matched.map((x) => x.subscription)).toEqual(index.match(e));
      }),
      { numRuns: 200 },
    );
  });
});
