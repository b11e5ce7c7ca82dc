/**
 * `junction tail` as a user runs it, against the real hub process: filtered output in both formats,
 * a resume without loss across a hub restart on the same port and data, and errors that stop it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { publishBatch } from '../helpers/publish.js';
import { CLI, type HubProcess, startHub, TEST_KEY, waitFor } from '../helpers/server.js';
import { openStream } from '../helpers/sse-client.js';

interface Tail {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  lines(): string[];
  exited: Promise<number | null>;
}

const running: ChildProcess[] = [];
const hubs: HubProcess[] = [];

function startTail(url: string, args: string[]): Tail {
  const proc = spawn(process.execPath, [CLI, 'tail', '--url', url, ...args], {
    env: { PATH: process.env.PATH ?? '', JUNCTION_KEY: TEST_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    lines: () => out.split('\n').filter((l) => l !== ''),
    exited,
  };
}

async function hub(options: Parameters<typeof startHub>[0] = {}): Promise<HubProcess> {
  const started = await startHub(options);
  hubs.push(started);
  return started;
}

let probes = 0;

/**
 * Waits until the tail's stream is open: a tail without a cursor starts at the next event, so
 * probes (`fields` plus an id starting with `probe-`) go out until it shows one.
 */
async function connected(tail: Tail, h: HubProcess, fields: Record<string, unknown>): Promise<void> {
  await waitFor(
    async () => {
      await publishBatch(h, [{ source: '/cli', ...fields, id: `probe-${++probes}` }]);
      await new Promise((r) => setTimeout(r, 150));
      return tail.stdout().includes('probe-');
    },
    10_000,
    'the tail to show a probe',
  );
}

/** The tail's lines other than probes. */
function shown(tail: Tail): string[] {
  return tail.lines().filter((l) => !l.includes('probe-'));
}

afterEach(async () => {
  for (const proc of running.splice(0)) if (proc.exitCode === null) proc.kill('SIGKILL');
  for (const h of hubs.splice(0)) if (h.proc.exitCode === null) await h.stop();
});

describe('junction tail', () => {
  it('prints matching events as JSON lines, and stops with 130 on SIGINT', async () => {
    const h = await hub();
    const tail = startTail(h.url, ['--type', 'app.probe', '--type', 'app.order', '--format', 'json']);
    await connected(tail, h, { type: 'app.probe' });
    await publishBatch(h, [
      { id: 'o1', source: '/cli', type: 'app.order', data: { total: 5 } },
      { id: 'x1', source: '/cli', type: 'app.other' },
      { id: 'o2', source: '/cli', type: 'app.order', subject: 'orders/2' },
    ]);
    await waitFor(() => shown(tail).length >= 2, 10_000, 'two lines');
    await new Promise((r) => setTimeout(r, 300));
    const events = shown(tail).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.id)).toEqual(['o1', 'o2']);
    expect(events[0]).toMatchObject({ specversion: '1.0', type: 'app.order', data: { total: 5 } });
    tail.proc.kill('SIGINT');
    expect(await tail.exited).toBe(130);
  });

  it('prints a readable line per event, starting with the cursor --since takes', async () => {
    const h = await hub();
    const tail = startTail(h.url, ['--subject', 'orders/', '--sql', "region = 'eu'"]);
    await connected(tail, h, { type: 'a.p', subject: 'orders/0', region: 'eu' });
    await publishBatch(h, [
      { id: 'p1', source: '/cli', type: 'a.b', subject: 'orders/1', region: 'eu' },
      { id: 'p2', source: '/cli', type: 'a.b', subject: 'orders/2', region: 'us' },
      { id: 'p3', source: '/cli', type: 'a.c', subject: 'orders/3', region: 'eu', data: { n: 3 } },
    ]);
    await waitFor(() => shown(tail).length >= 2, 10_000, 'two lines');
    const [first, second] = shown(tail);
    expect(first).toMatch(/^\d+ {2}- {2}a\.b {2}\/cli {2}p1 {2}orders\/1 {2}-$/);
    expect(second).toMatch(/^\d+ {2}- {2}a\.c {2}\/cli {2}p3 {2}orders\/3 {2}\{"n":3\}$/);
    tail.proc.kill('SIGINT');
    await tail.exited;

    // --since replays what came after a printed cursor.
    const since = first!.split(' ')[0]!;
    const replay = startTail(h.url, ['--since', since, '--format', 'json']);
    await waitFor(() => replay.lines().length >= 2, 10_000, 'the replayed events');
    expect(replay.lines().map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['p2', 'p3']);
  });

  it('resumes without loss when the hub restarts on the same port and data', async () => {
    const first = await hub();
    const port = new URL(first.url).port;
    const tail = startTail(first.url, ['--type', 'app.flow', '--format', 'json']);
    await connected(tail, first, { type: 'app.flow' });
    await publishBatch(first, [
      { id: 'f0', source: '/cli', type: 'app.flow' },
      { id: 'f1', source: '/cli', type: 'app.flow' },
      { id: 'f2', source: '/cli', type: 'app.flow' },
    ]);
    await waitFor(() => shown(tail).length >= 3, 10_000, 'three lines');
    expect(await first.stop()).toBe(0);
    const second = await hub({ dataDir: first.dataDir, args: ['--port', port] });
    // Published before the tail is back: it must fetch them from the store with Last-Event-ID.
    await publishBatch(second, [
      { id: 'f3', source: '/cli', type: 'app.flow' },
      { id: 'f4', source: '/cli', type: 'app.flow' },
    ]);
    await waitFor(() => shown(tail).length >= 5, 20_000, 'five lines');
    await publishBatch(second, [{ id: 'f5', source: '/cli', type: 'app.flow' }]);
    await waitFor(() => shown(tail).length >= 6, 10_000, 'six lines');
    await new Promise((r) => setTimeout(r, 300));
    expect(shown(tail).map((l) => (JSON.parse(l) as { id: string }).id)).toEqual([
      'f0',
      'f1',
      'f2',
      'f3',
      'f4',
      'f5',
    ]);
    expect(tail.stderr()).toMatch(/reconnect/);
  }, 60_000);

  it('waits out a hub whose streams are all taken, from the first connection on, then follows it', async () => {
    const h = await hub();
    const auth = { authorization: `Bearer ${TEST_KEY}` };
    const taken = await Promise.all(
      Array.from({ length: 100 }, () => openStream(h.url, '/v1/events/stream', auth)),
    );
    expect(taken.map((c) => c.status)).toEqual(Array(100).fill(200));
    const tail = startTail(h.url, ['--format', 'json']);
    // Refused with 503 and Retry-After: 1, at least twice, and still running.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(tail.proc.exitCode).toBeNull();
    expect(tail.stderr()).toMatch(/503/);
    expect(tail.stderr()).not.toContain('Is `junction serve` running?');
    taken[0]!.drop();
    await connected(tail, h, { type: 'app.probe' });
    expect(tail.stderr()).toMatch(/connected/);
    for (const c of taken.slice(1)) c.drop();
  }, 30_000);

  it('stops with the problem on a bad filter or key, and with a connection error when no hub answers', async () => {
    const h = await hub();
    const badSql = await runCli(['tail', '--url', h.url, '--sql', 'type ='], { JUNCTION_KEY: TEST_KEY });
    expect(badSql.code).toBe(1);
    expect(badSql.stderr).toContain('/sql:');
    const badKey = await runCli(['tail', '--url', h.url], { JUNCTION_KEY: 'wrong' });
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toContain('HTTP 401');
    const nobody = await runCli(['tail', '--url', 'http://127.0.0.1:9'], { JUNCTION_KEY: TEST_KEY });
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain('cannot stream from http://127.0.0.1:9');
    const badSince = await runCli(['tail', '--since', 'abc'], {});
    expect(badSince.code).toBe(2);
    const help = await runCli(['tail', '--help'], {});
    expect(help.code).toBe(0);
    for (const option of [
      '--type',
      '--source',
      '--subject',
      '--sql',
      '--since',
      '--format',
      '--url',
      '--key',
    ]) {
      expect(help.stdout).toContain(option);
    }
  });
});
