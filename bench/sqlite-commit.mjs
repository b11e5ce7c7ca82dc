/**
 * A diagnostic micro-benchmark of the embedded store's write path, without HTTP: the real
 * SqliteStore and GroupCommit from dist/, appending ~1 KiB events in group commits of a given size,
 * under the default durability (WAL, synchronous=FULL) and under variants that isolate the costs:
 * no fsync (synchronous=OFF) and no automatic WAL checkpoint (wal_autocheckpoint=0).
 *
 *   npm run build && node bench/sqlite-commit.mjs [--events 20000]
 *
 * It prints events/s and the time one group commit holds the event loop (mean and p99), which is
 * time the hub cannot read requests or send responses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventTemplate } from './event.mjs';
import { machine, percentile, ROOT, setting } from './lib.mjs';

const EVENTS = setting('events', 'SQLITE_EVENTS', 20_000);
const { SqliteStore } = await import(join(ROOT, 'dist', 'storage', 'sqlite', 'store.js'));
const make = eventTemplate({ source: '/bench/sqlite', type: 'com.acme.order.created' });

function run(batch, pragmas) {
  const dir = mkdtempSync(join(tmpdir(), 'junction-sqlite-'));
  const store = new SqliteStore(join(dir, 'junction.db'));
  // The connection is private in TypeScript only; a diagnostic may reach it to vary one pragma.
  for (const p of pragmas) store.db.pragma(p);
  const events = Array.from({ length: EVENTS }, (_, i) => JSON.parse(make(`e-${i}`)));
  const flushMs = [];
  const t0 = performance.now();
  for (let i = 0; i < EVENTS; i += batch) {
    for (const e of events.slice(i, i + batch))
      store.append([e], () => []).catch((err) => console.error(err));
    const t = performance.now();
    store.commits.flush();
    flushMs.push(performance.now() - t);
  }
  const seconds = (performance.now() - t0) / 1000;
  store.close();
  rmSync(dir, { recursive: true, force: true });
  flushMs.sort((a, b) => a - b);
  const mean = flushMs.reduce((a, b) => a + b, 0) / flushMs.length;
  return { rate: EVENTS / seconds, mean, p99: percentile(flushMs, 99), max: flushMs.at(-1) };
}

console.log(`sqlite group-commit micro-benchmark: ${EVENTS} events of ~1 KiB per case; ${machine()}`);
const variants = [
  ['default (WAL, synchronous=FULL)', []],
  ['synchronous=OFF (no fsync)', ['synchronous = OFF']],
  ['FULL, wal_autocheckpoint=0', ['wal_autocheckpoint = 0']],
];
for (const batch of [1, 10, 50, 200]) {
  for (const [name, pragmas] of variants) {
    const r = run(batch, pragmas);
    console.log(
      `batch ${String(batch).padStart(3)}  ${name.padEnd(32)} ${String(Math.round(r.rate)).padStart(7)} events/s   ` +
        `commit holds the loop: mean ${r.mean.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(1)} ms`,
    );
  }
}
