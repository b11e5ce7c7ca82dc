/**
 * Group commit for a synchronous SQLite connection: writes asked for during one turn of the event
 * loop run together in one transaction, so one fsync makes all of them durable. Each write runs in
 * its own savepoint, so one failing write rejects only its own promise.
 */
import type Database from 'better-sqlite3';

interface Pending {
  op: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Enough writes per transaction to amortise the fsync; more only lengthens the event-loop pause. */
const MAX_OPS_PER_COMMIT = 2000;

export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly outer: (batch: Pending[]) => unknown[];
  private readonly savepoint: (op: () => unknown) => unknown;

  constructor(db: Database.Database) {
    // better-sqlite3 turns a transaction function called inside another into a savepoint.
    this.savepoint = db.transaction((op: () => unknown) => op());
    this.outer = db.transaction((batch: Pending[]) =>
      batch.map((p) => {
        try {
          return { ok: true, value: this.savepoint(p.op) };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
  }

  /** Runs `op` in the next group transaction; resolves with its result once the commit is durable. */
  run<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything queued now; used by the scheduler and before closing. */
  flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_OPS_PER_COMMIT);
      let outcomes: unknown[];
      try {
        outcomes = this.outer(batch);
      } catch (error) {
        // The commit itself failed (disk full, I/O error): nothing in the batch is durable.
        for (const p of batch) p.reject(error);
        continue;
      }
      batch.forEach((p, i) => {
        const o = outcomes[i] as { ok: boolean; value?: unknown; error?: unknown };
        if (o.ok) p.resolve(o.value);
        else p.reject(o.error);
      });
    }
  }

  get idle(): boolean {
    return this.queue.length === 0;
  }
}
