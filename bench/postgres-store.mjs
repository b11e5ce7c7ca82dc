/**
 * A diagnostic micro-benchmark of the PostgreSQL store's two hot writes, without HTTP, against the
 * server at POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test), in a throwaway schema:
 *
 * - `append`: ~1 KiB events, one subscription each, in calls of B events, with C calls outstanding.
 * - `recordAttempt`: C loops each keep one attempt outstanding. Grouped is the store (concurrent
 *   calls share one statement and commit); the baseline in the same run commits each attempt in
 *   a statement of its own over the same pool, which is what the store would do without grouping.
 *
 *   npm run build && node bench/postgres-store.mjs [--seconds 3] [--dist dist]
 *
 * CASES='[[batch, outstanding], …]' replaces the append cases (the attempts need some first).
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { eventTemplate } from './event.mjs';
import { machine, ROOT } from './lib.mjs';

const argv = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
};
const SECONDS = Number(arg('seconds', '3'));
const DIST = resolve(arg('dist', join(ROOT, 'dist')));
const URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const { migrate, openPostgresStore } = await import(
  pathToFileURL(join(DIST, 'storage/postgres/index.js')).href
);
const { applyAttempts, attemptOp } = await import(
  pathToFileURL(join(DIST, 'storage/postgres/attempts.js')).href
);
const { DEFAULT_DELIVERY_POLICY } = await import(pathToFileURL(join(DIST, 'core/config.js')).href);

const schema = `bench_${Date.now().toString(36)}`;
await migrate(URL, { schema });
const store = await openPostgresStore({ url: URL, schema, owner: 'bench' });
const admin = postgres(URL, { max: 1, onnotice: () => {} });
const subscription = {
  id: 'sub_bench',
  status: 'active',
  statusReason: null,
  types: [],
  filters: [],
  sink: 'http://127.0.0.1:1/',
  protocol: 'HTTP',
  protocolsettings: {},
  delivery: DEFAULT_DELIVERY_POLICY,
  secrets: [],
  failingSince: null,
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
};
await store.saveSubscription(subscription);
const make = eventTemplate({ source: '/bench/pg', type: 'com.acme.order.created' });
const route = () => ({ channel: 'default', subscriptions: [subscription] });
let n = 0;

/** Runs `concurrency` loops of `once` for SECONDS; returns how many units they did per second. */
async function loops(concurrency, once) {
  const end = Date.now() + SECONDS * 1000;
  let units = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        // Not `units += await once()`: that reads `units` before awaiting and loses the others' counts.
        const done = await once();
        units += done;
      }
    }),
  );
  return Math.round(units / SECONDS);
}

console.log(`PostgresStore micro-benchmark, ${SECONDS}s per case; ${machine()}`);
const deliveries = [];
for (const [batch, concurrency] of process.env.CASES
  ? JSON.parse(process.env.CASES)
  : [
      [1, 1],
      [1, 50],
      [100, 1],
      [100, 8],
    ]) {
  const rate = await loops(concurrency, async () => {
    const events = Array.from({ length: batch }, () => JSON.parse(make(`e${n++}`)));
    const { deliveries: made } = await store.append(events, route);
    if (deliveries.length < 400_000) deliveries.push(...made.map((d) => d.delivery.id));
    return batch;
  });
  console.log(
    `append      batch ${String(batch).padStart(3)} x ${String(concurrency).padStart(3)} outstanding: ${rate} events/s`,
  );
}

const result = () => ({
  kind: 'retry',
  attempt: {
    n: 1,
    at: new Date().toISOString(),
    status: 500,
    outcome: 'retry',
    latencyMs: 12,
    error: 'HTTP 500',
    response: 'oops',
  },
  nextAttemptAt: new Date(Date.now() + 60_000),
});
let next = 0;
const pick = () => deliveries[next++ % deliveries.length];
const sql = postgres(URL, {
  max: 10,
  onnotice: () => {},
  connection: { search_path: schema },
  types: { int8: { to: 20, from: [20], serialize: String, parse: Number } },
});
for (const concurrency of [1, 10, 100, 1000]) {
  const alone = await loops(concurrency, async () => {
    await applyAttempts(sql, [attemptOp(pick(), result())], Date.now());
    return 1;
  });
  const grouped = await loops(concurrency, async () => {
    await store.recordAttempt(pick(), result());
    return 1;
  });
  console.log(
    `recordAttempt x ${String(concurrency).padStart(4)} outstanding: grouped ${grouped}/s, one statement each ${alone}/s`,
  );
}

await sql.end();
await store.close();
await admin`DROP SCHEMA ${admin(schema)} CASCADE`;
await admin.end();
