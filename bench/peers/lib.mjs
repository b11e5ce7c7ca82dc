/**
 * Harness pieces of the peers benchmark that bench/lib.mjs does not have: list settings, starting
 * a hand-rolled dispatcher, the CPU of shared infrastructure (Redis, PostgreSQL, NATS), secrets,
 * and whether this build of Junction can run distributed.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, cpuSeconds, HUB_ENTRY, ROOT, stopChild, track, waitForLine } from '../lib.mjs';

/**
 * A list of numbers: `--name 1,4` or `--name=1,4` on the command line, then the environment
 * variable, then the default.
 */
export function listSetting(argName, envName, fallback) {
  const argv = process.argv.slice(2);
  let raw;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${argName}` && argv[i + 1] !== undefined) raw = argv[i + 1];
    else if (argv[i].startsWith(`--${argName}=`)) raw = argv[i].slice(argName.length + 3);
  }
  raw ??= process.env[envName];
  if (raw === undefined || raw === '') return fallback;
  return raw
    .split(',')
    .map(Number)
    .filter((n) => Number.isFinite(n) && n > 0);
}

/** A Standard Webhooks secret, as Junction makes them. */
export const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

/**
 * Starts `bench/peers/<script>` with `env` and waits for its `listening <url>`; the child is
 * killed with the others if the benchmark fails.
 */
export async function startDispatcher(script, env) {
  const child = track(
    spawn(process.execPath, [join(BENCH_DIR, 'peers', script)], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let stderr = '';
  child.stderr.on('data', (c) => {
    if (stderr.length < 64 * 1024) stderr += c.toString();
  });
  const m = await waitForLine(child, /listening (http:\/\/\S+)/, 30_000, script);
  child.stdout.resume();
  return {
    url: m[1],
    pid: child.pid,
    stderr: () => stderr,
    stop: () => stopChild(child, 30_000),
  };
}

/**
 * CPU seconds used so far by every process whose command name is one of `names` (all of this
 * machine's Redis, PostgreSQL or NATS servers, whoever else uses them); processes that come and go
 * between two readings are not counted.
 */
export function processCpu(names) {
  const out = new Map();
  if (names.length === 0) return out;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (names.includes(comm)) out.set(entry, cpuSeconds(entry) ?? 0);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The CPU share (1.0 = one core) the processes of `before` used since it was read. */
export function cpuShareSince(before, names, wallMs) {
  const after = processCpu(names);
  let seconds = 0;
  for (const [pid, t] of after) if (before.has(pid)) seconds += t - before.get(pid);
  return seconds / (wallMs / 1000);
}

/** Whether `junction serve` of this build takes `--store` and `--bus` (the distributed mode). */
export function distributedAvailable() {
  let help = '';
  try {
    help = execFileSync(process.execPath, [HUB_ENTRY, 'serve', '--help'], { encoding: 'utf8' });
  } catch (error) {
    help = `${error.stdout ?? ''}`;
  }
  return /--store\b/.test(help) && /--bus\b/.test(help);
}
