/**
 * Delivery under sink faults: the delivered rate when 20% of the sink's requests fail with 500,
 * beside the same run against a healthy sink (the baseline, same script, same run).
 *
 *   npm run bench:faults
 *   FAULTS_SECONDS=3 FAULTS_RATE=1000 node bench/faults.mjs        # a quick run
 *   node bench/faults.mjs --rate 8000 --seconds 20                 # above the healthy capacity
 *   BENCH_CPU_PROF=/tmp/prof node bench/faults.mjs                 # profile both hubs
 *
 * Each phase starts a fresh hub (fresh data dir, breakers closed) with one binary-mode subscription
 * that retries fast (initialDelayMs 10, maxDelayMs 100, maxAttempts 10), so retries are part of the
 * measured work. An open-loop publisher (helpers/open-loop.mjs) posts ~1 KiB events at FAULTS_RATE
 * for FAULTS_SECONDS after a warm-up; the sink (helpers/fault-sink.mjs) answers 500 to a seeded
 * random FAULTS_FAIL_SHARE of its requests (none in the healthy phase) and 200 to the rest.
 * Figures over the publishing window, after a 2 s settle: delivered events/s (first 2xx per event
 * id), requests/s the sink received, and first-2xx latency from publish. After publishing stops the
 * hub drains; every acknowledged event must then have exactly one 2xx at the sink, and the hub's
 * own counts must show it delivered with nothing dead-lettered.
 *
 * At a 20% failure share the endpoint's circuit breaker must stay closed (it opens at a failure
 * ratio of 0.5): GET /v1/endpoints is polled every 250 ms during the phase and its last view is
 * printed. Exits non-zero if a publish failed, an event is missing or was answered 2xx twice, an
 * event dead-lettered, or the breaker left the closed state.
 */
import { existsSync } from 'node:fs';
import {
  ADMIN_KEY,
  api,
  breakerOf,
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

const RATE = setting('rate', 'FAULTS_RATE', 4000);
const SECONDS = setting('seconds', 'FAULTS_SECONDS', 20);
const FAIL_SHARE = setting('fail-share', 'FAULTS_FAIL_SHARE', 0.2);
const SEED = setting('seed', 'FAULTS_SEED', 42);
const WARMUP_SECONDS = setting('warmup', 'FAULTS_WARMUP_SECONDS', 2);
const DRAIN_SECONDS = setting('drain', 'FAULTS_DRAIN_SECONDS', 30);
const CONNECTIONS = setting('connections', 'FAULTS_CONNECTIONS', 64);
const CPU_PROF = process.env.BENCH_CPU_PROF || undefined;
const RETRY = { initialDelayMs: 10, maxDelayMs: 100, maxAttempts: 10 };
/** Seconds at the start of the publishing window left out of the rates. */
const SETTLE_SECONDS = 2;
const BREAKER_POLL_MS = 250;

const f1 = (n) => (n === null || n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(1));
const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');

async function main() {
  if (!existsSync(HUB_ENTRY)) throw new Error(`${HUB_ENTRY} is missing: run npm run build first`);
  console.log(
    `faults benchmark: ~1 KiB events, open-loop publisher at ${RATE}/s for ${SECONDS} s (${CONNECTIONS} keep-alive connections), ` +
      `one binary-mode subscription retrying after ${RETRY.initialDelayMs}-${RETRY.maxDelayMs} ms (maxAttempts ${RETRY.maxAttempts})`,
  );
  console.log(
    `sink fails ${Math.round(FAIL_SHARE * 100)}% of requests with 500 (seeded, seed ${SEED}); baseline: the same run with a sink that fails none`,
  );
  console.log(`machine: ${machine()}`);

  const sink = await forkHelper('helpers/fault-sink.mjs', ['--listen'], { waitForUrl: true });
  const gen = await forkHelper('helpers/open-loop.mjs');

  /** Publishes `seconds` at `rate` to the hub and waits until the sink has every acknowledged event. */
  async function publishAndDrain(hub, tag, rate, seconds, meter) {
    meter?.start();
    const r = await gen.call(
      {
        cmd: 'run',
        url: hub.url,
        path: '/v1/events',
        authorization: `Bearer ${ADMIN_KEY}`,
        expect: '"status":"accepted"',
        rate,
        seconds,
        tag,
        connections: CONNECTIONS,
      },
      (seconds + 60) * 1000,
    );
    const cpu = meter?.stop();
    let { unique } = await sink.call({ cmd: 'count', tag });
    const backlogAtEnd = r.ok - unique;
    const drainStart = performance.now();
    while (unique < r.ok && performance.now() - drainStart < DRAIN_SECONDS * 1000) {
      await sleep(100);
      unique = (await sink.call({ cmd: 'count', tag })).unique;
    }
    return { r, cpu, backlogAtEnd, drainMs: performance.now() - drainStart };
  }

  async function phase(name, failShare) {
    const hub = await startJunction({ cpuProfDir: CPU_PROF });
    const meter = cpuMeter({ hub: hub.pid, sink: sink.pid, publisher: gen.pid });
    const sub = await api(hub, '/v1/subscriptions', {
      method: 'POST',
      body: JSON.stringify({ sink: `${sink.url}/deliver`, types: ['bench.e2e'], delivery: RETRY }),
    });

    // Warm-up against a healthy sink: connections, JIT and the SQLite file.
    await sink.call({ cmd: 'set', failShare: 0 });
    const warm = await publishAndDrain(hub, `warm-${name}`, Math.min(RATE, 1000), WARMUP_SECONDS);

    // The breaker is watched for the whole measured run, drain included.
    const statesSeen = new Set();
    let lastView;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const b = await breakerOf(hub, sink.url).catch(() => ({}));
        lastView = b.view ?? lastView;
        if (lastView) statesSeen.add(lastView.state);
        await sleep(BREAKER_POLL_MS);
      }
    })();

    await sink.call({ cmd: 'set', failShare, seed: SEED });
    const m = await publishAndDrain(hub, name, RATE, SECONDS, meter);
    await sink.call({ cmd: 'set', failShare: 0 });
    const { r } = m;
    const settle = Math.min(SETTLE_SECONDS, SECONDS / 4);
    const window = (r.end - r.start) / 1000 - settle;
    const inWindow = await sink.call({
      cmd: 'stats',
      tag: name,
      fromMs: r.start + settle * 1000,
      toMs: r.end,
    });
    const all = await sink.call({ cmd: 'stats', tag: name });
    const missing =
      all.unique < r.ok ? await sink.call({ cmd: 'missing', tag: name, count: r.sent }) : { first: [] };

    // The hub records an attempt after the sink has answered: wait for its counts to settle.
    const expected = warm.r.ok + r.ok;
    let counts = {};
    for (let i = 0; i < 50; i++) {
      counts = (await api(hub, `/v1/subscriptions/${sub.id}/stats`)).deliveries ?? {};
      if ((counts.delivered ?? 0) + (counts.dead ?? 0) >= expected) break;
      await sleep(100);
    }
    watching = false;
    await watcher;
    const final = await breakerOf(hub, sink.url);
    lastView = final.view ?? lastView;
    if (lastView) statesSeen.add(lastView.state);
    await hub.stop();
    if (CPU_PROF)
      console.log(`cpu profile of the ${name} hub written to ${CPU_PROF}; data left in ${hub.dataDir}`);
    else hub.cleanup();

    return {
      name,
      failShare,
      offered: r.sent / ((r.end - r.start) / 1000),
      delivered: inWindow.okInWindow / window,
      /** Every event of the run over its first to last 2xx: the rate with the tail after publishing. */
      overall: (all.unique - 1) / ((all.lastOk - all.firstOk) / 1000),
      requests: inWindow.requestsInWindow / window,
      failedShare: all.requests ? all.failed / all.requests : 0,
      latency: inWindow.latency,
      ack: r.ack,
      pub: r,
      cpu: m.cpu,
      backlogAtEnd: m.backlogAtEnd,
      drainMs: m.drainMs,
      missing: Math.max(0, r.ok - all.unique),
      firstMissing: missing.first,
      dupes: all.dupes,
      publishFailures: r.non2xx + r.errors + r.notAccepted + r.unanswered + r.dropped,
      hubCounts: counts,
      hubExpected: expected,
      breaker: lastView,
      breakerFrom: final.from,
      statesSeen: [...statesSeen],
    };
  }

  function show(s) {
    const counts = Object.entries(s.hubCounts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    console.log(
      `${s.name.padEnd(8)} offered ${int(s.offered).padStart(6)}/s  delivered ${int(s.delivered).padStart(6)}/s (overall ${int(s.overall)}/s)  ` +
        `sink requests ${int(s.requests).padStart(6)}/s (${f1(s.failedShare * 100)}% answered 500)  ` +
        `first-2xx p50 ${f1(s.latency.p50)} ms p99 ${f1(s.latency.p99)} ms  ack p99 ${f1(s.ack.p99)} ms  ` +
        `backlog@end ${s.backlogAtEnd}  drained in ${Math.round(s.drainMs)} ms  missing ${s.missing}  dupes ${s.dupes}  ` +
        `publish failures ${s.publishFailures}  cpu hub ${fmtCpu(s.cpu.hub)} sink ${fmtCpu(s.cpu.sink)} pub ${fmtCpu(s.cpu.publisher)}`,
    );
    console.log(
      `         hub counts (warm-up included, expect ${s.hubExpected} delivered): ${counts || 'none'}; ` +
        `breaker ${s.breaker ? `${s.breaker.state} (window: ${s.breaker.requests} requests, ${s.breaker.failures} failures)` : 'not listed'} from ${s.breakerFrom}, ` +
        `states seen: ${s.statesSeen.join(', ') || 'none'}`,
    );
    if (s.pub.firstError) console.log(`         first publish error: ${s.pub.firstError}`);
    if (s.missing > 0) console.log(`         first missing ids: ${s.firstMissing.join(', ')}`);
  }

  console.log('');
  const healthy = await phase('healthy', 0);
  show(healthy);
  const faults = await phase('faults', FAIL_SHARE);
  show(faults);

  const problems = [];
  for (const s of [healthy, faults]) {
    if (s.publishFailures > 0) problems.push(`${s.name}: ${s.publishFailures} publish failures`);
    if (s.missing > 0) problems.push(`${s.name}: ${s.missing} events never answered 2xx`);
    if (s.dupes > 0) problems.push(`${s.name}: ${s.dupes} events answered 2xx more than once`);
    if ((s.hubCounts.dead ?? 0) > 0) problems.push(`${s.name}: ${s.hubCounts.dead} events dead-lettered`);
    if ((s.hubCounts.delivered ?? 0) !== s.hubExpected)
      problems.push(
        `${s.name}: the hub counts ${s.hubCounts.delivered ?? 0} delivered, expected ${s.hubExpected}`,
      );
    if (s.statesSeen.some((state) => state !== 'closed'))
      problems.push(`${s.name}: the breaker left the closed state (${s.statesSeen.join(', ')})`);
  }

  console.log(
    `\nfaults: delivered ${int(faults.delivered)}/s with ${Math.round(FAIL_SHARE * 100)}% of sink requests failing vs ${int(healthy.delivered)}/s healthy ` +
      `(ratio ${(faults.delivered / healthy.delivered).toFixed(2)}); sink received ${int(faults.requests)} requests/s vs ${int(healthy.requests)}/s ` +
      `(ratio ${(faults.requests / healthy.requests).toFixed(2)}); first-2xx p99 ${f1(faults.latency.p99)} ms vs ${f1(healthy.latency.p99)} ms; ` +
      `hub cpu ${fmtCpu(faults.cpu.hub)} vs ${fmtCpu(healthy.cpu.hub)}; offered ${RATE}/s`,
  );
  console.log(
    `breaker at the end of the faults phase: ${faults.breaker ? faults.breaker.state : 'not listed'}${faults.statesSeen.every((s) => s === 'closed') ? ' (closed throughout)' : ''}`,
  );
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
