/**
 * A diagnostic preload for the hub (`node --import`): in the storage writer thread, wraps
 * `Writer.prototype.commit` (dist/storage/sqlite/write-ops.js) to record how many ops each commit
 * carries (one commit = one transaction = one fsync under synchronous=FULL) and how long it takes,
 * and writes the summary as JSON to $BENCH_COMMIT_PROBE_OUT. It changes no behaviour.
 *
 * Worker threads inherit `process.execArgv`, so a `--import` given to the hub also runs in its
 * writer thread before `writer-worker.js` is evaluated; there the module cache holds the same
 * write-ops.js instance, so the prototype is patched before the first commit. On the main thread
 * this preload does nothing.
 *
 * The summary is written when the writer thread exits (the store closing it at shutdown) and also
 * every second while commits happen, so a thread that is terminated instead leaves the last one.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread, threadId } from 'node:worker_threads';

const OUT = process.env.BENCH_COMMIT_PROBE_OUT;

if (!isMainThread && OUT) {
  const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
  const { Writer } = await import(
    pathToFileURL(join(root, 'dist', 'storage', 'sqlite', 'write-ops.js')).href
  );
  const ops = [];
  const events = [];
  const durations = [];
  let firstAt = null;
  let lastAt = null;
  let dirty = false;

  const original = Writer.prototype.commit;
  Writer.prototype.commit = function commit(batch) {
    const t = performance.now();
    try {
      return original.call(this, batch);
    } finally {
      const end = performance.now();
      firstAt ??= t;
      lastAt = end;
      ops.push(batch.length);
      let n = 0;
      for (const op of batch) if (op.kind === 'append') n += op.events.length;
      events.push(n);
      durations.push(end - t);
      dirty = true;
    }
  };

  const pct = (s, p) =>
    s.length ? s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1] : null;
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  const r3 = (n) => (n === null ? null : Number(n.toFixed(3)));
  const write = () => {
    dirty = false;
    const o = [...ops].sort((x, y) => x - y);
    const d = [...durations].sort((x, y) => x - y);
    const commitMs = sum(d);
    const spanMs = firstAt === null ? 0 : lastAt - firstAt;
    writeFileSync(
      OUT,
      JSON.stringify({
        thread: threadId,
        commits: o.length,
        ops: sum(o),
        appendedEvents: sum(events),
        opsPerCommit: {
          mean: r3(sum(o) / Math.max(1, o.length)),
          p50: pct(o, 50),
          p90: pct(o, 90),
          p99: pct(o, 99),
          max: o.at(-1) ?? null,
        },
        commitMs: {
          total: r3(commitMs),
          mean: r3(commitMs / Math.max(1, d.length)),
          p50: r3(pct(d, 50)),
          p90: r3(pct(d, 90)),
          p99: r3(pct(d, 99)),
          max: r3(d.at(-1) ?? null),
        },
        // Share of the time from the first commit's start to the last one's end spent committing;
        // the rest the thread waited for work.
        busyShare: spanMs > 0 ? r3(commitMs / spanMs) : null,
      }),
    );
  };
  setInterval(() => {
    if (dirty) write();
  }, 1000).unref();
  process.on('exit', write);
}
