/**
 * A closed-loop batch publisher: `parallel` loops over a keep-alive undici pool, each posting one
 * `application/cloudevents-batch+json` request of `batchSize` ~1 KiB events at a time, until `count`
 * events are published. Event ids are `${tag}-${n}` for n in 0..count-1, the type `bench.e2e` and
 * `data.sentAt` the time the batch was built.
 *
 * A 503 is the hub's backpressure (its writer is behind, `maxPendingWrites`): the batch is sent again
 * after the Retry-After delay and counted, never dropped. Any other non-2xx or a network error fails
 * the run after the loops stop.
 *
 * Driven over IPC by the parent: `{ cmd: 'run', url, tag, count, batchSize, parallel,
 * authorization }` answers with counts (accepted, duplicate, retried 503s, failures) and timings.
 */
import { Pool } from 'undici';
import { eventTemplate } from '../event.mjs';
import { answerRuns } from './ipc.mjs';

const now = () => performance.timeOrigin + performance.now();
const make = eventTemplate({ source: '/bench/drain', type: 'bench.e2e', withSentAt: true });
/** The longest Retry-After honoured; a longer one is cut short so the benchmark stays bounded. */
const MAX_RETRY_AFTER_MS = 5_000;

async function run({ url, tag, count, batchSize, parallel, authorization }) {
  const pool = new Pool(url, { connections: parallel, pipelining: 1, keepAliveTimeout: 60_000 });
  const headers = { 'content-type': 'application/cloudevents-batch+json' };
  if (authorization) headers.authorization = authorization;
  let next = 0;
  let accepted = 0;
  let duplicate = 0;
  let requests = 0;
  let retried503 = 0;
  let failures = 0;
  let firstError = null;
  const ack = [];

  async function loop() {
    while (next < count && failures === 0) {
      const from = next;
      const to = Math.min(count, from + batchSize);
      next = to;
      const parts = [];
      const t = now();
      for (let n = from; n < to; n++) parts.push(make(`${tag}-${n}`, t));
      const body = `[${parts.join(',')}]`;
      for (;;) {
        const sentAt = now();
        let res;
        let text;
        try {
          requests++;
          res = await pool.request({ path: '/v1/events', method: 'POST', headers, body });
          text = await res.body.text();
        } catch (error) {
          failures++;
          firstError ??= String(error?.message ?? error);
          return;
        }
        if (res.statusCode === 503) {
          retried503++;
          const seconds = Number(res.headers['retry-after']);
          const wait = Number.isFinite(seconds) ? Math.min(seconds * 1000, MAX_RETRY_AFTER_MS) : 100;
          await new Promise((r) => setTimeout(r, Math.max(wait, 10)));
          continue;
        }
        ack.push(now() - sentAt);
        if (res.statusCode < 200 || res.statusCode > 299) {
          failures++;
          firstError ??= `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
          return;
        }
        const results = JSON.parse(text).events ?? [];
        for (const r of results) {
          if (r.status === 'accepted') accepted++;
          else duplicate++;
        }
        if (results.length !== to - from) {
          failures++;
          firstError ??= `answer listed ${results.length} events for a batch of ${to - from}`;
        }
        break;
      }
    }
  }

  const start = now();
  await Promise.all(Array.from({ length: parallel }, loop));
  const end = now();
  await pool.close();
  ack.sort((a, b) => a - b);
  const pct = (p) =>
    ack.length ? ack[Math.min(ack.length, Math.max(1, Math.ceil((p / 100) * ack.length))) - 1] : null;
  return {
    start,
    end,
    published: Math.min(next, count),
    accepted,
    duplicate,
    requests,
    retried503,
    failures,
    firstError,
    ack: { p50: pct(50), p99: pct(99), max: ack.at(-1) ?? null },
  };
}

answerRuns(run);
