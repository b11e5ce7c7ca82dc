/**
 * What the PostgreSQL store does beyond the port's shared suite, because several processes share
 * one schema: two stores with different owners on one schema stand for two hub processes. Against
 * the machine's real server (database `test`), each test in a schema of its own, dropped after.
 * Locally, without PostgreSQL, the suite skips and says so; under CI=true that is a failure.
 */
import { createServer, type Server, Socket } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_DELIVERY_POLICY } from '../../src/core/config.js';
import { UnavailableError } from '../../src/core/errors.js';
import type { CloudEvent } from '../../src/core/event.js';
import type { Attempt, Delivery, Routed, StoreChange, Subscription } from '../../src/storage/ports.js';
import {
  MigrationsPendingError,
  migrate,
  openPostgresStore,
  type PostgresStore,
  type PostgresStoreOptions,
  StoreUnavailableError,
} from '../../src/storage/postgres/index.js';
import { freePort } from '../helpers/nats.js';
import {
  dropSchemas,
  POSTGRES_URL,
  postgresReachable,
  testClient,
  uniqueSchema,
} from '../helpers/postgres.js';

const required = process.env.CI === 'true';
const reachable = await postgresReachable();
if (!reachable && !required) {
  console.warn(
    `PostgreSQL store tests skipped: nothing answers at ${POSTGRES_URL}; under CI=true this fails`,
  );
}

function sub(id: string, delivery: Partial<Subscription['delivery']> = {}): Subscription {
  return {
    id,
    status: 'active',
    statusReason: null,
    types: [],
    filters: [],
    sink: `https://example.com/${id}`,
    protocol: 'HTTP',
    protocolsettings: {},
    delivery: { ...DEFAULT_DELIVERY_POLICY, ...delivery },
    secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    failingSince: null,
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
  };
}

function ev(id: string, extra: Record<string, unknown> = {}): CloudEvent {
  return { specversion: '1.0', id, source: '/shop', type: 'com.acme.order.created', data: { id }, ...extra };
}

function attempt(outcome: Attempt['outcome']): Attempt {
  return {
    n: 1,
    at: new Date().toISOString(),
    status: outcome === 'delivered' ? 200 : 500,
    outcome,
    latencyMs: 3.5,
    error: outcome === 'delivered' ? null : 'HTTP 500',
    response: null,
  };
}

const to = (subscriptions: Subscription[]) => (): Routed => ({ channel: 'default', subscriptions });
const ids = (due: { delivery: Delivery }[]) => due.map((d) => d.delivery.id);
const lane = (s: Subscription) => ({ subscriptionId: s.id, channel: 'default' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds or `ms` pass. */
async function eventually(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

/**
 * A TCP relay to PostgreSQL that can be cut (its port then refuses connections, and every
 * session through it is dropped) and restored on the same port: PostgreSQL going away and back.
 */
class Relay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(readonly port: number) {}

  async start(): Promise<void> {
    const target = new URL(POSTGRES_URL);
    this.server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(Number(target.port || 5432), target.hostname || '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  url(): string {
    const u = new URL(POSTGRES_URL);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }
}

describe.skipIf(!reachable && !required)(`PostgresStore shared by processes (${POSTGRES_URL})`, () => {
  const sql = testClient();
  const schemas: string[] = [];
  const stores: PostgresStore[] = [];

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await dropSchemas(sql, schemas.splice(0));
  });
  afterAll(async () => {
    await sql.end({ timeout: 5 });
  });

  async function schema(label: string): Promise<string> {
    const name = uniqueSchema(label);
    schemas.push(name);
    await migrate(POSTGRES_URL, { schema: name });
    return name;
  }

  async function open(s: string, options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
    const store = await openPostgresStore({ url: POSTGRES_URL, schema: s, max: 3, ...options });
    stores.push(store);
    return store;
  }

  /** Two processes on one schema, with a subscription both know. */
  async function pair(label: string, leaseMsA = 60_000, delivery: Partial<Subscription['delivery']> = {}) {
    const s = await schema(label);
    const a = await open(s, { owner: `a-${label}`, leaseMs: leaseMsA });
    const b = await open(s, { owner: `b-${label}` });
    const subscription = sub('sub_1', delivery);
    await a.saveSubscription(subscription);
    return { s, a, b, subscription };
  }

  it('refuses a schema with pending migrations, and an unreachable server as unavailable', async () => {
    const s = uniqueSchema('pending');
    schemas.push(s);
    await expect(openPostgresStore({ url: POSTGRES_URL, schema: s })).rejects.toBeInstanceOf(
      MigrationsPendingError,
    );
    const down = await openPostgresStore({ url: 'postgres://postgres@127.0.0.1:1/test', schema: s }).catch(
      (e: unknown) => e,
    );
    expect(down).toBeInstanceOf(StoreUnavailableError);
    expect(down).toBeInstanceOf(UnavailableError);
  });

  it('appends in call order, a repeat within the call or from before is a duplicate', async () => {
    const { a, subscription } = await pair('append');
    const first = await a.append([ev('e1'), ev('e2'), ev('e1')], to([subscription]));
    expect(first.results.map((r) => r.status)).toEqual(['accepted', 'accepted', 'duplicate']);
    expect(first.deliveries).toHaveLength(2);
    const [d1, d2] = first.deliveries;
    expect(d1!.event.seq).toBeLessThan(d2!.event.seq);
    const again = await a.append([ev('e2'), ev('e3')], to([subscription]));
    expect(again.results.map((r) => r.status)).toEqual(['duplicate', 'accepted']);
    expect(again.deliveries.map((d) => d.event.event.id)).toEqual(['e3']);
    expect(a.backlog()).toBe(0);
    const found = await a.lookupEvent('/shop', 'e1');
    expect(found?.event.event).toEqual(ev('e1'));
    expect(found?.deliveries.map((d) => d.status)).toEqual(['pending']);
  });

  it('keeps what one process leased from another until the lease runs out, then hands it over', async () => {
    const { a, b, subscription } = await pair('lease', 400);
    const { deliveries } = await a.append([ev('e1'), ev('e2')], to([subscription]));
    // Appended deliveries are the appender's: it sends them from the append's result.
    expect(ids(await a.dueInLane(lane(subscription), new Date(), 10, new Set()))).toEqual(ids(deliveries));
    expect(await b.dueInLane(lane(subscription), new Date(), 10, new Set())).toEqual([]);
    expect(await b.lanes()).toEqual([]);
    expect(await a.lanes()).toEqual([lane(subscription)]);
    const next = await b.nextDueInLane(lane(subscription), new Date());
    expect(next).not.toBeNull();
    expect(next!.getTime()).toBeGreaterThan(Date.now());
    expect(next!.getTime()).toBeLessThanOrEqual(Date.now() + 400);

    await sleep(next!.getTime() - Date.now() + 10);
    expect(await b.lanes()).toEqual([lane(subscription)]);
    const taken = await b.dueInLane(lane(subscription), new Date(), 10, new Set());
    expect(ids(taken)).toEqual(ids(deliveries));
    // Now B's (for a minute): A, back from the dead, gets nothing.
    expect(await a.dueInLane(lane(subscription), new Date(), 10, new Set())).toEqual([]);

    // Recording the attempt ends the lease: a retry due now may be taken by anyone.
    await b.recordAttempt(taken[0]!.delivery.id, {
      kind: 'retry',
      attempt: attempt('retry'),
      nextAttemptAt: new Date(Date.now() - 1),
    });
    expect(ids(await a.dueInLane(lane(subscription), new Date(), 10, new Set()))).toEqual([
      taken[0]!.delivery.id,
    ]);
  });

  it('releaseLeases hands back what a stopping process queued but never sent', async () => {
    const { a, b, subscription } = await pair('release');
    const { deliveries } = await a.append([ev('e1'), ev('e2'), ev('e3')], to([subscription]));
    expect(await b.dueInLane(lane(subscription), new Date(), 10, new Set())).toEqual([]);
    // Releasing someone else's lease does nothing.
    await b.releaseLeases(ids(deliveries));
    expect(await b.dueInLane(lane(subscription), new Date(), 10, new Set())).toEqual([]);
    await a.releaseLeases(ids(deliveries).slice(1));
    expect(ids(await b.dueInLane(lane(subscription), new Date(), 10, new Set()))).toEqual(
      ids(deliveries).slice(1),
    );
  });

  it('a process that closes hands back every lease it held', async () => {
    const { a, b, subscription } = await pair('close');
    const { deliveries } = await a.append([ev('e1'), ev('e2')], to([subscription]));
    expect(await b.dueInLane(lane(subscription), new Date(), 10, new Set())).toEqual([]);
    await a.close();
    expect(ids(await b.dueInLane(lane(subscription), new Date(), 10, new Set()))).toEqual(ids(deliveries));
    await expect(a.lanes()).rejects.toBeInstanceOf(UnavailableError);
    expect(await a.ping()).toBe(false);
  });

  it('never gives one delivery to two processes reading at once', async () => {
    const { a, b, subscription } = await pair('race');
    const events = Array.from({ length: 300 }, (_, i) => ev(`e${i}`));
    const { deliveries } = await a.append(events, to([subscription]));
    await a.releaseLeases(ids(deliveries));
    const got = { a: [] as string[], b: [] as string[] };
    const drain = async (store: PostgresStore, into: string[]) => {
      for (;;) {
        const page = await store.dueInLane(lane(subscription), new Date(), 25, new Set(into));
        if (page.length === 0) return;
        into.push(...ids(page));
      }
    };
    await Promise.all([drain(a, got.a), drain(b, got.b)]);
    const all = [...got.a, ...got.b];
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual(ids(deliveries).sort());
    expect(got.a.length).toBeGreaterThan(0);
    expect(got.b.length).toBeGreaterThan(0);
  });

  it('orders a partition key across processes: the next waits for the head, whoever holds it', async () => {
    const { a, b, subscription } = await pair('order', 60_000, { ordering: 'partition' });
    const { deliveries } = await a.append(
      [ev('k1'), ev('k2'), ev('k3')].map((e) => ({ ...e, partitionkey: 'k' })),
      to([subscription]),
    );
    await a.releaseLeases(ids(deliveries));
    const [h1, h2] = ids(deliveries);
    const first = await a.dueInLane(lane(subscription), new Date(), 10, new Set());
    expect(ids(first)).toEqual([h1]);
    // B may not send the second while A holds the first, nor while the first waits for a retry.
    expect(await b.dueInLane(lane(subscription), new Date(), 10, new Set())).toEqual([]);
    await a.recordAttempt(h1!, {
      kind: 'retry',
      attempt: attempt('retry'),
      nextAttemptAt: new Date(Date.now() + 60_000),
    });
    expect(await b.dueInLane(lane(subscription), new Date(), 10, new Set())).toEqual([]);
    // The first is sent by whoever reads it when due: here B, at a time past its retry.
    const later = new Date(Date.now() + 61_000);
    expect(ids(await b.dueInLane(lane(subscription), later, 10, new Set()))).toEqual([h1]);
    expect(await a.dueInLane(lane(subscription), later, 10, new Set())).toEqual([]);
    await b.recordAttempt(h1!, { kind: 'delivered', attempt: attempt('delivered') });
    expect(ids(await a.dueInLane(lane(subscription), new Date(), 10, new Set()))).toEqual([h2]);
  });

  it('takes an ordered key event number only once earlier appends of the key have committed', async () => {
    const { s, a, b, subscription } = await pair('key_lock', 60_000, { ordering: 'partition' });
    // Another append of key k, in a session of its own, holds the key's lock (0x4a4e434f, 'JNCO')
    // and has not committed: an append of k waits for it before it takes a number, so the order
    // of numbers within the key is the order of commits.
    const other = await sql.reserve();
    try {
      await other.unsafe(`BEGIN; SELECT pg_advisory_xact_lock(${0x4a4e434f}, hashtext('${s}:k'))`);
      const keyed = a.append([ev('k1', { partitionkey: 'k' })], to([subscription]));
      await sleep(200);
      const free = await b.append([ev('n1', { partitionkey: 'n' })], to([subscription]));
      await other.unsafe('COMMIT');
      const held = await keyed;
      expect(held.deliveries[0]!.event.seq).toBeGreaterThan(free.deliveries[0]!.event.seq);
    } finally {
      other.release();
    }
  });

  it('tells each process of the subscription and contract changes the other made', async () => {
    const { a, b } = await pair('watch');
    const heard = { a: [] as StoreChange[], b: [] as StoreChange[] };
    const stopA = a.watch((c) => heard.a.push(c));
    b.watch((c) => heard.b.push(c));
    // LISTEN is asynchronous: wait until a change is heard before checking what is not.
    await eventually(async () => {
      await b.saveSubscription(sub('sub_probe'));
      return heard.a.length > 0;
    });
    heard.a.length = 0;

    await b.saveSubscription(sub('sub_2'));
    await a.saveSubscription(sub('sub_3'));
    await b.deleteSubscription('sub_1');
    const settings = {
      type: 'com.acme.order.created',
      owner: null,
      description: null,
      channel: null,
      example: null,
      compatibility: 'BACKWARD' as const,
      optionalFriendly: true,
      validation: 'enforce' as const,
      afterSunset: 'refuse' as const,
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    };
    expect(
      await b.registerSchema(settings, { type: 'object' }, 0, 'admin', { action: 'register' }),
    ).not.toBeNull();
    await eventually(() => heard.a.some((c) => c.kind === 'contract') && heard.b.length >= 1);
    await sleep(100);
    expect(heard.a.filter((c) => c.kind !== 'subscription' || c.id !== 'sub_probe')).toEqual([
      { kind: 'subscription', id: 'sub_2' },
      { kind: 'subscription', id: 'sub_1' },
      { kind: 'contract', type: 'com.acme.order.created' },
    ]);
    expect(heard.b.filter((c) => c.kind === 'subscription' && c.id !== 'sub_probe')).toEqual([
      { kind: 'subscription', id: 'sub_3' },
    ]);

    stopA();
    const before = heard.a.length;
    await b.saveSubscription(sub('sub_4'));
    await sleep(200);
    expect(heard.a).toHaveLength(before);
  });

  it('registers one version when two processes race for it', async () => {
    const { a, b } = await pair('register');
    const settings = {
      type: 't',
      owner: null,
      description: null,
      channel: null,
      example: null,
      compatibility: 'BACKWARD' as const,
      optionalFriendly: true,
      validation: 'enforce' as const,
      afterSunset: 'refuse' as const,
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    };
    const results = await Promise.all(
      [a, b, a, b].map((s, i) =>
        s.registerSchema(settings, { title: `v${i}` }, 0, 'admin', { action: 'register' }),
      ),
    );
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect((await a.schemaVersions('t')).map((v) => v.version)).toEqual([1]);
    expect(await a.contractChanges('t')).toHaveLength(1);
  });

  it('accepts each event once when two processes append the same events at once', async () => {
    const { a, b, subscription } = await pair('dupes');
    const events = Array.from({ length: 200 }, (_, i) => ev(`e${i}`));
    // Opposite orders too: the two appends may deadlock on each other's keys and must recover.
    const [ra, rb, rc] = await Promise.all([
      a.append(events, to([subscription])),
      b.append([...events].reverse(), to([subscription])),
      b.append(events.slice(50, 150), to([subscription])),
    ]);
    const accepted = [...ra.results, ...rb.results, ...rc.results].filter((r) => r.status === 'accepted');
    expect(accepted).toHaveLength(200);
    expect(new Set(accepted.map((r) => r.id)).size).toBe(200);
    expect(ra.deliveries.length + rb.deliveries.length + rc.deliveries.length).toBe(200);
    expect(await a.deliveryCounts(subscription.id)).toEqual({ pending: 200 });
  });

  it('grants a replay to one process at a time, hands it over when the claim runs out, and keeps a cancel', async () => {
    const { a, b, subscription } = await pair('claim', 300);
    const now = new Date().toISOString();
    const replay = {
      id: 'rpl_1',
      subscriptionId: subscription.id,
      from: new Date(0).toISOString(),
      to: now,
      types: [],
      filters: [],
      newWebhookIds: false,
      status: 'running' as const,
      scanned: 0,
      matched: 0,
      total: 0,
      cursor: 0,
      error: null,
      createdAt: now,
      updatedAt: now,
    };
    await a.saveReplay(replay, []);
    expect(await a.claimReplay('rpl_1')).toBe(true);
    expect(await b.claimReplay('rpl_1')).toBe(false);
    await sleep(350);
    // A stalled past its claim (or died): B takes the job over, and A, back, does not get it.
    expect(await b.claimReplay('rpl_1')).toBe(true);
    expect(await a.claimReplay('rpl_1')).toBe(false);

    // Cancelled through A while B runs it: B's next page is refused, and B's save of the page it
    // was writing does not bring the replay back to running.
    await a.saveReplay({ ...replay, status: 'cancelled' }, []);
    await b.saveReplay({ ...replay, scanned: 10 }, []);
    expect(await b.getReplay('rpl_1')).toMatchObject({ status: 'cancelled', scanned: 0 });
    expect(await b.claimReplay('rpl_1')).toBe(false);

    // A process that closes hands its replays back at once.
    await b.saveReplay({ ...replay, id: 'rpl_2' }, []);
    expect(await b.claimReplay('rpl_2')).toBe(true);
    await b.close();
    expect(await a.claimReplay('rpl_2')).toBe(true);
  });

  it('skips, without failing the page, an event another process sweeps while a replay writes it', async () => {
    const { s, a, subscription } = await pair('replay_sweep');
    const { deliveries } = await a.append([ev('e1'), ev('e2')], to([subscription]));
    for (const d of deliveries) {
      await a.recordAttempt(d.delivery.id, { kind: 'delivered', attempt: attempt('delivered') });
    }
    const [e1, e2] = deliveries.map((d) => d.event.seq);
    const replay = {
      id: 'rpl_1',
      subscriptionId: subscription.id,
      from: new Date(0).toISOString(),
      to: new Date().toISOString(),
      types: [],
      filters: [],
      newWebhookIds: false,
      status: 'running' as const,
      scanned: 2,
      matched: 2,
      total: 2,
      cursor: e2!,
      error: null,
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    };
    const page = [e1!, e2!].map((seq) => ({
      id: `dlv_r${seq}`,
      webhookId: `msg_r${seq}`,
      subscriptionId: subscription.id,
      orderKey: null,
      eventSeq: seq,
      channel: 'default',
    }));
    // A sweep in another session holds e1, deletes it, and commits while the page is written.
    const sweeper = await sql.reserve();
    try {
      await sweeper.unsafe(`BEGIN; SELECT 1 FROM "${s}".events WHERE seq = ${e1} FOR UPDATE`);
      const saving = a.saveReplay(replay, page);
      await sleep(200);
      await sweeper.unsafe(`DELETE FROM "${s}".attempts WHERE delivery_id IN (
        SELECT id FROM "${s}".deliveries WHERE event_seq = ${e1});
        DELETE FROM "${s}".deliveries WHERE event_seq = ${e1}; DELETE FROM "${s}".events WHERE seq = ${e1}; COMMIT`);
      await saving;
    } finally {
      sweeper.release();
    }
    expect(await a.replayDeliveryCounts('rpl_1')).toEqual({ pending: 1 });
    expect((await a.getReplay('rpl_1'))?.cursor).toBe(e2);
  });

  it('numbers attempts recorded at once, several of one delivery among them', async () => {
    const { a, subscription } = await pair('attempts');
    const { deliveries } = await a.append(
      Array.from({ length: 300 }, (_, i) => ev(`e${i}`)),
      to([subscription]),
    );
    const retry = () => ({
      kind: 'retry' as const,
      attempt: attempt('retry'),
      nextAttemptAt: new Date(Date.now() + 1000),
    });
    const first = deliveries[0]!.delivery.id;
    await Promise.all([
      ...deliveries.map((d) => a.recordAttempt(d.delivery.id, retry())),
      a.recordAttempt(first, retry()),
      a.recordAttempt(first, { kind: 'delivered', attempt: attempt('delivered') }),
    ]);
    const found = await a.lookupEvent('/shop', 'e0');
    expect(found?.deliveries[0]?.attemptLog.map((x) => x.n)).toEqual([1, 2, 3]);
    expect(found?.deliveries[0]?.status).toBe('delivered');
    expect(await a.deliveryCounts(subscription.id)).toEqual({ retrying: 299, delivered: 1 });
    await expect(a.recordAttempt('dlv_missing', retry())).rejects.toThrow(/no delivery/);
  });

  it('answers UnavailableError while PostgreSQL is away, ping false within a second, and recovers', async () => {
    const s = await schema('down');
    const relay = new Relay(await freePort());
    await relay.start();
    try {
      const store = await open(s, { url: relay.url(), owner: 'down' });
      const other = await open(s, { owner: 'other' });
      await store.saveSubscription(sub('sub_1'));
      expect(await store.ping()).toBe(true);
      const heard: StoreChange[] = [];
      store.watch((c) => heard.push(c));
      await eventually(async () => {
        await other.saveSubscription(sub('sub_probe'));
        return heard.length > 0;
      });

      await relay.stop();
      const started = Date.now();
      expect(await store.ping()).toBe(false);
      expect(Date.now() - started).toBeLessThan(1_500);
      const calls: Promise<unknown>[] = [
        store.getSubscription('sub_1'),
        store.append([ev('e1')], to([sub('sub_1')])),
        store.lanes(),
        store.recordAttempt('dlv_x', { kind: 'delivered', attempt: attempt('delivered') }),
        store.listDeadLetters(undefined, 10, undefined),
      ];
      for (const outcome of await Promise.allSettled(calls)) {
        expect(outcome.status).toBe('rejected');
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(UnavailableError);
      }

      await relay.start();
      await eventually(() => store.ping());
      expect((await store.getSubscription('sub_1'))?.id).toBe('sub_1');
      expect((await store.append([ev('e1')], to([sub('sub_1')]))).results[0]?.status).toBe('accepted');
      // The watch listens again by itself, and reports everything changed: it may have missed some.
      heard.length = 0;
      await eventually(() => heard.some((c) => c.kind === 'subscription' && c.id === 'sub_1'), 10_000);
      await other.saveSubscription(sub('sub_after'));
      await eventually(() => heard.some((c) => c.kind === 'subscription' && c.id === 'sub_after'));
    } finally {
      await relay.stop();
    }
  });

  it('fails only the call whose session was terminated, with UnavailableError, then carries on', async () => {
    const { a, subscription } = await pair('terminate');
    const { deliveries } = await a.append([ev('e1')], to([subscription]));
    const id = deliveries[0]!.delivery.id;
    await a.recordAttempt(id, { kind: 'dead', attempt: attempt('dead'), reason: 'gone' });
    // Hold the row, so the store's redrive waits on it with its session busy.
    const lock = sql.reserve();
    const held = await lock;
    try {
      await held.unsafe(`BEGIN; SELECT 1 FROM "${schemas[0]}".deliveries WHERE id = '${id}' FOR UPDATE`);
      const redrive = a.redrive({ ids: [id] });
      await eventually(async () => {
        const [row] = await sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE application_name = ${`junction:${a.owner}`} AND wait_event_type = 'Lock'`;
        return (row?.n ?? 0) > 0;
      });
      await sql`
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ${`junction:${a.owner}`}`;
      await expect(redrive).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      await held.unsafe('ROLLBACK');
      held.release();
    }
    // The driver opens new sessions: the next calls work.
    expect((await a.redrive({ ids: [id] })).map((d) => d.status)).toEqual(['pending']);
    expect(await a.ping()).toBe(true);
  });
});
