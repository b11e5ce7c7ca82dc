/**
 * The embedded store: one SQLite file in WAL mode. Writes go to a writer thread that commits with
 * `synchronous=FULL`, so a committed transaction survives a power cut, and group-commits, so that
 * costs one fsync per batch of writes. Reads run here, on a connection of their own.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { UnavailableError } from '../../core/errors.js';
import { type CloudEvent, eventJson } from '../../core/event.js';
import type {
  AppendResult,
  Attempt,
  AttemptResult,
  ContractChange,
  Conversion,
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
  StoredEvent,
  Subscription,
  TokenGrant,
} from '../ports.js';
import {
  attemptChange,
  deliveriesOf,
  deliveryOfRow,
  iso,
  pendingDelivery,
  type DeliveryRow as StoredDeliveryRow,
  takeFromBucket,
} from '../records.js';
import { SqliteSearch } from './search.js';
import type { NewEvent } from './write-ops.js';
import { WriterClient } from './writer-client.js';

type DeliveryRow = StoredDeliveryRow<string | null>;

interface EventRow {
  seq: number;
  body: string;
  received_at: number;
  contract: string | null;
}

/** Rows a page of due deliveries may look at beyond four per delivery it asks for. */
const MIN_SCAN = 1_000;

function toDelivery(r: DeliveryRow): Delivery {
  return deliveryOfRow(r, r.conversion === null ? null : (JSON.parse(r.conversion) as Conversion));
}

function toStoredEvent(r: EventRow): StoredEvent {
  return {
    seq: r.seq,
    event: JSON.parse(r.body) as CloudEvent,
    receivedAt: iso(r.received_at),
    contract: r.contract === null ? null : (JSON.parse(r.contract) as EventContract),
  };
}

/** Opens (creating if needed) the store under `dataDir` and brings its schema up to date. */
export async function openSqliteStore(dataDir: string): Promise<SqliteStore> {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'junction.db');
  // The writer opens first: it creates the file and applies migrations before anything reads.
  const writer = await WriterClient.start(path);
  return new SqliteStore(path, writer);
}

export class SqliteStore implements EventStore {
  private readonly db: Database.Database;
  private closed = false;
  private readonly stmt;
  private readonly finder: SqliteSearch;
  /** Rate-limit buckets by key: when each is full again (epoch ms). */
  private readonly buckets = new Map<string, number>();

  constructor(
    path: string,
    private readonly writer: WriterClient,
  ) {
    this.db = new Database(path, { readonly: true });
    const db = this.db;
    this.finder = new SqliteSearch(db);
    this.stmt = {
      // Due deliveries of one lane. With ordering, a delivery waits while an earlier one of its
      // partition key is unsettled (or dead and blocking), so each key yields only its head.
      // Read in (next_attempt_at, rowid) order after a cursor, the order of the deliveries_due index,
      // so a lane draining a backlog does not read again the rows it already holds.
      // Held rows are returned flagged rather than filtered out, so that the reader can stop after
      // a bounded number of rows: a few keys with deep backlogs would otherwise be walked in full
      // on every read, and a read follows every settled delivery of an ordered subscription.
      dueInLane: db.prepare(
        `SELECT rowid AS row, *, (order_key IS NOT NULL AND EXISTS (
             SELECT 1 FROM deliveries e WHERE e.subscription_id = d.subscription_id AND e.order_key = d.order_key
               AND (e.event_seq, e.rowid) < (d.event_seq, d.rowid)
               AND (e.status IN ('pending', 'retrying') OR (e.status = 'dead' AND e.dead_blocks = 1)))) AS held
         FROM deliveries d
         WHERE subscription_id = ? AND channel = ? AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?
           AND (next_attempt_at, rowid) > (?, ?)
         ORDER BY next_attempt_at, rowid`,
      ),
      nextDueInLane: db.prepare(
        `SELECT MIN(next_attempt_at) AS t FROM deliveries
         WHERE subscription_id = ? AND channel = ? AND next_attempt_at IS NOT NULL AND next_attempt_at > ?`,
      ),
      lanes: db.prepare(
        'SELECT DISTINCT subscription_id, channel FROM deliveries WHERE next_attempt_at IS NOT NULL',
      ),
      // Grouped along the deliveries_due index, which holds only the rows still to attempt.
      backlogByLane: db.prepare(
        `SELECT subscription_id, channel, COUNT(*) AS n, MIN(created_at) AS oldest FROM deliveries
         WHERE next_attempt_at IS NOT NULL GROUP BY subscription_id, channel ORDER BY subscription_id, channel`,
      ),
      eventBodyBySeq: db.prepare('SELECT seq, body, received_at, contract FROM events WHERE seq = ?'),
      // In (received_at, seq) order, the order of the events_by_time index, after a cursor: each
      // page reads only its own rows however long the range.
      eventsInRange: db.prepare(
        `SELECT seq, body, received_at, contract, channel FROM events
         WHERE (received_at, seq) > (?, ?) AND received_at < ? ORDER BY received_at, seq LIMIT ?`,
      ),
      receivedAtOf: db.prepare('SELECT received_at FROM events WHERE seq = ?'),
      // One index seek per channel, not a scan of the subscription's backlog.
      nextChannelWithWork: db.prepare(
        `SELECT channel FROM deliveries WHERE subscription_id = ? AND channel > ? AND next_attempt_at IS NOT NULL
         ORDER BY channel LIMIT 1`,
      ),
      dueOfBatch: db.prepare(
        'SELECT rowid AS row, * FROM deliveries WHERE batch_id = ? AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?',
      ),
      webhookIdOf: db.prepare(
        // '+' keeps the planner on the event_seq index: by subscription it would scan all of the
        // subscription's deliveries for each event of a replay, slowing it down as it goes.
        `SELECT webhook_id FROM deliveries WHERE event_seq = ? AND +subscription_id = ? AND replay_id IS NULL
         ORDER BY id LIMIT 1`,
      ),
      countArchived: db.prepare(
        'SELECT COUNT(*) AS n FROM events WHERE received_at >= ? AND received_at < ?',
      ),
      replayCounts: db.prepare(
        'SELECT status, COUNT(*) AS n FROM deliveries WHERE replay_id = ? GROUP BY status',
      ),
      subscriptionCounts: db.prepare(
        'SELECT status, COUNT(*) AS n FROM deliveries WHERE subscription_id = ? GROUP BY status',
      ),
      getReplay: db.prepare('SELECT body FROM replays WHERE id = ?'),
      listReplays: db.prepare('SELECT body FROM replays ORDER BY id DESC LIMIT ?'),
      runningReplays: db.prepare(
        "SELECT body FROM replays WHERE json_extract(body, '$.status') = 'running' ORDER BY id",
      ),
      getSubscription: db.prepare('SELECT body FROM subscriptions WHERE id = ?'),
      listSubscriptions: db.prepare('SELECT body FROM subscriptions ORDER BY id'),
      getHook: db.prepare('SELECT body FROM hooks WHERE id = ?'),
      listHooks: db.prepare('SELECT body FROM hooks ORDER BY id'),
      eventByKey: db.prepare(
        'SELECT seq, body, received_at, contract FROM events WHERE source = ? AND id = ?',
      ),
      eventBySeq: db.prepare('SELECT seq, source, id, type FROM events WHERE seq = ?'),
      hasEvent: db.prepare('SELECT 1 FROM events WHERE source = ? AND id = ?'),
      recentOfType: db.prepare(
        'SELECT seq, body, received_at, contract FROM events WHERE type = ? ORDER BY seq DESC LIMIT ?',
      ),
      deliveryById: db.prepare('SELECT * FROM deliveries WHERE id = ?'),
      deliveriesOfEvent: db.prepare('SELECT * FROM deliveries WHERE event_seq = ? ORDER BY id'),
      attemptsOf: db.prepare('SELECT * FROM attempts WHERE delivery_id = ? ORDER BY n'),
      ping: db.prepare('SELECT 1 AS ok'),
      getEventType: db.prepare('SELECT body FROM event_types WHERE type = ?'),
      listEventTypes: db.prepare('SELECT body FROM event_types ORDER BY type'),
      schemaVersions: db.prepare('SELECT * FROM schema_versions WHERE type = ? ORDER BY version'),
      schemaVersion: db.prepare('SELECT * FROM schema_versions WHERE type = ? AND version = ?'),
      latestSchema: db.prepare('SELECT * FROM schema_versions WHERE type = ? ORDER BY version DESC LIMIT 1'),
      contractChanges: db.prepare('SELECT * FROM contract_changes WHERE type = ? ORDER BY id'),
      converters: db.prepare(
        'SELECT * FROM schema_converters WHERE type = ? ORDER BY from_version, to_version',
      ),
    };
  }

  private guard(): void {
    if (this.closed) throw new UnavailableError('the hub is shutting down; retry shortly');
  }

  async append(
    events: CloudEvent[],
    route: (event: CloudEvent) => Routed,
    contracts?: (EventContract | null)[],
  ): Promise<{ results: AppendResult[]; deliveries: DueDelivery[] }> {
    this.guard();
    const now = Date.now();
    // Routing and serialising happen here, so the writer thread only writes.
    const rows: NewEvent[] = events.map((event, i) => {
      const routed = route(event);
      const { channel } = routed;
      const contract = contracts?.[i] ?? null;
      return {
        source: event.source,
        id: event.id,
        type: event.type,
        channel,
        body: eventJson(event),
        contract: contract === null ? null : JSON.stringify(contract),
        deliveries: deliveriesOf(event, routed, now),
      };
    });
    const seqs = (await this.writer.run({ kind: 'append', now, events: rows })) as (number | null)[];
    const results: AppendResult[] = [];
    const deliveries: DueDelivery[] = [];
    events.forEach((event, i) => {
      const seq = seqs[i];
      if (seq === null || seq === undefined) {
        results.push({ source: event.source, id: event.id, status: 'duplicate' });
        return;
      }
      results.push({ source: event.source, id: event.id, status: 'accepted' });
      const stored: StoredEvent = { seq, event, receivedAt: iso(now), contract: contracts?.[i] ?? null };
      for (const d of rows[i]!.deliveries) {
        if (d.settled) continue;
        deliveries.push({
          delivery: pendingDelivery(d, seq, rows[i]!.channel, now),
          event: stored,
        });
      }
    });
    return { results, deliveries };
  }

  async saveSubscription(sub: Subscription): Promise<void> {
    this.guard();
    await this.writer.run({ kind: 'saveSubscription', id: sub.id, body: JSON.stringify(sub) });
  }

  async deleteSubscription(id: string): Promise<number | null> {
    this.guard();
    return (await this.writer.run({ kind: 'deleteSubscription', id, now: Date.now() })) as number | null;
  }

  async getSubscription(id: string): Promise<Subscription | undefined> {
    const row = this.stmt.getSubscription.get(id) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as Subscription) : undefined;
  }

  async listSubscriptions(): Promise<Subscription[]> {
    return (this.stmt.listSubscriptions.all() as { body: string }[]).map(
      (r) => JSON.parse(r.body) as Subscription,
    );
  }

  async saveHook(hook: Hook): Promise<void> {
    this.guard();
    await this.writer.run({ kind: 'saveHook', id: hook.id, body: JSON.stringify(hook) });
  }

  async getHook(id: string): Promise<Hook | undefined> {
    const row = this.stmt.getHook.get(id) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as Hook) : undefined;
  }

  async listHooks(): Promise<Hook[]> {
    return (this.stmt.listHooks.all() as { body: string }[]).map((r) => JSON.parse(r.body) as Hook);
  }

  async deleteHook(id: string): Promise<boolean> {
    this.guard();
    return (await this.writer.run({ kind: 'deleteHook', id })) as boolean;
  }

  async lanes(): Promise<{ subscriptionId: string; channel: string }[]> {
    return (this.stmt.lanes.all() as { subscription_id: string; channel: string }[]).map((r) => ({
      subscriptionId: r.subscription_id,
      channel: r.channel,
    }));
  }

  async backlogByLane(): Promise<LaneBacklog[]> {
    const rows = this.stmt.backlogByLane.all() as {
      subscription_id: string;
      channel: string;
      n: number;
      oldest: number;
    }[];
    return rows.map((r) => ({
      subscriptionId: r.subscription_id,
      channel: r.channel,
      pending: r.n,
      oldestAt: iso(r.oldest),
    }));
  }

  async dueInLane(
    lane: Lane,
    now: Date,
    limit: number,
    exclude: ReadonlySet<string>,
  ): Promise<DueDelivery[]> {
    return (await this.dueInLanePage(lane, now, limit, exclude, null)).items;
  }

  async dueInLanePage(
    lane: Lane,
    now: Date,
    limit: number,
    exclude: ReadonlySet<string>,
    after: string | null,
  ): Promise<DuePage> {
    const [at, row] = after ? after.split(':').map(Number) : [-1, 0];
    // Delivery rows first, without bodies: the excluded ones (in flight) cost no event read. Then
    // each event once, shared by all of its deliveries in this page. Iterated, so reading stops at
    // the page's end however many rows are due.
    const rows = this.stmt.dueInLane.iterate(
      lane.subscriptionId,
      lane.channel,
      now.getTime(),
      at,
      row,
    ) as IterableIterator<DeliveryRow & { row: number; held: number }>;
    const events = new Map<number, StoredEvent>();
    const items: DueDelivery[] = [];
    let cursor = after;
    let exhausted = true;
    // Rows looked at per page, held or in flight included: the page ends early past it, and the
    // next read goes on from the cursor.
    const maxScanned = limit * 4 + MIN_SCAN;
    let scanned = 0;
    for (const r of rows) {
      if (++scanned > maxScanned) {
        exhausted = false;
        rows.return?.();
        break;
      }
      cursor = `${r.next_attempt_at}:${r.row}`;
      if (r.held || exclude.has(r.id)) continue;
      let event = events.get(r.event_seq);
      if (!event) {
        event = toStoredEvent(this.stmt.eventBodyBySeq.get(r.event_seq) as EventRow);
        events.set(r.event_seq, event);
      }
      items.push({ delivery: toDelivery(r), event });
      if (items.length === limit) {
        exhausted = false;
        rows.return?.();
        break;
      }
    }
    // A failed batch is retried whole: a page that took some of its members takes all of them
    // (those past the page's end are then skipped as in flight when the lane reads on).
    const taken = new Set(items.map((d) => d.delivery.id));
    for (const batchId of new Set(items.map((d) => d.delivery.batchId))) {
      if (batchId === null) continue;
      for (const r of this.stmt.dueOfBatch.all(batchId, now.getTime()) as DeliveryRow[]) {
        if (taken.has(r.id) || exclude.has(r.id)) continue;
        taken.add(r.id);
        let event = events.get(r.event_seq);
        if (!event) {
          event = toStoredEvent(this.stmt.eventBodyBySeq.get(r.event_seq) as EventRow);
          events.set(r.event_seq, event);
        }
        items.push({ delivery: toDelivery(r), event });
      }
    }
    return { items, cursor, exhausted };
  }

  async channelsWithWork(subscriptionId: string): Promise<string[]> {
    const out: string[] = [];
    let after = '';
    for (;;) {
      const row = this.stmt.nextChannelWithWork.get(subscriptionId, after) as { channel: string } | undefined;
      if (!row) return out;
      out.push(row.channel);
      after = row.channel;
    }
  }

  async nextDueInLane(lane: { subscriptionId: string; channel: string }, now: Date): Promise<Date | null> {
    const row = this.stmt.nextDueInLane.get(lane.subscriptionId, lane.channel, now.getTime()) as {
      t: number | null;
    };
    return row.t === null ? null : new Date(row.t);
  }

  async recordAttempt(deliveryId: string, result: AttemptResult): Promise<void> {
    this.guard();
    await this.writer.run({
      kind: 'attempt',
      deliveryId,
      attempt: { ...result.attempt, at: Date.parse(result.attempt.at) },
      ...attemptChange(result),
      now: Date.now(),
    });
  }

  async hasEvent(source: string, id: string): Promise<boolean> {
    return this.stmt.hasEvent.get(source, id) !== undefined;
  }

  async lookupEvent(source: string, id: string) {
    const row = this.stmt.eventByKey.get(source, id) as EventRow | undefined;
    if (!row) return undefined;
    const deliveries = (this.stmt.deliveriesOfEvent.all(row.seq) as DeliveryRow[]).map((d) => ({
      ...toDelivery(d),
      attemptLog: (this.stmt.attemptsOf.all(d.id) as AttemptRow[]).map(toAttempt),
    }));
    return { event: toStoredEvent(row), deliveries };
  }

  async listDeliveries(
    subscriptionId: string,
    status: DeliveryStatus | undefined,
    limit: number,
    after: string | undefined,
  ): Promise<Page<Delivery>> {
    const rows = this.db
      .prepare(
        `SELECT * FROM deliveries WHERE subscription_id = ? AND id > ? ${status ? 'AND status = ?' : ''}
         ORDER BY id LIMIT ?`,
      )
      .all(
        ...([subscriptionId, after ?? '', ...(status ? [status] : []), limit + 1] as unknown[]),
      ) as DeliveryRow[];
    return page(rows, limit);
  }

  async listDeadLetters(
    subscriptionId: string | undefined,
    limit: number,
    after: string | undefined,
  ): Promise<Page<Delivery>> {
    const rows = this.db
      .prepare(
        `SELECT * FROM deliveries WHERE status = 'dead' AND id > ? ${subscriptionId ? 'AND subscription_id = ?' : ''}
         ORDER BY id LIMIT ?`,
      )
      .all(
        ...([after ?? '', ...(subscriptionId ? [subscriptionId] : []), limit + 1] as unknown[]),
      ) as DeliveryRow[];
    return page(rows, limit);
  }

  async redrive(selector: { ids: string[] } | { subscriptionId: string }): Promise<Delivery[]> {
    this.guard();
    const ids = (await this.writer.run({
      kind: 'redrive',
      ...unique(selector),
      now: Date.now(),
    })) as string[];
    return ids.map((id) => toDelivery(this.stmt.deliveryById.get(id) as DeliveryRow));
  }

  async discard(selector: { ids: string[] } | { subscriptionId: string }): Promise<Delivery[]> {
    this.guard();
    const ids = (await this.writer.run({
      kind: 'discard',
      ...unique(selector),
      now: Date.now(),
    })) as string[];
    return ids.map((id) => toDelivery(this.stmt.deliveryById.get(id) as DeliveryRow));
  }

  async sweep(channel: string, before: Date, limit: number): Promise<number> {
    this.guard();
    return (await this.writer.run({ kind: 'sweep', channel, before: before.getTime(), limit })) as number;
  }

  backlog(): number {
    return this.writer.pending;
  }

  async archived(
    from: Date,
    to: Date,
    afterSeq: number,
    limit: number,
  ): Promise<(StoredEvent & { channel: string })[]> {
    let cursor: [number, number] = [from.getTime(), 0];
    if (afterSeq > 0) {
      const row = this.stmt.receivedAtOf.get(afterSeq) as { received_at: number } | undefined;
      // The cursor's own event may have been swept since: then resume from where its range began
      // in time, which repeats nothing that a later check does not skip (replays ignore a repeat).
      if (row) cursor = [Math.max(row.received_at, from.getTime()), afterSeq];
    }
    const rows = this.stmt.eventsInRange.all(cursor[0], cursor[1], to.getTime(), limit) as (EventRow & {
      channel: string;
    })[];
    return rows.map((r) => ({ ...toStoredEvent(r), channel: r.channel }));
  }

  async searchEvents(
    query: EventQuery,
    limit: number,
    beforeSeq: number | undefined,
  ): Promise<EventSummary[]> {
    return this.finder.search(query, limit, beforeSeq);
  }

  /** How SQLite reads a search (`EXPLAIN QUERY PLAN`): what tests and the benchmark check indexes with. */
  searchPlan(query: EventQuery, beforeSeq?: number): string[] {
    return this.finder.plan(query, beforeSeq);
  }

  async recentEvents(type: string, limit: number): Promise<StoredEvent[]> {
    return (this.stmt.recentOfType.all(type, limit) as EventRow[]).map(toStoredEvent);
  }

  async countArchived(from: Date, to: Date): Promise<number> {
    return (this.stmt.countArchived.get(from.getTime(), to.getTime()) as { n: number }).n;
  }

  async replayDeliveryCounts(replayId: string): Promise<Partial<Record<DeliveryStatus, number>>> {
    return counts(this.stmt.replayCounts.all(replayId) as { status: DeliveryStatus; n: number }[]);
  }

  async deliveryCounts(subscriptionId: string): Promise<Partial<Record<DeliveryStatus, number>>> {
    return counts(
      this.stmt.subscriptionCounts.all(subscriptionId) as { status: DeliveryStatus; n: number }[],
    );
  }

  async webhookIdsOf(eventSeqs: number[], subscriptionId: string): Promise<Map<number, string>> {
    // One indexed lookup per event, all in this call: SQLite reads in-process, so a round trip
    // costs nothing and the per-event plan stays the one the index serves best.
    const found = new Map<number, string>();
    for (const seq of eventSeqs) {
      const row = this.stmt.webhookIdOf.get(seq, subscriptionId) as { webhook_id: string } | undefined;
      if (row) found.set(seq, row.webhook_id);
    }
    return found;
  }

  async saveReplay(replay: Replay, deliveries: ReplayDelivery[]): Promise<void> {
    this.guard();
    await this.writer.run({
      kind: 'saveReplay',
      id: replay.id,
      body: JSON.stringify(replay),
      deliveries,
      replayId: replay.id,
      now: Date.now(),
    });
  }

  async getReplay(id: string): Promise<Replay | undefined> {
    const row = this.stmt.getReplay.get(id) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as Replay) : undefined;
  }

  async runningReplays(): Promise<Replay[]> {
    return (this.stmt.runningReplays.all() as { body: string }[]).map((r) => JSON.parse(r.body) as Replay);
  }

  /** One process uses the file: it runs every replay. */
  async claimReplay(): Promise<boolean> {
    return true;
  }

  /** One process uses the file, so its buckets live in memory: a restart starts them full. */
  async takeTokens(key: string, perSecond: number, burst: number, n: number): Promise<TokenGrant> {
    const now = Date.now();
    const take = takeFromBucket(this.buckets.get(key), now, perSecond, burst, Math.max(1, n));
    this.buckets.set(key, take.tat);
    return { granted: take.granted, waitMs: take.waitMs };
  }

  async listReplays(limit: number): Promise<Replay[]> {
    return (this.stmt.listReplays.all(limit) as { body: string }[]).map((r) => JSON.parse(r.body) as Replay);
  }

  async eventSummaries(seqs: number[]): Promise<Map<number, { source: string; id: string; type: string }>> {
    const out = new Map<number, { source: string; id: string; type: string }>();
    for (const seq of new Set(seqs)) {
      const r = this.stmt.eventBySeq.get(seq) as
        | { seq: number; source: string; id: string; type: string }
        | undefined;
      if (r) out.set(seq, { source: r.source, id: r.id, type: r.type });
    }
    return out;
  }

  async registerSchema(
    settings: EventType,
    schema: unknown,
    expectedLatest: number,
    actor: string,
    change: Record<string, unknown>,
  ): Promise<SchemaVersion | null> {
    this.guard();
    const now = Date.now();
    const version = (await this.writer.run({
      kind: 'registerSchema',
      type: settings.type,
      schema: JSON.stringify(schema),
      settings: JSON.stringify(settings),
      expectedLatest,
      actor,
      change: JSON.stringify(change),
      now,
    })) as number | null;
    if (version === null) return null;
    return {
      type: settings.type,
      version,
      schema,
      createdAt: iso(now),
      createdBy: actor,
      deprecatedAt: null,
      sunsetAt: null,
    };
  }

  async saveEventType(settings: EventType, actor: string, change: Record<string, unknown>): Promise<void> {
    this.guard();
    await this.writer.run({
      kind: 'saveEventType',
      type: settings.type,
      settings: JSON.stringify(settings),
      actor,
      change: JSON.stringify(change),
      now: Date.now(),
    });
  }

  async getEventType(type: string): Promise<EventType | undefined> {
    const row = this.stmt.getEventType.get(type) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as EventType) : undefined;
  }

  async listEventTypes(): Promise<EventType[]> {
    return (this.stmt.listEventTypes.all() as { body: string }[]).map((r) => JSON.parse(r.body) as EventType);
  }

  async schemaVersions(type: string): Promise<SchemaVersion[]> {
    return (this.stmt.schemaVersions.all(type) as SchemaVersionRow[]).map(toSchemaVersion);
  }

  async getSchemaVersion(type: string, version?: number): Promise<SchemaVersion | undefined> {
    const row = (
      version === undefined ? this.stmt.latestSchema.get(type) : this.stmt.schemaVersion.get(type, version)
    ) as SchemaVersionRow | undefined;
    return row ? toSchemaVersion(row) : undefined;
  }

  async contractChanges(type: string): Promise<ContractChange[]> {
    return (
      this.stmt.contractChanges.all(type) as {
        id: number;
        type: string;
        at: number;
        actor: string;
        change: string;
      }[]
    ).map((r) => ({
      id: r.id,
      type: r.type,
      at: iso(r.at),
      actor: r.actor,
      change: JSON.parse(r.change) as Record<string, unknown>,
    }));
  }

  async setSchemaLifecycle(
    type: string,
    version: number,
    lifecycle: { deprecatedAt: string | null; sunsetAt: string | null },
    actor: string,
    change: Record<string, unknown>,
  ): Promise<boolean> {
    this.guard();
    const ms = (t: string | null) => (t === null ? null : Date.parse(t));
    return (await this.writer.run({
      kind: 'setLifecycle',
      type,
      version,
      deprecatedAt: ms(lifecycle.deprecatedAt),
      sunsetAt: ms(lifecycle.sunsetAt),
      actor,
      change: JSON.stringify(change),
      now: Date.now(),
    })) as boolean;
  }

  async saveConverter(c: SchemaConverter, change: Record<string, unknown>): Promise<void> {
    this.guard();
    await this.writer.run({
      kind: 'saveConverter',
      type: c.type,
      from: c.from,
      to: c.to,
      expression: c.expression,
      actor: c.createdBy,
      change: JSON.stringify(change),
      now: Date.parse(c.createdAt),
    });
  }

  async deleteConverter(
    type: string,
    from: number,
    to: number,
    actor: string,
    change: Record<string, unknown>,
  ): Promise<boolean> {
    this.guard();
    return (await this.writer.run({
      kind: 'deleteConverter',
      type,
      from,
      to,
      actor,
      change: JSON.stringify(change),
      now: Date.now(),
    })) as boolean;
  }

  async converters(type: string): Promise<SchemaConverter[]> {
    return (
      this.stmt.converters.all(type) as {
        type: string;
        from_version: number;
        to_version: number;
        expression: string;
        created_at: number;
        created_by: string;
      }[]
    ).map((r) => ({
      type: r.type,
      from: r.from_version,
      to: r.to_version,
      expression: r.expression,
      createdAt: iso(r.created_at),
      createdBy: r.created_by,
    }));
  }

  async ping(): Promise<boolean> {
    if (!this.writer.healthy) return false;
    try {
      return (this.stmt.ping.get() as { ok: number }).ok === 1;
    } catch {
      return false;
    }
  }

  healthy(): boolean {
    return this.writer.healthy && !this.closed;
  }

  /** One process uses the file: the hub applies its own changes, and nobody else makes any. */
  watch(): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.close();
    this.db.close();
  }
}

/** A selector naming each delivery once: a repeated id would be moved, and returned, twice. */
function unique(selector: { ids: string[] } | { subscriptionId: string }) {
  return 'ids' in selector ? { ids: [...new Set(selector.ids)] } : selector;
}

interface SchemaVersionRow {
  type: string;
  version: number;
  schema: string;
  created_at: number;
  created_by: string;
  deprecated_at: number | null;
  sunset_at: number | null;
}

function toSchemaVersion(r: SchemaVersionRow): SchemaVersion {
  return {
    type: r.type,
    version: r.version,
    schema: JSON.parse(r.schema) as unknown,
    createdAt: iso(r.created_at),
    createdBy: r.created_by,
    deprecatedAt: r.deprecated_at === null ? null : iso(r.deprecated_at),
    sunsetAt: r.sunset_at === null ? null : iso(r.sunset_at),
  };
}

interface AttemptRow {
  n: number;
  at: number;
  status: number | null;
  outcome: Attempt['outcome'];
  latency_ms: number;
  error: string | null;
  response: string | null;
}

function toAttempt(r: AttemptRow): Attempt {
  return {
    n: r.n,
    at: iso(r.at),
    status: r.status,
    outcome: r.outcome,
    latencyMs: r.latency_ms,
    error: r.error,
    response: r.response,
  };
}

function page(rows: DeliveryRow[], limit: number): Page<Delivery> {
  const items = rows.slice(0, limit).map(toDelivery);
  return { items, next: rows.length > limit ? (items[items.length - 1]?.id ?? null) : null };
}

function counts(rows: { status: DeliveryStatus; n: number }[]): Partial<Record<DeliveryStatus, number>> {
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
