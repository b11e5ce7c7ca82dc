/**
 * The e2e sink: a node:http server that answers 200 at once and records, per delivery, its receipt
 * time and the publish time the generator put in the event (`data.sentAt`, epoch ms). It takes both
 * a binary-mode delivery from the hub (body = data, id in `ce-id`) and a structured event posted
 * straight by the generator (the baseline). Runs are told apart by the id prefix before the last
 * `-`. The parent reads statistics over IPC: `{ cmd: 'stats', tag, fromMs, toMs }`.
 */
import { createServer } from 'node:http';

const now = () => performance.timeOrigin + performance.now();
/** tag -> { recv: number[], lat: number[], sent: number[], ids: Set<number>, dupes: number } */
const runs = new Map();
let unreadable = 0;

function record(id, sentAt, receivedAt) {
  const cut = id.lastIndexOf('-');
  const tag = id.slice(0, cut);
  const n = Number(id.slice(cut + 1));
  let run = runs.get(tag);
  if (!run) {
    run = { recv: [], lat: [], sent: [], ids: new Set(), dupes: 0 };
    runs.set(tag, run);
  }
  if (run.ids.has(n)) {
    run.dupes++;
    return;
  }
  run.ids.add(n);
  run.recv.push(receivedAt);
  run.sent.push(sentAt);
  run.lat.push(receivedAt - sentAt);
}

const server = createServer((req, res) => {
  const receivedAt = now();
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(200, { 'content-length': 0 });
    res.end();
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const id = req.headers['ce-id'] ?? body.id;
      const sentAt = body.sentAt ?? body.data?.sentAt;
      if (typeof id !== 'string' || typeof sentAt !== 'number') throw new Error('no id or sentAt');
      record(id, sentAt, receivedAt);
    } catch {
      unreadable++;
    }
  });
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

/** Latency percentiles of events published in [fromMs, toMs], and deliveries received in it. */
function stats(tag, fromMs = 0, toMs = Number.POSITIVE_INFINITY) {
  const run = runs.get(tag) ?? { recv: [], lat: [], sent: [], ids: new Set(), dupes: 0 };
  const lat = [];
  let receivedInWindow = 0;
  let lastReceipt = 0;
  for (let i = 0; i < run.lat.length; i++) {
    if (run.sent[i] >= fromMs && run.sent[i] <= toMs) lat.push(run.lat[i]);
    if (run.recv[i] >= fromMs && run.recv[i] <= toMs) receivedInWindow++;
    if (run.recv[i] > lastReceipt) lastReceipt = run.recv[i];
  }
  lat.sort((a, b) => a - b);
  return {
    unique: run.ids.size,
    dupes: run.dupes,
    unreadable,
    receivedInWindow,
    lastReceipt,
    latency: {
      n: lat.length,
      p50: pct(lat, 50),
      p90: pct(lat, 90),
      p99: pct(lat, 99),
      max: lat.at(-1) ?? null,
    },
  };
}

/** Which of ids 0..count-1 of a run never arrived (the first few, and how many). */
function missing(tag, count) {
  const ids = runs.get(tag)?.ids ?? new Set();
  const out = [];
  let n = 0;
  for (let i = 0; i < count; i++) {
    if (!ids.has(i)) {
      n++;
      if (out.length < 10) out.push(i);
    }
  }
  return { missing: n, first: out };
}

process.on('message', (msg) => {
  let reply;
  if (msg.cmd === 'stats') reply = stats(msg.tag, msg.fromMs, msg.toMs);
  else if (msg.cmd === 'count') reply = { unique: runs.get(msg.tag)?.ids.size ?? 0 };
  else if (msg.cmd === 'missing') reply = missing(msg.tag, msg.count);
  else if (msg.cmd === 'forget') {
    runs.delete(msg.tag);
    reply = {};
  } else reply = { error: `unknown command ${msg.cmd}` };
  process.send({ ...reply, callId: msg.callId });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));
