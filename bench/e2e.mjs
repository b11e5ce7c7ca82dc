/**
 * Publish-to-delivered latency and sustained delivery rate: an open-loop publisher posts ~1 KiB
 * structured CloudEvents (type `bench.e2e`, `data.sentAt` = publish time) to Junction, which has
 * one subscription (binary format) to an HTTP sink that answers 200 at once and records, per
 * delivery, receipt time minus `data.sentAt`.
 *
 *   npm run bench:e2e
 *   E2E_SECONDS=5 E2E_STEP_SECONDS=5 E2E_STEPS=4000,6000 node bench/e2e.mjs      # a quick run
 *   BENCH_CPU_PROF=/tmp/prof node bench/e2e.mjs                                  # profile the hub
 *
 * Phase A: 2,000 events/s for E2E_SECONDS (20); delivered rate, p50/p99 end-to-end latency, and
 * missing deliveries after a drain (must be 0). Phase B: steps of offered rate (E2E_STEPS) for
 * E2E_STEP_SECONDS each; the sustained rate is the highest step where the sink's steady-state
 * delivered rate is within 5% of the offered rate and p99 stays under E2E_MAX_P99_MS (500).
 * Baseline: before each hub run, the same generator at the same rate posting straight to the sink.
 *
 * The publisher, the sink and the hub each run in their own process; this process only steers
 * them. Exits non-zero if a publish failed or an acknowledged event was not delivered in phase A.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  ADMIN_KEY,
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

const RATE_A = setting('rate', 'E2E_RATE', 2000);
const SECONDS_A = setting('seconds', 'E2E_SECONDS', 20);
const STEP_SECONDS = setting('step-seconds', 'E2E_STEP_SECONDS', 10);
const STEPS = (process.env.E2E_STEPS ?? '4000,6000,8000,10000,12000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const DRAIN_SECONDS = setting('drain', 'E2E_DRAIN_SECONDS', 20);
const CONNECTIONS = setting('connections', 'E2E_CONNECTIONS', 64);
const MAX_P99_MS = setting('max-p99', 'E2E_MAX_P99_MS', 500);
const CPU_PROF = process.env.BENCH_CPU_PROF || undefined;
const COMMIT_PROBE = process.env.BENCH_COMMIT_PROBE || undefined;
const TARGET_P99_MS = 50;
const TARGET_SUSTAINED = 5000;
/** Seconds at the start of a step left out of the steady-state figures. */
const SETTLE_SECONDS = 2;

const f1 = (n) => (n === null || n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(1));

async function main() {
  if (!existsSync(HUB_ENTRY)) throw new Error(`${HUB_ENTRY} is missing: run npm run build first`);
  console.log(
    `e2e benchmark: ~1 KiB events, open-loop publisher (${CONNECTIONS} keep-alive connections), one binary-mode subscription`,
  );
  console.log(`machine: ${machine()}`);

  const sink = await forkHelper('helpers/sink.mjs', [], { waitForUrl: true });
  const gen = await forkHelper('helpers/open-loop.mjs');
  const hub = await startJunction({ cpuProfDir: CPU_PROF, commitProbeOut: COMMIT_PROBE });
  const meter = cpuMeter({ hub: hub.pid, sink: sink.pid, publisher: gen.pid });

  const res = await fetch(`${hub.url}/v1/subscriptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify({ sink: `${sink.url}/deliver`, types: ['bench.e2e'] }),
  });
  if (res.status !== 201 && res.status !== 200)
    throw new Error(`creating the subscription failed: ${res.status} ${await res.text()}`);
  const subscription = await res.json();
  console.log(
    `subscription ${subscription.id} -> ${sink.url}/deliver (format ${subscription.delivery?.format})`,
  );

  /** One run of the publisher at `rate` for `seconds`, to the hub or straight to the sink. */
  async function publish(target, tag, rate, seconds) {
    const toHub = target === 'hub';
    meter.start();
    const r = await gen.call(
      {
        cmd: 'run',
        url: toHub ? hub.url : sink.url,
        path: toHub ? '/v1/events' : '/deliver',
        authorization: toHub ? `Bearer ${ADMIN_KEY}` : undefined,
        expect: toHub ? '"status":"accepted"' : null,
        rate,
        seconds,
        tag,
        connections: CONNECTIONS,
      },
      (seconds + 60) * 1000,
    );
    const cpu = meter.stop();
    // How far delivery lags at the moment publishing ends.
    const atEnd = await sink.call({ cmd: 'count', tag });
    const backlogAtEnd = r.ok - atEnd.unique;
    // Drain: wait until every acknowledged event has arrived, or the drain time is up.
    const drainStart = performance.now();
    let unique = atEnd.unique;
    while (unique < r.ok && performance.now() - drainStart < DRAIN_SECONDS * 1000) {
      await sleep(100);
      unique = (await sink.call({ cmd: 'count', tag })).unique;
    }
    const drainMs = performance.now() - drainStart;
    const all = await sink.call({ cmd: 'stats', tag });
    const settle = Math.min(SETTLE_SECONDS, seconds / 4);
    const steady = await sink.call({ cmd: 'stats', tag, fromMs: r.start + settle * 1000, toMs: r.end });
    const missing =
      r.ok > unique ? await sink.call({ cmd: 'missing', tag, count: r.sent }) : { missing: 0, first: [] };
    return {
      target,
      tag,
      rate,
      seconds,
      offered: r.sent / ((r.end - r.start) / 1000),
      pub: r,
      cpu,
      backlogAtEnd,
      drainMs,
      delivered: steady.receivedInWindow / ((r.end - r.start) / 1000 - settle),
      latency: all.latency,
      steadyLatency: steady.latency,
      dupes: all.dupes,
      missing: Math.max(0, r.ok - unique),
      firstMissing: missing.first,
      publishFailures: r.non2xx + r.errors + r.notAccepted + r.unanswered,
    };
  }

  function show(label, s) {
    const l = s.latency;
    console.log(
      `${label.padEnd(22)} offered ${String(Math.round(s.offered)).padStart(6)}/s  delivered ${String(Math.round(s.delivered)).padStart(6)}/s  ` +
        `e2e p50 ${f1(l.p50).padStart(6)} ms  p99 ${f1(l.p99).padStart(7)} ms  max ${f1(l.max).padStart(7)} ms  ` +
        `ack p99 ${f1(s.pub.ack.p99).padStart(6)} ms  backlog@end ${s.backlogAtEnd}  missing ${s.missing}  dupes ${s.dupes}  ` +
        `failed ${s.publishFailures}  dropped ${s.pub.dropped}  cpu hub ${fmtCpu(s.target === 'hub' ? s.cpu.hub : 0)} sink ${fmtCpu(s.cpu.sink)} pub ${fmtCpu(s.cpu.publisher)}`,
    );
    if (s.pub.firstError) console.log(`  first publish error: ${s.pub.firstError}`);
    if (s.missing > 0) console.log(`  first missing ids: ${s.firstMissing.join(', ')}`);
  }

  // Warm-up: connections, JIT and the SQLite file, at a low rate.
  await publish('hub', 'warm', 1000, 2);

  console.log(`\nphase A: ${RATE_A} events/s for ${SECONDS_A} s`);
  const baseA = await publish('sink', `base-${RATE_A}`, RATE_A, SECONDS_A);
  show('baseline (direct)', baseA);
  const a = await publish('hub', `a-${RATE_A}`, RATE_A, SECONDS_A);
  show('junction', a);

  console.log(
    `\nphase B: steps of ${STEP_SECONDS} s at ${STEPS.join(', ')} events/s (pass: delivered >= 95% of offered, p99 < ${MAX_P99_MS} ms)`,
  );
  let sustained = 0;
  let sustainedStep;
  for (const rate of STEPS) {
    const base = await publish('sink', `base-${rate}`, rate, STEP_SECONDS);
    show(`baseline ${rate}/s`, base);
    const b = await publish('hub', `b-${rate}`, rate, STEP_SECONDS);
    show(`junction ${rate}/s`, b);
    const pass =
      b.publishFailures === 0 &&
      b.pub.dropped === 0 &&
      b.offered >= 0.95 * rate &&
      b.delivered >= 0.95 * b.offered &&
      b.steadyLatency.p99 !== null &&
      b.steadyLatency.p99 < MAX_P99_MS &&
      b.missing === 0;
    console.log(
      `  step ${rate}/s: ${pass ? 'sustained' : 'NOT sustained'} (steady-state p99 ${f1(b.steadyLatency.p99)} ms, drained in ${Math.round(b.drainMs)} ms)`,
    );
    if (!pass) break;
    sustained = Math.round(b.delivered);
    sustainedStep = rate;
  }

  await hub.stop();
  if (COMMIT_PROBE && existsSync(COMMIT_PROBE))
    console.log(`writer-thread commits (whole run): ${readFileSync(COMMIT_PROBE, 'utf8')}`);
  if (CPU_PROF) console.log(`cpu profile of the hub written to ${CPU_PROF}; data left in ${hub.dataDir}`);
  else hub.cleanup();

  const failedA = a.publishFailures > 0 || a.missing > 0;
  console.log(
    `\ne2e A: junction at ${RATE_A}/s delivered ${Math.round(a.delivered)}/s, p50 ${f1(a.latency.p50)} ms, p99 ${f1(a.latency.p99)} ms ` +
      `(target p99 < ${TARGET_P99_MS} ms${a.latency.p99 < TARGET_P99_MS ? '' : ' MISSED'}), missing ${a.missing}; ` +
      `baseline direct p50 ${f1(baseA.latency.p50)} ms, p99 ${f1(baseA.latency.p99)} ms`,
  );
  console.log(
    `e2e B: sustained ${sustained}/s${sustainedStep ? ` (step ${sustainedStep}/s)` : ''} (target > ${TARGET_SUSTAINED}/s${sustained > TARGET_SUSTAINED ? '' : ' MISSED'})`,
  );
  return failedA ? 1 : 0;
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
