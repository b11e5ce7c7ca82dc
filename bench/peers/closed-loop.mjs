/**
 * The publisher of the peers benchmark: `parallel` closed loops over a keep-alive undici pool, each
 * posting one ~1 KiB event and waiting for its answer before the next, until `count` events are
 * published. Event ids are `${tag}-${n}` for n in 0..count-1, the type `bench.e2e`, the source
 * given (one per benchmark run, so no system sees an id from an earlier run as a duplicate), and
 * `data.sentAt` the time the request was handed to the pool.
 *
 * Every answer must be a 2xx whose body contains `"status":"accepted"`; anything else, or a network
 * error, is counted as a failure and the event is not retried (it then must not be delivered, and
 * does not count as missing).
 *
 * Driven over IPC by the parent: `{ cmd: 'run', url, path, contentType, authorization, source, tag,
 * count, parallel }` answers with { start, end, ok, failures, firstError, ack: {p50, p99} }.
 */
import { Pool } from 'undici';
import { eventTemplate } from '../event.mjs';
import { answerRuns } from '../helpers/ipc.mjs';

const now = () => performance.timeOrigin + performance.now();
const ACCEPTED = '"status":"accepted"';

async function run({ url, path, contentType, authorization, source, tag, count, parallel }) {
  const make = eventTemplate({ source, type: 'bench.e2e', withSentAt: true });
  const pool = new Pool(url, { connections: parallel, pipelining: 1, keepAliveTimeout: 60_000 });
  const headers = { 'content-type': contentType };
  if (authorization) headers.authorization = authorization;
  const ack = [];
  const failed = [];
  let next = 0;
  let ok = 0;
  let firstError = null;

  async function loop() {
    while (next < count) {
      const n = next++;
      const t = now();
      try {
        const res = await pool.request({ path, method: 'POST', headers, body: make(`${tag}-${n}`, t) });
        const text = await res.body.text();
        ack.push(now() - t);
        if (res.statusCode >= 200 && res.statusCode < 300 && text.includes(ACCEPTED)) ok++;
        else {
          failed.push(n);
          firstError ??= `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
        }
      } catch (error) {
        failed.push(n);
        firstError ??= String(error?.message ?? error);
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
    ok,
    failures: failed.length,
    failed: failed.slice(0, 1000),
    firstError,
    ack: { p50: pct(50), p99: pct(99) },
  };
}

answerRuns(run);
