/**
 * Ingest throughput: 50 keep-alive connections, each posting one ~1 KiB structured CloudEvent per
 * request with a fresh id, for a fixed time; first against a bare node:http server that reads the
 * body and answers 202 (the baseline), then against Junction with no subscriptions, where every 202
 * means the event is durable (SQLite WAL, synchronous=FULL, group commit on a writer thread), and
 * last against Junction with the event's type under contract (a registered JSON Schema of the order,
 * `validation: enforce`), which prints what checking every event costs beside the run without.
 *
 *   npm run bench:ingest                      # 15 s per target after a 3 s warm-up
 *   node bench/ingest.mjs --seconds 5 --warmup 1 --connections 50
 *   INGEST_SECONDS=5 BENCH_CPU_PROF=/tmp/prof node bench/ingest.mjs   # profile the hub
 *   BENCH_COMMIT_PROBE=/tmp/commits.json node bench/ingest.mjs        # writer-thread commits
 *
 * The load generator (autocannon, in this process), the baseline server and the hub each run in
 * their own process. Exits non-zero if any request failed or Junction lost an acknowledged event.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { eventTemplate } from './event.mjs';
import {
  ADMIN_KEY,
  cpuMeter,
  fmtCpu,
  forkHelper,
  HUB_ENTRY,
  killChildren,
  machine,
  round,
  setting,
  startJunction,
} from './lib.mjs';

const SECONDS = setting('seconds', 'INGEST_SECONDS', 15);
const WARMUP = setting('warmup', 'INGEST_WARMUP_SECONDS', 3);
const CONNECTIONS = setting('connections', 'INGEST_CONNECTIONS', 50);
const TARGET_RATIO = 0.6;
const SOURCE = '/bench/ingest';
const CPU_PROF = process.env.BENCH_CPU_PROF || undefined;
/** A file for the hub's writer-thread commit statistics (helpers/commit-probe.mjs). */
const COMMIT_PROBE = process.env.BENCH_COMMIT_PROBE || undefined;

const TYPE = 'com.acme.order.created';
const makeBody = eventTemplate({ source: SOURCE, type: TYPE });

/** The bench order's contract: what a team would register for it, closed and with bounds. */
const ORDER_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId', 'customer', 'currency', 'total', 'lines'],
  properties: {
    sentAt: { type: 'integer' },
    orderId: { type: 'string', pattern: '^ord_[0-9A-Z]{20}$' },
    customer: {
      type: 'object',
      required: ['id', 'email'],
      properties: {
        id: { type: 'string' },
        email: { type: 'string', maxLength: 254 },
        tier: { enum: ['standard', 'silver', 'gold'] },
        region: { type: 'string' },
      },
    },
    currency: { enum: ['EUR', 'USD', 'GBP'] },
    total: { type: 'number', minimum: 0 },
    lines: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['sku', 'qty', 'price'],
        properties: {
          sku: { type: 'string' },
          name: { type: 'string' },
          qty: { type: 'integer', minimum: 1 },
          price: { type: 'number', minimum: 0 },
        },
      },
    },
    shipping: { $ref: '#/$defs/shipping' },
    note: { type: 'string' },
  },
  $defs: {
    shipping: {
      type: 'object',
      properties: {
        method: { enum: ['standard', 'express'] },
        address: {
          type: 'object',
          required: ['line1', 'city', 'country'],
          properties: {
            line1: { type: 'string' },
            city: { type: 'string' },
            postcode: { type: 'string' },
            country: { type: 'string', minLength: 2, maxLength: 2 },
          },
        },
      },
    },
  },
};

/**
 * Runs autocannon against `url` for `seconds`, every request carrying the id `${tag}-${n}` with
 * n counting up from 0, so ids are unique across all connections. Returns the result and how many
 * ids were handed out (requests built, including any still in flight when the time ran out).
 */
async function load(url, tag, seconds) {
  let n = 0;
  const result = await autocannon({
    url: `${url}/v1/events`,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
    headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${ADMIN_KEY}` },
    requests: [
      {
        method: 'POST',
        setupRequest(req) {
          req.body = makeBody(`${tag}-${n++}`);
          return req;
        },
      },
    ],
    // Every answer must say the event was accepted: a 202 for a duplicate would hide lost ids.
    verifyBody: (body) => body.includes('"status":"accepted"'),
  });
  return { result, issued: n };
}

function summarise(name, { result }, seconds, cpu) {
  const ok = result['2xx'];
  return {
    name,
    rate: ok / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    mismatches: result.mismatches,
    statusCodes: result.statusCodeStats,
    cpu,
  };
}

function failures(s) {
  return s.non2xx + s.errors + s.timeouts + s.mismatches;
}

/** Looks up a spread of acknowledged ids through the API; each must be found. */
async function lookupSample(url, tag, issued) {
  // The last `CONNECTIONS` ids may have been in flight when the run stopped; leave them out.
  const last = Math.max(0, issued - CONNECTIONS - 1);
  const picks = new Set([0, last]);
  for (let i = 1; i < 20; i++) picks.add(Math.floor((last * i) / 20));
  let missing = 0;
  for (const i of picks) {
    const res = await fetch(`${url}/v1/events/lookup?source=${encodeURIComponent(SOURCE)}&id=${tag}-${i}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    if (res.status !== 200) missing++;
    await res.arrayBuffer();
  }
  return { checked: picks.size, missing };
}

/** Counts the run's events straight from the hub's SQLite file, after the hub has stopped. */
function countStored(dataDir, tag) {
  const file = join(dataDir, 'junction.db');
  if (!existsSync(file)) return null;
  try {
    const db = new Database(file, { readonly: true });
    const row = db
      .prepare('SELECT count(*) AS n FROM events WHERE source = ? AND id LIKE ?')
      .get(SOURCE, `${tag}-%`);
    db.close();
    return row.n;
  } catch (error) {
    console.log(`  (could not count stored events: ${error.message})`);
    return null;
  }
}

function line(s) {
  return `${s.name.padEnd(9)} ${String(Math.round(s.rate)).padStart(7)} req/s   p50 ${String(s.p50).padStart(4)} ms   p99 ${String(s.p99).padStart(4)} ms   max ${String(s.max).padStart(5)} ms   2xx ${s.ok}   non-2xx ${s.non2xx}   errors ${s.errors + s.timeouts}   bad-body ${s.mismatches}   cpu server ${fmtCpu(s.cpu.server)} loadgen ${fmtCpu(s.cpu.loadgen)}`;
}

async function main() {
  if (!existsSync(HUB_ENTRY)) throw new Error(`${HUB_ENTRY} is missing: run npm run build first`);
  console.log(
    `ingest benchmark: ${CONNECTIONS} connections, ~1 KiB structured CloudEvent per request, ${WARMUP} s warm-up + ${SECONDS} s per target`,
  );
  console.log(`machine: ${machine()}`);

  // Baseline: the same load against a bare node:http server.
  const baseline = await forkHelper('helpers/baseline-server.mjs', [], { waitForUrl: true });
  await load(baseline.url, 'warm', WARMUP);
  let meter = cpuMeter({ server: baseline.pid, loadgen: process.pid });
  meter.start();
  const baseRun = await load(baseline.url, 'run', SECONDS);
  const base = summarise('baseline', baseRun, SECONDS, meter.stop());
  await baseline.stop();
  console.log(line(base));

  // Junction: a fresh data dir, no subscriptions, default durability.
  const hub = await startJunction({ cpuProfDir: CPU_PROF, commitProbeOut: COMMIT_PROBE });
  await load(hub.url, 'warm', WARMUP);
  meter = cpuMeter({ server: hub.pid, loadgen: process.pid });
  meter.start();
  const hubRun = await load(hub.url, 'run', SECONDS);
  const junction = summarise('junction', hubRun, SECONDS, meter.stop());
  console.log(line(junction));

  const lookups = await lookupSample(hub.url, 'run', hubRun.issued);
  const code = await hub.stop();
  const stored = countStored(hub.dataDir, 'run');
  if (COMMIT_PROBE && existsSync(COMMIT_PROBE))
    console.log(`writer-thread commits (warm-up included): ${readFileSync(COMMIT_PROBE, 'utf8')}`);
  if (!CPU_PROF) hub.cleanup();
  else console.log(`cpu profile of the hub written to ${CPU_PROF}; data left in ${hub.dataDir}`);

  // Every acknowledged event must be stored; a request still in flight at the end may be stored too.
  const countOk = stored === null || (stored >= junction.ok && stored <= hubRun.issued);
  console.log(
    `check: ${lookups.checked - lookups.missing}/${lookups.checked} sampled ids found by lookup; ` +
      `stored events ${stored ?? 'n/a'} for ${junction.ok} acknowledged (${hubRun.issued} sent); ` +
      `hub exit code ${code}`,
  );

  // Junction again, the type under contract: every event validated before it is acknowledged.
  const checked = await startJunction({});
  const registered = await fetch(`${checked.url}/v1/schemas/${encodeURIComponent(TYPE)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ schema: ORDER_SCHEMA, validation: 'enforce' }),
  });
  if (registered.status !== 201) throw new Error(`could not register the schema: ${await registered.text()}`);
  await load(checked.url, 'warm', WARMUP);
  meter = cpuMeter({ server: checked.pid, loadgen: process.pid });
  meter.start();
  const checkedRun = await load(checked.url, 'run', SECONDS);
  const contract = summarise('contract', checkedRun, SECONDS, meter.stop());
  console.log(line(contract));
  await checked.stop();
  checked.cleanup();

  const ratio = junction.rate / base.rate;
  const failed =
    failures(junction) + failures(base) + failures(contract) > 0 || lookups.missing > 0 || !countOk;
  if (failures(contract) > 0)
    console.log(`FAIL: with the contract, junction answered ${JSON.stringify(contract.statusCodes)}`);
  if (failures(junction) > 0)
    console.log(
      `FAIL: junction answered ${JSON.stringify(junction.statusCodes)}, ${junction.errors} errors, ${junction.timeouts} timeouts, ${junction.mismatches} bodies without "accepted"`,
    );
  if (failures(base) > 0) console.log(`FAIL: the baseline had ${failures(base)} failed requests`);
  if (lookups.missing > 0) console.log(`FAIL: ${lookups.missing} acknowledged ids not found by lookup`);
  if (!countOk)
    console.log(`FAIL: stored event count ${stored} is outside [${junction.ok}, ${hubRun.issued}]`);
  console.log(
    `ingest: junction ${Math.round(junction.rate)} req/s (p50 ${junction.p50} ms, p99 ${junction.p99} ms), ` +
      `baseline ${Math.round(base.rate)} req/s (p50 ${base.p50} ms, p99 ${base.p99} ms), ` +
      `ratio ${round(ratio, 2).toFixed(2)} (target >= ${TARGET_RATIO})${ratio >= TARGET_RATIO ? '' : ' MISSED'}`,
  );
  console.log(
    `contract: junction validating every event ${Math.round(contract.rate)} req/s (p99 ${contract.p99} ms), ` +
      `${round(contract.rate / junction.rate, 2).toFixed(2)} of junction without (${Math.round(junction.rate)} req/s)`,
  );
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    killChildren();
    process.exit(code);
  },
  (error) => {
    console.error(error);
    killChildren();
    process.exit(2);
  },
);
