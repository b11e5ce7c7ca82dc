/**
 * What both hand-rolled dispatchers share, so that they do the same work per delivery as each other
 * and as Junction: the subscriptions they fan out to, a stable delivery id, the retry policy, and
 * one webhook attempt (Standard Webhooks signature, HTTP POST with a timeout, and the reading of the
 * answer: 2xx delivered, 5xx/408/429/timeout/connection error retried, other 4xx permanent).
 *
 * A dispatcher is configured by its parent through the environment:
 *   PEERS_SUBSCRIPTIONS  JSON array of {id, sink, secret}: every event goes to each of them
 *   PEERS_CONCURRENCY    deliveries in flight at once (the dispatcher's own default otherwise)
 *   PORT                 the ingest port (0: any free port, printed as `listening <url>`)
 */
import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { Agent, request } from 'undici';

/** Per-attempt timeout; the same `delivery.timeoutMs` is given to Junction's subscriptions. */
export const TIMEOUT_MS = 5_000;

/**
 * The retry policy of every system in the comparison: exponential backoff with full jitter from
 * 100 ms, ten attempts. pg-boss counts its retry delay in whole seconds, so it cannot follow this
 * and uses its floor of one second (see pgboss-dispatcher.mjs).
 */
export const RETRY = { maxAttempts: 10, initialDelayMs: 100, maxDelayMs: 100 * 2 ** 9 };

/** The subscriptions from PEERS_SUBSCRIPTIONS, each with its signer. */
export function readSubscriptions(env = process.env) {
  const list = JSON.parse(env.PEERS_SUBSCRIPTIONS ?? '[]');
  if (!Array.isArray(list) || list.length === 0)
    throw new Error('PEERS_SUBSCRIPTIONS must be a JSON array of {id, sink, secret}');
  return list.map((s) => ({ id: s.id, sink: s.sink, webhook: new Webhook(s.secret) }));
}

/** Why an ingested body is not an event we can route, or null when it is. */
export function invalidEvent(event) {
  if (event === null || typeof event !== 'object') return 'the body must be a JSON object';
  for (const key of ['id', 'source', 'type'])
    if (typeof event[key] !== 'string' || event[key] === '') return `${key} must be a non-empty string`;
  return null;
}

/**
 * A delivery's id, derived from the subscription and the event's identity (source, id): the
 * queue's job id, so a second publish of the same event is not enqueued twice while the first is
 * kept, and the `webhook-id`, which stays the same across retries. 128 bits, written as a UUID
 * because pg-boss job ids are UUIDs.
 */
export function deliveryId(subscriptionId, event) {
  const h = createHash('sha256').update(`${subscriptionId}\n${event.source}\n${event.id}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Keep-alive connections to the sinks, as any long-running dispatcher would hold them. */
const agent = new Agent({ keepAliveTimeout: 60_000 });

/**
 * One attempt to deliver `event` to `subscription`. Resolves (never rejects) with
 * `{ ok: true }`, or `{ ok: false, retry, reason }` where `retry` says whether another attempt may
 * succeed.
 */
export async function attempt(subscription, webhookId, event) {
  const body = JSON.stringify(event);
  const now = new Date();
  const headers = {
    'content-type': 'application/json',
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': subscription.webhook.sign(webhookId, now, body),
  };
  try {
    const res = await request(subscription.sink, {
      method: 'POST',
      headers,
      body,
      dispatcher: agent,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await res.body.dump();
    const status = res.statusCode;
    if (status >= 200 && status < 300) return { ok: true };
    const retry = status >= 500 || status === 408 || status === 429;
    return { ok: false, retry, reason: `HTTP ${status}` };
  } catch (error) {
    return { ok: false, retry: true, reason: String(error?.message ?? error) };
  }
}

/** Prints the ingest URL the parent waits for, and stops cleanly on SIGTERM. */
export function announce(url, stop) {
  process.stdout.write(`listening ${url}\n`);
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
