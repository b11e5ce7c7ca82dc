/**
 * The writer thread. Commits under `synchronous=FULL` wait for the disk; on the main thread that
 * wait stopped the event loop, so no request was read or answered during an fsync (measured: a
 * third of the time at ingest load). Here the wait blocks only this thread.
 *
 * Group commit: every batch that queued up while the last commit waited on the disk is drained at
 * once and committed in one transaction, so one fsync makes all of them durable.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { openWriteConnection, type WriteOp, Writer } from './write-ops.js';

export type ToWriter = { batch: number; ops: WriteOp[] } | { close: true };
export type FromWriter =
  | { ready: true }
  | { initError: string }
  | { batch: number; results: ({ ok: true; value: unknown } | { ok: false; error: string })[] }
  | { batch: number; commitError: string }
  | { closed: true };

/** Enough ops per transaction to amortise the fsync; more only delays the first of them. */
const MAX_OPS_PER_COMMIT = 4000;

const port = parentPort!;
let writer: Writer;
try {
  writer = new Writer(openWriteConnection(Database, (workerData as { path: string }).path));
  port.postMessage({ ready: true } satisfies FromWriter);
} catch (error) {
  port.postMessage({
    initError: error instanceof Error ? error.message : String(error),
  } satisfies FromWriter);
  process.exit(1);
}

port.on('message', (first: ToWriter) => {
  const pending: ToWriter[] = [first];
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port))
    pending.push(m.message as ToWriter);

  let closing = false;
  let group: { batch: number; ops: WriteOp[] }[] = [];
  let size = 0;
  const flush = () => {
    if (group.length === 0) return;
    const ops = group.flatMap((g) => g.ops);
    try {
      const results = writer.commit(ops);
      let i = 0;
      for (const g of group) {
        port.postMessage({
          batch: g.batch,
          results: results.slice(i, i + g.ops.length),
        } satisfies FromWriter);
        i += g.ops.length;
      }
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing in the group is durable.
      const commitError = error instanceof Error ? error.message : String(error);
      for (const g of group) port.postMessage({ batch: g.batch, commitError } satisfies FromWriter);
    }
    group = [];
    size = 0;
  };
  for (const m of pending) {
    if ('close' in m) {
      closing = true;
      continue;
    }
    group.push(m);
    size += m.ops.length;
    if (size >= MAX_OPS_PER_COMMIT) flush();
  }
  flush();
  if (closing) {
    writer.close();
    port.postMessage({ closed: true } satisfies FromWriter);
    port.close();
  }
});
