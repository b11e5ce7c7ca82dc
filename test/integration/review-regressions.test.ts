/**
 * Regression tests for the fixes from review, against the real hub and real sinks. Each case stalled,
 * overlapped or reordered deliveries before the fix:
 *
 * - a PUT while a send was in flight left the subscription's concurrency count stuck;
 * - a lane that ordering held idle was forgotten, so waking the subscription in another channel
 *   (discard, PUT) never reached it;
 * - dead-lettering an ordered delivery of a disabled subscription did not wake the next of its key;
 * - a replayed and a live delivery of one event were both the head of their key, and went out at once;
 * - a delivery that overflowed a full lane went through the store while later ones overtook it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allDeliveries, InFlight, type ListedDelivery, sleep, writeConfigFile } from '../helpers/delivery.js';
import { publishBatch } from '../helpers/publish.js';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { type Received, type Sink, startSink } from '../helpers/sink.js';

const SOURCE = '/review-regressions';

const eventId = (r: Received): string => String(r.headers['ce-id']);

/** The deliveries of a subscription by event id. */
async function byEvent(hub: HubProcess, subscriptionId: string): Promise<Map<string, ListedDelivery>> {
  return new Map((await allDeliveries(hub, subscriptionId)).map((d) => [d.event?.id ?? '?', d]));
}

/** Waits until every listed event's delivery has `status`. */
async function waitForStatus(
  hub: HubProcess,
  subscriptionId: string,
  ids: string[],
  status: string,
  timeoutMs: number,
): Promise<void> {
  let last = new Map<string, ListedDelivery>();
  await waitFor(
    async () => {
      last = await byEvent(hub, subscriptionId);
      return ids.every((id) => last.get(id)?.status === status);
    },
    timeoutMs,
    `${ids.join(', ')} to be ${status}`,
  ).catch((error: unknown) => {
    const seen = ids.map((id) => `${id}: ${last.get(id)?.status ?? 'none'}`).join(', ');
    throw new Error(`${(error as Error).message} (${seen})`);
  });
}

async function put(hub: HubProcess, id: string, body: Record<string, unknown>): Promise<void> {
  const res = await hub.fetch(`/v1/subscriptions/${id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`PUT answered ${res.status}: ${await res.text()}`);
}

async function post(hub: HubProcess, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await hub.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`POST ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

describe('fixes from review', () => {
  let hub: HubProcess;

  beforeAll(async () => {
    const config = writeConfigFile({
      channels: { orders: { types: ['o.*'] }, customers: { types: ['c.*'] } },
    });
    hub = await startHub({ args: ['--config', config] });
  });

  afterAll(async () => {
    await hub?.stop();
  });

  it('keeps a subscription with concurrency 1 moving after a PUT during a send', async () => {
    const type = 'review.put';
    const inFlight = new InFlight();
    const sink = await startSink((req, res) => {
      inFlight.enter();
      setTimeout(
        () => {
          inFlight.leave();
          res.writeHead(200).end('ok');
        },
        eventId(req) === 'put-e1' ? 1_500 : 0,
      );
    });
    try {
      const body = {
        sink: sink.url,
        types: [type],
        delivery: { rateLimit: { perSecond: 100, burst: 10, concurrency: 1 } },
      };
      const sub = await hub.subscribe(body);
      await hub.publish({ id: 'put-e1', source: SOURCE, type });
      await waitFor(() => sink.received.length === 1, 5_000, 'put-e1 to reach the sink');
      // The same body again: a new policy object with the same limit, while put-e1 holds the one slot.
      await put(hub, sub.id, body);
      expect(inFlight.current, 'the PUT landed while put-e1 was in flight').toBe(1);
      await hub.publish({ id: 'put-e2', source: SOURCE, type });
      await hub.publish({ id: 'put-e3', source: SOURCE, type });

      // put-e1 is answered 1.5 s after it left; the other two take no time at the sink.
      await waitForStatus(hub, sub.id, ['put-e1', 'put-e2', 'put-e3'], 'delivered', 4_000);
      expect(sink.received.map(eventId)).toEqual(['put-e1', 'put-e2', 'put-e3']);
      // The slot was released once, not reset: concurrency 1 still held across the PUT.
      expect(inFlight.max).toBe(1);
    } finally {
      await sink.close();
    }
  });

  it('delivers the held successor in another channel once a blocking dead letter is discarded', async () => {
    const sink = await startSink((req, res) => res.writeHead(eventId(req) === 'x-e1' ? 400 : 200).end());
    try {
      const sub = await hub.subscribe({
        sink: sink.url,
        types: ['o.a', 'c.a'],
        delivery: { ordering: 'partition', onDead: 'block', maxAttempts: 1 },
      });
      await hub.publish({ id: 'x-e1', source: SOURCE, type: 'o.a', partitionkey: 'k' });
      await waitForStatus(hub, sub.id, ['x-e1'], 'dead', 5_000);
      // x-e2 falls in the customers channel, x-e1 in orders: the same key, two lanes.
      await hub.publish({ id: 'x-e2', source: SOURCE, type: 'c.a', partitionkey: 'k' });
      // Long enough for the dispatcher to read the customers lane, find it held, and go idle.
      await sleep(1_000);
      expect(sink.received.map(eventId), 'x-e2 held behind the dead x-e1').toEqual(['x-e1']);
      const held = await byEvent(hub, sub.id);
      expect(held.get('x-e2')?.status).toBe('pending');

      const answer = await post(hub, '/v1/dead-letters/discard', { ids: [held.get('x-e1')!.id] });
      expect(answer.discarded).toBe(1);
      await waitFor(() => sink.received.length === 2, 3_000, 'x-e2 to reach the sink after the discard');
      expect(sink.received.map(eventId)).toEqual(['x-e1', 'x-e2']);
      await waitForStatus(hub, sub.id, ['x-e2'], 'delivered', 2_000);
    } finally {
      await sink.close();
    }
  });

  it('dead-letters every held delivery of a key when disabled, and lets new ones flow when re-enabled', async () => {
    const type = 'review.toggle';
    const sink = await startSink();
    try {
      const body = {
        sink: sink.url,
        types: [type],
        // One request every 5 s: toggle-e1 leaves at once, toggle-e2 then waits for a token in
        // memory and toggle-e3 waits in the store behind it (same key).
        delivery: { ordering: 'partition', rateLimit: { perSecond: 0.2, burst: 1 } },
      };
      const sub = await hub.subscribe(body);
      const key = { source: SOURCE, type, partitionkey: 'k' };
      await publishBatch(hub, [
        { id: 'toggle-e1', ...key },
        { id: 'toggle-e2', ...key },
        { id: 'toggle-e3', ...key },
      ]);
      await waitForStatus(hub, sub.id, ['toggle-e1'], 'delivered', 3_000);
      const before = await byEvent(hub, sub.id);
      expect(before.get('toggle-e2')?.status).toBe('pending');
      expect(before.get('toggle-e3')?.status).toBe('pending');

      await put(hub, sub.id, { ...body, status: 'disabled' });
      // A disabled subscription's deliveries are dead-lettered as they come up: toggle-e2 from memory,
      // then toggle-e3, which only becomes its key's head once toggle-e2 is dead.
      await waitForStatus(hub, sub.id, ['toggle-e2', 'toggle-e3'], 'dead', 3_000);

      await put(hub, sub.id, { ...body, status: 'active' });
      await hub.publish({ id: 'toggle-e4', ...key });
      // The bucket is kept across the PUTs (same limit): toggle-e4 waits out the rest of the 5 s.
      await waitForStatus(hub, sub.id, ['toggle-e4'], 'delivered', 8_000);
      expect(sink.received.map(eventId)).toEqual(['toggle-e1', 'toggle-e4']);
      const after = await allDeliveries(hub, sub.id);
      expect(after.filter((d) => d.status === 'pending' || d.status === 'retrying')).toEqual([]);
    } finally {
      await sink.close();
    }
  });

  it('never has a live and a replayed delivery of one key at the sink at once', async () => {
    const type = 'review.replay';
    const perKey = new Map<string, InFlight>();
    const sink = await startSink((req, res) => {
      const key = String(req.headers['ce-partitionkey']);
      let counter = perKey.get(key);
      if (!counter) {
        counter = new InFlight();
        perKey.set(key, counter);
      }
      const c = counter;
      c.enter();
      setTimeout(() => {
        // Counted out before the answer leaves, so the hub's next request cannot overlap it here.
        c.leave();
        res.writeHead(200).end('ok');
      }, 500);
    });
    try {
      const sub = await hub.subscribe({ sink: sink.url, types: [type], delivery: { ordering: 'partition' } });
      const from = new Date(Date.now() - 1_000).toISOString();
      await hub.publish({ id: 'replay-e1', source: SOURCE, type, partitionkey: 'k' });
      await hub.publish({ id: 'replay-e2', source: SOURCE, type, partitionkey: 'k' });
      // While replay-e1 is still at the sink.
      await post(hub, '/v1/replays', { subscription: sub.id, from });

      await waitFor(
        () => sink.received.length === 4 && perKey.get('k')?.current === 0,
        6_000,
        'two live and two replayed deliveries to be answered',
      );
      expect(perKey.get('k')?.max, 'requests of key k in flight at once').toBe(1);
      // A key's deliveries go by (event, then delivery): each event's live delivery, then its replay.
      const sent = sink.received.map(
        (r) => `${eventId(r)}${r.headers['ce-junctionreplay'] ? ' (replay)' : ''}`,
      );
      expect(sent).toEqual(['replay-e1', 'replay-e1 (replay)', 'replay-e2', 'replay-e2 (replay)']);
    } finally {
      await sink.close();
    }
  });
});

describe('a lane that overflows', () => {
  /** Channels of the filler subscription: each is one more lane, so a lane's share of memory is small. */
  const FILLER_LANES = 150;
  let hub: HubProcess;
  let filler: Sink;

  beforeAll(async () => {
    const channels: Record<string, { types: string[] }> = {};
    for (let i = 0; i < FILLER_LANES; i++) channels[`f${i}`] = { types: [`filler.${i}`] };
    // The breaker stays closed: the filler sink fails every request, and an open breaker changes nothing.
    const config = writeConfigFile({ channels, breaker: { minRequests: 1_000_000 } });
    hub = await startHub({ args: ['--config', config] });
    // Every filler delivery fails once and is retried in 10 minutes: its lane stays known to the
    // dispatcher for the whole test, whatever it does with idle lanes.
    filler = await startSink((_req, res) => res.writeHead(503, { 'retry-after': '600' }).end());
    const types = Array.from({ length: FILLER_LANES }, (_, i) => `filler.${i}`);
    const sub = await hub.subscribe({ sink: filler.url, types });
    await publishBatch(
      hub,
      types.map((type, i) => ({ id: `filler-${i}`, source: SOURCE, type })),
    );
    await waitFor(
      async () =>
        (await allDeliveries(hub, sub.id)).filter((d) => d.status === 'retrying').length === FILLER_LANES,
      10_000,
      'every filler delivery to be retrying',
    );
  });

  afterAll(async () => {
    await hub?.stop();
    await filler?.close();
  });

  it('sends the deliveries published after an overflow behind it, in publish order', async () => {
    const type = 'review.overflow';
    const sink = await startSink();
    try {
      // 5 ms between requests: a burst of 100 fills the lane (16 in memory with 151 lanes) and
      // overflows to the store, and the events published right after find the lane with room.
      // One request at a time, so the sink sees the order they were sent in: two in flight on two
      // connections may arrive the other way round on a loaded machine.
      const sub = await hub.subscribe({
        sink: sink.url,
        types: [type],
        delivery: { rateLimit: { perSecond: 200, burst: 1, concurrency: 1 } },
      });
      const published: string[] = [];
      const burst = Array.from({ length: 100 }, (_, i) => ({ id: `ov-${i}`, source: SOURCE, type }));
      await publishBatch(hub, burst);
      published.push(...burst.map((e) => e.id));
      for (let i = 100; i < 140; i++) {
        await hub.publish({ id: `ov-${i}`, source: SOURCE, type });
        published.push(`ov-${i}`);
        await sleep(10);
      }
      await waitFor(() => sink.received.length >= published.length, 10_000, 'every event to reach the sink');

      const arrived = sink.received.map(eventId);
      // Each event overtaken, with how many later ones went before it: empty when in order.
      const overtaken: string[] = [];
      arrived.forEach((id, at) => {
        const later = arrived
          .slice(0, at)
          .filter((other) => published.indexOf(other) > published.indexOf(id));
        if (later.length > 0) overtaken.push(`${id} after ${later.length} later ones (first ${later[0]})`);
      });
      expect(overtaken.slice(0, 5), `${overtaken.length} events overtaken`).toEqual([]);
      expect(arrived).toEqual(published);
      await waitFor(
        async () => (await allDeliveries(hub, sub.id)).every((d) => d.status === 'delivered'),
        5_000,
        'every delivery to be recorded as delivered',
      );
    } finally {
      await sink.close();
    }
  });
});
