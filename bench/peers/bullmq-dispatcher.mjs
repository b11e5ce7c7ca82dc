/**
 * A webhook dispatcher on BullMQ and Redis, as a team would write it instead of running Junction:
 * one process with a Fastify ingest endpoint and a BullMQ worker.
 *
 * - `POST /events` takes a JSON event (CloudEvents-shaped: id, source, type), adds one job per
 *   subscription in one `addBulk` (a Redis MULTI, so all or none), and answers 202 once Redis has
 *   acknowledged it. Each job's id is derived from (subscription, source, id), so a re-publish of
 *   an event whose jobs are still kept is not enqueued again.
 * - The worker POSTs each job to its sink with a Standard Webhooks signature and a timeout;
 *   5xx/timeouts are retried by BullMQ with exponential backoff and full jitter (`jitter: 1`),
 *   other 4xx fail at once (`UnrecoverableError`). A job is removed from the wait list only when
 *   the handler returns, and a stalled job (worker gone) is picked up again: at least once.
 *
 * Environment: PEERS_SUBSCRIPTIONS (see webhook.mjs), REDIS_URL (redis://127.0.0.1:6379),
 * PEERS_REDIS_PREFIX (junction-peers; every key of this program starts with it, and they are all
 * deleted at start and at exit), PEERS_CONCURRENCY (128), PORT (0).
 *
 * Durability is Redis's: a 202 means the jobs are in Redis's memory, and they survive a Redis
 * restart only as far as its persistence settings (AOF, RDB) allow.
 */
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { announce, attempt, deliveryId, invalidEvent, RETRY, readSubscriptions } from './webhook.mjs';

const QUEUE = 'deliveries';
const PREFIX = process.env.PEERS_REDIS_PREFIX || 'junction-peers';
const CONCURRENCY = Number(process.env.PEERS_CONCURRENCY || 128);
const redisUrl = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
const connection = {
  host: redisUrl.hostname,
  port: Number(redisUrl.port || 6379),
  maxRetriesPerRequest: null,
};

const subscriptions = readSubscriptions();
const byId = new Map(subscriptions.map((s) => [s.id, s]));

/** Deletes every key under our prefix, and nothing else. */
async function deleteOwnKeys() {
  const redis = new Redis(connection);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  await redis.quit();
}

await deleteOwnKeys();

const queue = new Queue(QUEUE, {
  connection,
  prefix: PREFIX,
  defaultJobOptions: {
    attempts: RETRY.maxAttempts,
    backoff: { type: 'exponential', delay: RETRY.initialDelayMs, jitter: 1 },
    // Keep a window of finished jobs (for inspection and de-duplication) without growing forever.
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 10_000 },
  },
});

const worker = new Worker(
  QUEUE,
  async (job) => {
    const subscription = byId.get(job.data.subscription);
    if (!subscription) throw new UnrecoverableError(`unknown subscription ${job.data.subscription}`);
    const result = await attempt(subscription, job.id, job.data.event);
    if (result.ok) return;
    if (!result.retry) throw new UnrecoverableError(result.reason);
    throw new Error(result.reason);
  },
  { connection, prefix: PREFIX, concurrency: CONCURRENCY },
);
worker.on('error', (error) => console.error('worker error', error));

const app = Fastify({ logger: false });
app.post('/events', async (req, reply) => {
  const event = req.body;
  const problem = invalidEvent(event);
  if (problem) return reply.code(400).send({ error: problem });
  await queue.addBulk(
    subscriptions.map((s) => ({
      name: event.type,
      data: { subscription: s.id, event },
      opts: { jobId: deliveryId(s.id, event) },
    })),
  );
  return reply.code(202).send({ id: event.id, status: 'accepted' });
});

const url = await app.listen({ port: Number(process.env.PORT || 0), host: '127.0.0.1' });
await worker.waitUntilReady();
announce(url, async () => {
  await app.close();
  await worker.close();
  await queue.close();
  await deleteOwnKeys();
});
