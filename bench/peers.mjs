/**
 * Junction beside what a team would otherwise hand-roll: the same webhook delivery work through
 * (a) Junction embedded (`serve --data <tmp>`, SQLite), (b) a dispatcher on BullMQ + Redis
 * (bench/peers/bullmq-dispatcher.mjs), (c) a dispatcher on pg-boss + PostgreSQL
 * (bench/peers/pgboss-dispatcher.mjs) and (d) Junction distributed (`serve --store postgres://…
 * --bus nats://…`) where this build has it.
 *
 *   npm run bench:peers
 *   node bench/peers.mjs --events 5000 --publishers 16 --fanout 1     # a quick run
 *   node bench/peers.mjs --systems junction,bullmq                     # only those systems
 *
 * The work: durable ingest over HTTP (202 only once the event is stored), fan-out to `fanout`
 * subscribers (one sink server each), an HTTP POST per delivery with a Standard Webhooks signature
 * and a 5 s timeout, retries on 5xx/timeouts with exponential backoff and full jitter (100 ms
 * initial, 10 attempts; pg-boss: its floor of 1 s, see its dispatcher), at least once. Junction's
 * subscriptions are created through its API with the same timeout and retry policy, `structured`
 * format, so every system POSTs the same CloudEvent JSON.
 *
 * The load, per fan-out (`--fanout 1,4`) and phase: `--events` (20,000) ~1 KiB events published by
 * `--publishers` (32) closed loops (bench/peers/closed-loop.mjs), after a warm-up of `--warmup`
 * (1,000) events; the sinks (bench/peers/sink.mjs) answer 200 after `--sink-delay` ms (5), and in
 * the faults phase 503 to a seeded 10 % (`--fail-share`) of requests. Each system gets a fresh
 * store (data dir, Redis keys under its own prefix, PostgreSQL schema) per run, and the systems
 * take turns within each phase so that load from elsewhere on the machine falls on all of them.
 *
 * Figures per run: deliveries/s from the first publish to the last first-2xx delivery (and to the
 * 99th percentile delivery, which leaves out the longest retry chains), publish acks/s, p50/p99
 * publish-to-first-2xx latency, sink requests, duplicates (2xx for a delivery already answered 2xx)
 * and missing deliveries (acknowledged, never answered 2xx: must be 0), and the CPU of the system's
 * own process and of the shared servers it uses (all of Redis, PostgreSQL or NATS on the machine).
 * Then the ratios Junction embedded / BullMQ (target ≥ 2) and Junction distributed / BullMQ
 * (target ≥ 1) on deliveries/s.
 *
 * Exits non-zero if a publish failed, a delivery is missing, or a sampled signature did not verify.
 */
import { existsSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import postgres from 'postgres';
import { migrate } from '../dist/storage/postgres/index.js';
import {
  ADMIN_KEY,
  api,
  cpuMeter,
  fmtCpu,
  forkHelper,
  HUB_ENTRY,
  killChildren,
  machine,
  setting,
  sleep,
  startJunction,
} from './lib.mjs';
import {
  cpuShareSince,
  distributedAvailable,
  listSetting,
  newSecret,
  processCpu,
  startDispatcher,
} from './peers/lib.mjs';
import { RETRY, TIMEOUT_MS } from './peers/webhook.mjs';

const EVENTS = setting('events', 'PEERS_EVENTS', 20_000);
const PUBLISHERS = setting('publishers', 'PEERS_PUBLISHERS', 32);
const WARMUP = setting('warmup', 'PEERS_WARMUP', 1_000);
const FANOUTS = listSetting('fanout', 'PEERS_FANOUT', [1, 4]);
const SINK_DELAY_MS = setting('sink-delay', 'PEERS_SINK_DELAY_MS', 5);
const FAIL_SHARE = setting('fail-share', 'PEERS_FAIL_SHARE', 0.1);
const SEED = setting('seed', 'PEERS_SEED', 42);
/** `--systems junction,bullmq` runs only those (names: junction, bullmq, pgboss, distributed). */
const ONLY = (() => {
  const i = process.argv.findIndex((a) => a === '--systems' || a.startsWith('--systems='));
  if (i < 0) return null;
  const raw = process.argv[i].includes('=') ? process.argv[i].split('=')[1] : process.argv[i + 1];
  return new Set(raw.split(','));
})();
/** Give up waiting for deliveries after this long without a new one. */
const STALL_SECONDS = setting('stall', 'PEERS_STALL_SECONDS', 60);
const STORE_URL = process.env.PEERS_STORE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const BUS_URL = process.env.PEERS_BUS_URL || 'nats://127.0.0.1:4222';
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
/** pg-boss's database: the same one, with a user named, as node-postgres needs one (no $USER here). */
const PG_URL = process.env.PEERS_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
/** One source per benchmark run: no system may take an id of an earlier run for a duplicate. */
const SOURCE = `/bench/peers/${Date.now().toString(36)}`;
const TYPE = 'bench.e2e';

const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const ms = (n) => (n === null || n === undefined || Number.isNaN(n) ? 'n/a' : `${n.toFixed(1)}`);

/**
 * The systems under test. `start(sinkUrls)` starts one with a subscription per sink URL and
 * answers where to publish, the signing secret per sink, the pid of its own process, the names of
 * the shared servers it uses, and how to stop it (deleting what it stored).
 */
function systems(withDistributed) {
  const junction = (name, label, backend, infra) => ({
    name,
    label,
    async start(sinkUrls) {
      const { args, teardown } = await backend();
      const hub = await startJunction({ args });
      const subs = [];
      for (const sink of sinkUrls)
        subs.push(
          await api(hub, '/v1/subscriptions', {
            method: 'POST',
            body: JSON.stringify({
              sink,
              types: [TYPE],
              delivery: { format: 'structured', timeoutMs: TIMEOUT_MS, ...RETRY },
            }),
          }),
        );
      return {
        url: hub.url,
        path: '/v1/events',
        contentType: 'application/cloudevents+json',
        authorization: `Bearer ${ADMIN_KEY}`,
        secrets: subs.map((s) => s.secret),
        pid: hub.pid,
        infra,
        async stop() {
          // A shared store outlives the hub: leave no subscription behind to deliver to dead sinks.
          for (const s of subs)
            await api(hub, `/v1/subscriptions/${s.id}`, { method: 'DELETE' }).catch(() => {});
          await hub.stop();
          hub.cleanup();
          await teardown();
        },
      };
    },
  });
  const peer = (name, label, script, infra, env) => ({
    name,
    label,
    async start(sinkUrls) {
      const secrets = sinkUrls.map(() => newSecret());
      const subscriptions = sinkUrls.map((sink, i) => ({ id: `sub_${i}`, sink, secret: secrets[i] }));
      const d = await startDispatcher(script, {
        ...env,
        PEERS_SUBSCRIPTIONS: JSON.stringify(subscriptions),
      });
      return {
        url: d.url,
        path: '/events',
        contentType: 'application/json',
        secrets,
        pid: d.pid,
        infra,
        async stop() {
          const code = await d.stop();
          if (code !== 0) console.log(`  ${name} exited with ${code}: ${d.stderr().slice(0, 2000)}`);
        },
      };
    },
  });
  const list = [
    junction(
      'junction',
      'Junction embedded (SQLite)',
      async () => ({ args: [], teardown: async () => {} }),
      [],
    ),
    peer('bullmq', 'BullMQ + Redis', 'bullmq-dispatcher.mjs', ['redis-server'], { REDIS_URL }),
    peer('pgboss', 'pg-boss + PostgreSQL', 'pgboss-dispatcher.mjs', ['postgres'], {
      DATABASE_URL: PG_URL,
    }),
  ];
  if (withDistributed)
    list.push(
      junction('distributed', 'Junction distributed (PG + NATS)', distributedBackend, [
        'postgres',
        'nats-server',
      ]),
    );
  return ONLY ? list.filter((s) => ONLY.has(s.name)) : list;
}

/**
 * A fresh PostgreSQL schema (migrated) and stream prefix for one distributed run, removed after
 * it, so runs never see each other's subscriptions or events.
 */
async function distributedBackend() {
  const run = `peers_${Date.now().toString(36)}`;
  await migrate(STORE_URL, { schema: run });
  return {
    args: ['--store', STORE_URL, '--schema', run, '--bus', BUS_URL, '--bus-prefix', run],
    async teardown() {
      const sql = postgres(STORE_URL, { max: 1, onnotice: () => {} });
      await sql`DROP SCHEMA IF EXISTS ${sql(run)} CASCADE`;
      await sql.end();
      const nc = await connect({ servers: BUS_URL });
      const jsm = await jetstreamManager(nc);
      for await (const name of jsm.streams.names()) if (name.startsWith(run)) await jsm.streams.delete(name);
      await nc.close();
    },
  };
}

async function main() {
  if (!existsSync(HUB_ENTRY)) throw new Error(`${HUB_ENTRY} is missing: run npm run build first`);
  const withDistributed = distributedAvailable();
  console.log(
    `peers benchmark: ${int(EVENTS)} events of ~1 KiB per run from ${PUBLISHERS} closed-loop publishers (after ${int(WARMUP)} warm-up events), ` +
      `fan-out ${FANOUTS.join(' and ')}, sinks answer after ${SINK_DELAY_MS} ms; faults phase: ${Math.round(FAIL_SHARE * 100)} % answered 503 (seed ${SEED})`,
  );
  console.log(
    `retry policy: ${RETRY.maxAttempts} attempts, exponential backoff with full jitter from ${RETRY.initialDelayMs} ms (pg-boss: from 1 s, its floor); timeout ${TIMEOUT_MS} ms`,
  );
  console.log(`machine: ${machine()}`);
  if (!withDistributed) console.log('distributed: not available in this build');

  const maxFanout = Math.max(...FANOUTS);
  const sink = await forkHelper('peers/sink.mjs', ['--count', String(maxFanout)], {
    waitForUrl: true,
  });
  const { urls: sinkUrls } = await sink.call({ cmd: 'urls' });
  const gen = await forkHelper('peers/closed-loop.mjs');

  /** Publishes `count` events to `target` and waits until the sinks have every acknowledged one. */
  async function publishAndDrain(target, tag, count, fanout) {
    const r = await gen.call(
      {
        cmd: 'run',
        url: target.url,
        path: target.path,
        contentType: target.contentType,
        authorization: target.authorization,
        source: SOURCE,
        tag,
        count,
        parallel: PUBLISHERS,
      },
      30 * 60 * 1000,
    );
    const expected = r.ok * fanout;
    let unique = 0;
    let lastProgress = performance.now();
    for (;;) {
      const c = await sink.call({ cmd: 'count', tag });
      if (c.unique > unique) lastProgress = performance.now();
      unique = c.unique;
      if (unique >= expected || performance.now() - lastProgress > STALL_SECONDS * 1000) break;
      await sleep(100);
    }
    return { r, expected };
  }

  async function runOne(system, fanout, phase, failShare) {
    const tag = `${system.name}-f${fanout}-${phase}`;
    const target = await system.start(sinkUrls.slice(0, fanout));
    try {
      await sink.call({ cmd: 'secrets', tag, secrets: target.secrets });
      await sink.call({ cmd: 'secrets', tag: `${tag}-warm`, secrets: target.secrets });
      await sink.call({ cmd: 'set', failShare: 0, delayMs: SINK_DELAY_MS });
      if (WARMUP > 0) await publishAndDrain(target, `${tag}-warm`, WARMUP, fanout);

      await sink.call({ cmd: 'set', failShare, seed: SEED, delayMs: SINK_DELAY_MS });
      const meter = cpuMeter({ own: target.pid });
      const infraBefore = processCpu(target.infra);
      const t0 = performance.now();
      meter.start();
      const { r, expected } = await publishAndDrain(target, tag, EVENTS, fanout);
      const cpu = meter.stop();
      const infraCpu = target.infra.length
        ? cpuShareSince(infraBefore, target.infra, performance.now() - t0)
        : null;
      await sink.call({ cmd: 'set', failShare: 0, delayMs: SINK_DELAY_MS });
      const s = await sink.call({ cmd: 'stats', tag, events: EVENTS, servers: fanout, expected });
      return {
        system: system.label,
        name: system.name,
        fanout,
        phase,
        delivered: s.unique / ((s.lastOk - r.start) / 1000),
        delivered99: s.ok99At ? Math.ceil(0.99 * expected) / ((s.ok99At - r.start) / 1000) : null,
        acks: r.ok / ((r.end - r.start) / 1000),
        ackP99: r.ack.p99,
        latency: s.latency,
        requests: s.requests,
        failedRequests: s.failed,
        dupes: s.dupes,
        missing: Math.max(0, expected - s.unique),
        firstMissing: s.firstMissing,
        publishFailures: r.failures,
        firstError: r.firstError,
        signatures: s.signatures,
        cpu: cpu.own,
        infraCpu,
      };
    } finally {
      await target.stop();
    }
  }

  const header =
    'system                            fan-out  sink     deliveries/s  (to 99 %)  acks/s   p50 ms    p99 ms  sink requests  dupes  missing  cpu own  cpu shared servers';
  const show = (x) =>
    console.log(
      `${x.system.padEnd(33)} ${String(x.fanout).padStart(7)}  ${x.phase.padEnd(7)} ${int(x.delivered).padStart(13)}  ${int(x.delivered99).padStart(9)}  ` +
        `${int(x.acks).padStart(6)} ${ms(x.latency.p50).padStart(8)} ${ms(x.latency.p99).padStart(9)}  ${int(x.requests).padStart(13)}  ` +
        `${String(x.dupes).padStart(5)}  ${String(x.missing).padStart(7)}  ${fmtCpu(x.cpu).padStart(7)}  ${x.infraCpu === null ? '-' : fmtCpu(x.infraCpu)}`,
    );

  const results = [];
  const list = systems(withDistributed);
  for (const fanout of FANOUTS) {
    for (const [phase, failShare] of [
      ['healthy', 0],
      ['faults', FAIL_SHARE],
    ]) {
      console.log(`\nfan-out ${fanout}, ${phase}:`);
      console.log(header);
      for (const system of list) {
        const x = await runOne(system, fanout, phase, failShare);
        results.push(x);
        show(x);
        if (x.firstError) console.log(`  first publish error: ${x.firstError}`);
        if (x.missing > 0) console.log(`  first missing (server:id): ${x.firstMissing.join(', ')}`);
      }
    }
  }

  console.log(`\nall runs (${int(EVENTS)} events each):`);
  console.log(header);
  for (const x of results) show(x);

  console.log('');
  const find = (name, fanout, phase) =>
    results.find((x) => x.name === name && x.fanout === fanout && x.phase === phase);
  for (const fanout of FANOUTS) {
    for (const phase of ['healthy', 'faults']) {
      const bull = find('bullmq', fanout, phase);
      const emb = find('junction', fanout, phase);
      const dist = find('distributed', fanout, phase);
      const ratio = (a) => (a && bull ? a.delivered / bull.delivered : null);
      const re = ratio(emb);
      const rd = ratio(dist);
      console.log(
        `fan-out ${fanout}, ${phase.padEnd(7)}: Junction embedded / BullMQ ${re === null ? 'n/a' : re.toFixed(2)} (target ≥ 2${re !== null && re >= 2 ? ', met' : ', MISSED'}); ` +
          `Junction distributed / BullMQ ${rd === null ? 'n/a (not available in this build)' : `${rd.toFixed(2)} (target ≥ 1${rd >= 1 ? ', met' : ', MISSED'})`}`,
      );
    }
  }

  const problems = [];
  for (const x of results) {
    const where = `${x.name} fan-out ${x.fanout} ${x.phase}`;
    if (x.publishFailures > 0) problems.push(`${where}: ${x.publishFailures} publishes failed`);
    if (x.missing > 0) problems.push(`${where}: ${x.missing} deliveries missing`);
  }
  const sig = results.at(-1)?.signatures;
  if (sig)
    console.log(
      `signatures: ${sig.checked} sampled deliveries verified with standardwebhooks, ${sig.bad} bad`,
    );
  if (sig?.bad > 0) problems.push(`${sig.bad} signatures did not verify (first: ${sig.firstBad})`);
  for (const p of problems) console.log(`FAILED: ${p}`);
  return problems.length > 0 ? 1 : 0;
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
