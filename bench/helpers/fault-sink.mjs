/**
 * The sink of the fault and drain benchmarks: a node:http server that fails a set share of requests
 * with 500 and answers the rest 200, and that can start out not listening at all, so that the hub
 * meets a refused connection until the parent brings it up.
 *
 * Which requests fail is drawn from a seeded generator (mulberry32), one draw per request in arrival
 * order, so the same seed fails the same request numbers in every run; a fixed "every 5th request"
 * could fall into step with the hub's retry schedule and fail one event on every attempt.
 *
 * Per run (the id prefix before the last `-`) it records the first 2xx of each event id with its
 * receipt time and its latency from `data.sentAt`, the 2xx answers for ids already answered 2xx
 * (duplicates), and the arrival time of every request, failed or not. Commands over IPC:
 *   { cmd: 'set', failShare, seed }   fail this share (0-1) of requests from now on
 *   { cmd: 'reserve' }                find a free port and close it again; answers { url }
 *   { cmd: 'listen' }                 listen (on the reserved port, if any); answers { url, at }
 *   { cmd: 'count', tag }             { unique, requests }
 *   { cmd: 'stats', tag, fromMs, toMs } counts, window counts and latency percentiles
 *   { cmd: 'missing', tag, count }    which of ids 0..count-1 never got a 2xx
 * With `--listen` on the command line it listens at once and prints `listening <url>`.
 */
import { createServer } from 'node:http';

const now = () => performance.timeOrigin + performance.now();

/** mulberry32: a small seeded generator with a full 2^32 period, good enough to pick failures. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let failShare = 0;
let draw = mulberry32(1);
/** Requests that could not be attributed to a run (no id), and requests answered 500, overall. */
let unreadable = 0;
/**
 * tag -> { ids: Set<number>, okAt: number[], lat: number[], reqAt: number[], failed: number,
 * dupes: number }
 */
const runs = new Map();

function runOf(tag) {
  let run = runs.get(tag);
  if (!run) {
    run = { ids: new Set(), okAt: [], lat: [], reqAt: [], failed: 0, dupes: 0 };
    runs.set(tag, run);
  }
  return run;
}

function split(id) {
  const cut = id.lastIndexOf('-');
  return [id.slice(0, cut), Number(id.slice(cut + 1))];
}

const server = createServer((req, res) => {
  const receivedAt = now();
  const fail = failShare > 0 && draw() < failShare;
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(fail ? 500 : 200, { 'content-length': 0 });
    res.end();
    const header = req.headers['ce-id'];
    let id = typeof header === 'string' ? header : undefined;
    let sentAt;
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      id ??= body.id;
      sentAt = body.sentAt ?? body.data?.sentAt;
    } catch {
      /* a body that is not JSON still counts by its ce-id */
    }
    if (typeof id !== 'string') {
      unreadable++;
      return;
    }
    const [tag, n] = split(id);
    const run = runOf(tag);
    run.reqAt.push(receivedAt);
    if (fail) {
      run.failed++;
      return;
    }
    if (run.ids.has(n)) {
      run.dupes++;
      return;
    }
    run.ids.add(n);
    run.okAt.push(receivedAt);
    run.lat.push(typeof sentAt === 'number' ? receivedAt - sentAt : Number.NaN);
  });
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;

let port = 0;
const urlOf = () => `http://127.0.0.1:${port}`;

function listen() {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      port = server.address().port;
      resolve({ url: urlOf(), at: now() });
    });
  });
}

/** A port nothing listens on: bound, then closed, so connections to it are refused until `listen`. */
function reserve() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      port = probe.address().port;
      probe.close(() => resolve({ url: urlOf() }));
    });
  });
}

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

/**
 * Counts of a run, and within [fromMs, toMs]: first 2xx answers received, requests received, and the
 * latency percentiles of the first 2xx answers received in it.
 */
function stats(tag, fromMs = 0, toMs = Number.POSITIVE_INFINITY) {
  const run = runOf(tag);
  let okInWindow = 0;
  let requestsInWindow = 0;
  let firstOk = null;
  let lastOk = null;
  const lat = [];
  for (let i = 0; i < run.okAt.length; i++) {
    const t = run.okAt[i];
    if (firstOk === null || t < firstOk) firstOk = t;
    if (lastOk === null || t > lastOk) lastOk = t;
    if (run.okAt[i] < fromMs || run.okAt[i] > toMs) continue;
    okInWindow++;
    if (!Number.isNaN(run.lat[i])) lat.push(run.lat[i]);
  }
  for (const t of run.reqAt) if (t >= fromMs && t <= toMs) requestsInWindow++;
  lat.sort((a, b) => a - b);
  return {
    unique: run.ids.size,
    requests: run.reqAt.length,
    failed: run.failed,
    dupes: run.dupes,
    unreadable,
    okInWindow,
    requestsInWindow,
    firstOk,
    lastOk,
    latency: { n: lat.length, p50: pct(lat, 50), p99: pct(lat, 99), max: lat.at(-1) ?? null },
  };
}

function missing(tag, count) {
  const ids = runOf(tag).ids;
  const first = [];
  let n = 0;
  for (let i = 0; i < count; i++) {
    if (!ids.has(i)) {
      n++;
      if (first.length < 10) first.push(i);
    }
  }
  return { missing: n, first };
}

process.on('message', async (msg) => {
  let reply;
  try {
    if (msg.cmd === 'set') {
      failShare = msg.failShare;
      draw = mulberry32(msg.seed ?? 1);
      reply = {};
    } else if (msg.cmd === 'reserve') reply = await reserve();
    else if (msg.cmd === 'listen') reply = await listen();
    else if (msg.cmd === 'count') {
      const run = runOf(msg.tag);
      reply = { unique: run.ids.size, requests: run.reqAt.length };
    } else if (msg.cmd === 'stats') reply = stats(msg.tag, msg.fromMs, msg.toMs);
    else if (msg.cmd === 'missing') reply = missing(msg.tag, msg.count);
    else reply = { error: `unknown command ${msg.cmd}` };
  } catch (error) {
    reply = { error: String(error?.message ?? error) };
  }
  process.send({ ...reply, callId: msg.callId });
});

if (process.argv.includes('--listen')) {
  listen().then(({ url }) => process.stdout.write(`listening ${url}\n`));
}
process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));
