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
import { newId } from '../../core/ids.js';
import type {
  AppendResult,
  Attempt,
  AttemptResult,
  Delivery,
  DeliveryStatus,
  DueDelivery,
  EventStore,
  Page,
  StoredEvent,
  Subscription,
} from '../ports.js';
import type { NewEvent } from './write-ops.js';
import { WriterClient } from './writer-client.js';

interface DeliveryRow {
  id: string;
  subscription_id: string;
  event_seq: number;
  webhook_id: string;
  status: DeliveryStatus;
  attempts: number;
  budget_attempts: number;
  budget_since: number;
  next_attempt_at: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

interface EventRow {
  seq: number;
  body: string;
  received_at: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

function toDelivery(r: DeliveryRow): Delivery {
  return {
    id: r.id,
    subscriptionId: r.subscription_id,
    eventSeq: r.event_seq,
    webhookId: r.webhook_id,
    status: r.status,
    attempts: r.attempts,
    budgetAttempts: r.budget_attempts,
    budgetSince: iso(r.budget_since),
    nextAttemptAt: r.next_attempt_at === null ? null : iso(r.next_attempt_at),
    lastError: r.last_error,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

function toStoredEvent(r: EventRow): StoredEvent {
  return { seq: r.seq, event: JSON.parse(r.body) as CloudEvent, receivedAt: iso(r.received_at) };
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

  constructor(
    path: string,
    private readonly writer: WriterClient,
  ) {
    this.db = new Database(path, { readonly: true });
    const db = this.db;
    this.stmt = {
      due: db.prepare(
        'SELECT * FROM deliveries WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?',
      ),
      eventBodyBySeq: db.prepare('SELECT seq, body, received_at FROM events WHERE seq = ?'),
      nextDue: db.prepare('SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE next_attempt_at > ?'),
      getSubscription: db.prepare('SELECT body FROM subscriptions WHERE id = ?'),
      listSubscriptions: db.prepare('SELECT body FROM subscriptions ORDER BY id'),
      eventByKey: db.prepare('SELECT seq, body, received_at FROM events WHERE source = ? AND id = ?'),
      eventBySeq: db.prepare('SELECT seq, source, id, type FROM events WHERE seq = ?'),
      deliveryById: db.prepare('SELECT * FROM deliveries WHERE id = ?'),
      deliveriesOfEvent: db.prepare('SELECT * FROM deliveries WHERE event_seq = ? ORDER BY id'),
      attemptsOf: db.prepare('SELECT * FROM attempts WHERE delivery_id = ? ORDER BY n'),
      ping: db.prepare('SELECT 1 AS ok'),
    };
  }

  private guard(): void {
    if (this.closed) throw new UnavailableError('the hub is shutting down; retry shortly');
  }

  async append(
    events: CloudEvent[],
    route: (event: CloudEvent) => Subscription[],
  ): Promise<{ results: AppendResult[]; deliveries: DueDelivery[] }> {
    this.guard();
    const now = Date.now();
    // Routing and serialising happen here, so the writer thread only writes.
    const rows: NewEvent[] = events.map((event) => ({
      source: event.source,
      id: event.id,
      type: event.type,
      body: eventJson(event),
      deliveries: route(event).map((sub) => ({
        id: newId('dlv', now),
        webhookId: newId('msg', now),
        subscriptionId: sub.id,
      })),
    }));
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
      const stored: StoredEvent = { seq, event, receivedAt: iso(now) };
      for (const d of rows[i]!.deliveries) {
        deliveries.push({
          delivery: {
            id: d.id,
            subscriptionId: d.subscriptionId,
            eventSeq: seq,
            webhookId: d.webhookId,
            status: 'pending',
            attempts: 0,
            budgetAttempts: 0,
            budgetSince: iso(now),
            nextAttemptAt: iso(now),
            lastError: null,
            createdAt: iso(now),
            updatedAt: iso(now),
          },
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

  async deleteSubscription(id: string): Promise<boolean> {
    this.guard();
    return (await this.writer.run({ kind: 'deleteSubscription', id, now: Date.now() })) as boolean;
  }

  getSubscription(id: string): Subscription | undefined {
    const row = this.stmt.getSubscription.get(id) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as Subscription) : undefined;
  }

  listSubscriptions(): Subscription[] {
    return (this.stmt.listSubscriptions.all() as { body: string }[]).map(
      (r) => JSON.parse(r.body) as Subscription,
    );
  }

  due(now: Date, limit: number, exclude: ReadonlySet<string>): DueDelivery[] {
    // Delivery rows first, without bodies: the excluded ones (in flight) cost no event read. Then
    // each event once, shared by all of its deliveries in this page.
    const rows = this.stmt.due.all(now.getTime(), limit + exclude.size) as DeliveryRow[];
    const events = new Map<number, StoredEvent>();
    const out: DueDelivery[] = [];
    for (const r of rows) {
      if (exclude.has(r.id)) continue;
      let event = events.get(r.event_seq);
      if (!event) {
        event = toStoredEvent(this.stmt.eventBodyBySeq.get(r.event_seq) as EventRow);
        events.set(r.event_seq, event);
      }
      out.push({ delivery: toDelivery(r), event });
      if (out.length === limit) break;
    }
    return out;
  }

  nextDueAt(now: Date): Date | null {
    const row = this.stmt.nextDue.get(now.getTime()) as { t: number | null };
    return row.t === null ? null : new Date(row.t);
  }

  async recordAttempt(deliveryId: string, result: AttemptResult): Promise<void> {
    this.guard();
    const a = result.attempt;
    const [status, nextAttemptAt, lastError]: [DeliveryStatus, number | null, string | null] =
      result.kind === 'delivered'
        ? ['delivered', null, null]
        : result.kind === 'retry'
          ? ['retrying', result.nextAttemptAt.getTime(), a.error ?? `HTTP ${a.status}`]
          : ['dead', null, result.reason];
    await this.writer.run({
      kind: 'attempt',
      deliveryId,
      attempt: { ...a, at: Date.parse(a.at) },
      status,
      nextAttemptAt,
      lastError,
      now: Date.now(),
    });
  }

  lookupEvent(source: string, id: string) {
    const row = this.stmt.eventByKey.get(source, id) as EventRow | undefined;
    if (!row) return undefined;
    const deliveries = (this.stmt.deliveriesOfEvent.all(row.seq) as DeliveryRow[]).map((d) => ({
      ...toDelivery(d),
      attemptLog: (this.stmt.attemptsOf.all(d.id) as AttemptRow[]).map(toAttempt),
    }));
    return { event: toStoredEvent(row), deliveries };
  }

  listDeliveries(
    subscriptionId: string,
    status: DeliveryStatus | undefined,
    limit: number,
    after: string | undefined,
  ): Page<Delivery> {
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

  listDeadLetters(
    subscriptionId: string | undefined,
    limit: number,
    after: string | undefined,
  ): Page<Delivery> {
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
    const ids = (await this.writer.run({ kind: 'redrive', ...selector, now: Date.now() })) as string[];
    return ids.map((id) => toDelivery(this.stmt.deliveryById.get(id) as DeliveryRow));
  }

  eventSummaries(seqs: number[]): Map<number, { source: string; id: string; type: string }> {
    const out = new Map<number, { source: string; id: string; type: string }>();
    for (const seq of new Set(seqs)) {
      const r = this.stmt.eventBySeq.get(seq) as
        | { seq: number; source: string; id: string; type: string }
        | undefined;
      if (r) out.set(seq, { source: r.source, id: r.id, type: r.type });
    }
    return out;
  }

  ping(): boolean {
    if (!this.writer.healthy) return false;
    try {
      return (this.stmt.ping.get() as { ok: number }).ok === 1;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.close();
    this.db.close();
  }
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
