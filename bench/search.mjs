/**
 * The dashboard's event search at a million events: fills an embedded store with 1,000,000 events
 * (written straight into its table in large transactions, after the store has made its schema),
 * then times each kind of search page through the store's own `searchEvents`, beside a baseline
 * from the same run: looking one event up by its key (`lookupEvent`, what the lineage view does).
 * Prints the plan of each kind, and fails if a plan scans the whole table or a page's p99 passes
 * the target.
 *
 *   npm run bench:search                          # 1,000,000 events, 200 pages per kind
 *   node bench/search.mjs --events 200000 --rounds 100
 *   SEARCH_DATA=/tmp/search-1m node bench/search.mjs   # keep the filled store for the next run
 *   node bench/search.mjs --postgres 1            # the same kinds on PostgreSQL (POSTGRES_URL), after SQLite
 *
 * The data: 20 sources, 50 types, a subject on 80 % of events (`orders/<n>` over 100,000 orders, or
 * `customers/<n>`), a correlation id on 10 % (three events each), a traceparent on 5 %, received
 * 2 ms apart. Subject prefixes run from narrow (66 matches) through ~6,700 and ~28,000 to broad
 * (`orders/*`, 600,000), either side of the point where the store stops sorting a prefix's matches
 * and walks the events by number instead.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { machine, round, setting } from './lib.mjs';

const EVENTS = setting('events', 'SEARCH_EVENTS', 1_000_000);
const ROUNDS = setting('rounds', 'SEARCH_ROUNDS', 200);
const LIMIT = setting('limit', 'SEARCH_LIMIT', 100);
const TARGET_P99_MS = 50;
const START = Date.parse('2026-11-01T00:00:00Z');
const STEP_MS = 2;

const POSTGRES = setting('postgres', 'SEARCH_POSTGRES', 0) === 1;
const PG_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const WRITE_EVENTS = setting('write-events', 'SEARCH_WRITE_EVENTS', 100_000);

const { openSqliteStore } = await import('../dist/storage/sqlite/store.js');
const { MIGRATIONS } = await import('../dist/storage/sqlite/migrations.js');

const sourceOf = (i) => `/shop/${i % 20}`;
const typeOf = (i) => `com.acme.kind${i % 50}.created`;
const traceOf = (i) => (i * 2654435761).toString(16).padStart(8, '0').slice(-8).repeat(4);
const hasTrace = (i) => i % 20 === 7;
const hasCorrelation = (i) => i % 10 === 3;
const correlationOf = (i) => `corr-${Math.floor(i / 30)}`;

const DATA = JSON.stringify({
  orderId: 'ord_01J9ZK4W7Q3M5X8N2P6R',
  customer: { id: 'cus_8842', email: 'jane.doe@example.com', tier: 'gold' },
  currency: 'EUR',
  total: 249.9,
  lines: [
    { sku: 'SKU-1001', name: 'Espresso beans 1kg', qty: 2, price: 39.95 },
    { sku: 'SKU-2042', name: 'Burr grinder', qty: 1, price: 129.0 },
  ],
});

function eventText(i) {
  const subject =
    i % 5 === 0
      ? ''
      : i % 5 === 4
        ? `"subject":"customers/${i % 7919}",`
        : `"subject":"orders/${i % 100_000}",`;
  const correlation = hasCorrelation(i) ? `"correlationid":"${correlationOf(i)}",` : '';
  const trace = hasTrace(i) ? `"traceparent":"00-${traceOf(i)}-00f067aa0ba902b7-01",` : '';
  return `{"specversion":"1.0","id":"ev-${i}","source":"${sourceOf(i)}","type":"${typeOf(i)}",${subject}${correlation}${trace}"time":"${new Date(START + i * STEP_MS).toISOString()}","datacontenttype":"application/json","data":${DATA}}`;
}

/** Fills the store's file with `EVENTS` events, unless a kept one has them already. */
async function fill(dir) {
  const store = await openSqliteStore(dir);
  await store.close();
  const db = new Database(join(dir, 'junction.db'));
  const have = db.prepare('SELECT count(*) AS n FROM events').get().n;
  if (have === EVENTS) {
    db.close();
    return 0;
  }
  if (have !== 0) throw new Error(`${dir} holds ${have} events, not ${EVENTS}: remove it`);
  db.pragma('synchronous = OFF');
  const insert = db.prepare(
    'INSERT INTO events (seq, source, id, type, channel, body, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const started = performance.now();
  const batch = db.transaction((from, to) => {
    for (let i = from; i < to; i++)
      insert.run(i + 1, sourceOf(i), `ev-${i}`, typeOf(i), 'default', eventText(i), START + i * STEP_MS);
  });
  for (let i = 0; i < EVENTS; i += 50_000) batch(i, Math.min(EVENTS, i + 50_000));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return (performance.now() - started) / 1000;
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

/** Times `run(k)` for k = 0..ROUNDS-1 (after a few untimed calls), in milliseconds. */
async function time(run) {
  for (let k = 0; k < 5; k++) await run(k);
  const ms = [];
  let rows = 0;
  for (let k = 0; k < ROUNDS; k++) {
    const t = performance.now();
    const got = await run(k);
    ms.push(performance.now() - t);
    rows += Array.isArray(got) ? got.length : got ? 1 : 0;
  }
  ms.sort((a, b) => a - b);
  return { p50: pct(ms, 50), p99: pct(ms, 99), rows: rows / ROUNDS };
}

/** A random event number, the same for every run: a fixed linear congruential walk. */
const pick = (k, salt = 0) => ((k + 1) * 7_368_787 + salt * 1_299_709) % EVENTS;
const at = (i) => new Date(START + i * STEP_MS);

const kept = process.env.SEARCH_DATA;
const dir = kept ?? mkdtempSync(join(tmpdir(), 'junction-search-'));
if (kept && !existsSync(kept)) (await import('node:fs')).mkdirSync(kept, { recursive: true });
console.log(`search benchmark: ${EVENTS.toLocaleString('en')} events, ${ROUNDS} pages of ${LIMIT} per kind`);
console.log(`machine: ${machine()}`);
const filled = await fill(dir);
if (filled)
  console.log(
    `filled in ${round(filled, 1)} s (${Math.round(EVENTS / filled).toLocaleString('en')} events/s)`,
  );
const store = await openSqliteStore(dir);

const deep = (k) => pick(k) + 1; // a cursor somewhere in the store: a page from there
/** A broad subject prefix is walked backwards by number on purpose, stopped by the limit. */
const WALKS = true;
const kindsOf = (store) => [
  [
    'baseline: lookupEvent by (source, id)',
    null,
    (k) => store.lookupEvent(sourceOf(pick(k)), `ev-${pick(k)}`),
  ],
  ['no filter, first page', {}, () => store.searchEvents({}, LIMIT, undefined)],
  ['no filter, page after a cursor', {}, (k) => store.searchEvents({}, LIMIT, deep(k))],
  ['type', { type: typeOf(1) }, (k) => store.searchEvents({ type: typeOf(k) }, LIMIT, deep(k))],
  ['source', { source: sourceOf(1) }, (k) => store.searchEvents({ source: sourceOf(k) }, LIMIT, deep(k))],
  [
    'type and source',
    { type: typeOf(1), source: sourceOf(1) },
    (k) => store.searchEvents({ type: typeOf(k), source: sourceOf(k) }, LIMIT, deep(k)),
  ],
  [
    'subject, exact',
    { subject: 'orders/1' },
    (k) => store.searchEvents({ subject: `orders/${pick(k) % 100_000}` }, LIMIT, undefined),
  ],
  [
    'subject, prefix (orders/NN*: ~1,100 subjects)',
    { subject: 'orders/12*' },
    (k) => store.searchEvents({ subject: `orders/${10 + (k % 90)}*` }, LIMIT, undefined),
  ],
  [
    'subject prefix, page after a cursor',
    { subject: 'orders/12*' },
    (k) => store.searchEvents({ subject: `orders/${10 + (k % 90)}*` }, LIMIT, deep(k)),
  ],
  [
    'subject, broad prefix (orders/*: 60 % of events)',
    { subject: 'orders/*' },
    () => store.searchEvents({ subject: 'orders/*' }, LIMIT, undefined),
    WALKS,
  ],
  [
    'broad prefix, page after a cursor',
    { subject: 'orders/*' },
    (k) => store.searchEvents({ subject: 'orders/*' }, LIMIT, deep(k)),
    WALKS,
  ],
  [
    'middling prefix (customers/N*: ~3 %), after a cursor',
    { subject: 'customers/1*' },
    (k) => store.searchEvents({ subject: `customers/${1 + (k % 9)}*` }, LIMIT, deep(k)),
    WALKS,
  ],
  [
    'narrow prefix (orders/NNNN*: 11 subjects)',
    { subject: 'orders/1234*' },
    (k) => store.searchEvents({ subject: `orders/${1000 + (pick(k) % 9000)}*` }, LIMIT, undefined),
  ],
  [
    'correlation id',
    { correlationid: 'corr-1' },
    (k) => store.searchEvents({ correlationid: correlationOf(pick(k)) }, LIMIT, undefined),
  ],
  [
    'trace id',
    { traceid: traceOf(7) },
    (k) => store.searchEvents({ traceid: traceOf(pick(k) - (pick(k) % 20) + 7) }, LIMIT, undefined),
  ],
  [
    'trace id, none matches',
    { traceid: 'f'.repeat(32) },
    (k) => store.searchEvents({ traceid: k.toString(16).padStart(32, 'e') }, LIMIT, undefined),
  ],
  [
    'time range (one minute, anywhere)',
    { from: at(1000), to: at(31_000) },
    (k) => store.searchEvents({ from: at(pick(k)), to: at(pick(k) + 30_000) }, LIMIT, undefined),
  ],
  [
    'type within a time range',
    { type: typeOf(1), from: at(1000), to: at(31_000) },
    (k) =>
      store.searchEvents({ type: typeOf(k), from: at(pick(k)), to: at(pick(k) + 30_000) }, LIMIT, undefined),
  ],
];

/**
 * What the search's columns and indexes cost ingest: the writer's own insert of the same events
 * (~1 KiB, with the fields searched for), into a schema without migration 7 and one with it,
 * alternately, in transactions of 500 as the writer commits them. CPU only: no fsync.
 */
function writeCost() {
  const rounds = [];
  for (const migrations of [
    MIGRATIONS.length - 1,
    MIGRATIONS.length,
    MIGRATIONS.length - 1,
    MIGRATIONS.length,
  ]) {
    const wdir = mkdtempSync(join(tmpdir(), 'junction-write-'));
    const db = new Database(join(wdir, 'w.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    for (const m of MIGRATIONS.slice(0, migrations)) db.exec(m);
    const insert = db.prepare(
      'INSERT INTO events (source, id, type, channel, body, received_at, contract) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    const texts = Array.from({ length: WRITE_EVENTS }, (_, i) => eventText(i));
    const batch = db.transaction((from, to) => {
      for (let i = from; i < to; i++)
        insert.run(sourceOf(i), `ev-${i}`, typeOf(i), 'default', texts[i], START + i, null);
    });
    const t = performance.now();
    for (let i = 0; i < WRITE_EVENTS; i += 500) batch(i, Math.min(WRITE_EVENTS, i + 500));
    const us = ((performance.now() - t) * 1000) / WRITE_EVENTS;
    db.close();
    rmSync(wdir, { recursive: true, force: true });
    rounds.push({ migrations, us });
  }
  const best = (n) => Math.min(...rounds.filter((r) => r.migrations === n).map((r) => r.us));
  const before = best(MIGRATIONS.length - 1);
  const after = best(MIGRATIONS.length);
  console.log(
    `write cost: ${round(before, 1)} us/event without the search indexes, ${round(after, 1)} us/event with (${round((after / before - 1) * 100)} %), best of 2 rounds of ${WRITE_EVENTS.toLocaleString('en')}`,
  );
}
writeCost();

let failed = false;

/** Times every kind on a store; `explain` gives the plan of a query as lines of text. */
async function runKinds(label, store, explain) {
  console.log(`-- ${label}`);
  const results = [];
  for (const [name, query, run, walks = false] of kindsOf(store)) {
    const r = await time(run);
    const plan = query ? await explain(query) : [];
    // A full scan of events is what the indexes are there to avoid. Sorts are printed, not failed:
    // a subject prefix sorts the matches of its range, and PostgreSQL may AND two indexes and sort
    // the few rows both give.
    const scans = plan.some((p) => /^SCAN events$|Seq Scan on events/.test(p.trim()));
    results.push({ name, ...r });
    // With no filter or a broad subject prefix, reading the table backwards from its end is the
    // plan, stopped by the limit.
    const filtered = query && Object.keys(query).length > 0;
    const flag = (filtered && scans && !walks) || r.p99 > TARGET_P99_MS ? '  <-- !' : '';
    if (flag) failed = true;
    console.log(
      `${name.padEnd(46)} p50 ${round(r.p50, 2).toFixed(2).padStart(6)} ms   p99 ${round(r.p99, 2).toFixed(2).padStart(6)} ms   rows ${String(Math.round(r.rows)).padStart(3)}${flag}`,
    );
    if (plan.length) console.log(`${''.padEnd(46)} plan: ${plan.map((p) => p.trim()).join('; ')}`);
  }
  const base = results[0];
  const worst = results.slice(1).reduce((w, r) => (r.p99 > w.p99 ? r : w));
  console.log(
    `search (${label}): slowest page p99 ${round(worst.p99, 2)} ms (${worst.name}) at ${EVENTS.toLocaleString('en')} events, target < ${TARGET_P99_MS} ms: ${worst.p99 < TARGET_P99_MS ? 'met' : 'MISSED'}; baseline lookup p99 ${round(base.p99, 2)} ms`,
  );
}

await runKinds('SQLite', store, async (query) => store.searchPlan(query));
await store.close();
if (!kept) rmSync(dir, { recursive: true, force: true });

/**
 * PostgreSQL: the same events made by the server (generate_series) in a throwaway schema, analysed,
 * then the same kinds through the store, with EXPLAIN of the statement `searchEvents` sends.
 */
async function postgresRun() {
  const { migrate, openPostgresStore } = await import('../dist/storage/postgres/index.js');
  const { openClient } = await import('../dist/storage/postgres/connection.js');
  const { searchStatement } = await import('../dist/storage/postgres/search.js');
  const schema = `bench_search_${Date.now().toString(36)}`;
  await migrate(PG_URL, { schema });
  const sql = openClient(PG_URL, { schema, bigintAsNumber: true, max: 2 });
  try {
    const started = performance.now();
    await sql.unsafe(`
      INSERT INTO events (seq, source, id, type, channel, body, received_at, subject, correlation_id, trace_id)
      SELECT seq, source, id, type, channel, body, received_at, body ->> 'subject', body ->> 'correlationid',
        substr(body ->> 'traceparent', 4, 32)
      FROM (SELECT i + 1 AS seq, '/shop/' || (i % 20) AS source, 'ev-' || i AS id, 'com.acme.kind' || (i % 50) || '.created' AS type,
        'default' AS channel,
        json_strip_nulls(json_build_object(
          'specversion', '1.0', 'id', 'ev-' || i, 'source', '/shop/' || (i % 20),
          'type', 'com.acme.kind' || (i % 50) || '.created',
          'subject', CASE WHEN i % 5 = 0 THEN NULL WHEN i % 5 = 4 THEN 'customers/' || (i % 7919)
            ELSE 'orders/' || (i % 100000) END,
          'correlationid', CASE WHEN i % 10 = 3 THEN 'corr-' || (i / 30) END,
          'traceparent', CASE WHEN i % 20 = 7 THEN
            '00-' || repeat(lpad(to_hex((i::bigint * 2654435761) % 4294967296), 8, '0'), 4) || '-00f067aa0ba902b7-01' END,
          'time', to_char(to_timestamp((${START} + i * ${STEP_MS}) / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'datacontenttype', 'application/json', 'data', '${DATA}'::json)) AS body,
        ${START} + i * ${STEP_MS} AS received_at
      FROM generate_series(0, ${EVENTS - 1}) AS i) AS made`);
    await sql.unsafe(`SELECT setval(pg_get_serial_sequence('events', 'seq'), ${EVENTS})`);
    await sql.unsafe('ANALYZE events');
    console.log(
      `PostgreSQL: filled ${EVENTS.toLocaleString('en')} events in ${round((performance.now() - started) / 1000, 1)} s`,
    );
    const pg = await openPostgresStore({ url: PG_URL, schema, owner: 'bench-search' });
    try {
      await runKinds('PostgreSQL', pg, async (query) => {
        const built = await searchStatement(sql, query, LIMIT, undefined);
        if (!built) return [];
        const rows = await sql`EXPLAIN ${built.statement}`;
        return rows.map((r) => r['QUERY PLAN']);
      });
    } finally {
      await pg.close();
    }
  } finally {
    await sql.unsafe(`DROP SCHEMA ${schema} CASCADE`);
    await sql.end();
  }
}
if (POSTGRES) await postgresRun();
process.exit(failed ? 1 : 0);
