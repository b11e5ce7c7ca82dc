/**
 * Backlog drain and memory: with the sink down, publish 200,000 events; bring the sink up; print the
 * drain rate and the hub's peak RSS. Target: peak RSS under 300 MB.
 *
 *   npm run bench:drain
 *   DRAIN_EVENTS=20000 node bench/drain.mjs                  # a quick run
 *   node bench/drain.mjs --events 1000000 --parallel 8       # a bigger backlog
 *   DRAIN_EVENTS=20000 BENCH_CPU_PROF=/tmp/prof node bench/drain.mjs   # profile the hub
 *
 * "Down" is a port nothing listens on: the sink (helpers/fault-sink.mjs) reserves a free port and
 * closes it, the hub's subscription points there and meets refused connections, and the sink starts
 * listening on that port once publishing is done (and DRAIN_DOWN_SECONDS more have passed). The
 * endpoint's circuit breaker opens, as it would for a real outage; the hub runs with a config file
 * that caps its open time (breaker.openMs DRAIN_OPEN_MS, maxOpenMs DRAIN_MAX_OPEN_MS) so probes
 * resume within seconds of the sink coming up, and the subscription allows 100 attempts over a week,
 * retrying within DRAIN_MAX_OPEN_MS, so nothing dead-letters while the sink is down.
 *
 * A closed-loop publisher (helpers/batch-publisher.mjs) posts DRAIN_EVENTS ~1 KiB events as
 * `application/cloudevents-batch+json`, DRAIN_BATCH per request, DRAIN_PARALLEL requests at a time,
 * retrying a batch the hub refuses with 503 (its backpressure). The hub's RSS (VmRSS of
 * /proc/PID/status: every thread of the one process) is sampled every 150 ms; the idle RSS before
 * publishing is the baseline, and the peaks while publishing, while down and while draining are
 * printed beside it, with the kernel's own high-water mark (VmHWM). The drain rate is events over
 * the time from the sink coming up to the last first delivery, and also over first to last delivery
 * (leaving out the wait for the breaker to half-open).
 *
 * Exits non-zero if a publish failed, or any accepted event was not delivered (unique ids at the
 * sink) within DRAIN_TIMEOUT_SECONDS, or was delivered twice.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

const EVENTS = setting('events', 'DRAIN_EVENTS', 200_000);
const BATCH = setting('batch', 'DRAIN_BATCH', 500);
const PARALLEL = setting('parallel', 'DRAIN_PARALLEL', 4);
const DOWN_SECONDS = setting('down', 'DRAIN_DOWN_SECONDS', 3);
const OPEN_MS = setting('open-ms', 'DRAIN_OPEN_MS', 1000);
const MAX_OPEN_MS = setting('max-open-ms', 'DRAIN_MAX_OPEN_MS', 2000);
const TIMEOUT_SECONDS = setting('timeout', 'DRAIN_TIMEOUT_SECONDS', 600);
const CPU_PROF = process.env.BENCH_CPU_PROF || undefined;
const TARGET_RSS_MB = 300;
const SAMPLE_MS = 150;
const IDLE_SECONDS = 1;
const TAG = 'drain';
const DELIVERY = {
  maxAttempts: 100,
  maxAgeMs: 7 * 24 * 60 * 60 * 1000,
  initialDelayMs: 100,
  maxDelayMs: MAX_OPEN_MS,
};

const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const mb = (kb) => (Number.isFinite(kb) ? `${(kb / 1024).toFixed(1)} MB` : 'n/a');
const secs = (ms) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'n/a');

/** VmRSS and VmHWM of a process in kB, from /proc; nulls where /proc is missing. */
function memoryKb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name) => {
      const m = status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'));
      return m ? Number(m[1]) : null;
    };
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return { rss: null, hwm: null };
  }
}

/** Samples a pid's RSS on a timer and keeps the peak and mean of each named phase. */
function rssSampler(pid) {
  const phases = new Map();
  let current = null;
  const sample = () => {
    const { rss } = memoryKb(pid);
    if (rss === null || current === null) return;
    const p = phases.get(current);
    p.peak = Math.max(p.peak, rss);
    p.sum += rss;
    p.n++;
    p.last = rss;
  };
  const timer = setInterval(sample, SAMPLE_MS);
  return {
    phase(name) {
      sample();
      current = name;
      if (!phases.has(name)) phases.set(name, { peak: 0, sum: 0, n: 0, last: null });
      sample();
    },
    stop() {
      sample();
      clearInterval(timer);
      current = null;
    },
    get: (name) => {
      const p = phases.get(name);
      return p && p.n > 0 ? { peak: p.peak, mean: p.sum / p.n, last: p.last, samples: p.n } : null;
    },
  };
}

async function main() {
  if (!existsSync(HUB_ENTRY)) throw new Error(`${HUB_ENTRY} is missing: run npm run build first`);
  console.log(
    `drain benchmark: ${int(EVENTS)} ~1 KiB events published with the sink down (connections refused), ` +
      `as batches of ${BATCH} (${PARALLEL} requests at a time); then the sink comes up`,
  );
  console.log(
    `hub breaker openMs ${OPEN_MS}, maxOpenMs ${MAX_OPEN_MS}; subscription maxAttempts ${DELIVERY.maxAttempts}, ` +
      `retries after ${DELIVERY.initialDelayMs}-${DELIVERY.maxDelayMs} ms, maxAgeMs ${DELIVERY.maxAgeMs}`,
  );
  console.log(`machine: ${machine()}`);

  const sink = await forkHelper('helpers/fault-sink.mjs');
  const { url: sinkUrl } = await sink.call({ cmd: 'reserve' });
  const publisher = await forkHelper('helpers/batch-publisher.mjs');
  const configDir = mkdtempSync(join(tmpdir(), 'junction-bench-config-'));
  const configFile = join(configDir, 'junction.json');
  writeFileSync(configFile, JSON.stringify({ breaker: { openMs: OPEN_MS, maxOpenMs: MAX_OPEN_MS } }));
  const hub = await startJunction({ cpuProfDir: CPU_PROF, env: { JUNCTION_CONFIG: configFile } });
  const meter = cpuMeter({ hub: hub.pid, sink: sink.pid, publisher: publisher.pid });
  const rss = rssSampler(hub.pid);

  const sub = await api(hub, '/v1/subscriptions', {
    method: 'POST',
    body: JSON.stringify({ sink: `${sinkUrl}/deliver`, types: ['bench.e2e'], delivery: DELIVERY }),
  });
  console.log(`subscription ${sub.id} -> ${sinkUrl}/deliver (nothing listening yet)`);

  rss.phase('idle');
  await sleep(IDLE_SECONDS * 1000);

  rss.phase('publish');
  meter.start();
  const pub = await publisher.call(
    {
      cmd: 'run',
      url: hub.url,
      tag: TAG,
      count: EVENTS,
      batchSize: BATCH,
      parallel: PARALLEL,
      authorization: `Bearer ${ADMIN_KEY}`,
    },
    (TIMEOUT_SECONDS + 60) * 1000,
  );
  const cpuPublish = meter.stop();
  const publishMs = pub.end - pub.start;
  console.log(
    `published ${int(pub.accepted)} accepted (+${pub.duplicate} duplicates) in ${secs(publishMs)}: ${int(pub.accepted / (publishMs / 1000))} events/s, ` +
      `${pub.requests} requests, ${pub.retried503} answered 503 and retried, batch ack p50 ${Math.round(pub.ack.p50)} ms p99 ${Math.round(pub.ack.p99)} ms; ` +
      `cpu hub ${fmtCpu(cpuPublish.hub)} publisher ${fmtCpu(cpuPublish.publisher)}`,
  );
  if (pub.failures > 0) console.log(`  publish failed: ${pub.firstError}`);

  rss.phase('down');
  await sleep(DOWN_SECONDS * 1000);
  const { view: breakerDown, from: breakerFrom } = await breakerOf(hub, sinkUrl);
  const countsDown = (await api(hub, `/v1/subscriptions/${sub.id}/stats`)).deliveries ?? {};
  const fmtCounts = (c) =>
    Object.entries(c)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  console.log(
    `sink down ${DOWN_SECONDS} s after publishing: breaker ${breakerDown ? `${breakerDown.state} (${breakerDown.requests} requests, ${breakerDown.failures} failures)` : 'not listed'} from ${breakerFrom}; ` +
      `deliveries ${fmtCounts(countsDown)}`,
  );

  rss.phase('drain');
  meter.start();
  const { at: upAt } = await sink.call({ cmd: 'listen' });
  let unique = 0;
  let lastReport = performance.now();
  const drainStart = performance.now();
  while (unique < pub.accepted && performance.now() - drainStart < TIMEOUT_SECONDS * 1000) {
    await sleep(200);
    unique = (await sink.call({ cmd: 'count', tag: TAG })).unique;
    if (performance.now() - lastReport >= 10_000) {
      lastReport = performance.now();
      console.log(
        `  draining: ${int(unique)} of ${int(pub.accepted)} delivered after ${secs(lastReport - drainStart)}`,
      );
    }
  }
  const cpuDrain = meter.stop();
  rss.stop();
  const { hwm } = memoryKb(hub.pid);
  const stats = await sink.call({ cmd: 'stats', tag: TAG });
  const missing =
    stats.unique < pub.accepted ? await sink.call({ cmd: 'missing', tag: TAG, count: pub.published }) : null;

  // The hub records a delivery after the sink has answered: wait for its counts to settle.
  let counts = {};
  for (let i = 0; i < 50; i++) {
    counts = (await api(hub, `/v1/subscriptions/${sub.id}/stats`)).deliveries ?? {};
    if ((counts.delivered ?? 0) + (counts.dead ?? 0) >= pub.accepted) break;
    await sleep(100);
  }
  const { view: breakerEnd } = await breakerOf(hub, sinkUrl);
  await hub.stop();
  if (CPU_PROF) console.log(`cpu profile of the hub written to ${CPU_PROF}; data left in ${hub.dataDir}`);
  else hub.cleanup();
  rmSync(configDir, { recursive: true, force: true });

  const toLast = stats.lastOk === null ? Number.NaN : stats.lastOk - upAt;
  const firstToLast = stats.lastOk === null ? Number.NaN : stats.lastOk - stats.firstOk;
  const idle = rss.get('idle');
  const show = (name) => {
    const p = rss.get(name);
    if (!p) return `${name} n/a`;
    return `${name} peak ${mb(p.peak)} (+${mb(p.peak - idle.peak)} over idle), mean ${mb(p.mean)}`;
  };
  console.log(
    `drain: ${int(stats.unique)} of ${int(pub.accepted)} delivered, ${int(stats.unique / (toLast / 1000))} events/s from sink up to the last ` +
      `(${secs(toLast)}; first delivery ${secs(stats.firstOk - upAt)} after sink up), ` +
      `${int((stats.unique - 1) / (firstToLast / 1000))} events/s from first to last delivery; ` +
      `sink requests ${int(stats.requests)}, dupes ${stats.dupes}; cpu hub ${fmtCpu(cpuDrain.hub)} sink ${fmtCpu(cpuDrain.sink)}`,
  );
  console.log(
    `hub deliveries at the end: ${fmtCounts(counts)}; breaker ${breakerEnd ? breakerEnd.state : 'not listed'}`,
  );
  console.log(`hub RSS (all threads, sampled every ${SAMPLE_MS} ms): baseline idle ${mb(idle?.peak)}`);
  console.log(`  ${show('publish')}`);
  console.log(`  ${show('down')}`);
  console.log(`  ${show('drain')}`);
  console.log(`  VmHWM (kernel high-water mark, whole run) ${mb(hwm)}`);
  if (missing) console.log(`  ${missing.missing} missing; first missing ids: ${missing.first.join(', ')}`);

  const peakKb = Math.max(hwm ?? 0, ...['publish', 'down', 'drain'].map((n) => rss.get(n)?.peak ?? 0));
  const met = peakKb / 1024 < TARGET_RSS_MB;
  console.log(
    `\ndrain: ${int(stats.unique / (toLast / 1000))} events/s to drain ${int(pub.accepted)} events in ${secs(toLast)}; ` +
      `peak RSS ${mb(peakKb)} (target < ${TARGET_RSS_MB} MB: ${met ? 'met' : 'MISSED'}); idle baseline ${mb(idle?.peak)}`,
  );

  const problems = [];
  if (pub.failures > 0) problems.push(`publishing failed: ${pub.firstError}`);
  if (pub.accepted + pub.duplicate !== EVENTS)
    problems.push(`${int(EVENTS - pub.accepted - pub.duplicate)} events were not acknowledged`);
  if (stats.unique < pub.accepted)
    problems.push(
      `${int(pub.accepted - stats.unique)} events were not delivered within ${TIMEOUT_SECONDS} s`,
    );
  if (stats.dupes > 0) problems.push(`${stats.dupes} events were answered 2xx more than once`);
  if ((counts.dead ?? 0) > 0) problems.push(`${counts.dead} events dead-lettered`);
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
