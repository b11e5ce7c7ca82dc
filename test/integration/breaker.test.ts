/**
 * The circuit breaker of a sink endpoint, against the real hub and a real sink that fails every
 * request: it opens within its window, spends no attempt while open (only half-open probes reach the
 * sink), publishes its state changes as the hub's own events, and closes once the sink heals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allDeliveries, sleep, writeConfigFile } from '../helpers/delivery.js';
import { publishBatch } from '../helpers/publish.js';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { type Received, type Sink, startSink } from '../helpers/sink.js';

const policy = {
  windowMs: 2_000,
  minRequests: 10,
  failureRatio: 0.5,
  openMs: 1_000,
  maxOpenMs: 2_000,
  halfOpenProbes: 1,
};
/** Few slots, so that the requests granted before the breaker opens are few and can be counted. */
const deliveryConcurrency = 4;
const EVENTS = 50;
const TYPE = 'com.acme.breaker.tested';

let hub: HubProcess;
/** Fails every request with 500 until `healthy` is set. */
let failing: Sink;
let healthy = false;
/** The webhook-ids the failing sink answered with 200. */
const deliveredIds: string[] = [];
/** Subscribed to the hub's own endpoint events. */
let watcher: Sink;

interface EndpointView {
  endpoint: string;
  state: string;
  requests: number;
  failures: number;
  reopenAt: string | null;
}

interface EndpointEventData {
  endpoint: string;
  subscriptions: string[];
  requests: number;
  failures: number;
  reopenAt: string | null;
}

const ownEvents = (type: string): Received[] => watcher.received.filter((r) => r.headers['ce-type'] === type);
const dataOf = (r: Received) => JSON.parse(r.body.toString()) as EndpointEventData;

async function endpoint(url: string): Promise<EndpointView | undefined> {
  const res = await hub.fetch('/v1/endpoints');
  expect(res.status).toBe(200);
  return ((await res.json()) as EndpointView[]).find((e) => e.endpoint === url);
}

async function attemptsRecorded(subscriptionId: string): Promise<number> {
  return (await allDeliveries(hub, subscriptionId)).reduce((sum, d) => sum + d.attempts, 0);
}

beforeAll(async () => {
  failing = await startSink((req, res) => {
    if (!healthy) {
      res.writeHead(500).end('down');
      return;
    }
    deliveredIds.push(String(req.headers['webhook-id']));
    res.writeHead(200).end('ok');
  });
  watcher = await startSink();
  const config = writeConfigFile({ deliveryConcurrency, breaker: policy });
  hub = await startHub({ args: ['--config', config] });
});

afterAll(async () => {
  await hub?.stop();
  await failing?.close();
  await watcher?.close();
});

describe('circuit breaker', () => {
  it('opens within its window, spends no attempts while open, and closes after the sink heals', async () => {
    const sub = await hub.subscribe({
      sink: failing.url,
      types: [TYPE],
      delivery: { maxAttempts: 100, initialDelayMs: 50, maxDelayMs: 200, timeoutMs: 1_000 },
    });
    const watch = await hub.subscribe({
      sink: watcher.url,
      types: ['dev.junction.endpoint.opened', 'dev.junction.endpoint.closed'],
    });
    await publishBatch(
      hub,
      Array.from({ length: EVENTS }, (_, i) => ({
        id: `b-${i}`,
        source: '/breaker',
        type: TYPE,
        data: { i },
      })),
    );

    // Open: shown by the endpoint listing and by the subscription's stats.
    await waitFor(
      async () => {
        const view = await endpoint(failing.url);
        if (view?.state !== 'open') return false;
        const stats = await hub.fetch(`/v1/subscriptions/${sub.id}/stats`);
        return ((await stats.json()) as { breaker: { state: string } }).breaker.state === 'open';
      },
      5_000,
      'the breaker to open',
    );
    const view = (await endpoint(failing.url))!;
    expect(view.requests).toBeGreaterThanOrEqual(policy.minRequests);
    expect(view.failures).toBe(view.requests);

    // The hub's own event says so, to a subscriber of another endpoint, without the sink's path.
    await waitFor(() => ownEvents('dev.junction.endpoint.opened').length === 1, 5_000, 'the opened event');
    const opened = dataOf(ownEvents('dev.junction.endpoint.opened')[0]!);
    const origin = new URL(failing.url).origin;
    expect(opened.endpoint.startsWith(`${origin}/`)).toBe(true);
    expect(opened.endpoint).not.toContain(new URL(failing.url).pathname);
    expect(opened.subscriptions).toEqual([sub.id]);
    expect(opened.requests).toBeGreaterThanOrEqual(policy.minRequests);
    expect(opened.failures / opened.requests).toBeGreaterThanOrEqual(policy.failureRatio);
    const openedAt = Date.parse(opened.reopenAt!) - policy.openMs;

    // Watch the sink through the open period, a failed probe, and most of the doubled period after.
    const watchUntil = openedAt + policy.openMs + policy.maxOpenMs + 500;
    await sleep(watchUntil - Date.now());

    // Only requests granted before it opened (and in transit then) came before: the minRequests
    // failures that opened it, and at most one more per delivery slot. Each later request is a lone
    // half-open probe, the first after openMs, the next after the doubled period.
    const GRACE_MS = 200;
    const before = failing.received.filter((r) => r.at <= openedAt + GRACE_MS);
    const probes = failing.received.filter((r) => r.at > openedAt + GRACE_MS);
    expect(before.length).toBeGreaterThanOrEqual(policy.minRequests);
    expect(before.length).toBeLessThanOrEqual(policy.minRequests + deliveryConcurrency);
    expect(probes.length).toBeGreaterThanOrEqual(1);
    expect(probes.length).toBeLessThanOrEqual(2);
    expect(probes[0]!.at).toBeGreaterThanOrEqual(openedAt + policy.openMs - 20);
    for (let i = 1; i < probes.length; i++) {
      expect(probes[i]!.at - probes[i - 1]!.at).toBeGreaterThanOrEqual(
        Math.min(2 * policy.openMs, policy.maxOpenMs) - 20,
      );
    }
    // No attempt was spent without a request reaching the sink.
    const seen = failing.received.length;
    await waitFor(
      async () => (await attemptsRecorded(sub.id)) === seen,
      3_000,
      `attempts recorded to equal the ${seen} requests the sink saw`,
    );
    expect(ownEvents('dev.junction.endpoint.closed')).toHaveLength(0);

    // Heal: the next probe succeeds, the breaker closes and the backlog goes out.
    healthy = true;
    const healedAt = Date.now();
    await waitFor(
      async () => {
        const stats = await hub.fetch(`/v1/subscriptions/${sub.id}/stats`);
        return (
          ((await stats.json()) as { deliveries: { delivered?: number } }).deliveries.delivered === EVENTS
        );
      },
      10_000,
      'every event to be delivered',
    );
    expect((await endpoint(failing.url))?.state).toBe('closed');
    expect(new Set(deliveredIds).size).toBe(EVENTS);
    expect(deliveredIds).toHaveLength(EVENTS);
    const deliveries = await allDeliveries(hub, sub.id);
    expect(deliveries.every((d) => d.status === 'delivered')).toBe(true);
    expect(deliveries.reduce((sum, d) => sum + d.attempts, 0)).toBe(failing.received.length);

    await waitFor(() => ownEvents('dev.junction.endpoint.closed').length === 1, 5_000, 'the closed event');
    const closedEvent = ownEvents('dev.junction.endpoint.closed')[0]!;
    expect(closedEvent.at).toBeGreaterThanOrEqual(healedAt);
    const closed = dataOf(closedEvent);
    expect(closed.endpoint).toBe(opened.endpoint);
    expect(closed.subscriptions).toEqual([sub.id]);
    // A failed probe reopens without a second `opened` event.
    expect(ownEvents('dev.junction.endpoint.opened')).toHaveLength(1);
    // The watcher's own deliveries were not held up by the other endpoint's breaker.
    const watched = await allDeliveries(hub, watch.id);
    expect(watched.map((d) => d.status)).toEqual(['delivered', 'delivered']);
  });
});
