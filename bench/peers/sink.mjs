/**
 * The sinks of the peers benchmark: `--count K` node:http servers on K ports of 127.0.0.1 (K
 * subscribers of the same event), in one process. Each answers every request after a fixed delay,
 * with 200, or with 503 (no Retry-After) for a seeded random share of requests, so that every
 * system retries the same way on its own backoff.
 *
 * Which requests fail is drawn from one seeded generator (mulberry32) in arrival order across all
 * K servers; a fixed "every 10th request" could fall into step with a retry schedule.
 *
 * Per run (the event id prefix before the last `-`) and server it records the first 2xx of each
 * event id with its receipt time and its latency from `data.sentAt` (the publisher's clock, in the
 * same machine), 2xx answers for ids already answered 2xx (duplicates), and failed requests. One
 * request in SIGNATURE_SAMPLE has its Standard Webhooks signature verified with the secret the
 * parent registered for that server and run.
 *
 * Commands over IPC:
 *   { cmd: 'set', failShare, seed, delayMs }   answer this way from now on
 *   { cmd: 'secrets', tag, secrets }            the signing secret per server for a run
 *   { cmd: 'urls' }                              { urls } of the K servers
 *   { cmd: 'count', tag }                        { unique } over all servers
 *   { cmd: 'stats', tag, count }                 counts, timings and latency percentiles
 * Prints `listening <url> <url> …` once all servers listen.
 */
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const SIGNATURE_SAMPLE = 25;
const now = () => performance.timeOrigin + performance.now();

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

const countArg = process.argv.indexOf('--count');
const COUNT = countArg > 0 ? Number(process.argv[countArg + 1]) : 4;

let failShare = 0;
let delayMs = 0;
let draw = mulberry32(1);
let requestNo = 0;
let unreadable = 0;
/** tag -> per server { ids: Set<number>, okAt: number[], lat: number[], requests, failed, dupes } */
const runs = new Map();
/** tag -> one Webhook verifier per server */
const verifiers = new Map();
const signatures = { checked: 0, bad: 0, firstBad: null };

function runOf(tag) {
  let run = runs.get(tag);
  if (!run) {
    run = Array.from({ length: COUNT }, () => ({
      ids: new Set(),
      okAt: [],
      lat: [],
      requests: 0,
      failed: 0,
      dupes: 0,
    }));
    runs.set(tag, run);
  }
  return run;
}

function handler(index) {
  return (req, res) => {
    const receivedAt = now();
    const fail = failShare > 0 && draw() < failShare;
    const check = ++requestNo % SIGNATURE_SAMPLE === 0;
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const answer = () => {
        res.writeHead(fail ? 503 : 200, { 'content-length': 0 });
        res.end();
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
      let event;
      const raw = Buffer.concat(chunks).toString('utf8');
      try {
        event = JSON.parse(raw);
      } catch {
        unreadable++;
        return;
      }
      if (typeof event?.id !== 'string') {
        unreadable++;
        return;
      }
      const cut = event.id.lastIndexOf('-');
      const tag = event.id.slice(0, cut);
      const n = Number(event.id.slice(cut + 1));
      if (check) verify(tag, index, raw, req.headers);
      const server = runOf(tag)[index];
      server.requests++;
      if (fail) {
        server.failed++;
        return;
      }
      if (server.ids.has(n)) {
        server.dupes++;
        return;
      }
      server.ids.add(n);
      server.okAt.push(receivedAt);
      const sentAt = event.data?.sentAt;
      server.lat.push(typeof sentAt === 'number' ? receivedAt - sentAt : Number.NaN);
    });
  };
}

function verify(tag, index, raw, headers) {
  const verifier = verifiers.get(tag)?.[index];
  if (!verifier) return;
  signatures.checked++;
  try {
    verifier.verify(raw, headers);
  } catch (error) {
    signatures.bad++;
    signatures.firstBad ??= `${tag} server ${index}: ${error.message}`;
  }
}

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

/**
 * Over all servers of a run: unique first-2xx deliveries, duplicates, requests and failures, the
 * first and last first-2xx receipt times, the time by which 99 % of `expected` deliveries had
 * arrived, latency percentiles, and the ids 0..count-1 missing per server.
 */
function stats(tag, count, expected) {
  const run = runOf(tag);
  const okAt = [];
  const lat = [];
  const out = { unique: 0, dupes: 0, requests: 0, failed: 0, missing: 0, firstMissing: [] };
  for (const [index, server] of run.entries()) {
    out.unique += server.ids.size;
    out.dupes += server.dupes;
    out.requests += server.requests;
    out.failed += server.failed;
    for (const t of server.okAt) okAt.push(t);
    for (const l of server.lat) if (!Number.isNaN(l)) lat.push(l);
    if (index < (count.servers ?? COUNT))
      for (let i = 0; i < count.events; i++) {
        if (server.ids.has(i)) continue;
        out.missing++;
        if (out.firstMissing.length < 5) out.firstMissing.push(`${index}:${i}`);
      }
  }
  okAt.sort((a, b) => a - b);
  lat.sort((a, b) => a - b);
  const at99 = Math.ceil(0.99 * expected);
  return {
    ...out,
    firstOk: okAt[0] ?? null,
    lastOk: okAt.at(-1) ?? null,
    ok99At: okAt.length >= at99 ? okAt[at99 - 1] : null,
    latency: { n: lat.length, p50: pct(lat, 50), p99: pct(lat, 99), max: lat.at(-1) ?? null },
    signatures,
    unreadable,
  };
}

let urls = [];
process.on('message', (msg) => {
  let reply;
  try {
    if (msg.cmd === 'set') {
      failShare = msg.failShare ?? 0;
      delayMs = msg.delayMs ?? 0;
      draw = mulberry32(msg.seed ?? 1);
      reply = {};
    } else if (msg.cmd === 'secrets') {
      verifiers.set(
        msg.tag,
        msg.secrets.map((s) => new Webhook(s)),
      );
      reply = {};
    } else if (msg.cmd === 'urls') {
      reply = { urls };
    } else if (msg.cmd === 'count') {
      reply = { unique: runOf(msg.tag).reduce((n, s) => n + s.ids.size, 0) };
    } else if (msg.cmd === 'stats') {
      reply = stats(msg.tag, { events: msg.events, servers: msg.servers }, msg.expected);
    } else reply = { error: `unknown command ${msg.cmd}` };
  } catch (error) {
    reply = { error: String(error?.stack ?? error) };
  }
  process.send({ ...reply, callId: msg.callId });
});

urls = await Promise.all(
  Array.from(
    { length: COUNT },
    (_, i) =>
      new Promise((resolve) => {
        const server = createServer(handler(i));
        server.keepAliveTimeout = 60_000;
        server.headersTimeout = 65_000;
        server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`));
      }),
  ),
);
process.stdout.write(`listening ${urls.join(' ')}\n`);
process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));
