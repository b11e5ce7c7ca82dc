import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_DELIVERY_POLICY } from '../../src/core/config.js';
import { UnavailableError } from '../../src/core/errors.js';
import type { CloudEvent } from '../../src/core/event.js';
import type {
  Attempt,
  AttemptResult,
  Delivery,
  Lane,
  Replay,
  ReplayDelivery,
  Routed,
  Subscription,
} from '../../src/storage/ports.js';
import { MIGRATIONS } from '../../src/storage/sqlite/migrations.js';
import { openSqliteStore, type SqliteStore } from '../../src/storage/sqlite/store.js';

function sub(id: string, types: string[] = []): Subscription {
  return {
    id,
    status: 'active',
    statusReason: null,
    types,
    filters: [],
    sink: `https://example.com/${id}`,
    protocol: 'HTTP',
    protocolsettings: { headers: { 'x-team': 'crm' } },
    delivery: { ...DEFAULT_DELIVERY_POLICY },
    secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    failingSince: null,
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
  };
}

function ev(id: string, extra: Record<string, unknown> = {}): CloudEvent {
  return {
    specversion: '1.0',
    id,
    source: '/shop',
    type: 'com.acme.order.created',
    data: { id, total: 1 },
    ...extra,
  };
}

function attempt(n: number, outcome: Attempt['outcome'], extra: Partial<Attempt> = {}): Attempt {
  return {
    n,
    at: new Date().toISOString(),
    status: outcome === 'delivered' ? 200 : 500,
    outcome,
    latencyMs: 12.5,
    error: outcome === 'delivered' ? null : 'HTTP 500',
    response: 'body excerpt',
    ...extra,
  };
}

/** The route of an append: the subscriptions an event goes to, on a channel. */
const routed = (subscriptions: Subscription[], channel = 'default'): Routed => ({ channel, subscriptions });
const none = () => routed([]);
const FAR = new Date('2999-01-01T00:00:00.000Z');

/** Calls `fn` with the clock at `time`: the store stamps what it writes with the time of the call. */
function at<T>(time: string, fn: () => T): T {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date(time));
  try {
    return fn();
  } finally {
    vi.useRealTimers();
  }
}

const ids = (due: { delivery: Delivery }[]) => due.map((d) => d.delivery.id);
const eventIds = (due: { event: { event: CloudEvent } }[]) => due.map((d) => d.event.event.id);

describe('SqliteStore', () => {
  let dir: string;
  let store: SqliteStore;
  let a: Subscription;
  let b: Subscription;
  const toA = () => routed([a]);
  const toB = () => routed([b]);
  const toAB = () => routed([a, b]);
  const laneA: Lane = { subscriptionId: 'sub_a', channel: 'default' };
  /** Due deliveries of sub_a's default lane. */
  const dueA = (now: Date, limit = 10, exclude: ReadonlySet<string> = new Set()) =>
    store.dueInLane(laneA, now, limit, exclude);
  /** Due deliveries of every lane with work, as the dispatcher would gather them. */
  const dueAll = async (now: Date, limit = 1_000) =>
    (
      await Promise.all((await store.lanes()).map((lane) => store.dueInLane(lane, now, limit, new Set())))
    ).flat();

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'junction-store-'));
    store = await openSqliteStore(dir);
    a = sub('sub_a', ['com.acme.order.created']);
    b = sub('sub_b');
    await store.saveSubscription(a);
    await store.saveSubscription(b);
  });

  afterEach(async () => {
    vi.useRealTimers();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Appends one event routed to `route`, returning its deliveries. */
  async function one(id: string, route: () => Routed = toA): Promise<Delivery[]> {
    const { deliveries } = await store.append([ev(id)], route);
    return deliveries.map((d) => d.delivery);
  }

  describe('subscriptions', () => {
    it('creates, reads, lists, replaces and deletes', async () => {
      expect(await store.getSubscription('sub_a')).toEqual(a);
      expect((await store.listSubscriptions()).map((s) => s.id)).toEqual(['sub_a', 'sub_b']);
      await store.saveSubscription({ ...a, sink: 'https://example.com/new' });
      expect((await store.getSubscription('sub_a'))!.sink).toBe('https://example.com/new');
      await store.saveSubscription({ ...a, status: 'disabled', statusReason: 'the sink answered 410 Gone' });
      expect(await store.getSubscription('sub_a')).toMatchObject({
        status: 'disabled',
        statusReason: 'the sink answered 410 Gone',
      });
      expect(await store.getSubscription('sub_missing')).toBeUndefined();
      expect(await store.deleteSubscription('sub_b')).toBe(0);
      expect(await store.deleteSubscription('sub_b')).toBeNull();
      expect((await store.listSubscriptions()).map((s) => s.id)).toEqual(['sub_a']);
    });
  });

  describe('append', () => {
    it('accepts new events and creates a pending delivery per routed subscription', async () => {
      const before = Date.now();
      const { results, deliveries } = await store.append([ev('e1'), ev('e2')], (e) =>
        routed(e.id === 'e1' ? [a, b] : [a]),
      );
      expect(results).toEqual([
        { source: '/shop', id: 'e1', status: 'accepted' },
        { source: '/shop', id: 'e2', status: 'accepted' },
      ]);
      expect(deliveries.map((d) => [d.event.event.id, d.delivery.subscriptionId])).toEqual([
        ['e1', 'sub_a'],
        ['e1', 'sub_b'],
        ['e2', 'sub_a'],
      ]);
      const first = deliveries[0]!;
      expect(first.event.event).toEqual(ev('e1'));
      expect(first.delivery).toMatchObject({
        status: 'pending',
        attempts: 0,
        budgetAttempts: 0,
        lastError: null,
        eventSeq: first.event.seq,
        channel: 'default',
        orderKey: null,
        replayId: null,
      });
      expect(first.delivery.id).toMatch(/^dlv_/);
      expect(first.delivery.webhookId).toMatch(/^msg_/);
      expect(Date.parse(first.delivery.nextAttemptAt!)).toBeGreaterThanOrEqual(before - 1);
      expect(first.delivery.nextAttemptAt).toBe(first.delivery.budgetSince);
      expect(deliveries[2]!.event.seq).toBeGreaterThan(first.event.seq);
      expect(new Set(deliveries.map((d) => d.delivery.webhookId)).size).toBe(3);

      const looked = (await store.lookupEvent('/shop', 'e1'))!;
      expect(looked.event.event).toEqual(ev('e1'));
      expect(looked.deliveries.map((d) => d.id).sort()).toEqual(
        [deliveries[0]!.delivery.id, deliveries[1]!.delivery.id].sort(),
      );
    });

    it('accepts an event routed nowhere, with no deliveries', async () => {
      const { results, deliveries } = await store.append([ev('e1')], none);
      expect(results[0]!.status).toBe('accepted');
      expect(deliveries).toEqual([]);
      expect((await store.lookupEvent('/shop', 'e1'))!.deliveries).toEqual([]);
    });

    it('a second (source, id) is a duplicate and creates no deliveries', async () => {
      await store.append([ev('e1')], toA);
      const { results, deliveries } = await store.append([ev('e1', { type: 'other' })], toAB);
      expect(results).toEqual([{ source: '/shop', id: 'e1', status: 'duplicate' }]);
      expect(deliveries).toEqual([]);
      const looked = (await store.lookupEvent('/shop', 'e1'))!;
      expect(looked.event.event.type).toBe('com.acme.order.created');
      expect(looked.deliveries).toHaveLength(1);
    });

    it('the same id from another source is a different event', async () => {
      const { results } = await store.append([ev('e1'), ev('e1', { source: '/crm' })], toA);
      expect(results.map((r) => r.status)).toEqual(['accepted', 'accepted']);
    });

    it('detects duplicates within one append call', async () => {
      const { results, deliveries } = await store.append([ev('e1'), ev('e2'), ev('e1'), ev('e1')], toA);
      expect(results.map((r) => `${r.id}:${r.status}`)).toEqual([
        'e1:accepted',
        'e2:accepted',
        'e1:duplicate',
        'e1:duplicate',
      ]);
      expect(deliveries).toHaveLength(2);
      expect((await store.lookupEvent('/shop', 'e1'))!.deliveries).toHaveLength(1);
    });

    it('group-commits concurrent appends and keeps duplicates out across them', async () => {
      const calls = Array.from({ length: 200 }, (_, i) => store.append([ev(`e${i % 150}`)], toA));
      // Nothing is durable synchronously: every append waits for the shared commit.
      expect(await store.lookupEvent('/shop', 'e0')).toBeUndefined();
      const outcomes = await Promise.all(calls);
      outcomes.forEach((o, i) => {
        expect(o.results).toEqual([
          { source: '/shop', id: `e${i % 150}`, status: i < 150 ? 'accepted' : 'duplicate' },
        ]);
        expect(o.deliveries).toHaveLength(i < 150 ? 1 : 0);
      });
      const seqs = outcomes.slice(0, 150).map((o) => o.deliveries[0]!.event.seq);
      expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
      expect(await dueAll(FAR)).toHaveLength(150);
    });

    it('an append that throws in route rejects alone, and writes nothing of its own', async () => {
      const good = store.append([ev('ok')], toA);
      const bad = store.append([ev('boom')], () => {
        throw new Error('route failed');
      });
      await expect(bad).rejects.toThrow('route failed');
      await expect(good).resolves.toMatchObject({ results: [{ id: 'ok', status: 'accepted' }] });
      expect(await store.lookupEvent('/shop', 'boom')).toBeUndefined();
      expect(await store.lookupEvent('/shop', 'ok')).toBeDefined();
    });
  });

  describe('due', () => {
    it('returns pending deliveries with their event, oldest due first, up to the limit', async () => {
      const [d1] = await one('e1');
      const [d2] = await one('e2');
      const [d3] = await one('e3');
      const now = Date.now();
      await store.recordAttempt(d1!.id, {
        kind: 'retry',
        attempt: attempt(1, 'retry'),
        nextAttemptAt: new Date(now + 3_000),
      });
      await store.recordAttempt(d2!.id, {
        kind: 'retry',
        attempt: attempt(1, 'retry'),
        nextAttemptAt: new Date(now + 1_000),
      });
      await store.recordAttempt(d3!.id, {
        kind: 'retry',
        attempt: attempt(1, 'retry'),
        nextAttemptAt: new Date(now + 2_000),
      });
      expect(await dueA(new Date(now))).toEqual([]);
      expect((await dueA(new Date(now + 1_500))).map((d) => d.delivery.id)).toEqual([d2!.id]);
      const all = await dueA(new Date(now + 5_000));
      expect(all.map((d) => d.delivery.id)).toEqual([d2!.id, d3!.id, d1!.id]);
      expect(all[0]!.event.event).toEqual(ev('e2'));
      expect(all[0]!.event.seq).toBe(d2!.eventSeq);
      expect((await dueA(new Date(now + 5_000), 2)).map((d) => d.delivery.id)).toEqual([d2!.id, d3!.id]);
      expect((await store.nextDueInLane(laneA, new Date(now)))!.getTime()).toBe(now + 1_000);
      // Only what is still ahead counts: a time already past is due, not a reason to wake.
      expect((await store.nextDueInLane(laneA, new Date(now + 1_500)))!.getTime()).toBe(now + 2_000);
    });

    it('skips excluded ids and still fills the limit', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await one(`e${i}`))[0]!.id);
      const got = await dueA(FAR, 3, new Set([ids[0]!, ids[1]!]));
      expect(got).toHaveLength(3);
      expect(got.map((d) => d.delivery.id).sort()).toEqual(ids.slice(2).sort());
      expect(await dueA(FAR, 10, new Set(ids))).toEqual([]);
    });

    it('leaves out delivered and dead deliveries', async () => {
      const [d1] = await one('e1');
      const [d2] = await one('e2');
      const [d3] = await one('e3');
      await store.recordAttempt(d1!.id, { kind: 'delivered', attempt: attempt(1, 'delivered') });
      await store.recordAttempt(d2!.id, {
        kind: 'dead',
        attempt: attempt(1, 'dead'),
        reason: 'HTTP 404 is permanent',
      });
      expect((await dueA(FAR)).map((d) => d.delivery.id)).toEqual([d3!.id]);
      await store.recordAttempt(d3!.id, { kind: 'delivered', attempt: attempt(1, 'delivered') });
      expect(await dueA(FAR)).toEqual([]);
      expect(await store.nextDueInLane(laneA, new Date(0))).toBeNull();
      expect(await store.lanes()).toEqual([]);
    });
  });

  describe('recordAttempt', () => {
    it('delivered: status delivered, no next attempt, counted', async () => {
      const [d] = await one('e1');
      await store.recordAttempt(d!.id, { kind: 'delivered', attempt: attempt(1, 'delivered') });
      const got = (await store.lookupEvent('/shop', 'e1'))!.deliveries[0]!;
      expect(got).toMatchObject({
        status: 'delivered',
        nextAttemptAt: null,
        attempts: 1,
        budgetAttempts: 1,
        lastError: null,
      });
      expect(got.webhookId).toBe(d!.webhookId);
    });

    it('retry: status retrying, due at the given time, error kept', async () => {
      const [d] = await one('e1');
      const next = new Date(Date.now() + 60_000);
      await store.recordAttempt(d!.id, {
        kind: 'retry',
        attempt: attempt(1, 'retry', { error: 'HTTP 503' }),
        nextAttemptAt: next,
      });
      const got = (await store.lookupEvent('/shop', 'e1'))!.deliveries[0]!;
      expect(got).toMatchObject({
        status: 'retrying',
        nextAttemptAt: next.toISOString(),
        attempts: 1,
        lastError: 'HTTP 503',
      });
      // A connection error has no status; its message is the last error.
      await store.recordAttempt(d!.id, {
        kind: 'retry',
        attempt: attempt(2, 'retry', { status: null, error: 'connect ECONNREFUSED', response: null }),
        nextAttemptAt: next,
      });
      expect((await store.lookupEvent('/shop', 'e1'))!.deliveries[0]).toMatchObject({
        attempts: 2,
        lastError: 'connect ECONNREFUSED',
      });
    });

    it('dead: status dead, no next attempt, the reason as last error', async () => {
      const [d] = await one('e1');
      await store.recordAttempt(d!.id, {
        kind: 'dead',
        attempt: attempt(1, 'dead', { status: 404, error: 'HTTP 404' }),
        reason: 'HTTP 404 is permanent',
      });
      expect((await store.lookupEvent('/shop', 'e1'))!.deliveries[0]).toMatchObject({
        status: 'dead',
        nextAttemptAt: null,
        lastError: 'HTTP 404 is permanent',
      });
    });

    it('disable: the delivery ends dead with the reason', async () => {
      const [d] = await one('e1');
      await store.recordAttempt(d!.id, {
        kind: 'disable',
        attempt: attempt(1, 'disabled', { status: 410, error: 'HTTP 410: the sink is gone' }),
        reason: 'the sink answered 410 Gone',
      });
      expect((await store.lookupEvent('/shop', 'e1'))!.deliveries[0]).toMatchObject({
        status: 'dead',
        nextAttemptAt: null,
        lastError: 'the sink answered 410 Gone',
      });
    });

    it('keeps every attempt in the attempt log, in order', async () => {
      const [d] = await one('e1');
      const t0 = Date.parse('2024-05-01T12:00:00.000Z');
      const results: AttemptResult[] = [
        {
          kind: 'retry',
          attempt: {
            n: 1,
            at: new Date(t0).toISOString(),
            status: null,
            outcome: 'retry',
            latencyMs: 15000,
            error: 'timeout',
            response: null,
          },
          nextAttemptAt: new Date(Date.now() + 1_000),
        },
        {
          kind: 'retry',
          attempt: {
            n: 2,
            at: new Date(t0 + 1_000).toISOString(),
            status: 503,
            outcome: 'retry',
            latencyMs: 3.25,
            error: 'HTTP 503',
            response: 'busy',
          },
          nextAttemptAt: new Date(Date.now() + 2_000),
        },
        {
          kind: 'delivered',
          attempt: {
            n: 3,
            at: new Date(t0 + 5_000).toISOString(),
            status: 204,
            outcome: 'delivered',
            latencyMs: 1.5,
            error: null,
            response: '',
          },
        },
      ];
      for (const r of results) await store.recordAttempt(d!.id, r);
      const looked = (await store.lookupEvent('/shop', 'e1'))!;
      expect(looked.deliveries).toHaveLength(1);
      expect(looked.deliveries[0]!.attemptLog).toEqual(results.map((r) => r.attempt));
      expect(looked.deliveries[0]).toMatchObject({ status: 'delivered', attempts: 3 });
    });

    it('records attempts for many deliveries at once', async () => {
      const { deliveries } = await store.append(
        Array.from({ length: 50 }, (_, i) => ev(`e${i}`)),
        toAB,
      );
      await Promise.all(
        deliveries.map((d) =>
          store.recordAttempt(d.delivery.id, { kind: 'delivered', attempt: attempt(1, 'delivered') }),
        ),
      );
      expect((await store.listDeliveries('sub_a', 'delivered', 100, undefined)).items).toHaveLength(50);
      expect((await store.listDeliveries('sub_b', 'delivered', 100, undefined)).items).toHaveLength(50);
      expect(await dueAll(FAR)).toEqual([]);
    });
  });

  describe('lookupEvent', () => {
    it('is undefined for an unknown event', async () => {
      await one('e1');
      expect(await store.lookupEvent('/shop', 'nope')).toBeUndefined();
      expect(await store.lookupEvent('/other', 'e1')).toBeUndefined();
    });

    it('returns the stored event with its deliveries, each with an empty log before any attempt', async () => {
      const { deliveries } = await store.append([ev('e1', { subject: 'orders/1', sequence: 7 })], toAB);
      const looked = (await store.lookupEvent('/shop', 'e1'))!;
      expect(looked.event).toEqual(deliveries[0]!.event);
      expect(looked.deliveries.map((d) => d.subscriptionId).sort()).toEqual(['sub_a', 'sub_b']);
      for (const d of looked.deliveries) expect(d.attemptLog).toEqual([]);
    });

    it('summarises events by sequence number', async () => {
      const { deliveries } = await store.append([ev('e1'), ev('e2', { type: 't2' })], toA);
      const [s1, s2] = deliveries.map((d) => d.event.seq);
      const map = await store.eventSummaries([s1!, s2!, s1!, 99_999]);
      expect(map.size).toBe(2);
      expect(map.get(s2!)).toEqual({ source: '/shop', id: 'e2', type: 't2' });
    });
  });

  describe('listDeliveries', () => {
    it('pages by id with a cursor, and filters by status', async () => {
      const made: string[] = [];
      for (let i = 0; i < 5; i++) made.push((await one(`e${i}`, toAB))[0]!.id);
      expect([...made].sort()).toEqual(made);

      const p1 = await store.listDeliveries('sub_a', undefined, 2, undefined);
      expect(p1.items.map((d) => d.id)).toEqual(made.slice(0, 2));
      expect(p1.next).toBe(made[1]);
      const p2 = await store.listDeliveries('sub_a', undefined, 2, p1.next!);
      expect(p2.items.map((d) => d.id)).toEqual(made.slice(2, 4));
      const p3 = await store.listDeliveries('sub_a', undefined, 2, p2.next!);
      expect(p3.items.map((d) => d.id)).toEqual(made.slice(4));
      expect(p3.next).toBeNull();
      expect((await store.listDeliveries('sub_a', undefined, 5, undefined)).next).toBeNull();
      for (const d of p1.items) expect(d.subscriptionId).toBe('sub_a');

      await store.recordAttempt(made[1]!, { kind: 'delivered', attempt: attempt(1, 'delivered') });
      await store.recordAttempt(made[3]!, { kind: 'delivered', attempt: attempt(1, 'delivered') });
      const delivered = await store.listDeliveries('sub_a', 'delivered', 1, undefined);
      expect(delivered.items.map((d) => d.id)).toEqual([made[1]]);
      expect(delivered.next).toBe(made[1]);
      expect(await store.listDeliveries('sub_a', 'delivered', 1, delivered.next!)).toEqual({
        items: [expect.objectContaining({ id: made[3] })],
        next: null,
      });
      expect((await store.listDeliveries('sub_a', 'pending', 10, undefined)).items.map((d) => d.id)).toEqual([
        made[0],
        made[2],
        made[4],
      ]);
      expect(await store.listDeliveries('sub_a', 'dead', 10, undefined)).toEqual({ items: [], next: null });
      expect(await store.listDeliveries('sub_none', undefined, 10, undefined)).toEqual({
        items: [],
        next: null,
      });
    });
  });

  describe('dead letters and redrive', () => {
    async function kill(id: string, n = 1) {
      await store.recordAttempt(id, {
        kind: 'dead',
        attempt: attempt(n, 'dead'),
        reason: `gave up after ${n} attempts`,
      });
    }

    it('lists dead letters, for all subscriptions or one, with paging', async () => {
      const { deliveries } = await store.append([ev('e1'), ev('e2'), ev('e3')], toAB);
      const ids = deliveries.map((d) => d.delivery);
      for (const d of ids) if (d.eventSeq !== deliveries[2]!.event.seq) await kill(d.id);
      const all = await store.listDeadLetters(undefined, 100, undefined);
      expect(all.items).toHaveLength(4);
      expect(all.next).toBeNull();
      for (const d of all.items) expect(d.status).toBe('dead');
      expect(
        (await store.listDeadLetters('sub_a', 100, undefined)).items.map((d) => d.subscriptionId),
      ).toEqual(['sub_a', 'sub_a']);
      const p1 = await store.listDeadLetters(undefined, 3, undefined);
      expect(p1.items).toHaveLength(3);
      const p2 = await store.listDeadLetters(undefined, 3, p1.next!);
      expect(p2).toMatchObject({ next: null });
      expect([...p1.items, ...p2.items].map((d) => d.id)).toEqual(all.items.map((d) => d.id));
    });

    it('redrives by ids: back to pending, due now, budget reset, webhook id kept', async () => {
      const [d1] = await one('e1');
      const [d2] = await one('e2');
      const [d3] = await one('e3');
      await store.recordAttempt(d1!.id, {
        kind: 'retry',
        attempt: attempt(1, 'retry'),
        nextAttemptAt: new Date(),
      });
      await kill(d1!.id, 2);
      await kill(d2!.id);
      const before = Date.now();
      const moved = await store.redrive({ ids: [d1!.id, d3!.id, 'dlv_unknown'] });
      const after = Date.now();
      expect(moved.map((d) => d.id)).toEqual([d1!.id]);
      const m = moved[0]!;
      expect(m).toMatchObject({
        status: 'pending',
        attempts: 2,
        budgetAttempts: 0,
        webhookId: d1!.webhookId,
      });
      expect(Date.parse(m.budgetSince)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(m.budgetSince)).toBeLessThanOrEqual(after);
      expect(m.nextAttemptAt).toBe(m.budgetSince);

      const stored = (await store.lookupEvent('/shop', 'e1'))!.deliveries[0]!;
      expect(stored).toMatchObject({
        status: 'pending',
        attempts: 2,
        budgetAttempts: 0,
        webhookId: d1!.webhookId,
      });
      expect(stored.budgetSince).toBe(m.budgetSince);
      expect(stored.attemptLog).toHaveLength(2);
      expect((await store.lookupEvent('/shop', 'e2'))!.deliveries[0]!.status).toBe('dead');
      expect((await dueA(new Date(after))).map((d) => d.delivery.id).sort()).toEqual([d1!.id, d3!.id].sort());

      // The next attempt after a redrive numbers on from the total, and the budget counts from zero.
      await store.recordAttempt(d1!.id, { kind: 'delivered', attempt: attempt(3, 'delivered') });
      expect((await store.lookupEvent('/shop', 'e1'))!.deliveries[0]).toMatchObject({
        status: 'delivered',
        attempts: 3,
        budgetAttempts: 1,
      });
      expect(await store.redrive({ ids: [d1!.id] })).toEqual([]);
    });

    it('redrives every dead delivery of one subscription', async () => {
      const { deliveries } = await store.append([ev('e1'), ev('e2'), ev('e3')], toAB);
      for (const d of deliveries) await kill(d.delivery.id);
      const moved = await store.redrive({ subscriptionId: 'sub_a' });
      expect(moved).toHaveLength(3);
      for (const m of moved) {
        expect(m).toMatchObject({
          subscriptionId: 'sub_a',
          status: 'pending',
          budgetAttempts: 0,
          attempts: 1,
        });
        const original = deliveries.find((d) => d.delivery.id === m.id)!;
        expect(m.webhookId).toBe(original.delivery.webhookId);
      }
      expect((await store.listDeadLetters('sub_a', 10, undefined)).items).toEqual([]);
      expect((await store.listDeadLetters('sub_b', 10, undefined)).items).toHaveLength(3);
      expect(await store.redrive({ subscriptionId: 'sub_a' })).toEqual([]);
    });

    it('deleting a subscription dead-letters its pending and retrying deliveries', async () => {
      const [d1] = await one('e1');
      const [d2] = await one('e2');
      const [d3] = await one('e3');
      const [other] = await one('e4', toB);
      await store.recordAttempt(d1!.id, { kind: 'delivered', attempt: attempt(1, 'delivered') });
      await store.recordAttempt(d2!.id, {
        kind: 'retry',
        attempt: attempt(1, 'retry'),
        nextAttemptAt: new Date(Date.now() + 60_000),
      });
      expect(await store.deleteSubscription('sub_a')).toBe(2);
      expect(await store.getSubscription('sub_a')).toBeUndefined();
      const dead = (await store.listDeadLetters('sub_a', 10, undefined)).items;
      expect(dead.map((d) => d.id).sort()).toEqual([d2!.id, d3!.id].sort());
      for (const d of dead)
        expect(d).toMatchObject({ nextAttemptAt: null, lastError: 'subscription deleted' });
      expect((await store.lookupEvent('/shop', 'e1'))!.deliveries[0]!.status).toBe('delivered');
      expect((await dueAll(FAR)).map((d) => d.delivery.id)).toEqual([other!.id]);
      expect(await store.deleteSubscription('sub_a')).toBeNull();
    });

    it('keeps a delivery dead when an attempt in flight during the deletion is recorded after it', async () => {
      const [d] = await one('e1');
      await store.deleteSubscription('sub_a');
      await store.recordAttempt(d!.id, {
        kind: 'retry',
        attempt: attempt(1, 'retry'),
        nextAttemptAt: new Date(Date.now() + 1000),
      });
      const looked = (await store.lookupEvent('/shop', 'e1'))!.deliveries[0]!;
      expect(looked).toMatchObject({
        status: 'dead',
        nextAttemptAt: null,
        lastError: 'subscription deleted',
        attempts: 1,
      });
      expect(looked.attemptLog).toHaveLength(1);
      // Redriven and tried again, the next attempt numbers on rather than colliding with the first.
      await store.redrive({ ids: [d!.id] });
      await store.recordAttempt(d!.id, { kind: 'delivered', attempt: attempt(2, 'delivered') });
      const again = (await store.lookupEvent('/shop', 'e1'))!.deliveries[0]!;
      expect(again.status).toBe('delivered');
      expect(again.attemptLog.map((a) => a.n)).toEqual([1, 2]);
    });
  });

  describe('channels and lanes', () => {
    const invoice = (id: string) => ev(id, { type: 'com.acme.invoice.paid' });
    const byType = (subs: () => Subscription[]) => (e: CloudEvent) =>
      routed(subs(), e.type === 'com.acme.invoice.paid' ? 'billing' : 'default');

    it('stores the channel on events and deliveries, and lists each lane with work', async () => {
      const { deliveries } = await store.append(
        [ev('e1'), invoice('e2')],
        byType(() => [a, b]),
      );
      expect(
        deliveries.map((d) => [d.event.event.id, d.delivery.subscriptionId, d.delivery.channel]),
      ).toEqual([
        ['e1', 'sub_a', 'default'],
        ['e1', 'sub_b', 'default'],
        ['e2', 'sub_a', 'billing'],
        ['e2', 'sub_b', 'billing'],
      ]);
      for (const d of (await store.lookupEvent('/shop', 'e2'))!.deliveries) expect(d.channel).toBe('billing');
      expect((await store.archived(new Date(0), FAR, 0, 10)).map((e) => [e.event.id, e.channel])).toEqual([
        ['e1', 'default'],
        ['e2', 'billing'],
      ]);

      const sortLanes = (lanes: Lane[]) =>
        lanes.map((l) => `${l.subscriptionId}/${l.channel}`).sort((x, y) => x.localeCompare(y));
      expect(sortLanes(await store.lanes())).toEqual([
        'sub_a/billing',
        'sub_a/default',
        'sub_b/billing',
        'sub_b/default',
      ]);
      const billingA: Lane = { subscriptionId: 'sub_a', channel: 'billing' };
      expect(ids(await store.dueInLane(billingA, FAR, 10, new Set()))).toEqual([deliveries[2]!.delivery.id]);
      expect(eventIds(await dueA(FAR))).toEqual(['e1']);
      expect(
        await store.dueInLane({ subscriptionId: 'sub_a', channel: 'nowhere' }, FAR, 10, new Set()),
      ).toEqual([]);

      // A lane with nothing left to attempt is no longer listed; the others are untouched.
      await store.recordAttempt(deliveries[2]!.delivery.id, {
        kind: 'delivered',
        attempt: attempt(1, 'delivered'),
      });
      const now = Date.now();
      await store.recordAttempt(deliveries[1]!.delivery.id, {
        kind: 'retry',
        attempt: attempt(1, 'retry'),
        nextAttemptAt: new Date(now + 60_000),
      });
      expect(sortLanes(await store.lanes())).toEqual(['sub_a/default', 'sub_b/billing', 'sub_b/default']);
      expect(await store.dueInLane(billingA, FAR, 10, new Set())).toEqual([]);
      expect(
        (await store.nextDueInLane(
          { subscriptionId: 'sub_b', channel: 'default' },
          new Date(now),
        ))!.getTime(),
      ).toBe(now + 60_000);
      expect(
        await store.nextDueInLane({ subscriptionId: 'sub_b', channel: 'billing' }, new Date(now)),
      ).toBeNull();
      expect(await store.nextDueInLane(billingA, new Date(now))).toBeNull();
    });
  });

  describe('ordering by partition key', () => {
    let o: Subscription;
    const laneO: Lane = { subscriptionId: 'sub_o', channel: 'default' };
    const keyed = (id: string, key: string) => ev(id, { partitionkey: key });
    const toO = () => routed([o]);
    /** Event ids of sub_o's due deliveries, in the order the store gives them. */
    const dueO = async (now: Date = FAR, exclude: ReadonlySet<string> = new Set(), limit = 10) =>
      eventIds(await store.dueInLane(laneO, now, limit, exclude));

    beforeEach(async () => {
      o = {
        ...sub('sub_o'),
        delivery: { ...DEFAULT_DELIVERY_POLICY, ordering: 'partition', onDead: 'block' },
      };
      await store.saveSubscription(o);
    });

    /** Appends the events to sub_o, returning its delivery ids by event id. */
    async function appendO(...events: CloudEvent[]): Promise<Record<string, string>> {
      const { deliveries } = await store.append(events, toO);
      return Object.fromEntries(deliveries.map((d) => [d.event.event.id, d.delivery.id]));
    }

    function dead(id: string, holdKey?: boolean) {
      return store.recordAttempt(id, {
        kind: 'dead',
        attempt: attempt(1, 'dead'),
        reason: 'HTTP 404 is permanent',
        ...(holdKey === undefined ? {} : { holdKey }),
      });
    }

    const delivered = (id: string) =>
      store.recordAttempt(id, { kind: 'delivered', attempt: attempt(1, 'delivered') });

    it('gives a delivery the partition key only for an ordered subscription and a keyed event', async () => {
      const { deliveries } = await store.append(
        [keyed('k1', 'x'), ev('n1'), ev('k2', { partitionkey: 7 })],
        () => routed([o, a]),
      );
      expect(
        deliveries.map((d) => [d.event.event.id, d.delivery.subscriptionId, d.delivery.orderKey]),
      ).toEqual([
        ['k1', 'sub_o', 'x'],
        ['k1', 'sub_a', null],
        ['n1', 'sub_o', null],
        ['n1', 'sub_a', null],
        ['k2', 'sub_o', null],
        ['k2', 'sub_a', null],
      ]);
      const looked = (await store.lookupEvent('/shop', 'k1'))!.deliveries;
      expect(looked.find((d) => d.subscriptionId === 'sub_o')!.orderKey).toBe('x');
      expect(looked.find((d) => d.subscriptionId === 'sub_a')!.orderKey).toBeNull();
    });

    it('looks at a bounded number of rows per page when one key holds a deep backlog', async () => {
      const events = Array.from({ length: 3_000 }, (_, i) => keyed(`deep-${i}`, 'x'));
      await appendO(...events);
      const first = await store.dueInLanePage(laneO, FAR, 10, new Set(), null);
      // The head, and a page that stops after its budget of rows instead of walking all 3,000.
      expect(eventIds(first.items)).toEqual(['deep-0']);
      expect(first.exhausted).toBe(false);
      // Read on from the cursor: nothing else of the key is due, and the lane ends exhausted.
      let page = first;
      let pages = 1;
      while (!page.exhausted) {
        page = await store.dueInLanePage(laneO, FAR, 10, new Set(), page.cursor);
        expect(page.items).toEqual([]);
        pages++;
      }
      expect(pages).toBeGreaterThan(1);
    });

    it('holds later events of a key until the first is delivered', async () => {
      const d = await appendO(keyed('k1', 'x'), keyed('k2', 'x'));
      expect(await dueO()).toEqual(['k1']);
      await delivered(d.k1!);
      expect(await dueO()).toEqual(['k2']);
      await delivered(d.k2!);
      expect(await dueO()).toEqual([]);
    });

    it('an unordered subscription is not held by the partition key', async () => {
      await store.append([keyed('k1', 'x'), keyed('k2', 'x')], toA);
      expect(eventIds(await dueA(FAR))).toEqual(['k1', 'k2']);
    });

    it('a retrying head keeps the rest of its key waiting, and is what the lane wakes for', async () => {
      const d = await appendO(keyed('k1', 'x'), keyed('k2', 'x'));
      const now = Date.now();
      await store.recordAttempt(d.k1!, {
        kind: 'retry',
        attempt: attempt(1, 'retry'),
        nextAttemptAt: new Date(now + 60_000),
      });
      expect(await dueO(new Date(now))).toEqual([]);
      expect((await store.nextDueInLane(laneO, new Date(now)))!.getTime()).toBe(now + 60_000);
      expect(await dueO(new Date(now + 60_000))).toEqual(['k1']);
      await delivered(d.k1!);
      expect(await dueO(new Date(now))).toEqual(['k2']);
    });

    it('a dead head that holds its key blocks the rest until it is discarded', async () => {
      const d = await appendO(keyed('k1', 'x'), keyed('k2', 'x'), keyed('k3', 'x'));
      await dead(d.k1!, true);
      expect(await dueO()).toEqual([]);
      // The lane still has work, but nothing that time alone will make due.
      expect(await store.lanes()).toContainEqual(laneO);
      expect(await store.nextDueInLane(laneO, new Date())).toBeNull();

      expect(await store.discard({ ids: ['dlv_unknown', d.k2!] })).toEqual([]);
      const gone = await store.discard({ ids: [d.k1!] });
      expect(gone).toEqual([expect.objectContaining({ id: d.k1, status: 'discarded', orderKey: 'x' })]);
      expect((await store.listDeadLetters('sub_o', 10, undefined)).items).toEqual([]);
      expect(await dueO()).toEqual(['k2']);
      // Discarded is final: it can no longer be redriven or discarded again.
      expect(await store.redrive({ ids: [d.k1!] })).toEqual([]);
      expect(await store.discard({ ids: [d.k1!] })).toEqual([]);
    });

    it('discards every dead letter of a subscription', async () => {
      const d = await appendO(keyed('k1', 'x'), keyed('k2', 'y'), keyed('k3', 'x'), keyed('k4', 'y'));
      await dead(d.k1!, true);
      await dead(d.k2!, true);
      expect(await dueO()).toEqual([]);
      const gone = await store.discard({ subscriptionId: 'sub_o' });
      expect(gone.map((x) => x.id).sort()).toEqual([d.k1!, d.k2!].sort());
      expect(await dueO()).toEqual(['k3', 'k4']);
      expect(await store.discard({ subscriptionId: 'sub_o' })).toEqual([]);
    });

    it('a held dead head, redriven, is due again and still ahead of the rest of its key', async () => {
      const d = await appendO(keyed('k1', 'x'), keyed('k2', 'x'));
      await dead(d.k1!, true);
      expect(await dueO()).toEqual([]);
      const moved = await store.redrive({ ids: [d.k1!] });
      expect(moved).toEqual([expect.objectContaining({ id: d.k1, status: 'pending', orderKey: 'x' })]);
      expect(await dueO(new Date())).toEqual(['k1']);
      await delivered(d.k1!);
      expect(await dueO(new Date())).toEqual(['k2']);
    });

    it('a dead head that does not hold its key releases it', async () => {
      const d = await appendO(keyed('k1', 'x'), keyed('k2', 'x'), keyed('k3', 'x'));
      await dead(d.k1!);
      expect(await dueO()).toEqual(['k2']);
      await dead(d.k2!, false);
      expect(await dueO()).toEqual(['k3']);
      expect((await store.listDeadLetters('sub_o', 10, undefined)).items.map((x) => x.id)).toEqual([
        d.k1,
        d.k2,
      ]);
    });

    it('a disabled head releases its key', async () => {
      const d = await appendO(keyed('k1', 'x'), keyed('k2', 'x'));
      await store.recordAttempt(d.k1!, {
        kind: 'disable',
        attempt: attempt(1, 'disabled', { status: 410 }),
        reason: 'the sink answered 410 Gone',
      });
      expect(await dueO()).toEqual(['k2']);
    });

    // Delivery.orderKey: "a later delivery with the same key waits while this one is pending,
    // retrying, or dead under onDead: block". A released dead letter that is redriven is pending
    // again, so it must still carry its key, and redriven letters of one key must go one at a time.
    it('a released dead letter keeps its partition key, and once redriven holds its key again', async () => {
      const d = await appendO(keyed('k1', 'x'), keyed('k2', 'x'), keyed('k3', 'x'));
      await dead(d.k1!);
      await dead(d.k2!);
      expect(await dueO()).toEqual(['k3']);
      expect((await store.listDeadLetters('sub_o', 10, undefined)).items.map((x) => x.orderKey)).toEqual([
        'x',
        'x',
      ]);
      const moved = await store.redrive({ subscriptionId: 'sub_o' });
      expect(moved.map((x) => [x.id, x.orderKey])).toEqual([
        [d.k1, 'x'],
        [d.k2, 'x'],
      ]);
      // k1 and k2 are both pending again, with k3 still due: only k1 may go.
      expect(await dueO(new Date())).toEqual(['k1']);
    });

    it('keys are independent, and events without a key are never held', async () => {
      const d = await appendO(
        keyed('x1', 'x'),
        keyed('y1', 'y'),
        keyed('x2', 'x'),
        ev('n1'),
        ev('n2'),
        keyed('y2', 'y'),
      );
      expect(await dueO()).toEqual(['x1', 'y1', 'n1', 'n2']);
      const now = Date.now();
      await store.recordAttempt(d.x1!, {
        kind: 'retry',
        attempt: attempt(1, 'retry'),
        nextAttemptAt: new Date(now + 60_000),
      });
      await dead(d.y1!, true);
      expect(await dueO(new Date(now))).toEqual(['n1', 'n2']);
      await delivered(d.n1!);
      await delivered(d.n2!);
      expect(await dueO(new Date(now))).toEqual([]);
      await store.discard({ ids: [d.y1!] });
      expect(await dueO(new Date(now))).toEqual(['y2']);
      // Oldest due first: y2 has been due since it was made, x1 only from its retry time.
      expect(await dueO(new Date(now + 60_000))).toEqual(['y2', 'x1']);
    });

    it('an excluded (in-flight) head still holds its key, and the limit counts what is returned', async () => {
      const d = await appendO(keyed('x1', 'x'), keyed('x2', 'x'), keyed('y1', 'y'), ev('n1'), ev('n2'));
      expect(await dueO(FAR, new Set([d.x1!]))).toEqual(['y1', 'n1', 'n2']);
      expect(await dueO(FAR, new Set([d.x1!, d.y1!]), 2)).toEqual(['n1', 'n2']);
      expect(await dueO(FAR, new Set(), 2)).toEqual(['x1', 'y1']);
      expect(await dueO(FAR, new Set(Object.values(d)))).toEqual([]);
    });

    it('holds a key only within its subscription', async () => {
      const o2: Subscription = { ...o, id: 'sub_o2' };
      const { deliveries } = await store.append([keyed('k1', 'x'), keyed('k2', 'x')], () => routed([o, o2]));
      const k1o = deliveries.find((x) => x.event.event.id === 'k1' && x.delivery.subscriptionId === 'sub_o')!;
      await dead(k1o.delivery.id, true);
      expect(await dueO()).toEqual([]);
      expect(
        eventIds(await store.dueInLane({ subscriptionId: 'sub_o2', channel: 'default' }, FAR, 10, new Set())),
      ).toEqual(['k1']);
    });
  });

  describe('sweep', () => {
    const T0 = '2024-01-01T00:00:00.000Z';
    const CUTOFF = new Date('2024-01-02T00:00:00.000Z');
    const T1 = '2024-01-03T00:00:00.000Z';

    function appendAt(time: string, events: CloudEvent[], route: (e: CloudEvent) => Routed) {
      return at(time, () => store.append(events, route));
    }

    /** Rows of the store's own tables, read on a connection of the test's. */
    function rows(sql: string, ...params: unknown[]): unknown[] {
      const db = new Database(join(dir, 'junction.db'), { readonly: true });
      try {
        return db.prepare(sql).all(...params);
      } finally {
        db.close();
      }
    }

    it('deletes old events of the channel with nothing left to deliver, with their deliveries and attempts', async () => {
      const old = await appendAt(
        T0,
        ['delivered', 'discarded', 'nowhere', 'mixed', 'pending', 'retrying', 'dead'].map((id) => ev(id)),
        (e) => routed(e.id === 'nowhere' ? [] : e.id === 'mixed' ? [a, b] : [a], 'orders'),
      );
      const other = await appendAt(T0, [ev('other')], () => routed([a], 'audit'));
      const fresh = await appendAt(T1, [ev('fresh')], () => routed([a], 'orders'));
      const onTheCutoff = await appendAt(CUTOFF.toISOString(), [ev('cutoff')], () => routed([a], 'orders'));
      const dlv = (id: string, subId = 'sub_a') =>
        old.deliveries.find((d) => d.event.event.id === id && d.delivery.subscriptionId === subId)!.delivery
          .id;
      const deliver = (id: string) =>
        store.recordAttempt(id, { kind: 'delivered', attempt: attempt(1, 'delivered') });
      const kill = (id: string) =>
        store.recordAttempt(id, {
          kind: 'dead',
          attempt: attempt(1, 'dead'),
          reason: 'HTTP 404 is permanent',
        });

      await store.recordAttempt(dlv('delivered'), {
        kind: 'retry',
        attempt: attempt(1, 'retry'),
        nextAttemptAt: new Date(),
      });
      await deliver(dlv('delivered'));
      await kill(dlv('discarded'));
      await store.discard({ ids: [dlv('discarded')] });
      await deliver(dlv('mixed', 'sub_a'));
      await store.recordAttempt(dlv('retrying'), {
        kind: 'retry',
        attempt: attempt(1, 'retry'),
        nextAttemptAt: new Date(Date.now() + 60_000),
      });
      await kill(dlv('dead'));
      await deliver(other.deliveries[0]!.delivery.id);
      await deliver(fresh.deliveries[0]!.delivery.id);
      await deliver(onTheCutoff.deliveries[0]!.delivery.id);
      const sweptDeliveries = [dlv('delivered'), dlv('discarded')];
      expect(rows('SELECT * FROM attempts WHERE delivery_id IN (?, ?)', ...sweptDeliveries)).toHaveLength(3);

      expect(await store.sweep('orders', CUTOFF, 100)).toBe(3);
      for (const id of ['delivered', 'discarded', 'nowhere'])
        expect(await store.lookupEvent('/shop', id)).toBeUndefined();
      for (const id of ['mixed', 'pending', 'retrying', 'dead', 'other', 'fresh', 'cutoff'])
        expect(await store.lookupEvent('/shop', id)).toBeDefined();
      expect(rows('SELECT * FROM deliveries WHERE id IN (?, ?)', ...sweptDeliveries)).toEqual([]);
      expect(rows('SELECT * FROM attempts WHERE delivery_id IN (?, ?)', ...sweptDeliveries)).toEqual([]);
      expect((await store.lookupEvent('/shop', 'mixed'))!.deliveries).toHaveLength(2);
      expect((await store.lookupEvent('/shop', 'dead'))!.deliveries[0]!.attemptLog).toHaveLength(1);
      expect(await store.sweep('orders', CUTOFF, 100)).toBe(0);

      // Once what held them is settled, they go too.
      await deliver(dlv('mixed', 'sub_b'));
      await store.discard({ ids: [dlv('dead')] });
      expect(await store.sweep('orders', CUTOFF, 100)).toBe(2);
      expect(await store.lookupEvent('/shop', 'mixed')).toBeUndefined();
      expect(await store.lookupEvent('/shop', 'dead')).toBeUndefined();
      expect(await store.lookupEvent('/shop', 'pending')).toBeDefined();
      expect(await store.lookupEvent('/shop', 'retrying')).toBeDefined();
    });

    it('deletes at most `limit` events, oldest first', async () => {
      for (let i = 0; i < 5; i++) await appendAt(`2024-01-01T0${5 - i}:00:00.000Z`, [ev(`e${i}`)], none);
      expect(await store.sweep('default', CUTOFF, 2)).toBe(2);
      const kept = [];
      for (const id of ['e0', 'e1', 'e2', 'e3', 'e4'])
        if (await store.lookupEvent('/shop', id)) kept.push(id);
      expect(kept).toEqual(['e0', 'e1', 'e2']);
      expect(await store.sweep('default', CUTOFF, 10)).toBe(3);
      expect(await store.countArchived(new Date(0), FAR)).toBe(0);
    });
  });

  describe('archive and replays', () => {
    const T = (h: number) => `2024-05-01T${String(h).padStart(2, '0')}:00:00.000Z`;

    function replay(id: string, extra: Partial<Replay> = {}): Replay {
      return {
        id,
        subscriptionId: 'sub_a',
        from: T(0),
        to: T(12),
        types: [],
        filters: [],
        newWebhookIds: false,
        status: 'running',
        scanned: 0,
        matched: 0,
        total: 0,
        cursor: 0,
        error: null,
        createdAt: T(12),
        updatedAt: T(12),
        ...extra,
      };
    }

    it('pages archived events by sequence number within [from, to), and counts them', async () => {
      await at(T(1), () => store.append([ev('e1'), ev('e2')], toA));
      await at(T(2), () => store.append([ev('e3')], () => routed([], 'audit')));
      await at(T(3), () => store.append([ev('e4')], toA));
      await at(T(4), () => store.append([ev('e5')], toA));

      const all = await store.archived(new Date(T(1)), new Date(T(4)), 0, 10);
      expect(all.map((e) => [e.event.id, e.channel, e.receivedAt])).toEqual([
        ['e1', 'default', T(1)],
        ['e2', 'default', T(1)],
        ['e3', 'audit', T(2)],
        ['e4', 'default', T(3)],
      ]);
      expect(all[0]!.event).toEqual(ev('e1'));
      expect(await store.countArchived(new Date(T(1)), new Date(T(4)))).toBe(4);
      expect(await store.countArchived(new Date(T(2)), new Date(T(3)))).toBe(1);
      expect(await store.countArchived(new Date(T(5)), new Date(T(6)))).toBe(0);

      const p1 = await store.archived(new Date(T(1)), new Date(T(4)), 0, 3);
      expect(p1.map((e) => e.event.id)).toEqual(['e1', 'e2', 'e3']);
      const p2 = await store.archived(new Date(T(1)), new Date(T(4)), p1[2]!.seq, 3);
      expect(p2.map((e) => e.event.id)).toEqual(['e4']);
      expect(await store.archived(new Date(T(1)), new Date(T(4)), p2[0]!.seq, 3)).toEqual([]);
      expect((await store.archived(new Date(T(2)), new Date(T(5)), 0, 10)).map((e) => e.event.id)).toEqual([
        'e3',
        'e4',
        'e5',
      ]);
    });

    it('saves, replaces, reads and lists replays', async () => {
      expect(await store.getReplay('rpl_1')).toBeUndefined();
      expect(await store.listReplays(10)).toEqual([]);
      await store.saveReplay(replay('rpl_1', { types: ['t'], filters: [{ exact: { subject: 'x' } }] }), []);
      await store.saveReplay(replay('rpl_2'), []);
      expect(await store.getReplay('rpl_1')).toEqual(
        replay('rpl_1', { types: ['t'], filters: [{ exact: { subject: 'x' } }] }),
      );
      const done = replay('rpl_1', { status: 'completed', scanned: 5, matched: 3, total: 5, cursor: 42 });
      await store.saveReplay(done, []);
      expect(await store.getReplay('rpl_1')).toEqual(done);
      expect((await store.listReplays(10)).map((r) => r.id)).toEqual(['rpl_2', 'rpl_1']);
      expect(await store.listReplays(1)).toEqual([replay('rpl_2')]);
    });

    it('writes a page of replay deliveries with the replay, once', async () => {
      const { deliveries } = await store.append([ev('e1'), ev('e2'), ev('e3')], toAB);
      const live = (id: string, subId = 'sub_a') =>
        deliveries.find((d) => d.event.event.id === id && d.delivery.subscriptionId === subId)!;
      for (const d of deliveries)
        await store.recordAttempt(d.delivery.id, { kind: 'delivered', attempt: attempt(1, 'delivered') });
      const page = (r: string, suffix: string): ReplayDelivery[] =>
        ['e1', 'e2'].map((id) => ({
          id: `dlv_${r}_${id}_${suffix}`,
          webhookId: id === 'e1' ? live(id).delivery.webhookId : `msg_fresh_${id}`,
          subscriptionId: 'sub_a',
          orderKey: id === 'e2' ? 'k' : null,
          eventSeq: live(id).event.seq,
          channel: 'default',
        }));

      const before = Date.now();
      await store.saveReplay(
        replay('rpl_1', { cursor: live('e2').event.seq, scanned: 2, matched: 2 }),
        page('rpl_1', 'a'),
      );
      expect((await store.getReplay('rpl_1'))!.cursor).toBe(live('e2').event.seq);
      const made = (await store.lookupEvent('/shop', 'e2'))!.deliveries.find((d) => d.replayId === 'rpl_1')!;
      expect(made).toMatchObject({
        id: 'dlv_rpl_1_e2_a',
        subscriptionId: 'sub_a',
        eventSeq: live('e2').event.seq,
        channel: 'default',
        orderKey: 'k',
        replayId: 'rpl_1',
        webhookId: 'msg_fresh_e2',
        status: 'pending',
        attempts: 0,
        budgetAttempts: 0,
        attemptLog: [],
      });
      expect(Date.parse(made.nextAttemptAt!)).toBeGreaterThanOrEqual(before);
      expect(eventIds(await dueA(FAR))).toEqual(['e1', 'e2']);
      expect(ids(await dueA(FAR)).sort()).toEqual(['dlv_rpl_1_e1_a', 'dlv_rpl_1_e2_a']);
      expect(await store.replayDeliveryCounts('rpl_1')).toEqual({ pending: 2 });

      // The same page again, as a job resumed after a crash would write it (with new ids).
      await store.saveReplay(replay('rpl_1', { cursor: live('e2').event.seq }), page('rpl_1', 'b'));
      await store.saveReplay(replay('rpl_1', { cursor: live('e2').event.seq }), page('rpl_1', 'a'));
      expect((await store.lookupEvent('/shop', 'e1'))!.deliveries).toHaveLength(3);
      expect(
        (await store.lookupEvent('/shop', 'e2'))!.deliveries.filter((d) => d.replayId === 'rpl_1'),
      ).toHaveLength(1);
      expect(await store.replayDeliveryCounts('rpl_1')).toEqual({ pending: 2 });

      // Another replay of the same events is another set of deliveries.
      await store.saveReplay(replay('rpl_2'), page('rpl_2', 'a'));
      expect((await store.lookupEvent('/shop', 'e1'))!.deliveries).toHaveLength(4);
      expect(await store.replayDeliveryCounts('rpl_2')).toEqual({ pending: 2 });

      await store.recordAttempt('dlv_rpl_1_e1_a', { kind: 'delivered', attempt: attempt(1, 'delivered') });
      expect(await store.replayDeliveryCounts('rpl_1')).toEqual({ pending: 1, delivered: 1 });
      expect(await store.replayDeliveryCounts('rpl_none')).toEqual({});
      // Replay deliveries count among the subscription's own.
      expect(await store.deliveryCounts('sub_a')).toEqual({ delivered: 4, pending: 3 });
      expect(await store.deliveryCounts('sub_b')).toEqual({ delivered: 3 });
    });

    it('webhookIdOf gives the webhook-id of the original delivery, not a replay', async () => {
      const { deliveries } = await store.append([ev('e1'), ev('e2')], toAB);
      const [e1a, e1b, e2a] = deliveries;
      await store.saveReplay(replay('rpl_1', { newWebhookIds: true }), [
        {
          id: 'dlv_0000000000_replay_first',
          webhookId: 'msg_fresh',
          subscriptionId: 'sub_a',
          orderKey: null,
          eventSeq: e1a!.event.seq,
          channel: 'default',
        },
      ]);
      expect((await store.webhookIdsOf([e1a!.event.seq], 'sub_a')).get(e1a!.event.seq)).toBe(
        e1a!.delivery.webhookId,
      );
      expect((await store.webhookIdsOf([e1a!.event.seq], 'sub_b')).get(e1a!.event.seq)).toBe(
        e1b!.delivery.webhookId,
      );
      expect((await store.webhookIdsOf([e2a!.event.seq], 'sub_a')).get(e2a!.event.seq)).toBe(
        e2a!.delivery.webhookId,
      );
      expect((await store.webhookIdsOf([e2a!.event.seq], 'sub_none')).get(e2a!.event.seq)).toBeUndefined();
      expect((await store.webhookIdsOf([99_999], 'sub_a')).get(99_999)).toBeUndefined();
    });

    it('counts a subscription deliveries by status', async () => {
      expect(await store.deliveryCounts('sub_a')).toEqual({});
      const ds = await Promise.all(['e1', 'e2', 'e3', 'e4', 'e5', 'e6'].map((id) => one(id)));
      const [d1, d2, d3, d4, d5] = ds.map((d) => d[0]!.id);
      await store.recordAttempt(d1!, { kind: 'delivered', attempt: attempt(1, 'delivered') });
      await store.recordAttempt(d2!, {
        kind: 'retry',
        attempt: attempt(1, 'retry'),
        nextAttemptAt: new Date(Date.now() + 60_000),
      });
      await store.recordAttempt(d3!, { kind: 'dead', attempt: attempt(1, 'dead'), reason: 'HTTP 404' });
      await store.recordAttempt(d4!, { kind: 'dead', attempt: attempt(1, 'dead'), reason: 'HTTP 404' });
      await store.recordAttempt(d5!, { kind: 'dead', attempt: attempt(1, 'dead'), reason: 'HTTP 404' });
      await store.discard({ ids: [d5!] });
      expect(await store.deliveryCounts('sub_a')).toEqual({
        delivered: 1,
        retrying: 1,
        dead: 2,
        discarded: 1,
        pending: 1,
      });
      expect(await store.deliveryCounts('sub_b')).toEqual({});
    });
  });

  describe('backlog', () => {
    it('counts events accepted and not yet durable, and is 0 when idle', async () => {
      expect(store.backlog()).toBe(0);
      const first = store.append([ev('e1'), ev('e2')], toA);
      const second = store.append([ev('e3')], toA);
      expect(store.backlog()).toBe(3);
      await Promise.all([first, second]);
      expect(store.backlog()).toBe(0);
      const failing = store.append([ev('boom')], () => {
        throw new Error('route failed');
      });
      await expect(failing).rejects.toThrow('route failed');
      expect(store.backlog()).toBe(0);
    });
  });

  describe('durability and closing', () => {
    it('reports itself unready and refuses writes once the writer thread is gone, and still closes', async () => {
      // Fault injection: the real writer thread, terminated as a crash of it would end it.
      await (
        store as unknown as { writer: { worker: { terminate(): Promise<number> } } }
      ).writer.worker.terminate();
      await new Promise((r) => setTimeout(r, 50));
      expect(await store.ping()).toBe(false);
      await expect(store.append([ev('e1')], toA)).rejects.toBeInstanceOf(UnavailableError);
      await expect(
        Promise.race([
          store.close().then(() => 'closed'),
          new Promise((r) => setTimeout(() => r('hung'), 2000)),
        ]),
      ).resolves.toBe('closed');
    });

    it('keeps everything across close and reopen', async () => {
      const { deliveries } = await store.append([ev('e1'), ev('e2')], toAB);
      const d = deliveries[0]!.delivery;
      await store.recordAttempt(d.id, {
        kind: 'retry',
        attempt: attempt(1, 'retry'),
        nextAttemptAt: new Date(Date.now() - 1),
      });
      await store.close();

      store = await openSqliteStore(dir);
      expect(await store.ping()).toBe(true);
      expect(await store.listSubscriptions()).toEqual([a, b]);
      const looked = (await store.lookupEvent('/shop', 'e1'))!;
      expect(looked.event.event).toEqual(ev('e1'));
      const again = looked.deliveries.find((x) => x.id === d.id)!;
      expect(again).toMatchObject({ status: 'retrying', attempts: 1, webhookId: d.webhookId });
      expect(again.attemptLog).toHaveLength(1);
      expect(await dueAll(FAR)).toHaveLength(4);

      const dup = await store.append([ev('e1'), ev('e3')], toA);
      expect(dup.results.map((r) => r.status)).toEqual(['duplicate', 'accepted']);
      expect(dup.deliveries[0]!.event.seq).toBeGreaterThan(deliveries[2]!.event.seq);
    });

    it('brings a version-1 database up to date, its deliveries on the default channel, unordered', async () => {
      const old = mkdtempSync(join(tmpdir(), 'junction-store-v1-'));
      try {
        const db = new Database(join(old, 'junction.db'));
        db.exec(MIGRATIONS[0]!);
        db.pragma('user_version = 1');
        const t = Date.parse('2024-01-01T00:00:00.000Z');
        db.prepare('INSERT INTO subscriptions (id, body) VALUES (?, ?)').run('sub_a', JSON.stringify(a));
        db.prepare(
          'INSERT INTO events (seq, source, id, type, body, received_at) VALUES (1, ?, ?, ?, ?, ?)',
        ).run('/shop', 'e1', 'com.acme.order.created', JSON.stringify(ev('e1', { partitionkey: 'x' })), t);
        db.prepare(
          `INSERT INTO deliveries (id, subscription_id, event_seq, webhook_id, status, budget_since,
             next_attempt_at, created_at, updated_at)
           VALUES ('dlv_old', 'sub_a', 1, 'msg_old', 'pending', ?, ?, ?, ?)`,
        ).run(t, t, t, t);
        db.close();

        const migrated = await openSqliteStore(old);
        try {
          expect((await migrated.lookupEvent('/shop', 'e1'))!.deliveries[0]).toMatchObject({
            id: 'dlv_old',
            channel: 'default',
            orderKey: null,
            replayId: null,
            webhookId: 'msg_old',
          });
          expect(await migrated.lanes()).toEqual([laneA]);
          expect(ids(await migrated.dueInLane(laneA, FAR, 10, new Set()))).toEqual(['dlv_old']);
          expect(await migrated.archived(new Date(0), FAR, 0, 10)).toEqual([
            {
              seq: 1,
              event: ev('e1', { partitionkey: 'x' }),
              receivedAt: new Date(t).toISOString(),
              contract: null,
              channel: 'default',
            },
          ]);
          expect((await migrated.webhookIdsOf([1], 'sub_a')).get(1)).toBe('msg_old');
          expect(await migrated.listReplays(10)).toEqual([]);
        } finally {
          await migrated.close();
        }
        const check = new Database(join(old, 'junction.db'), { readonly: true });
        expect(check.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
        check.close();
      } finally {
        rmSync(old, { recursive: true, force: true });
      }
    });

    it('commits appends still queued when close is called', async () => {
      const pending = store.append([ev('late')], toA);
      await store.close();
      await expect(pending).resolves.toMatchObject({ results: [{ id: 'late', status: 'accepted' }] });
      store = await openSqliteStore(dir);
      expect((await store.lookupEvent('/shop', 'late'))!.deliveries).toHaveLength(1);
    });

    it('append after close fails with UnavailableError', async () => {
      await store.close();
      expect(await store.ping()).toBe(false);
      await expect(Promise.resolve().then(() => store.append([ev('e1')], toA))).rejects.toBeInstanceOf(
        UnavailableError,
      );
      await expect(
        Promise.resolve().then(() =>
          store.recordAttempt('dlv_x', { kind: 'delivered', attempt: attempt(1, 'delivered') }),
        ),
      ).rejects.toBeInstanceOf(UnavailableError);
      await store.close();
    });

    it('append after close returns a rejected promise rather than throwing synchronously', async () => {
      await store.close();
      let promise: Promise<unknown> | undefined;
      let thrown: unknown;
      try {
        promise = store.append([ev('e1')], toA);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeUndefined();
      await expect(promise).rejects.toBeInstanceOf(UnavailableError);
    });
  });
});
