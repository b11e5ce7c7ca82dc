/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): the share of idle, GC and program time,
 * the functions with the most self time, and the project functions (dist/) with the most total
 * time, so a hotspot can be named by file and line.
 *
 *   node bench/profile-summary.mjs /tmp/prof/CPU.*.cpuprofile [--top 25] [--from-ms 3000] [--to-ms 18000]
 *
 * `--from-ms`/`--to-ms` keep only samples in that window from the start of the profile, to leave out
 * start-up and shutdown (`--timeline` prints the busy share of each second to find them). `--callers=NAME` splits the self time of functions whose name starts with
 * NAME by their direct caller (say, `--callers=sqliteTransaction` to tell the outer commit from the
 * savepoints).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { ROOT, setting } from './lib.mjs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node bench/profile-summary.mjs FILE.cpuprofile [--top N] [--from-ms A] [--to-ms B]');
  process.exit(2);
}
const TOP = setting('top', 'PROFILE_TOP', 25);
const FROM = setting('from-ms', 'PROFILE_FROM_MS', 0);
const TO = setting('to-ms', 'PROFILE_TO_MS', Number.POSITIVE_INFINITY);

const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const where = (cf) => {
  const url = cf.url ? cf.url.replace(/^file:\/\//, '') : '';
  const short = url.startsWith('/') ? relative(ROOT, url) : url;
  return short ? `${short}:${cf.lineNumber + 1}` : '';
};
const keyOf = (n) => `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame)}`.trim();

const CALLERS = process.argv.find((a) => a.startsWith('--callers='))?.slice('--callers='.length);
const self = new Map();
const total = new Map();
const byCaller = new Map();
let sampled = 0;
let elapsed = 0;
for (let i = 0; i < profile.samples.length; i++) {
  elapsed += profile.timeDeltas[i] ?? 0;
  if (elapsed < FROM * 1000 || elapsed > TO * 1000) continue;
  // A sample's time is the gap to the next sample.
  const dt = profile.timeDeltas[i + 1] ?? 0;
  sampled += dt;
  const node = byId.get(profile.samples[i]);
  const k = keyOf(node);
  self.set(k, (self.get(k) ?? 0) + dt);
  if (CALLERS && k.startsWith(CALLERS)) {
    const p = parent.get(node.id);
    const ck = p === undefined ? '(root)' : keyOf(byId.get(p));
    byCaller.set(ck, (byCaller.get(ck) ?? 0) + dt);
  }
  const seen = new Set();
  for (let id = node.id; id !== undefined; id = parent.get(id)) {
    const kk = keyOf(byId.get(id));
    if (seen.has(kk)) continue; // recursion counts once
    seen.add(kk);
    total.set(kk, (total.get(kk) ?? 0) + dt);
  }
}

if (process.argv.includes('--timeline')) {
  // Busy share of each second, to find the window of a run inside a longer profile.
  const busy = [];
  let t = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const sec = Math.floor(t / 1e6);
    busy[sec] ??= [0, 0];
    const dt = profile.timeDeltas[i + 1] ?? 0;
    busy[sec][1] += dt;
    if (keyOf(byId.get(profile.samples[i])) !== '(idle)') busy[sec][0] += dt;
  }
  console.log(
    `busy share per second: ${busy.map((b, i) => `${i}s:${b ? Math.round((100 * b[0]) / Math.max(1, b[1])) : 0}%`).join(' ')}`,
  );
}
const pct = (us) => `${((100 * us) / sampled).toFixed(1).padStart(5)}%`;
const ms = (us) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
console.log(`profile ${file}: ${(sampled / 1e6).toFixed(2)} s sampled`);
for (const special of ['(idle)', '(program)', '(garbage collector)']) {
  console.log(`  ${special.padEnd(20)} ${ms(self.get(special) ?? 0)} ${pct(self.get(special) ?? 0)}`);
}
console.log(`\ntop ${TOP} by self time:`);
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP))
  console.log(`  ${ms(us)} ${pct(us)}  ${k}`);
console.log(`\ntop ${TOP} project functions (dist/) by total time (self + callees):`);
for (const [k, us] of [...total]
  .filter(([k]) => k.includes('dist/'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, TOP)) {
  console.log(`  ${ms(us)} ${pct(us)}  ${k}`);
}
if (CALLERS) {
  console.log(`\nself time of ${CALLERS}* by direct caller:`);
  for (const [k, us] of [...byCaller].sort((a, b) => b[1] - a[1]))
    console.log(`  ${ms(us)} ${pct(us)}  ${k}`);
}
