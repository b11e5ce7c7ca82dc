/**
 * Starts the real `junction serve` process (the compiled CLI) on a free port with a fresh data
 * directory, and stops or kills it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const CLI = resolve(import.meta.dirname, '../../dist/cli/main.js');
export const TEST_KEY = 'test-admin-key';

export interface HubProcess {
  url: string;
  key: string;
  dataDir: string;
  proc: ChildProcess;
  output(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  /** Authenticated fetch against the hub. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Creates a subscription; throws unless the hub answers 201. */
  subscribe(body: Record<string, unknown>): Promise<{ id: string; secret: string }>;
  /** Publishes one event in structured mode; throws unless the hub answers 202. */
  publish(event: Record<string, unknown>): Promise<void>;
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'junction-test-'));
}

export async function startHub(
  options: { dataDir?: string; args?: string[]; env?: Record<string, string> } = {},
): Promise<HubProcess> {
  const dataDir = options.dataDir ?? tempDataDir();
  const proc = spawn(
    process.execPath,
    [CLI, 'serve', '--port', '0', '--data', dataDir, ...(options.args ?? [])],
    {
      env: {
        ...process.env,
        JUNCTION_ADMIN_KEY: TEST_KEY,
        JUNCTION_LOG_LEVEL: 'warn',
        JUNCTION_POLL_INTERVAL_MS: '100',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`hub did not start in time:\n${out}`)), 15_000);
    const onData = () => {
      const m = /junction listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        res(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`hub exited with ${code} before listening:\n${out}`));
    });
  });
  const authFetch = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (!headers.has('authorization')) headers.set('authorization', `Bearer ${TEST_KEY}`);
    return fetch(url + path, { ...init, headers });
  };
  return {
    url,
    key: TEST_KEY,
    dataDir,
    proc,
    output: () => out,
    async stop() {
      proc.kill('SIGTERM');
      return exited;
    },
    async kill() {
      proc.kill('SIGKILL');
      await exited;
    },
    fetch: authFetch,
    async subscribe(body) {
      const res = await authFetch('/v1/subscriptions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (res.status !== 201) throw new Error(`subscribe answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as { id: string; secret: string };
    },
    async publish(event) {
      const res = await authFetch('/v1/events', {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify({ specversion: '1.0', ...event }),
      });
      if (res.status !== 202) throw new Error(`publish answered ${res.status}: ${await res.text()}`);
    },
  };
}

/** Polls `check` until it returns true or the time runs out. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}
