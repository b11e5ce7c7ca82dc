/**
 * Every write the embedded store makes, as plain data that can cross to the writer thread, and the
 * code that applies them there. Reads never come here: they run on the main thread's own
 * connection, which WAL lets read while this one writes.
 */
import type Database from 'better-sqlite3';
import { type DeliveryStatus, MAX_REDRIVE_PER_CALL, type ReplayDelivery } from '../ports.js';
import type { NewDelivery } from '../records.js';
import { MIGRATIONS } from './migrations.js';

export interface NewEvent {
  source: string;
  id: string;
  type: string;
  channel: string;
  /** The event as JSON text, serialised on the main thread. */
  body: string;
  /** The event's EventContract as JSON text, or null for a type with no schema. */
  contract: string | null;
  deliveries: NewDelivery[];
}

export type WriteOp =
  | { kind: 'append'; now: number; events: NewEvent[] }
  | {
      kind: 'attempt';
      deliveryId: string;
      attempt: {
        at: number;
        status: number | null;
        outcome: string;
        latencyMs: number;
        error: string | null;
        response: string | null;
      };
      status: DeliveryStatus;
      nextAttemptAt: number | null;
      lastError: string | null;
      /** A dead letter that keeps later events of its partition key waiting (`onDead: "block"`). */
      holdKey: boolean;
      /** The failed batch whose retry this delivery waits for. */
      batchId: string | null;
      /** The conversion the event went through for this attempt, as JSON text, or null for none. */
      conversion: string | null;
      now: number;
    }
  | { kind: 'saveSubscription'; id: string; body: string }
  | { kind: 'deleteSubscription'; id: string; now: number }
  | { kind: 'saveHook'; id: string; body: string }
  | { kind: 'deleteHook'; id: string }
  | { kind: 'redrive'; ids?: string[]; subscriptionId?: string; now: number }
  | { kind: 'discard'; ids?: string[]; subscriptionId?: string; now: number }
  | { kind: 'sweep'; channel: string; before: number; limit: number }
  | {
      kind: 'saveReplay';
      id: string;
      body: string;
      deliveries: ReplayDelivery[];
      replayId: string;
      now: number;
    }
  | {
      kind: 'registerSchema';
      type: string;
      /** The schema as JSON text. */
      schema: string;
      /** The type's settings as JSON text, saved with the version. */
      settings: string;
      /** The latest version the candidate was checked against (0: none); another one means a race. */
      expectedLatest: number;
      actor: string;
      /** What is recorded in the contract's history, as JSON text; `version` is added here. */
      change: string;
      now: number;
    }
  | { kind: 'saveEventType'; type: string; settings: string; actor: string; change: string; now: number }
  | {
      kind: 'setLifecycle';
      type: string;
      version: number;
      deprecatedAt: number | null;
      sunsetAt: number | null;
      actor: string;
      change: string;
      now: number;
    }
  | {
      kind: 'saveConverter';
      type: string;
      from: number;
      to: number;
      expression: string;
      actor: string;
      change: string;
      now: number;
    }
  | {
      kind: 'deleteConverter';
      type: string;
      from: number;
      to: number;
      actor: string;
      change: string;
      now: number;
    };

/**
 * What each op returns: the new sequence numbers (null for a duplicate), a flag, the ids redriven or
 * discarded, or how many events a sweep removed.
 */
export type WriteResult = (number | null)[] | boolean | string[] | number | null;

/** Opens the write connection: WAL, and `synchronous=FULL` so a commit is on disk when it returns. */
export function openWriteConnection(Sqlite: typeof Database, path: string): Database.Database {
  const db = new Sqlite(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return db;
}

/** Applies batches of ops, each batch in one transaction and each op in its own savepoint. */
export class Writer {
  private readonly stmt;
  private readonly savepoint: (op: WriteOp) => WriteResult;
  private readonly batch: (
    ops: WriteOp[],
  ) => ({ ok: true; value: WriteResult } | { ok: false; error: string })[];

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      insertEvent: db.prepare(
        'INSERT INTO events (source, id, type, channel, body, received_at, contract) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      insertDelivery: db.prepare(
        `INSERT INTO deliveries (id, subscription_id, event_seq, channel, order_key, replay_id, webhook_id, status,
           budget_since, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)`,
      ),
      insertSettledDelivery: db.prepare(
        `INSERT INTO deliveries (id, subscription_id, event_seq, channel, webhook_id, status, last_error,
           budget_since, next_attempt_at, created_at, updated_at)
         VALUES (@id, @sub, @seq, @channel, @webhook, @status, @reason, @now, NULL, @now, @now)`,
      ),
      // The attempt's number comes from the row, so it stays unique whatever the sender saw.
      insertAttempt: db.prepare(
        `INSERT INTO attempts (delivery_id, n, at, status, outcome, latency_ms, error, response)
         VALUES (?, (SELECT attempts + 1 FROM deliveries WHERE id = ?), ?, ?, ?, ?, ?, ?)`,
      ),
      // Every attempt is counted, but moves the delivery only while it is still due: one that a
      // deletion dead-lettered while its attempt was in flight stays dead.
      updateAfterAttempt: db.prepare(
        `UPDATE deliveries SET attempts = attempts + 1, budget_attempts = budget_attempts + 1, updated_at = ?,
           status = CASE WHEN status IN ('pending', 'retrying') THEN ? ELSE status END,
           next_attempt_at = CASE WHEN status IN ('pending', 'retrying') THEN ? ELSE next_attempt_at END,
           last_error = CASE WHEN status IN ('pending', 'retrying') THEN ? ELSE last_error END,
           dead_blocks = ?, batch_id = ?, conversion = ?
         WHERE id = ?`,
      ),
      saveSubscription: db.prepare(
        'INSERT INTO subscriptions (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body',
      ),
      deleteSubscription: db.prepare('DELETE FROM subscriptions WHERE id = ?'),
      saveHook: db.prepare(
        'INSERT INTO hooks (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body',
      ),
      deleteHook: db.prepare('DELETE FROM hooks WHERE id = ?'),
      // Pending deliveries of a deleted subscription have nowhere to go: they end as dead letters.
      killPending: db.prepare(
        `UPDATE deliveries SET status = 'dead', next_attempt_at = NULL, last_error = 'subscription deleted',
         updated_at = ? WHERE subscription_id = ? AND next_attempt_at IS NOT NULL`,
      ),
      deadById: db.prepare(`SELECT id FROM deliveries WHERE id = ? AND status = 'dead'`),
      deadBySubscription: db.prepare(
        `SELECT id FROM deliveries WHERE subscription_id = ? AND status = 'dead' ORDER BY id LIMIT ${MAX_REDRIVE_PER_CALL}`,
      ),
      redrive: db.prepare(
        `UPDATE deliveries SET status = 'pending', budget_attempts = 0, budget_since = ?, next_attempt_at = ?,
         batch_id = NULL, updated_at = ? WHERE id = ?`,
      ),
      discard: db.prepare(`UPDATE deliveries SET status = 'discarded', updated_at = ? WHERE id = ?`),
      // Events past their channel's retention with nothing left to deliver or redrive.
      expired: db.prepare(
        `SELECT seq FROM events e WHERE channel = ? AND received_at < ? AND NOT EXISTS (
           SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.status IN ('pending', 'retrying', 'dead'))
         ORDER BY received_at LIMIT ?`,
      ),
      deleteAttemptsOf: db.prepare(
        'DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_seq = ?)',
      ),
      deleteDeliveriesOf: db.prepare('DELETE FROM deliveries WHERE event_seq = ?'),
      deleteEvent: db.prepare('DELETE FROM events WHERE seq = ?'),
      // A replay's page is written once: a retried page after a crash adds nothing twice.
      insertReplayDelivery: db.prepare(
        `INSERT INTO deliveries (id, subscription_id, event_seq, channel, order_key, replay_id, webhook_id, status,
           budget_since, next_attempt_at, created_at, updated_at)
         SELECT @id, @sub, @seq, @channel, @key, @replay, @webhook, 'pending', @now, @now, @now, @now
         -- The event may have been swept while the replay read it: skip it rather than fail the page.
         WHERE EXISTS (SELECT 1 FROM events WHERE seq = @seq)
         ON CONFLICT DO NOTHING`,
      ),
      saveReplay: db.prepare(
        'INSERT INTO replays (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body',
      ),
      latestVersion: db.prepare('SELECT MAX(version) AS v FROM schema_versions WHERE type = ?'),
      insertVersion: db.prepare(
        'INSERT INTO schema_versions (type, version, schema, created_at, created_by) VALUES (?, ?, ?, ?, ?)',
      ),
      saveEventType: db.prepare(
        'INSERT INTO event_types (type, body) VALUES (?, ?) ON CONFLICT (type) DO UPDATE SET body = excluded.body',
      ),
      insertChange: db.prepare('INSERT INTO contract_changes (type, at, actor, change) VALUES (?, ?, ?, ?)'),
      setLifecycle: db.prepare(
        'UPDATE schema_versions SET deprecated_at = ?, sunset_at = ? WHERE type = ? AND version = ?',
      ),
      saveConverter: db.prepare(
        `INSERT INTO schema_converters (type, from_version, to_version, expression, created_at, created_by)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (type, from_version, to_version) DO UPDATE SET
           expression = excluded.expression, created_at = excluded.created_at, created_by = excluded.created_by`,
      ),
      deleteConverter: db.prepare(
        'DELETE FROM schema_converters WHERE type = ? AND from_version = ? AND to_version = ?',
      ),
    };
    // better-sqlite3 turns a transaction function called inside another into a savepoint, so one
    // failing op rolls back alone and the rest of the batch still commits.
    this.savepoint = db.transaction((op: WriteOp) => this.apply(op));
    this.batch = db.transaction((ops: WriteOp[]) =>
      ops.map((op) => {
        try {
          return { ok: true as const, value: this.savepoint(op) };
        } catch (error) {
          // Some errors (disk full, I/O) make SQLite roll back the whole transaction, not just the
          // savepoint; better-sqlite3 would then run each later op as a transaction of its own.
          // Fail the batch instead, so that nothing in it is reported other than it is.
          if (!db.inTransaction) throw error;
          return { ok: false as const, error: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
  }

  /** Commits the ops together; throws when the transaction as a whole failed and nothing is stored. */
  commit(ops: WriteOp[]) {
    return this.batch(ops);
  }

  close(): void {
    this.db.close();
  }

  private apply(op: WriteOp): WriteResult {
    const s = this.stmt;
    switch (op.kind) {
      case 'append':
        return op.events.map((e) => {
          const info = s.insertEvent.run(e.source, e.id, e.type, e.channel, e.body, op.now, e.contract);
          if (info.changes === 0) return null;
          const seq = Number(info.lastInsertRowid);
          for (const d of e.deliveries) {
            if (d.settled) {
              s.insertSettledDelivery.run({
                id: d.id,
                sub: d.subscriptionId,
                seq,
                channel: e.channel,
                webhook: d.webhookId,
                status: d.settled.status,
                reason: d.settled.reason,
                now: op.now,
              });
              continue;
            }
            s.insertDelivery.run(
              d.id,
              d.subscriptionId,
              seq,
              e.channel,
              d.orderKey,
              null,
              d.webhookId,
              op.now,
              op.now,
              op.now,
              op.now,
            );
          }
          return seq;
        });
      case 'attempt': {
        const a = op.attempt;
        s.insertAttempt.run(
          op.deliveryId,
          op.deliveryId,
          a.at,
          a.status,
          a.outcome,
          a.latencyMs,
          a.error,
          a.response,
        );
        s.updateAfterAttempt.run(
          op.now,
          op.status,
          op.nextAttemptAt,
          op.lastError,
          op.holdKey ? 1 : 0,
          op.batchId,
          op.conversion,
          op.deliveryId,
        );
        return null;
      }
      case 'saveSubscription':
        s.saveSubscription.run(op.id, op.body);
        return null;
      case 'deleteSubscription': {
        if (s.deleteSubscription.run(op.id).changes === 0) return null;
        return s.killPending.run(op.now, op.id).changes;
      }
      case 'saveHook':
        s.saveHook.run(op.id, op.body);
        return null;
      case 'deleteHook':
        return s.deleteHook.run(op.id).changes > 0;
      case 'redrive': {
        const rows = (
          op.ids
            ? op.ids.map((id) => s.deadById.get(id)).filter(Boolean)
            : s.deadBySubscription.all(op.subscriptionId)
        ) as { id: string }[];
        for (const r of rows) s.redrive.run(op.now, op.now, op.now, r.id);
        return rows.map((r) => r.id);
      }
      case 'discard': {
        const rows = (
          op.ids
            ? op.ids.map((id) => s.deadById.get(id)).filter(Boolean)
            : s.deadBySubscription.all(op.subscriptionId)
        ) as { id: string }[];
        for (const r of rows) s.discard.run(op.now, r.id);
        return rows.map((r) => r.id);
      }
      case 'sweep': {
        const rows = s.expired.all(op.channel, op.before, op.limit) as { seq: number }[];
        for (const { seq } of rows) {
          s.deleteAttemptsOf.run(seq);
          s.deleteDeliveriesOf.run(seq);
          s.deleteEvent.run(seq);
        }
        return rows.length;
      }
      case 'saveReplay': {
        s.saveReplay.run(op.id, op.body);
        for (const d of op.deliveries) {
          s.insertReplayDelivery.run({
            id: d.id,
            sub: d.subscriptionId,
            seq: d.eventSeq,
            channel: d.channel,
            key: d.orderKey,
            replay: op.replayId,
            webhook: d.webhookId,
            now: op.now,
          });
        }
        return null;
      }
      case 'registerSchema': {
        // Read and written in one savepoint on the only write connection: no other version can
        // slip in between, so the number is max + 1 and the check was made against the latest.
        const latest = (s.latestVersion.get(op.type) as { v: number | null }).v ?? 0;
        if (latest !== op.expectedLatest) return null;
        const version = latest + 1;
        s.insertVersion.run(op.type, version, op.schema, op.now, op.actor);
        s.saveEventType.run(op.type, op.settings);
        const change = { ...(JSON.parse(op.change) as Record<string, unknown>), version };
        s.insertChange.run(op.type, op.now, op.actor, JSON.stringify(change));
        return version;
      }
      case 'saveEventType':
        s.saveEventType.run(op.type, op.settings);
        s.insertChange.run(op.type, op.now, op.actor, op.change);
        return null;
      case 'setLifecycle': {
        const found = s.setLifecycle.run(op.deprecatedAt, op.sunsetAt, op.type, op.version).changes > 0;
        if (found) s.insertChange.run(op.type, op.now, op.actor, op.change);
        return found;
      }
      case 'saveConverter':
        s.saveConverter.run(op.type, op.from, op.to, op.expression, op.now, op.actor);
        s.insertChange.run(op.type, op.now, op.actor, op.change);
        return null;
      case 'deleteConverter': {
        const found = s.deleteConverter.run(op.type, op.from, op.to).changes > 0;
        if (found) s.insertChange.run(op.type, op.now, op.actor, op.change);
        return found;
      }
    }
  }
}
