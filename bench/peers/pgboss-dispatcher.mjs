/**
 * A webhook dispatcher on pg-boss and PostgreSQL, as a team would write it instead of running
 * Junction: one process with a Fastify ingest endpoint and pg-boss workers.
 *
 * - `POST /events` takes a JSON event (CloudEvents-shaped: id, source, type), inserts one job per
 *   subscription in one `insert` (one INSERT statement, so all or none), and answers 202 once
 *   PostgreSQL has committed it. Each job's id is derived from (subscription, source, id), and
 *   pg-boss inserts with ON CONFLICT DO NOTHING, so a re-publish of a kept event adds nothing.
 * - PEERS_WORKERS workers each fetch up to PEERS_BATCH jobs at a time and POST them to their sinks
 *   in parallel (Standard Webhooks signature, timeout). pg-boss completes a fetched batch when the
 *   handler returns, so the handler first fails the jobs whose attempt failed (`boss.fail`, which
 *   schedules a retry with pg-boss's exponential backoff) and cancels the permanent failures
 *   (other 4xx); completion then touches only the jobs still active. A job whose worker died is
 *   failed by expiry and retried: at least once.
 * - A pg-boss worker waits out its polling interval (0.5 s at the least) after every fetch, even a
 *   full one, which caps a worker at PEERS_BATCH jobs per 0.5 s once ingest stops. So the workers
 *   are woken (`boss.notifyWorker`) after each insert, since ingest shares this process, and
 *   whenever a fetch came back full, since more jobs are then likely waiting.
 *
 * pg-boss counts retry delays in whole seconds (and at least 1 s with backoff), so its retries
 * wait 1-2 s, 2-4 s, 4-8 s... where Junction's and the BullMQ dispatcher's start at 100 ms.
 *
 * Environment: PEERS_SUBSCRIPTIONS (see webhook.mjs), DATABASE_URL
 * (postgres://postgres@127.0.0.1:5432/test), PEERS_PG_SCHEMA (peers_pgboss; dropped at start and at exit),
 * PEERS_WORKERS (4), PEERS_BATCH (50), PORT (0).
 */
import Fastify from 'fastify';
import PgBoss from 'pg-boss';
import postgres from 'postgres';
import { announce, attempt, deliveryId, invalidEvent, RETRY, readSubscriptions } from './webhook.mjs';

const QUEUE = 'deliveries';
const SCHEMA = process.env.PEERS_PG_SCHEMA || 'peers_pgboss';
const WORKERS = Number(process.env.PEERS_WORKERS || 4);
const BATCH = Number(process.env.PEERS_BATCH || 50);
const connectionString = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

const subscriptions = readSubscriptions();
const byId = new Map(subscriptions.map((s) => [s.id, s]));

/** Drops our schema, left over from an interrupted run at start, and at exit. */
async function dropSchema() {
  const sql = postgres(connectionString, { max: 1, onnotice: () => {} });
  await sql.unsafe(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  await sql.end();
}

await dropSchema();

// Workers, ingest and pg-boss's own maintenance each hold a connection while they wait on it.
const boss = new PgBoss({ connectionString, schema: SCHEMA, max: WORKERS + 12 });
boss.on('error', (error) => console.error('pg-boss error', error));

await boss.start();
await boss.createQueue(QUEUE, {
  retryLimit: RETRY.maxAttempts - 1,
  retryDelay: 1,
  retryBackoff: true,
  expireInSeconds: 60,
});

const workerIds = [];
const wakeWorkers = () => {
  for (const id of workerIds) boss.notifyWorker(id);
};

async function handle(jobs) {
  if (jobs.length === BATCH) wakeWorkers();
  const results = await Promise.all(
    jobs.map(async (job) => {
      const subscription = byId.get(job.data.subscription);
      if (!subscription) return { ok: false, retry: false, reason: 'unknown subscription' };
      return attempt(subscription, job.id, job.data.event);
    }),
  );
  const retry = jobs.filter((_, i) => !results[i].ok && results[i].retry).map((j) => j.id);
  const permanent = jobs.filter((_, i) => !results[i].ok && !results[i].retry).map((j) => j.id);
  if (retry.length > 0) await boss.fail(QUEUE, retry, { message: 'delivery attempt failed' });
  if (permanent.length > 0) await boss.cancel(QUEUE, permanent);
}

for (let i = 0; i < WORKERS; i++)
  workerIds.push(await boss.work(QUEUE, { batchSize: BATCH, pollingIntervalSeconds: 0.5 }, handle));

const app = Fastify({ logger: false });
app.post('/events', async (req, reply) => {
  const event = req.body;
  const problem = invalidEvent(event);
  if (problem) return reply.code(400).send({ error: problem });
  await boss.insert(
    subscriptions.map((s) => ({
      name: QUEUE,
      id: deliveryId(s.id, event),
      data: { subscription: s.id, event },
    })),
  );
  wakeWorkers();
  return reply.code(202).send({ id: event.id, status: 'accepted' });
});

const url = await app.listen({ port: Number(process.env.PORT || 0), host: '127.0.0.1' });
announce(url, async () => {
  await app.close();
  await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
  await dropSchema();
});
