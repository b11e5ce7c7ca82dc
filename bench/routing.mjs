/**
 * Routing throughput, in process: 10,000 subscriptions over a few hundred event types, loaded into
 * the hub's `Router` (the matcher index), against a plain scan that checks every subscription's
 * types and then its compiled filters, on the same events in the same run. Both must give the same
 * subscriptions for every sampled event.
 *
 *   npm run bench:routing                          # 1 s warm-up + 3 s per target
 *   node bench/routing.mjs --seconds 5 --subscriptions 20000 --types 300 --seed 7
 *   ROUTING_GENERAL=sql node bench/routing.mjs     # general filters all CESQL (see generalFilters)
 *
 * The mix, drawn from a seeded generator: 60 % by type only (15 %) or type + an exact subject,
 * source or tenant; 25 % prefix filters on subject or source (a fifth of them on every type); 15 %
 * general expressions. Types are drawn Zipf-like for events and subscriptions alike, so popular types have
 * many subscribers. Exits non-zero if the index and the scan disagree on any sampled event.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { machine, ROOT, round, setting } from './lib.mjs';

const SECONDS = setting('seconds', 'ROUTING_SECONDS', 3);
const WARMUP = setting('warmup', 'ROUTING_WARMUP_SECONDS', 1);
const SUBSCRIPTIONS = setting('subscriptions', 'ROUTING_SUBSCRIPTIONS', 10_000);
const TYPE_COUNT = setting('types', 'ROUTING_TYPES', 300);
const SEED = setting('seed', 'ROUTING_SEED', 42);
/**
 * Zipf exponents of the types events carry and subscriptions ask for. Popular types get most of
 * the traffic and somewhat more subscribers; raising `sub-skew` piles subscribers onto them and
 * raises the fan-out (matches per event), which the index cannot make cheaper than its output.
 */
const EVENT_SKEW = setting('event-skew', 'ROUTING_EVENT_SKEW', 0.9);
const SUB_SKEW = setting('sub-skew', 'ROUTING_SUB_SKEW', 0.5);
const DISTINCT_EVENTS = 50_000;
const CHECKED_EVENTS = 10_000;
const TARGET_RATE = 50_000;
const TARGET_RATIO = 20;
/**
 * Which filters make the general expressions: `mixed` (the default: a third each CESQL, pattern and
 * any/not/suffix combinations), `sql`, `pattern`, or `stand-in` (any/not/suffix only).
 */
const GENERAL = process.env.ROUTING_GENERAL || 'mixed';

const ROUTER = join(ROOT, 'dist', 'routing', 'router.js');
const FILTERS = join(ROOT, 'dist', 'routing', 'filters.js');

/** mulberry32: a small seeded generator, so every run routes the same subscriptions and events. */
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = generator(SEED);
const pick = (list) => list[Math.floor(random() * list.length)];
const int = (n) => Math.floor(random() * n);

/** Draws indexes 0..n-1 with weight 1/(rank+1)^s: a few popular items and a long tail. */
function zipf(n, s) {
  const cumulative = [];
  let total = 0;
  for (let k = 1; k <= n; k++) {
    total += 1 / k ** s;
    cumulative.push(total);
  }
  return () => {
    const x = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

// biome-ignore format: a table reads better than one name a line
const ENTITIES = [
  'order', 'customer', 'invoice', 'payment', 'shipment', 'inventory', 'product', 'cart', 'ticket', 'user',
  'account', 'refund', 'subscription', 'quote', 'lead', 'contract', 'delivery', 'return', 'coupon', 'review',
  'supplier', 'warehouse', 'employee', 'timesheet', 'expense', 'project', 'task', 'document', 'device', 'alert',
];
const VERBS = [
  'created',
  'updated',
  'deleted',
  'cancelled',
  'completed',
  'failed',
  'approved',
  'rejected',
  'archived',
  'restored',
];
const REGIONS = ['eu', 'eu', 'eu', 'us', 'us', 'apac'];

/** The event types, e.g. `com.acme.order.created`: entity and verb, as many as asked for. */
const TYPES = Array.from({ length: TYPE_COUNT }, (_, i) => {
  const entity = ENTITIES[i % ENTITIES.length];
  const verb = VERBS[Math.floor(i / ENTITIES.length) % VERBS.length];
  const generation = Math.floor(i / (ENTITIES.length * VERBS.length));
  return { name: `com.acme.${entity}.${verb}${generation ? `.v${generation + 1}` : ''}`, entity };
});
const eventType = zipf(TYPES.length, EVENT_SKEW);
const subscribedType = zipf(TYPES.length, SUB_SKEW);
const tenant = zipf(500, 1.0);
const tenantName = (i) => `t${String(i).padStart(3, '0')}`;

/** The instance of an entity's service that emits an event: `/acme/order-service/eu/2`. */
const sourceOf = (entity, region, instance) => `/acme/${entity}-service/${region}/${instance}`;

/** An event as a producer sends it: a service instance as source, the entity instance as subject. */
function makeEvent(i) {
  const { name, entity } = TYPES[eventType()];
  const region = pick(REGIONS);
  const source = sourceOf(entity, region, 1 + int(4));
  return {
    specversion: '1.0',
    id: `e-${i}`,
    source,
    type: name,
    subject: `${entity}s/${1 + int(100_000)}`,
    tenant: tenantName(tenant()),
    dataregion: region,
    data: { total: round(random() * 500, 2) },
  };
}

function typesFor(count = 1) {
  return [...new Set(Array.from({ length: count }, () => TYPES[subscribedType()].name))];
}

/**
 * The general expressions, in CESQL, pattern, or the Subscriptions API's any/not/suffix. Add more
 * shapes here; the index treats them all as opaque and evaluates them on candidates.
 */
function generalFilters(entity) {
  const kind = GENERAL === 'mixed' ? pick(['stand-in', 'sql', 'pattern']) : GENERAL;
  const digit = String(int(10));
  const region = pick(['eu', 'us', 'apac']);
  if (kind === 'sql') {
    return [{ sql: `dataregion = '${region}' OR subject LIKE '%${digit}'` }];
  }
  if (kind === 'pattern') {
    return [
      { pattern: { dataregion: [{ 'anything-but': region }], data: { total: [{ numeric: ['>', 100] }] } } },
    ];
  }
  return pick([
    [{ any: [{ exact: { dataregion: region } }, { suffix: { subject: digit } }] }],
    [{ not: { exact: { dataregion: region } } }, { suffix: { source: `/${1 + int(4)}` } }],
    [{ any: [{ suffix: { subject: `${digit}0` } }, { not: { exact: { tenant: tenantName(tenant()) } } }] }],
    [{ all: [{ suffix: { source: `/${region}/1` } }, { not: { suffix: { subject: digit } } }] }],
    [{ not: { any: [{ exact: { dataregion: 'us' } }, { suffix: { subject: `${entity}s/1` } }] } }],
  ]);
}

function makeSubscription(i) {
  const r = random();
  const types = typesFor(random() < 0.9 ? 1 : 3);
  const entity = TYPES.find((t) => t.name === types[0]).entity;
  let filters = [];
  let anyType = false;
  if (r < 0.15) {
    // By type only.
  } else if (r < 0.35) {
    filters = [{ exact: { subject: `${entity}s/${1 + int(100_000)}` } }];
  } else if (r < 0.45) {
    filters = [{ exact: { source: sourceOf(entity, pick(REGIONS), 1 + int(4)) } }];
  } else if (r < 0.6) {
    filters = [{ exact: { tenant: tenantName(tenant()) } }];
  } else if (r < 0.7) {
    filters = [{ prefix: { subject: `${entity}s/${1 + int(999)}` } }];
  } else if (r < 0.8) {
    filters = [{ prefix: { source: `/acme/${entity}-service/${pick(REGIONS)}/` } }];
  } else if (r < 0.85) {
    // Cross-type listeners: everything one region of a service emits, whatever its type.
    anyType = true;
    filters = [{ prefix: { source: `/acme/${pick(ENTITIES)}-service/${pick(REGIONS)}/` } }];
  } else {
    filters = generalFilters(entity);
  }
  return {
    id: `sub-${i}`,
    status: 'active',
    statusReason: null,
    types: anyType ? [] : types,
    filters,
    sink: `https://example.com/hooks/${i}`,
    protocol: 'HTTP',
    protocolsettings: {},
    delivery: {},
    secrets: [],
    failingSince: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
}

/** The baseline: every subscription's types, then its compiled filters, one after the other. */
function plainScan(subscriptions, compileFilters) {
  const compiled = subscriptions.map((s) => ({
    subscription: s,
    types: s.types.length === 0 ? null : s.types,
    matches: compileFilters(s.filters),
  }));
  return (event) => {
    const out = [];
    for (const c of compiled) {
      if ((c.types === null || c.types.includes(event.type)) && c.matches(event)) out.push(c.subscription);
    }
    return out;
  };
}

/** Routes events round-robin for `seconds`; returns events per second. */
function measure(route, events, seconds) {
  let n = 0;
  let sink = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  let now = start;
  while (now < until) {
    for (let i = 0; i < 500; i++) sink += route(events[n++ % events.length]).length;
    now = performance.now();
  }
  // `sink` keeps the results alive so the work cannot be optimised away.
  if (sink < 0) console.log(sink);
  return n / ((now - start) / 1000);
}

const ids = (subs) => subs.map((s) => s.id).sort();

async function main() {
  if (!existsSync(ROUTER)) throw new Error(`${ROUTER} is missing: run npm run build first`);
  const { Router } = await import(pathToFileURL(ROUTER).href);
  const { compileFilters } = await import(pathToFileURL(FILTERS).href);

  const subscriptions = Array.from({ length: SUBSCRIPTIONS }, (_, i) => makeSubscription(i));
  const events = Array.from({ length: DISTINCT_EVENTS }, (_, i) => makeEvent(i));
  console.log(
    `routing benchmark: ${SUBSCRIPTIONS} subscriptions (15 % type only, 45 % type + exact subject/source/tenant, ` +
      `25 % prefix on subject or source, 15 % general), ${TYPES.length} types, ${DISTINCT_EVENTS} distinct events, ` +
      `${WARMUP} s warm-up + ${SECONDS} s per target, Zipf skew events ${EVENT_SKEW} subscriptions ${SUB_SKEW}, seed ${SEED}`,
  );
  console.log(
    GENERAL === 'mixed'
      ? 'general expressions: mixed, a third each CESQL (sql), pattern, and any/not/suffix combinations'
      : `general expressions: ${GENERAL}`,
  );
  console.log(`machine: ${machine()}`);

  const loadStart = performance.now();
  const router = new Router();
  router.load(subscriptions);
  const loadMs = performance.now() - loadStart;
  const scan = plainScan(subscriptions, compileFilters);

  // Same answers on a sample of events, and how much work the index leaves per event.
  let mismatches = 0;
  let matches = 0;
  let maxMatches = 0;
  let candidates = 0;
  for (const event of events.slice(0, CHECKED_EVENTS)) {
    const got = ids(router.route(event));
    const want = ids(scan(event));
    if (got.join() !== want.join()) {
      if (mismatches++ < 3) console.log(`MISMATCH on ${JSON.stringify(event)}: index ${got} scan ${want}`);
    }
    matches += want.length;
    maxMatches = Math.max(maxMatches, want.length);
    candidates += router.explain(event).length;
  }

  const route = (e) => router.route(e);
  measure(scan, events, WARMUP);
  const scanRate = measure(scan, events, SECONDS);
  console.log(
    `scan    ${String(Math.round(scanRate)).padStart(9)} events/s   ${round(1e6 / scanRate, 1)} µs/event`,
  );
  measure(route, events, WARMUP);
  const indexRate = measure(route, events, SECONDS);
  console.log(
    `index   ${String(Math.round(indexRate)).padStart(9)} events/s   ${round(1e6 / indexRate, 1)} µs/event   (load ${round(loadMs)} ms)`,
  );

  const ratio = indexRate / scanRate;
  console.log(
    `check: ${CHECKED_EVENTS} sampled events, ${mismatches} mismatches; matches/event mean ${round(matches / CHECKED_EVENTS, 1)} ` +
      `(max ${maxMatches}); candidates/event: index ${round(candidates / CHECKED_EVENTS, 1)}, scan all ${SUBSCRIPTIONS}`,
  );
  console.log(
    `routing: index ${Math.round(indexRate)} events/s (target >= ${TARGET_RATE})${indexRate >= TARGET_RATE ? '' : ' MISSED'}, ` +
      `scan ${Math.round(scanRate)} events/s, ratio ${round(ratio, 1)} (target >= ${TARGET_RATIO})${ratio >= TARGET_RATIO ? '' : ' MISSED'}`,
  );
  if (mismatches > 0) console.log(`FAIL: the index and the scan disagree on ${mismatches} events`);
  return mismatches > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
