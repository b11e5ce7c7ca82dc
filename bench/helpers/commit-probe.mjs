/**
 * A diagnostic preload for the hub (`node --import`): wraps GroupCommit.prototype.flush to record how
 * many writes each group commit carries and how long it holds the event loop, and writes the
 * summary as JSON to $BENCH_COMMIT_PROBE_OUT when the hub exits. It changes no behaviour.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const { GroupCommit } = await import(
  pathToFileURL(join(root, 'dist', 'storage', 'sqlite', 'group-commit.js')).href
);
const sizes = [];
const durations = [];
const original = GroupCommit.prototype.flush;
GroupCommit.prototype.flush = function flush() {
  const n = this.queue.length;
  const t = performance.now();
  const out = original.call(this);
  if (n > 0) {
    sizes.push(n);
    durations.push(performance.now() - t);
  }
  return out;
};

process.on('exit', () => {
  const out = process.env.BENCH_COMMIT_PROBE_OUT;
  if (!out) return;
  const sorted = (a) => [...a].sort((x, y) => x - y);
  const pct = (s, p) =>
    s.length ? s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1] : null;
  const s = sorted(sizes);
  const d = sorted(durations);
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  writeFileSync(
    out,
    JSON.stringify({
      commits: s.length,
      writes: sum(s),
      writesPerCommit: {
        mean: sum(s) / Math.max(1, s.length),
        p50: pct(s, 50),
        p90: pct(s, 90),
        max: s.at(-1) ?? null,
      },
      flushMs: {
        total: sum(d),
        mean: sum(d) / Math.max(1, d.length),
        p50: pct(d, 50),
        p99: pct(d, 99),
        max: d.at(-1) ?? null,
      },
    }),
  );
});
