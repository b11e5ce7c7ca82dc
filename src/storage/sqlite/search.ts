/**
 * The event search on the embedded store. Each field has an index led by it and followed by
 * `seq` (migration 7), so a page is one index range read backwards from the cursor; a query with
 * several fields is walked on one of them and checked against the others.
 */
import type Database from 'better-sqlite3';
import type { EventQuery, EventSummary } from '../ports.js';
import { iso } from '../records.js';
import { subjectMatch } from '../search.js';

interface SummaryRow {
  seq: number;
  source: string;
  id: string;
  type: string;
  subject: unknown;
  time: unknown;
  received_at: number;
  correlation_id: unknown;
  trace_id: string | null;
}

const text = (v: unknown) => (v === null || v === undefined ? null : String(v));

export class SqliteSearch {
  /** Statements by the shape of their WHERE clause: a handful of shapes, each prepared once. */
  private readonly statements = new Map<string, Database.Statement>();
  private readonly firstAtOrAfter;
  private readonly lastBefore;

  constructor(private readonly db: Database.Database) {
    // Both walk the events_by_time index, which ends in the row id: one seek each.
    this.firstAtOrAfter = db.prepare(
      'SELECT seq FROM events WHERE received_at >= ? ORDER BY received_at, seq LIMIT 1',
    );
    this.lastBefore = db.prepare(
      'SELECT seq FROM events WHERE received_at < ? ORDER BY received_at DESC, seq DESC LIMIT 1',
    );
  }

  search(query: EventQuery, limit: number, beforeSeq: number | undefined): EventSummary[] {
    const built = this.build(query, beforeSeq);
    if (!built) return [];
    return (this.statement(built.sql).all(...built.args, limit) as SummaryRow[]).map((r) => ({
      seq: r.seq,
      source: r.source,
      id: r.id,
      type: r.type,
      subject: text(r.subject),
      time: text(r.time),
      receivedAt: iso(r.received_at),
      correlationid: text(r.correlation_id),
      traceid: r.trace_id !== null && /^[0-9a-f]{32}$/.test(r.trace_id) ? r.trace_id : null,
    }));
  }

  /** How SQLite reads a query (`EXPLAIN QUERY PLAN`, one line per step), for tests and the benchmark. */
  plan(query: EventQuery, beforeSeq?: number): string[] {
    const built = this.build(query, beforeSeq);
    if (!built) return [];
    return (
      this.db.prepare(`EXPLAIN QUERY PLAN ${built.sql}`).all(...built.args, 100) as { detail: string }[]
    ).map((r) => r.detail);
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** The query's SQL and arguments (the limit goes last), or null when no event can match. */
  private build(query: EventQuery, beforeSeq: number | undefined): { sql: string; args: unknown[] } | null {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (clause: string, ...values: unknown[]) => {
      where.push(clause);
      args.push(...values);
    };
    if (beforeSeq !== undefined) add('seq < ?', beforeSeq);
    // The time range becomes a range of sequence numbers, read from the time index: the embedded
    // store numbers events in the order it receives them, so the range of one is the range of the
    // other, and each field index (ending in seq) serves both at once. The times are still checked,
    // with `+` so that the planner never reads the range through the time index and sorts it.
    if (query.from !== undefined) {
      const first = this.firstAtOrAfter.get(query.from.getTime()) as { seq: number } | undefined;
      if (!first) return null;
      add('seq >= ?', first.seq);
      add('+received_at >= ?', query.from.getTime());
    }
    if (query.to !== undefined) {
      const last = this.lastBefore.get(query.to.getTime()) as { seq: number } | undefined;
      if (!last) return null;
      add('seq <= ?', last.seq);
      add('+received_at < ?', query.to.getTime());
    }
    if (query.type !== undefined) add('type = ?', query.type);
    if (query.source !== undefined) add('source = ?', query.source);
    if (query.subject !== undefined) {
      const match = subjectMatch(query.subject);
      if ('equals' in match) add('subject = ?', match.equals);
      else if (match.high === null) add('subject >= ?', match.low);
      else add('subject >= ? AND subject < ?', match.low, match.high);
    }
    if (query.correlationid !== undefined) add('correlation_id = ?', query.correlationid);
    if (query.traceid !== undefined) add('trace_id = ?', query.traceid);
    const sql = `SELECT seq, source, id, type, subject, json_extract(body, '$.time') AS time, received_at,
        correlation_id, trace_id
      FROM events ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    return { sql, args };
  }
}
