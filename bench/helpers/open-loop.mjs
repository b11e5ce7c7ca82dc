/**
 * An open-loop publisher: issues requests on a schedule (rate per second) without waiting for
 * earlier responses, over a keep-alive undici pool, so a slow server shows up as latency instead of
 * as a lower offered rate. Each request is a ~1 KiB structured CloudEvent of type `bench.e2e` whose
 * id is `${tag}-${n}` and whose `data.sentAt` is the time the request was handed to the pool.
 *
 * Driven over IPC by the parent: `{ cmd: 'run', url, path, rate, seconds, tag, authorization,
 * connections, expect }` answers, after the run and its responses, with counts, the
 * acknowledgement latency and the ids sent (0..sent-1).
 */
import { Pool } from 'undici';
import { eventTemplate } from '../event.mjs';
import { answerRuns } from './ipc.mjs';

const now = () => performance.timeOrigin + performance.now();
const make = eventTemplate({ source: '/bench/e2e', type: 'bench.e2e', withSentAt: true });
/** Requests waiting for an answer at most; past it, due requests are counted as dropped, not sent. */
const MAX_OUTSTANDING = 20_000;
const pools = new Map();

function poolFor(url, connections) {
  const key = `${url} ${connections}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
    pools.set(key, pool);
  }
  return pool;
}

async function run({ url, path, rate, seconds, tag, authorization, connections = 64, expect }) {
  const pool = poolFor(url, connections);
  const headers = { 'content-type': 'application/cloudevents+json' };
  if (authorization) headers.authorization = authorization;
  const ack = [];
  let sent = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let notAccepted = 0;
  let dropped = 0;
  let outstanding = 0;
  let firstError = null;
  const statuses = {};

  const send = () => {
    const n = sent++;
    const t = now();
    outstanding++;
    pool
      .request({ path, method: 'POST', headers, body: make(`${tag}-${n}`, t) })
      .then(async (res) => {
        const text = await res.body.text();
        ack.push(now() - t);
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode < 200 || res.statusCode > 299) {
          non2xx++;
          firstError ??= `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
        } else if (expect && !text.includes(expect)) notAccepted++;
        else ok++;
      })
      .catch((error) => {
        errors++;
        firstError ??= String(error?.message ?? error);
      })
      .finally(() => {
        outstanding--;
      });
  };

  const start = now();
  const endAt = start + seconds * 1000;
  let due = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const t = now();
      const target = Math.floor(((Math.min(t, endAt) - start) * rate) / 1000);
      while (due < target) {
        due++;
        if (outstanding >= MAX_OUTSTANDING) dropped++;
        else send();
      }
      if (t >= endAt) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const end = now();
  // Wait for the answers still owed, for a bounded time.
  const deadline = Date.now() + 30_000;
  while (outstanding > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  ack.sort((a, b) => a - b);
  const pct = (p) =>
    ack.length ? ack[Math.min(ack.length, Math.max(1, Math.ceil((p / 100) * ack.length))) - 1] : null;
  return {
    start,
    end,
    offered: due,
    sent,
    ok,
    non2xx,
    errors,
    notAccepted,
    dropped,
    unanswered: outstanding,
    statuses,
    firstError,
    ack: { p50: pct(50), p99: pct(99), max: ack.at(-1) ?? null },
  };
}

answerRuns(run);
