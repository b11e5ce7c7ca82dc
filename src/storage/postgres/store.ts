/**
 * The EventStore port on PostgreSQL, for several hub processes sharing one schema. Each method
 * means what it means in the embedded store (`../sqlite/store.ts`, the reference); what sharing
 * adds is leases on due deliveries (`due.ts`), appends that meet on the `(source, id)` key
 * (`append.ts`), change notifications (`watch.ts`), and a store that answers `UnavailableError`
 * while PostgreSQL is away and carries on when it is back (the driver opens new sessions as
 * needed).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type postgres from 'postgres';
import { UnavailableError } from '../../core/errors.js';
import type { CloudEvent } from '../../core/event.js';
import type {
  AppendResult,
  Attempt,
  AttemptResult,
  ContractChange,
  Delivery,
  DeliveryStatus,
  DueDelivery,
  DuePage,
  EventContract,
  EventQuery,
  EventStore,
  EventSummary,
  EventType,
  Hook,
  Lane,
  LaneBacklog,
  Page,
  Replay,
  ReplayDelivery,
  Routed,
  SchemaConverter,
  SchemaVersion,
  StoreChange,
  StoredEvent,
  Subscription,
  TokenGrant,
} from '../ports.js';
import { appendEvents } from './append.js';
import * as archive from './archive.js';
import { AttemptCommitter, attemptOp } from './attempts.js';
import { checkSchemaName, connectionError, DEFAULT_SCHEMA, openClient } from './connection.js';
import type { DeadSelector } from './deliveries.js';
import * as deliveries from './deliveries.js';
import * as due from './due.js';
import * as hooks from './hooks.js';
import * as limits from './limits.js';
import { assertMigrated } from './migrate.js';
import * as registry from './registry.js';
import { searchEvents } from './search.js';
import { ChangeFeed } from './watch.js';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/db`. */
  url: string;
  /** The schema holding Junction's tables, migrated beforehand (default `junction`). */
  schema?: string;
  /** This process's id, on its leases and its change notifications (default: host, pid, random). */
  owner?: string;
  /** How long a read due delivery stays this process's own, in ms (default 60 000). */
  leaseMs?: number;
  /** Sessions in the pool (default 10). */
  max?: number;
}

/** Every default, in one place. */
const DEFAULTS = { schema: DEFAULT_SCHEMA, leaseMs: 60_000, max: 10 };
/** Seconds to wait for a session: long enough for a busy server, short enough that nothing hangs. */
const CONNECT_TIMEOUT_S = 5;
/** How long `ping()` waits before it says no. */
const PING_TIMEOUT_MS = 1_000;
/** How long closing waits for calls under way. */
const CLOSE_GRACE_MS = 5_000;
/** Times an append is tried again after PostgreSQL broke a deadlock by aborting it. */
const DEADLOCK_RETRIES = 3;

interface Resolved {
  url: string;
  schema: string;
  owner: string;
  leaseMs: number;
  max: number;
}

function resolveOptions(options: PostgresStoreOptions): Resolved {
  const leaseMs = options.leaseMs ?? DEFAULTS.leaseMs;
  if (!Number.isFinite(leaseMs) || leaseMs <= 0)
    throw new RangeError(`leaseMs must be positive, got ${leaseMs}`);
  return {
    url: options.url,
    schema: checkSchemaName(options.schema ?? DEFAULTS.schema),
    owner: options.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    leaseMs,
    max: options.max ?? DEFAULTS.max,
  };
}

/**
 * Opens the store on a migrated schema: throws `MigrationsPendingError` when it is not, and
 * `StoreUnavailableError` when PostgreSQL cannot be reached.
 *
 * @example
 * const store = await openPostgresStore({ url: 'postgres://127.0.0.1/junction', leaseMs: 30_000 });
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const resolved = resolveOptions(options);
  await assertMigrated(resolved.url, { schema: resolved.schema });
  const sql = openClient(resolved.url, {
    max: resolved.max,
    // The owner in the session's name shows an operator (pg_stat_activity) which process is which.
    application: `junction:${resolved.owner}`.slice(0, 63),
    schema: resolved.schema,
    settings: { 'junction.owner': resolved.owner },
    connectTimeout: CONNECT_TIMEOUT_S,
    bigintAsNumber: true,
  });
  return new PostgresStore(sql, resolved);
}

/** The store on one schema; open it with `openPostgresStore`, which checks the schema first. */
export class PostgresStore implements EventStore {
  /** This process's id: the holder of its leases, the author of its changes. */
  readonly owner: string;
  private closed = false;
  /** Whether the last query reached PostgreSQL: what `healthy()` answers without a round trip. */
  private available = true;
  private appending = 0;
  /** Calls under way, which closing lets finish. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly attempts: AttemptCommitter;
  private readonly feed: ChangeFeed;
  private readonly who: due.Leaser;

  constructor(
    private readonly sql: postgres.Sql,
    private readonly options: Resolved,
  ) {
    this.owner = options.owner;
    this.who = { owner: options.owner, leaseMs: options.leaseMs };
    this.attempts = new AttemptCommitter(sql, (e) => this.failure(e));
    this.feed = new ChangeFeed(options.url, options.schema, options.owner, sql);
  }

  /** A driver error as callers see it: PostgreSQL out of reach is `UnavailableError` (503). */
  private failure(error: unknown): unknown {
    const mapped = connectionError(error, this.options.url);
    if (mapped instanceof UnavailableError) this.available = false;
    return mapped;
  }

  /** Runs a method's queries, refusing once closed and mapping lost connections. */
  private run<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new UnavailableError('the hub is shutting down; retry shortly'));
    const call = work().then(
      (value) => {
        this.available = true;
        return value;
      },
      (error: unknown) => {
        throw this.failure(error);
      },
    );
    this.inFlight.add(call);
    const forget = () => this.inFlight.delete(call);
    call.then(forget, forget);
    return call;
  }

  append(
    events: CloudEvent[],
    route: (event: CloudEvent) => Routed,
    contracts?: (EventContract | null)[],
  ): Promise<{ results: AppendResult[]; deliveries: DueDelivery[] }> {
    return this.run(async () => {
      this.appending += events.length;
      try {
        for (let attempt = 0; ; attempt++) {
          try {
            return await appendEvents(this.sql, this.who, events, route, contracts);
          } catch (error) {
            // Two appends inserting the same keys in opposite orders deadlock; PostgreSQL aborts
            // one, which stored nothing and may simply run again.
            if ((error as { code?: string }).code !== '40P01' || attempt >= DEADLOCK_RETRIES) throw error;
          }
        }
      } finally {
        this.appending -= events.length;
      }
    });
  }

  /** Events of appends not yet committed. */
  backlog(): number {
    return this.appending;
  }

  saveSubscription(sub: Subscription): Promise<void> {
    return this.run(async () => {
      await this.sql`
        INSERT INTO subscriptions (id, body) VALUES (${sub.id}, ${JSON.stringify(sub)}::text::jsonb)
        ON CONFLICT (id) DO UPDATE SET body = excluded.body`;
    });
  }

  /** Deletes it, and its deliveries still to attempt become dead letters, in one statement. */
  deleteSubscription(id: string): Promise<number | null> {
    return this.run(async () => {
      const now = Date.now();
      const rows = await this.sql<{ killed: number }[]>`
        WITH gone AS (DELETE FROM subscriptions WHERE id = ${id} RETURNING id),
        killed AS (
          UPDATE deliveries SET status = 'dead', next_attempt_at = NULL, last_error = 'subscription deleted',
            updated_at = ${now}, leased_by = NULL, leased_until = NULL
          WHERE subscription_id IN (SELECT id FROM gone) AND next_attempt_at IS NOT NULL
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM killed)::int AS killed FROM gone`;
      return rows[0]?.killed ?? null;
    });
  }

  getSubscription(id: string): Promise<Subscription | undefined> {
    return this.run(async () => {
      const [row] = await this.sql<{ body: Subscription }[]>`SELECT body FROM subscriptions WHERE id = ${id}`;
      return row?.body;
    });
  }

  listSubscriptions(): Promise<Subscription[]> {
    return this.run(async () => {
      const rows = await this.sql<{ body: Subscription }[]>`SELECT body FROM subscriptions ORDER BY id`;
      return rows.map((r) => r.body);
    });
  }

  saveHook(hook: Hook): Promise<void> {
    return this.run(() => hooks.saveHook(this.sql, hook));
  }

  getHook(id: string): Promise<Hook | undefined> {
    return this.run(() => hooks.getHook(this.sql, id));
  }

  listHooks(): Promise<Hook[]> {
    return this.run(() => hooks.listHooks(this.sql));
  }

  deleteHook(id: string): Promise<boolean> {
    return this.run(() => hooks.deleteHook(this.sql, id));
  }

  lanes(): Promise<Lane[]> {
    return this.run(() => due.lanes(this.sql, this.who, Date.now()));
  }

  backlogByLane(): Promise<LaneBacklog[]> {
    return this.run(() => due.backlogByLane(this.sql));
  }

  async dueInLane(
    lane: Lane,
    now: Date,
    limit: number,
    exclude: ReadonlySet<string>,
  ): Promise<DueDelivery[]> {
    return (await this.dueInLanePage(lane, now, limit, exclude, null)).items;
  }

  dueInLanePage(
    lane: Lane,
    now: Date,
    limit: number,
    exclude: ReadonlySet<string>,
    after: string | null,
  ): Promise<DuePage> {
    return this.run(() => due.dueInLanePage(this.sql, this.who, lane, now, limit, exclude, after));
  }

  channelsWithWork(subscriptionId: string): Promise<string[]> {
    return this.run(() => due.channelsWithWork(this.sql, subscriptionId));
  }

  nextDueInLane(lane: Lane, now: Date): Promise<Date | null> {
    return this.run(() => due.nextDueInLane(this.sql, this.who, lane, now.getTime()));
  }

  /**
   * Hands back deliveries this process leased and will not send (queued when it stopped), so
   * another process takes them now rather than when the lease runs out. Not part of the port.
   */
  releaseLeases(ids: string[]): Promise<void> {
    return this.run(() => due.releaseLeases(this.sql, this.who, ids));
  }

  recordAttempt(deliveryId: string, result: AttemptResult): Promise<void> {
    if (this.closed) return Promise.reject(new UnavailableError('the hub is shutting down; retry shortly'));
    return this.attempts.record(attemptOp(deliveryId, result));
  }

  hasEvent(source: string, id: string): Promise<boolean> {
    return this.run(async () => {
      const rows = await this.sql`SELECT 1 FROM events WHERE source = ${source} AND id = ${id}`;
      return rows.length > 0;
    });
  }

  lookupEvent(
    source: string,
    id: string,
  ): Promise<{ event: StoredEvent; deliveries: (Delivery & { attemptLog: Attempt[] })[] } | undefined> {
    return this.run(() => deliveries.lookupEvent(this.sql, source, id));
  }

  listDeliveries(
    subscriptionId: string,
    status: DeliveryStatus | undefined,
    limit: number,
    after: string | undefined,
  ): Promise<Page<Delivery>> {
    return this.run(() => deliveries.listDeliveries(this.sql, subscriptionId, status, limit, after));
  }

  listDeadLetters(
    subscriptionId: string | undefined,
    limit: number,
    after: string | undefined,
  ): Promise<Page<Delivery>> {
    return this.run(() => deliveries.listDeadLetters(this.sql, subscriptionId, limit, after));
  }

  eventSummaries(seqs: number[]): Promise<Map<number, { source: string; id: string; type: string }>> {
    return this.run(() => deliveries.eventSummaries(this.sql, seqs));
  }

  redrive(selector: DeadSelector): Promise<Delivery[]> {
    return this.run(() => deliveries.redrive(this.sql, selector));
  }

  discard(selector: DeadSelector): Promise<Delivery[]> {
    return this.run(() => deliveries.discard(this.sql, selector));
  }

  sweep(channel: string, before: Date, limit: number): Promise<number> {
    return this.run(() => archive.sweep(this.sql, channel, before, limit));
  }

  archived(
    from: Date,
    to: Date,
    afterSeq: number,
    limit: number,
  ): Promise<(StoredEvent & { channel: string })[]> {
    return this.run(() => archive.archived(this.sql, from, to, afterSeq, limit));
  }

  searchEvents(query: EventQuery, limit: number, beforeSeq: number | undefined): Promise<EventSummary[]> {
    return this.run(() => searchEvents(this.sql, query, limit, beforeSeq));
  }

  recentEvents(type: string, limit: number): Promise<StoredEvent[]> {
    return this.run(() => archive.recentEvents(this.sql, type, limit));
  }

  countArchived(from: Date, to: Date): Promise<number> {
    return this.run(() => archive.countArchived(this.sql, from, to));
  }

  replayDeliveryCounts(replayId: string): Promise<Partial<Record<DeliveryStatus, number>>> {
    return this.run(() => deliveries.deliveryCounts(this.sql, { replayId }));
  }

  deliveryCounts(subscriptionId: string): Promise<Partial<Record<DeliveryStatus, number>>> {
    return this.run(() => deliveries.deliveryCounts(this.sql, { subscriptionId }));
  }

  webhookIdsOf(eventSeqs: number[], subscriptionId: string): Promise<Map<number, string>> {
    return this.run(() => deliveries.webhookIdsOf(this.sql, eventSeqs, subscriptionId));
  }

  saveReplay(replay: Replay, pageDeliveries: ReplayDelivery[]): Promise<void> {
    return this.run(() => archive.saveReplay(this.sql, replay, pageDeliveries));
  }

  getReplay(id: string): Promise<Replay | undefined> {
    return this.run(() => archive.getReplay(this.sql, id));
  }

  runningReplays(): Promise<Replay[]> {
    return this.run(() => archive.runningReplays(this.sql));
  }

  claimReplay(id: string): Promise<boolean> {
    return this.run(() => archive.claimReplay(this.sql, this.who, id, Date.now()));
  }

  takeTokens(key: string, perSecond: number, burst: number, n: number): Promise<TokenGrant> {
    return this.run(() => limits.takeTokens(this.sql, key, perSecond, burst, n));
  }

  listReplays(limit: number): Promise<Replay[]> {
    return this.run(() => archive.listReplays(this.sql, limit));
  }

  registerSchema(
    settings: EventType,
    schema: unknown,
    expectedLatest: number,
    actor: string,
    change: Record<string, unknown>,
  ): Promise<SchemaVersion | null> {
    return this.run(() => registry.registerSchema(this.sql, settings, schema, expectedLatest, actor, change));
  }

  saveEventType(settings: EventType, actor: string, change: Record<string, unknown>): Promise<void> {
    return this.run(() => registry.saveEventType(this.sql, settings, actor, change));
  }

  getEventType(type: string): Promise<EventType | undefined> {
    return this.run(() => registry.getEventType(this.sql, type));
  }

  listEventTypes(): Promise<EventType[]> {
    return this.run(() => registry.listEventTypes(this.sql));
  }

  schemaVersions(type: string): Promise<SchemaVersion[]> {
    return this.run(() => registry.schemaVersions(this.sql, type));
  }

  getSchemaVersion(type: string, version?: number): Promise<SchemaVersion | undefined> {
    return this.run(() => registry.getSchemaVersion(this.sql, type, version));
  }

  contractChanges(type: string): Promise<ContractChange[]> {
    return this.run(() => registry.contractChanges(this.sql, type));
  }

  setSchemaLifecycle(
    type: string,
    version: number,
    lifecycle: { deprecatedAt: string | null; sunsetAt: string | null },
    actor: string,
    change: Record<string, unknown>,
  ): Promise<boolean> {
    return this.run(() => registry.setSchemaLifecycle(this.sql, type, version, lifecycle, actor, change));
  }

  saveConverter(converter: SchemaConverter, change: Record<string, unknown>): Promise<void> {
    return this.run(() => registry.saveConverter(this.sql, converter, change));
  }

  deleteConverter(
    type: string,
    from: number,
    to: number,
    actor: string,
    change: Record<string, unknown>,
  ): Promise<boolean> {
    return this.run(() => registry.deleteConverter(this.sql, type, from, to, actor, change));
  }

  converters(type: string): Promise<SchemaConverter[]> {
    return this.run(() => registry.converters(this.sql, type));
  }

  /** Whether PostgreSQL answers within a second; never throws. */
  async ping(): Promise<boolean> {
    if (this.closed) return false;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
    });
    const answer = this.sql`SELECT 1 AS ok`.then(
      (rows) => rows.length === 1,
      () => false,
    );
    try {
      this.available = await Promise.race([answer, late]);
      return this.available;
    } finally {
      clearTimeout(timer);
    }
  }

  healthy(): boolean {
    return !this.closed && this.available;
  }

  watch(listener: (change: StoreChange) => void): () => void {
    if (this.closed) return () => {};
    return this.feed.add(listener);
  }

  /** Lets calls under way finish (for up to five seconds), then closes every session. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_GRACE_MS);
    });
    await Promise.race([Promise.allSettled([this.attempts.idle(), ...this.inFlight]), late]);
    clearTimeout(timer);
    await this.feed.close();
    // A process that stops cleanly holds nothing: what it leased (deliveries, replays) is free at
    // once for the others (or for this store opened again), not when the leases run out.
    await this
      .sql`UPDATE deliveries SET leased_by = NULL, leased_until = NULL WHERE leased_by = ${this.owner}`.catch(
      () => {},
    );
    await this
      .sql`UPDATE replays SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ${this.owner}`.catch(
      () => {},
    );
    // Nothing of ours is left running. The driver's own grace period would also wait on a session
    // PostgreSQL terminated earlier, which it never counts as ended (measured: the full timeout).
    await this.sql.end({ timeout: 0 });
  }
}
