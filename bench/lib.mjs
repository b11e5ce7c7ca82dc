/**
 * Shared plumbing for the benchmarks: starting the hub and helper servers as child processes,
 * reading their CPU time from /proc, percentiles, and settings from argv or the environment.
 *
 * Every process the benchmarks start is a child of the benchmark, listens on 127.0.0.1 only, and is
 * stopped by its own pid when the benchmark ends (or fails).
 */
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(BENCH_DIR, '..');
export const HUB_ENTRY = join(ROOT, 'dist', 'cli', 'main.js');
export const ADMIN_KEY = 'bench-admin-key';

const children = new Set();

/** Stops every child still running; called on exit and on failure so nothing outlives the run. */
export function killChildren() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  children.clear();
}
process.on('exit', killChildren);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killChildren();
    process.exit(130);
  });
}

/**
 * A numeric setting: `--name value` or `--name=value` on the command line, then the environment
 * variable, then the default.
 */
export function setting(argName, envName, fallback) {
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === `--${argName}` && argv[i + 1] !== undefined) return Number(argv[i + 1]);
    if (a.startsWith(`--${argName}=`)) return Number(a.slice(argName.length + 3));
  }
  const fromEnv = process.env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return Number(fromEnv);
  return fallback;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Registers a child started elsewhere, so that it is killed with the others when the run ends. */
export function track(child) {
  children.add(child);
  return child;
}

/** Resolves with the first match of `pattern` on the child's stdout; rejects on exit or timeout. */
export function waitForLine(child, pattern, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => finish(new Error(`${what} did not start within ${timeoutMs} ms; output: ${seen}`)),
      timeoutMs,
    );
    const onData = (chunk) => {
      seen += chunk.toString();
      const m = seen.match(pattern);
      if (m) finish(null, m);
    };
    const onExit = (code) =>
      finish(new Error(`${what} exited (${code}) before it was ready; output: ${seen}`));
    function finish(error, m) {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(m);
    }
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Sends SIGTERM, waits for the exit, and kills the child if it takes longer than `graceMs`. */
export async function stopChild(child, graceMs = 15_000) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const code = await exited;
  clearTimeout(timer);
  children.delete(child);
  return code;
}

/**
 * Starts `junction serve` on a free port with a fresh data dir. With `cpuProfDir`, the hub runs
 * under `node --cpu-prof` and writes its profile there when it exits; with `commitProbeOut`, its
 * storage writer thread records ops per commit and commit durations there (helpers/commit-probe.mjs;
 * the `--import` preload reaches the writer thread because workers inherit `process.execArgv`).
 * `args` are added to the `serve` command line (e.g. `--store URL --bus URL`).
 */
export async function startJunction({ cpuProfDir, commitProbeOut, env = {}, args = [] } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'junction-bench-'));
  const nodeArgs = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
  if (commitProbeOut) {
    nodeArgs.push('--import', pathToFileURL(join(BENCH_DIR, 'helpers', 'commit-probe.mjs')).href);
    env = { ...env, BENCH_COMMIT_PROBE_OUT: commitProbeOut };
  }
  const child = spawn(
    process.execPath,
    [...nodeArgs, HUB_ENTRY, 'serve', '--port', '0', '--host', '127.0.0.1', '--data', dataDir, ...args],
    {
      cwd: ROOT,
      env: { ...process.env, JUNCTION_ADMIN_KEY: ADMIN_KEY, JUNCTION_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (c) => {
    if (stderr.length < 64 * 1024) stderr += c.toString();
  });
  const m = await waitForLine(child, /junction listening on (http:\/\/\S+)/, 20_000, 'junction');
  child.stdout.resume();
  return {
    url: m[1],
    pid: child.pid,
    child,
    dataDir,
    stderr: () => stderr,
    async stop() {
      const code = await stopChild(child, 25_000);
      return code;
    },
    cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Forks one of the helper scripts in bench/ (sink, baseline server, generator) with an IPC channel.
 * Servers print `listening <url>` on stdout once ready.
 */
export async function forkHelper(script, args = [], { waitForUrl = false } = {}) {
  const child = fork(join(BENCH_DIR, script), args, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  children.add(child);
  let url;
  if (waitForUrl) {
    const m = await waitForLine(child, /listening (http:\/\/\S+)/, 10_000, script);
    url = m[1];
  }
  child.stdout.resume();
  return {
    child,
    url,
    pid: child.pid,
    call: (msg, timeoutMs = 120_000) => call(child, msg, timeoutMs),
    stop: () => stopChild(child, 5_000),
  };
}

let nextCall = 1;
/** One request/response over the IPC channel: `{ ...msg, callId }` out, `{ callId, ... }` back. */
function call(child, msg, timeoutMs) {
  const callId = nextCall++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`no answer to ${msg.cmd} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (reply) => {
      if (!reply || reply.callId !== callId) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      if (reply.error) reject(new Error(reply.error));
      else resolve(reply);
    };
    child.on('message', onMessage);
    child.send({ ...msg, callId });
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc; null where /proc is missing. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100; // USER_HZ is 100 on Linux.
  } catch {
    return null;
  }
}

/** Measures the CPU share (1.0 = one core) of each named pid between `start()` and `stop()`. */
export function cpuMeter(pids) {
  let t0 = 0;
  let before = {};
  return {
    start() {
      t0 = performance.now();
      before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
    },
    stop() {
      const wall = (performance.now() - t0) / 1000;
      const out = {};
      for (const [k, pid] of Object.entries(pids)) {
        const now = cpuSeconds(pid);
        out[k] = now === null || before[k] === null ? null : (now - before[k]) / wall;
      }
      return out;
    },
  };
}

export const fmtCpu = (share) =>
  share === null || share === undefined ? 'n/a' : `${Math.round(share * 100)}%`;

/** The p-th percentile (0-100) of an ascending-sorted array, nearest rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function machine() {
  const cpu = cpus()[0]?.model ?? 'unknown';
  let model = cpu;
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) model = line.split(':')[1].trim();
  } catch {
    /* not Linux */
  }
  return `${availableParallelism()} cores (${model}), node ${process.version}, ${process.platform}`;
}

export const round = (n, digits = 0) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : n);

/** Calls the hub's API with the bench's admin key; throws unless it answers 2xx; returns the JSON. */
export async function api(hub, path, init = {}) {
  const res = await fetch(`${hub.url}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}`, ...init.headers },
  });
  const text = await res.text();
  if (res.status < 200 || res.status > 299)
    throw new Error(`${init.method ?? 'GET'} ${path} failed: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** The circuit breaker of the endpoint at `sinkUrl`, as GET /v1/endpoints shows it. */
export async function breakerOf(hub, sinkUrl) {
  const views = await api(hub, '/v1/endpoints');
  return { view: views.find((v) => v.endpoint.startsWith(sinkUrl)), from: 'GET /v1/endpoints' };
}
