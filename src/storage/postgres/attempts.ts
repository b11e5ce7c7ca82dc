/**
 * Recording attempts, group-committed: calls made while a commit is in flight wait for it and go
 * together in the next one, one statement for the lot, so a commit's round trip and WAL flush are
 * shared by every attempt in it (the same trade as the embedded store's writer thread).
 */
import type postgres from 'postgres';
import { NotFoundError } from '../../core/errors.js';
import type { AttemptResult, DeliveryStatus } from '../ports.js';
import { attemptChange } from '../records.js';
import { pgArray } from './rows.js';

/** Attempts per statement: beyond this a commit's arrays only grow, with no gain measured. */
const MAX_GROUP = 2_000;

/** One attempt as the statement takes it. */
export interface AttemptOp {
  deliveryId: string;
  at: number;
  status: number | null;
  outcome: string;
  latencyMs: number;
  error: string | null;
  response: string | null;
  /** The delivery's next state, applied only while it is still due. */
  next: DeliveryStatus;
  nextAttemptAt: number | null;
  lastError: string | null;
  holdKey: boolean;
  batchId: string | null;
  conversion: string | null;
}

/** The port's verdict as a row change, derived as every backend derives it. */
export function attemptOp(deliveryId: string, result: AttemptResult): AttemptOp {
  const a = result.attempt;
  const { status: next, ...change } = attemptChange(result);
  return {
    deliveryId,
    at: Date.parse(a.at),
    status: a.status,
    outcome: a.outcome,
    latencyMs: a.latencyMs,
    error: a.error,
    response: a.response,
    next,
    ...change,
  };
}

/**
 * Applies attempts in one statement; returns the ids of the deliveries found. Every attempt is
 * counted and numbered from its row, and clears the row's lease, but moves the delivery only
 * while it is still due: one a deletion dead-lettered while its attempt was in flight stays dead.
 * Exported for the benchmark's ungrouped baseline (bench/postgres-store.mjs).
 */
export async function applyAttempts(
  sql: postgres.Sql,
  ops: readonly AttemptOp[],
  now: number,
): Promise<Set<string>> {
  const col = <T extends string | number | boolean | null>(f: (op: AttemptOp) => T) => pgArray(ops.map(f));
  const rows = await sql<{ id: string }[]>`
    WITH op AS (
      SELECT * FROM unnest(
        ${col((o) => o.deliveryId)}::text[], ${col((o) => o.at)}::bigint[], ${col((o) => o.status)}::int[],
        ${col((o) => o.outcome)}::text[], ${col((o) => o.latencyMs)}::float8[], ${col((o) => o.error)}::text[],
        ${col((o) => o.response)}::text[], ${col((o) => o.next)}::text[], ${col((o) => o.nextAttemptAt)}::bigint[],
        ${col((o) => o.lastError)}::text[], ${col((o) => o.holdKey)}::bool[], ${col((o) => o.batchId)}::text[],
        ${col((o) => o.conversion)}::text[]
      ) AS o (id, at, status, outcome, latency_ms, error, response, next, next_attempt_at, last_error,
        hold_key, batch_id, conversion)
    ),
    moved AS (
      UPDATE deliveries d SET attempts = d.attempts + 1, budget_attempts = d.budget_attempts + 1,
        updated_at = ${now},
        status = CASE WHEN d.status IN ('pending', 'retrying') THEN o.next ELSE d.status END,
        next_attempt_at = CASE WHEN d.status IN ('pending', 'retrying') THEN o.next_attempt_at ELSE d.next_attempt_at END,
        last_error = CASE WHEN d.status IN ('pending', 'retrying') THEN o.last_error ELSE d.last_error END,
        dead_blocks = o.hold_key, batch_id = o.batch_id, conversion = o.conversion::jsonb,
        leased_by = NULL, leased_until = NULL
      FROM op o WHERE d.id = o.id
      RETURNING d.id, d.attempts AS n
    ),
    logged AS (
      INSERT INTO attempts (delivery_id, n, at, status, outcome, latency_ms, error, response)
      SELECT o.id, m.n, o.at, o.status, o.outcome, o.latency_ms, o.error, o.response
      FROM op o JOIN moved m ON m.id = o.id
    )
    SELECT id FROM moved`;
  return new Set(rows.map((r) => r.id));
}

interface Waiting {
  op: AttemptOp;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Queues attempts and commits them in groups, one group in flight at a time. */
export class AttemptCommitter {
  private queue: Waiting[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly sql: postgres.Sql,
    /** Turns a driver error into what callers see (UnavailableError when PostgreSQL is gone). */
    private readonly failure: (error: unknown) => unknown,
  ) {}

  record(op: AttemptOp): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      this.running ??= this.drain();
    });
  }

  /** Resolves once everything queued so far is committed or failed. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    // Calls made in the same synchronous run join the first group; waiting for the next turn of
    // the event loop as well cost a lone caller a quarter of its rate (measured), for nothing:
    // under load, calls gather anyway while a group is in flight.
    await Promise.resolve();
    try {
      while (this.queue.length > 0) await this.commit(this.takeGroup());
    } finally {
      this.running = undefined;
    }
  }

  /**
   * The next group: at most one attempt per delivery, since each is numbered from its row as the
   * statement found it; a second attempt of the same delivery waits for the next group.
   */
  private takeGroup(): Waiting[] {
    const group: Waiting[] = [];
    const rest: Waiting[] = [];
    const ids = new Set<string>();
    for (const w of this.queue) {
      if (group.length < MAX_GROUP && !ids.has(w.op.deliveryId)) {
        ids.add(w.op.deliveryId);
        group.push(w);
      } else rest.push(w);
    }
    this.queue = rest;
    return group;
  }

  private async commit(group: Waiting[]): Promise<void> {
    try {
      const found = await applyAttempts(
        this.sql,
        group.map((w) => w.op),
        Date.now(),
      );
      for (const w of group) {
        if (found.has(w.op.deliveryId)) w.resolve();
        else w.reject(new NotFoundError(`no delivery ${w.op.deliveryId}: its attempt was not recorded`));
      }
    } catch (error) {
      const mapped = this.failure(error);
      // A server gone fails the whole group alike. Any other error is one attempt's bad data:
      // apply them one by one so that only its own caller sees it, as the embedded store's
      // savepoints do.
      if (mapped !== error || group.length === 1) {
        for (const w of group) w.reject(mapped);
        return;
      }
      for (const w of group) await this.commit([w]);
    }
  }
}
