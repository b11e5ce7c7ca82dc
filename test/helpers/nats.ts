/**
 * NATS for the bus tests: whether the machine's JetStream server answers, and a launcher for a
 * test's own `nats-server` (for restarts), killed by its owner in afterAll.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/** Whether something accepts TCP connections at the address within `timeoutMs`. */
export function canConnect(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

/** A loopback port free right now (the usual small race is accepted in tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

/** A unique, valid bus prefix per test, so streams and consumers never collide between runs. */
export function uniquePrefix(label: string): string {
  return `t_${label}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/** A `nats-server -js` of the test's own, on one port and store directory across restarts. */
export class OwnNatsServer {
  readonly storeDir = mkdtempSync(join(tmpdir(), 'junction-nats-'));
  #child: ChildProcess | undefined;

  constructor(readonly port: number) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    const child = spawn(
      NATS_SERVER_BIN,
      ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.storeDir],
      { stdio: 'ignore' },
    );
    this.#child = child;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
      if (await canConnect('127.0.0.1', this.port, 200)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`nats-server did not listen on ${this.port} within 15 s`);
  }

  /** SIGKILL: no shutdown, no flush, as a crash would leave it. Resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** Kills the server if it runs and removes its store. */
  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

/** Polls `check` until it holds or `timeoutMs` passes; the message says what was awaited. */
export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
