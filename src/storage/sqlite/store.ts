/**
 * The embedded store: one SQLite file in WAL mode with `synchronous=FULL`, so a committed
 * transaction survives a power cut, and group commit, so that costs one fsync per batch of writes.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { UnavailableError } from '../../core/errors.js';
import type { CloudEvent } from '../../core/event.js';
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
import { GroupCommit } from './group-commit.js';
import { MIGRATIONS } from './migrations.js';

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
export function openSqliteStore(dataDir: string): SqliteStore {
  mkdirSync(dataDir, { recursive: true });
  return new SqliteStore(join(dataDir, 'junction.db'));
}

export class SqliteStore implements EventStore {
  private readonly db: Database.Database;
  private readonly commits: GroupCommit;
  private closed = false;
  private readonly stmt;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    this.commits = new GroupCommit(this.db);
    const db = this.db;
    this.stmt = {
      insertEvent: db.prepare(
        'INSERT INTO events (source, id, type, body, received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      insertDelivery: db.prepare(
        `INSERT INTO deliveries (id, subscription_id, event_seq, webhook_id, status, budget_since, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)`,
      ),
      due: db.prepare(
        `SELECT d.*, e.body, e.received_at FROM deliveries d JOIN events e ON e.seq = d.event_seq
         WHERE d.next_attempt_at IS NOT NULL AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at LIMIT ?`,
      ),
      nextDue: db.prepare(
        'SELECT MIN(next_attempt_at) AS t FROM deliveries WHERE next_attempt_at IS NOT NULL',
      ),
      insertAttempt: db.prepare(
        `INSERT INTO attempts (delivery_id, n, at, status, outcome, latency_ms, error, response)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateAfterAttempt: db.prepare(
        `UPDATE deliveries SET status = ?, attempts = attempts + 1, budget_attempts = budget_attempts + 1,
           next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?`,
      ),
      getDelivery: db.prepare('SELECT attempts FROM deliveries WHERE id = ?'),
      upsertSubscription: db.prepare(
        'INSERT INTO subscriptions (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body',
      ),
      getSubscription: db.prepare('SELECT body FROM subscriptions WHERE id = ?'),
      listSubscriptions: db.prepare('SELECT body FROM subscriptions ORDER BY id'),
      deleteSubscription: db.prepare('DELETE FROM subscriptions WHERE id = ?'),
      eventByKey: db.prepare('SELECT seq, body, received_at FROM events WHERE source = ? AND id = ?'),
      deliveriesOfEvent: db.prepare('SELECT * FROM deliveries WHERE event_seq = ? ORDER BY id'),
      attemptsOf: db.prepare('SELECT * FROM attempts WHERE delivery_id = ? ORDER BY n'),
      ping: db.prepare('SELECT 1 AS ok'),
    };
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  private guard(): void {
    if (this.closed) throw new UnavailableError('the hub is shutting down; retry shortly');
  }

  async append(
    events: CloudEvent[],
    route: (event: CloudEvent) => Subscription[],
  ): Promise<{ results: AppendResult[]; deliveries: DueDelivery[] }> {
    this.guard();
    return this.commits.run(() => {
      const now = Date.now();
      const results: AppendResult[] = [];
      const deliveries: DueDelivery[] = [];
      for (const event of events) {
        const info = this.stmt.insertEvent.run(
          event.source,
          event.id,
          event.type,
          JSON.stringify(event),
          now,
        );
        if (info.changes === 0) {
          results.push({ source: event.source, id: event.id, status: 'duplicate' });
          continue;
        }
        results.push({ source: event.source, id: event.id, status: 'accepted' });
        const stored: StoredEvent = { seq: Number(info.lastInsertRowid), event, receivedAt: iso(now) };
        for (const sub of route(event)) {
          const id = newId('dlv', now);
          const webhookId = newId('msg', now);
          this.stmt.insertDelivery.run(id, sub.id, stored.seq, webhookId, now, now, now, now);
          const delivery: Delivery = {
            id,
            subscriptionId: sub.id,
            eventSeq: stored.seq,
            webhookId,
            status: 'pending',
            attempts: 0,
            budgetAttempts: 0,
            budgetSince: iso(now),
            nextAttemptAt: iso(now),
            lastError: null,
            createdAt: iso(now),
            updatedAt: iso(now),
          };
          deliveries.push({ delivery, event: stored });
        }
      }
      return { results, deliveries };
    });
  }

  createSubscription(sub: Subscription): void {
    this.guard();
    this.stmt.upsertSubscription.run(sub.id, JSON.stringify(sub));
  }

  updateSubscription(sub: Subscription): void {
    this.createSubscription(sub);
  }

  deleteSubscription(id: string): boolean {
    this.guard();
    // Pending deliveries of a deleted subscription have nowhere to go: they end as dead letters.
    return this.db.transaction(() => {
      const removed = this.stmt.deleteSubscription.run(id).changes > 0;
      if (removed) {
        this.db
          .prepare(
            `UPDATE deliveries SET status = 'dead', next_attempt_at = NULL, last_error = 'subscription deleted',
             updated_at = ? WHERE subscription_id = ? AND next_attempt_at IS NOT NULL`,
          )
          .run(Date.now(), id);
      }
      return removed;
    })();
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

  disableSubscription(id: string, reason: string): void {
    const sub = this.getSubscription(id);
    if (!sub) return;
    this.updateSubscription({
      ...sub,
      status: 'disabled',
      statusReason: reason,
      updatedAt: new Date().toISOString(),
    });
  }

  due(now: Date, limit: number, exclude: ReadonlySet<string>): DueDelivery[] {
    const rows = this.stmt.due.all(now.getTime(), limit + exclude.size) as (DeliveryRow & EventRow)[];
    const out: DueDelivery[] = [];
    for (const r of rows) {
      if (exclude.has(r.id)) continue;
      out.push({ delivery: toDelivery(r), event: toStoredEvent({ ...r, seq: r.event_seq }) });
      if (out.length === limit) break;
    }
    return out;
  }

  nextDueAt(): Date | null {
    const row = this.stmt.nextDue.get() as { t: number | null };
    return row.t === null ? null : new Date(row.t);
  }

  async recordAttempt(deliveryId: string, result: AttemptResult): Promise<void> {
    this.guard();
    return this.commits.run(() => {
      const a = result.attempt;
      const at = Date.parse(a.at);
      this.stmt.insertAttempt.run(deliveryId, a.n, at, a.status, a.outcome, a.latencyMs, a.error, a.response);
      const [status, next, error]: [DeliveryStatus, number | null, string | null] =
        result.kind === 'delivered'
          ? ['delivered', null, null]
          : result.kind === 'retry'
            ? ['retrying', result.nextAttemptAt.getTime(), a.error ?? `HTTP ${a.status}`]
            : ['dead', null, result.reason];
      this.stmt.updateAfterAttempt.run(status, next, error, Date.now(), deliveryId);
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

  redrive(selector: { ids: string[] } | { subscriptionId: string }): Delivery[] {
    this.guard();
    const now = Date.now();
    return this.db.transaction(() => {
      const rows =
        'ids' in selector
          ? (selector.ids
              .map((id) =>
                this.db.prepare(`SELECT * FROM deliveries WHERE id = ? AND status = 'dead'`).get(id),
              )
              .filter(Boolean) as DeliveryRow[])
          : (this.db
              .prepare(`SELECT * FROM deliveries WHERE subscription_id = ? AND status = 'dead'`)
              .all(selector.subscriptionId) as DeliveryRow[]);
      const update = this.db.prepare(
        `UPDATE deliveries SET status = 'pending', budget_attempts = 0, budget_since = ?, next_attempt_at = ?,
         updated_at = ? WHERE id = ?`,
      );
      for (const r of rows) update.run(now, now, now, r.id);
      return rows.map((r) =>
        toDelivery({
          ...r,
          status: 'pending',
          budget_attempts: 0,
          budget_since: now,
          next_attempt_at: now,
          updated_at: now,
        }),
      );
    })();
  }

  eventSummaries(seqs: number[]): Map<number, { source: string; id: string; type: string }> {
    const stmt = this.db.prepare('SELECT seq, source, id, type FROM events WHERE seq = ?');
    const out = new Map<number, { source: string; id: string; type: string }>();
    for (const seq of new Set(seqs)) {
      const r = stmt.get(seq) as { seq: number; source: string; id: string; type: string } | undefined;
      if (r) out.set(seq, { source: r.source, id: r.id, type: r.type });
    }
    return out;
  }

  ping(): boolean {
    try {
      return (this.stmt.ping.get() as { ok: number }).ok === 1;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.commits.flush();
    this.closed = true;
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
