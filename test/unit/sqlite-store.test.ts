import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_DELIVERY_POLICY } from '../../src/core/config.js';
import { UnavailableError } from '../../src/core/errors.js';
import type { CloudEvent } from '../../src/core/event.js';
import type { Attempt, AttemptResult, Delivery, Subscription } from '../../src/storage/ports.js';
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

const none = () => [] as Subscription[];
const FAR = new Date('2999-01-01T00:00:00.000Z');

describe('SqliteStore', () => {
  let dir: string;
  let store: SqliteStore;
  let a: Subscription;
  let b: Subscription;
  const toA = () => [a];
  const toAB = () => [a, b];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'junction-store-'));
    store = await openSqliteStore(dir);
    a = sub('sub_a', ['com.acme.order.created']);
    b = sub('sub_b');
    await store.saveSubscription(a);
    await store.saveSubscription(b);
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Appends one event routed to `route`, returning its deliveries. */
  async function one(id: string, route: () => Subscription[] = toA): Promise<Delivery[]> {
    const { deliveries } = await store.append([ev(id)], route);
    return deliveries.map((d) => d.delivery);
  }

  describe('subscriptions', () => {
    it('creates, reads, lists, replaces and deletes', async () => {
      expect(store.getSubscription('sub_a')).toEqual(a);
      expect(store.listSubscriptions().map((s) => s.id)).toEqual(['sub_a', 'sub_b']);
      await store.saveSubscription({ ...a, sink: 'https://example.com/new' });
      expect(store.getSubscription('sub_a')!.sink).toBe('https://example.com/new');
      await store.saveSubscription({ ...a, status: 'disabled', statusReason: 'the sink answered 410 Gone' });
      expect(store.getSubscription('sub_a')).toMatchObject({
        status: 'disabled',
        statusReason: 'the sink answered 410 Gone',
      });
      expect(store.getSubscription('sub_missing')).toBeUndefined();
      expect(await store.deleteSubscription('sub_b')).toBe(true);
      expect(await store.deleteSubscription('sub_b')).toBe(false);
      expect(store.listSubscriptions().map((s) => s.id)).toEqual(['sub_a']);
    });
  });

  describe('append', () => {
    it('accepts new events and creates a pending delivery per routed subscription', async () => {
      const before = Date.now();
      const { results, deliveries } = await store.append([ev('e1'), ev('e2')], (e) =>
        e.id === 'e1' ? [a, b] : [a],
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
      });
      expect(first.delivery.id).toMatch(/^dlv_/);
      expect(first.delivery.webhookId).toMatch(/^msg_/);
      expect(Date.parse(first.delivery.nextAttemptAt!)).toBeGreaterThanOrEqual(before - 1);
      expect(first.delivery.nextAttemptAt).toBe(first.delivery.budgetSince);
      expect(deliveries[2]!.event.seq).toBeGreaterThan(first.event.seq);
      expect(new Set(deliveries.map((d) => d.delivery.webhookId)).size).toBe(3);

      const looked = store.lookupEvent('/shop', 'e1')!;
      expect(looked.event.event).toEqual(ev('e1'));
      expect(looked.deliveries.map((d) => d.id).sort()).toEqual(
        [deliveries[0]!.delivery.id, deliveries[1]!.delivery.id].sort(),
      );
    });

    it('accepts an event routed nowhere, with no deliveries', async () => {
      const { results, deliveries } = await store.append([ev('e1')], none);
      expect(results[0]!.status).toBe('accepted');
      expect(deliveries).toEqual([]);
      expect(store.lookupEvent('/shop', 'e1')!.deliveries).toEqual([]);
    });

    it('a second (source, id) is a duplicate and creates no deliveries', async () => {
      await store.append([ev('e1')], toA);
      const { results, deliveries } = await store.append([ev('e1', { type: 'other' })], () => [a, b]);
      expect(results).toEqual([{ source: '/shop', id: 'e1', status: 'duplicate' }]);
      expect(deliveries).toEqual([]);
      const looked = store.lookupEvent('/shop', 'e1')!;
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
      expect(store.lookupEvent('/shop', 'e1')!.deliveries).toHaveLength(1);
    });

    it('group-commits concurrent appends and keeps duplicates out across them', async () => {
      const calls = Array.from({ length: 200 }, (_, i) => store.append([ev(`e${i % 150}`)], toA));
      // Nothing is durable synchronously: every append waits for the shared commit.
      expect(store.lookupEvent('/shop', 'e0')).toBeUndefined();
      const outcomes = await Promise.all(calls);
      outcomes.forEach((o, i) => {
        expect(o.results).toEqual([
          { source: '/shop', id: `e${i % 150}`, status: i < 150 ? 'accepted' : 'duplicate' },
        ]);
        expect(o.deliveries).toHaveLength(i < 150 ? 1 : 0);
      });
      const seqs = outcomes.slice(0, 150).map((o) => o.deliveries[0]!.event.seq);
      expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
      expect(store.due(FAR, 1_000, new Set())).toHaveLength(150);
    });

    it('an append that throws in route rejects alone, and writes nothing of its own', async () => {
      const good = store.append([ev('ok')], toA);
      const bad = store.append([ev('boom')], () => {
        throw new Error('route failed');
      });
      await expect(bad).rejects.toThrow('route failed');
      await expect(good).resolves.toMatchObject({ results: [{ id: 'ok', status: 'accepted' }] });
      expect(store.lookupEvent('/shop', 'boom')).toBeUndefined();
      expect(store.lookupEvent('/shop', 'ok')).toBeDefined();
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
      expect(store.due(new Date(now), 10, new Set())).toEqual([]);
      expect(store.due(new Date(now + 1_500), 10, new Set()).map((d) => d.delivery.id)).toEqual([d2!.id]);
      const all = store.due(new Date(now + 5_000), 10, new Set());
      expect(all.map((d) => d.delivery.id)).toEqual([d2!.id, d3!.id, d1!.id]);
      expect(all[0]!.event.event).toEqual(ev('e2'));
      expect(all[0]!.event.seq).toBe(d2!.eventSeq);
      expect(store.due(new Date(now + 5_000), 2, new Set()).map((d) => d.delivery.id)).toEqual([
        d2!.id,
        d3!.id,
      ]);
      expect(store.nextDueAt(new Date(now))!.getTime()).toBe(now + 1_000);
      // Only what is still ahead counts: a time already past is due, not a reason to wake.
      expect(store.nextDueAt(new Date(now + 1_500))!.getTime()).toBe(now + 2_000);
    });

    it('skips excluded ids and still fills the limit', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await one(`e${i}`))[0]!.id);
      const got = store.due(FAR, 3, new Set([ids[0]!, ids[1]!]));
      expect(got).toHaveLength(3);
      expect(got.map((d) => d.delivery.id).sort()).toEqual(ids.slice(2).sort());
      expect(store.due(FAR, 10, new Set(ids))).toEqual([]);
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
      expect(store.due(FAR, 10, new Set()).map((d) => d.delivery.id)).toEqual([d3!.id]);
      await store.recordAttempt(d3!.id, { kind: 'delivered', attempt: attempt(1, 'delivered') });
      expect(store.due(FAR, 10, new Set())).toEqual([]);
      expect(store.nextDueAt(new Date(0))).toBeNull();
    });
  });

  describe('recordAttempt', () => {
    it('delivered: status delivered, no next attempt, counted', async () => {
      const [d] = await one('e1');
      await store.recordAttempt(d!.id, { kind: 'delivered', attempt: attempt(1, 'delivered') });
      const got = store.lookupEvent('/shop', 'e1')!.deliveries[0]!;
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
      const got = store.lookupEvent('/shop', 'e1')!.deliveries[0]!;
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
      expect(store.lookupEvent('/shop', 'e1')!.deliveries[0]).toMatchObject({
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
      expect(store.lookupEvent('/shop', 'e1')!.deliveries[0]).toMatchObject({
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
      expect(store.lookupEvent('/shop', 'e1')!.deliveries[0]).toMatchObject({
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
      const looked = store.lookupEvent('/shop', 'e1')!;
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
      expect(store.listDeliveries('sub_a', 'delivered', 100, undefined).items).toHaveLength(50);
      expect(store.listDeliveries('sub_b', 'delivered', 100, undefined).items).toHaveLength(50);
      expect(store.due(FAR, 1_000, new Set())).toEqual([]);
    });
  });

  describe('lookupEvent', () => {
    it('is undefined for an unknown event', async () => {
      await one('e1');
      expect(store.lookupEvent('/shop', 'nope')).toBeUndefined();
      expect(store.lookupEvent('/other', 'e1')).toBeUndefined();
    });

    it('returns the stored event with its deliveries, each with an empty log before any attempt', async () => {
      const { deliveries } = await store.append([ev('e1', { subject: 'orders/1', sequence: 7 })], toAB);
      const looked = store.lookupEvent('/shop', 'e1')!;
      expect(looked.event).toEqual(deliveries[0]!.event);
      expect(looked.deliveries.map((d) => d.subscriptionId).sort()).toEqual(['sub_a', 'sub_b']);
      for (const d of looked.deliveries) expect(d.attemptLog).toEqual([]);
    });

    it('summarises events by sequence number', async () => {
      const { deliveries } = await store.append([ev('e1'), ev('e2', { type: 't2' })], toA);
      const [s1, s2] = deliveries.map((d) => d.event.seq);
      const map = store.eventSummaries([s1!, s2!, s1!, 99_999]);
      expect(map.size).toBe(2);
      expect(map.get(s2!)).toEqual({ source: '/shop', id: 'e2', type: 't2' });
    });
  });

  describe('listDeliveries', () => {
    it('pages by id with a cursor, and filters by status', async () => {
      const made: string[] = [];
      for (let i = 0; i < 5; i++) made.push((await one(`e${i}`, toAB))[0]!.id);
      expect([...made].sort()).toEqual(made);

      const p1 = store.listDeliveries('sub_a', undefined, 2, undefined);
      expect(p1.items.map((d) => d.id)).toEqual(made.slice(0, 2));
      expect(p1.next).toBe(made[1]);
      const p2 = store.listDeliveries('sub_a', undefined, 2, p1.next!);
      expect(p2.items.map((d) => d.id)).toEqual(made.slice(2, 4));
      const p3 = store.listDeliveries('sub_a', undefined, 2, p2.next!);
      expect(p3.items.map((d) => d.id)).toEqual(made.slice(4));
      expect(p3.next).toBeNull();
      expect(store.listDeliveries('sub_a', undefined, 5, undefined).next).toBeNull();
      for (const d of p1.items) expect(d.subscriptionId).toBe('sub_a');

      await store.recordAttempt(made[1]!, { kind: 'delivered', attempt: attempt(1, 'delivered') });
      await store.recordAttempt(made[3]!, { kind: 'delivered', attempt: attempt(1, 'delivered') });
      const delivered = store.listDeliveries('sub_a', 'delivered', 1, undefined);
      expect(delivered.items.map((d) => d.id)).toEqual([made[1]]);
      expect(delivered.next).toBe(made[1]);
      expect(store.listDeliveries('sub_a', 'delivered', 1, delivered.next!)).toEqual({
        items: [expect.objectContaining({ id: made[3] })],
        next: null,
      });
      expect(store.listDeliveries('sub_a', 'pending', 10, undefined).items.map((d) => d.id)).toEqual([
        made[0],
        made[2],
        made[4],
      ]);
      expect(store.listDeliveries('sub_a', 'dead', 10, undefined)).toEqual({ items: [], next: null });
      expect(store.listDeliveries('sub_none', undefined, 10, undefined)).toEqual({ items: [], next: null });
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
      const all = store.listDeadLetters(undefined, 100, undefined);
      expect(all.items).toHaveLength(4);
      expect(all.next).toBeNull();
      for (const d of all.items) expect(d.status).toBe('dead');
      expect(store.listDeadLetters('sub_a', 100, undefined).items.map((d) => d.subscriptionId)).toEqual([
        'sub_a',
        'sub_a',
      ]);
      const p1 = store.listDeadLetters(undefined, 3, undefined);
      expect(p1.items).toHaveLength(3);
      const p2 = store.listDeadLetters(undefined, 3, p1.next!);
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

      const stored = store.lookupEvent('/shop', 'e1')!.deliveries[0]!;
      expect(stored).toMatchObject({
        status: 'pending',
        attempts: 2,
        budgetAttempts: 0,
        webhookId: d1!.webhookId,
      });
      expect(stored.budgetSince).toBe(m.budgetSince);
      expect(stored.attemptLog).toHaveLength(2);
      expect(store.lookupEvent('/shop', 'e2')!.deliveries[0]!.status).toBe('dead');
      expect(
        store
          .due(new Date(after), 10, new Set())
          .map((d) => d.delivery.id)
          .sort(),
      ).toEqual([d1!.id, d3!.id].sort());

      // The next attempt after a redrive numbers on from the total, and the budget counts from zero.
      await store.recordAttempt(d1!.id, { kind: 'delivered', attempt: attempt(3, 'delivered') });
      expect(store.lookupEvent('/shop', 'e1')!.deliveries[0]).toMatchObject({
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
      expect(store.listDeadLetters('sub_a', 10, undefined).items).toEqual([]);
      expect(store.listDeadLetters('sub_b', 10, undefined).items).toHaveLength(3);
      expect(await store.redrive({ subscriptionId: 'sub_a' })).toEqual([]);
    });

    it('deleting a subscription dead-letters its pending and retrying deliveries', async () => {
      const [d1] = await one('e1');
      const [d2] = await one('e2');
      const [d3] = await one('e3');
      const [other] = await one('e4', () => [b]);
      await store.recordAttempt(d1!.id, { kind: 'delivered', attempt: attempt(1, 'delivered') });
      await store.recordAttempt(d2!.id, {
        kind: 'retry',
        attempt: attempt(1, 'retry'),
        nextAttemptAt: new Date(Date.now() + 60_000),
      });
      expect(await store.deleteSubscription('sub_a')).toBe(true);
      expect(store.getSubscription('sub_a')).toBeUndefined();
      const dead = store.listDeadLetters('sub_a', 10, undefined).items;
      expect(dead.map((d) => d.id).sort()).toEqual([d2!.id, d3!.id].sort());
      for (const d of dead)
        expect(d).toMatchObject({ nextAttemptAt: null, lastError: 'subscription deleted' });
      expect(store.lookupEvent('/shop', 'e1')!.deliveries[0]!.status).toBe('delivered');
      expect(store.due(FAR, 10, new Set()).map((d) => d.delivery.id)).toEqual([other!.id]);
      expect(await store.deleteSubscription('sub_a')).toBe(false);
    });

    it('keeps a delivery dead when an attempt in flight during the deletion is recorded after it', async () => {
      const [d] = await one('e1');
      await store.deleteSubscription('sub_a');
      await store.recordAttempt(d!.id, {
        kind: 'retry',
        attempt: attempt(1, 'retry'),
        nextAttemptAt: new Date(Date.now() + 1000),
      });
      const looked = store.lookupEvent('/shop', 'e1')!.deliveries[0]!;
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
      const again = store.lookupEvent('/shop', 'e1')!.deliveries[0]!;
      expect(again.status).toBe('delivered');
      expect(again.attemptLog.map((a) => a.n)).toEqual([1, 2]);
    });
  });

  describe('durability and closing', () => {
    it('reports itself unready and refuses writes once the writer thread is gone, and still closes', async () => {
      // Fault injection: the real writer thread, terminated as a crash of it would end it.
      await (
        store as unknown as { writer: { worker: { terminate(): Promise<number> } } }
      ).writer.worker.terminate();
      await new Promise((r) => setTimeout(r, 50));
      expect(store.ping()).toBe(false);
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
      expect(store.ping()).toBe(true);
      expect(store.listSubscriptions()).toEqual([a, b]);
      const looked = store.lookupEvent('/shop', 'e1')!;
      expect(looked.event.event).toEqual(ev('e1'));
      const again = looked.deliveries.find((x) => x.id === d.id)!;
      expect(again).toMatchObject({ status: 'retrying', attempts: 1, webhookId: d.webhookId });
      expect(again.attemptLog).toHaveLength(1);
      expect(store.due(FAR, 10, new Set())).toHaveLength(4);

      const dup = await store.append([ev('e1'), ev('e3')], toA);
      expect(dup.results.map((r) => r.status)).toEqual(['duplicate', 'accepted']);
      expect(dup.deliveries[0]!.event.seq).toBeGreaterThan(deliveries[2]!.event.seq);
    });

    it('commits appends still queued when close is called', async () => {
      const pending = store.append([ev('late')], toA);
      await store.close();
      await expect(pending).resolves.toMatchObject({ results: [{ id: 'late', status: 'accepted' }] });
      store = await openSqliteStore(dir);
      expect(store.lookupEvent('/shop', 'late')!.deliveries).toHaveLength(1);
    });

    it('append after close fails with UnavailableError', async () => {
      await store.close();
      expect(store.ping()).toBe(false);
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
