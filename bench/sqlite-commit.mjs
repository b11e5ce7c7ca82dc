/**
 * A diagnostic micro-benchmark of the embedded store's write path without HTTP: the real store from
 * dist/ (`openSqliteStore`, its writer thread and group commit), appending ~1 KiB events one per
 * `store.append` call, with no subscriptions, by concurrency: C loops each keep one append
 * outstanding, await it, and start the next, like C keep-alive connections posting to the hub.
 *
 *   npm run build && node bench/sqlite-commit.mjs [--seconds 3] [--concurrency 1,10,50,200,1000]
 *
 * Two variants, each in a child process of its own: the default durability (WAL, synchronous=FULL)
 * and synchronous=OFF on the writer's connection (bench/helpers/writer-pragma.mjs), which keeps
 * the thread hop and the group commit but drops the fsync. Every case uses a fresh data dir; one
 * untimed warm-up case runs first. Per case it prints appends/s, append latency (p50/p99, from the
 * call to its promise settling) and, from the commit probe (bench/helpers/commit-probe.mjs) in the
 * writer thread, ops per commit, commit duration and how busy the writer thread was.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { eventTemplate } from './event.mjs';
import { BENCH_DIR, machine, percentile, ROOT } from './lib.mjs';

const argv = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0 && argv[i + 1] !== undefined) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  return eq ? eq.slice(name.length + 3) : fallback;
};
const SECONDS = Number(arg('seconds', process.env.SQLITE_SECONDS ?? 3));
const CONCURRENCY = String(arg('concurrency', process.env.SQLITE_CONCURRENCY ?? '1,10,50,200,1000'))
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const VARIANTS = [
  { name: 'FULL (default)', pragma: undefined },
  { name: 'synchronous=OFF', pragma: 'synchronous = OFF' },
];

const helper = (name) => pathToFileURL(join(BENCH_DIR, 'helpers', name)).href;

/** The parent: runs each variant in a child whose writer thread inherits the preloads. */
async function parent() {
  console.log(
    `store append micro-benchmark (no HTTP): ~1 KiB events, ${SECONDS} s per case, no subscriptions; ${machine()}`,
  );
  console.log(
    'variant          conc   appends/s  append p50 / p99 ms   ops/commit mean (p90)   commit p50 / p90 / p99 ms   writer busy',
  );
  for (const v of VARIANTS) {
    const dir = mkdtempSync(join(tmpdir(), 'junction-sqlite-probe-'));
    const probeOut = join(dir, 'commits.json');
    const args = ['--import', helper('commit-probe.mjs')];
    if (v.pragma) args.push('--import', helper('writer-pragma.mjs'));
    args.push(fileURLToPath(import.meta.url), '--child', v.name, ...argv);
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: 'inherit',
      env: {
        ...process.env,
        BENCH_COMMIT_PROBE_OUT: probeOut,
        BENCH_WRITER_PRAGMA: v.pragma ?? '',
      },
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
    if (code !== 0) throw new Error(`variant ${v.name} exited with code ${code}`);
  }
}

/** One case: `concurrency` closed loops of appends on a fresh store for `seconds`. */
async function runCase(openSqliteStore, base, concurrency, seconds) {
  const dir = mkdtempSync(join(tmpdir(), 'junction-sqlite-'));
  const store = await openSqliteStore(dir);
  const latencies = [];
  let n = 0;
  let failed = 0;
  const noRoute = () => [];
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const event = { ...base, id: `e-${n++}` };
      const t = performance.now();
      try {
        await store.append([event], noRoute);
      } catch {
        failed++;
      }
      latencies.push(performance.now() - t);
    }
  };
  const elu0 = performance.eventLoopUtilization();
  await Promise.all(Array.from({ length: concurrency }, loop));
  const wall = (performance.now() - t0) / 1000;
  const elu = performance.eventLoopUtilization(elu0);
  // Closing stops the writer thread, whose commit probe then writes its summary.
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  return { rate: latencies.length / wall, latencies, failed, mainElu: elu.utilization };
}

async function child(variant) {
  const { openSqliteStore } = await import(join(ROOT, 'dist', 'storage', 'sqlite', 'store.js'));
  const base = JSON.parse(eventTemplate({ source: '/bench/sqlite', type: 'com.acme.order.created' })('x'));
  await runCase(openSqliteStore, base, 50, 1); // warm-up, untimed
  const probeOut = process.env.BENCH_COMMIT_PROBE_OUT;
  for (const c of CONCURRENCY) {
    const r = await runCase(openSqliteStore, base, c, SECONDS);
    const p = probeOut ? JSON.parse(readFileSync(probeOut, 'utf8')) : undefined;
    const f2 = (x) => (x === null || x === undefined ? 'n/a' : x.toFixed(2));
    const commits = p
      ? `${f2(p.opsPerCommit.mean).padStart(7)} (${String(p.opsPerCommit.p90).padStart(4)})         ` +
        `${f2(p.commitMs.p50)} / ${f2(p.commitMs.p90)} / ${f2(p.commitMs.p99)}`.padEnd(28) +
        `${Math.round((p.busyShare ?? 0) * 100)}%`.padStart(6)
      : 'n/a';
    console.log(
      `${variant.padEnd(16)} ${String(c).padStart(4)}  ${String(Math.round(r.rate)).padStart(10)}  ` +
        `${f2(percentile(r.latencies, 50)).padStart(8)} / ${f2(percentile(r.latencies, 99)).padEnd(9)}` +
        `${commits}   (main loop ${Math.round(r.mainElu * 100)}% busy${r.failed ? `, ${r.failed} FAILED` : ''})`,
    );
  }
}

const childAt = argv.indexOf('--child');
if (childAt >= 0) await child(argv[childAt + 1]);
else await parent();
