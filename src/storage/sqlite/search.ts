/**
 * The event search on the embedded store. Each field has an index led by it and followed by
 * `seq` (migration 7), so a page is one index range read backwards from the cursor; a query with
 * several fields is walked on one of them and checked against the others.
 */
import type Database from 'better-sqlite3';
import type { EventQuery, EventSummary } from '../ports.js';
import { iso } from '../records.js';
import { broadPrefixMatches, subjectMatch } from '../search.js';

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
  private readonly ends;

  constructor(private readonly db: Database.Database) {
    // Both walk the events_by_time index, which ends in the row id: one seek each.
    this.firstAtOrAfter = db.prepare(
      'SELECT seq FROM events WHERE received_at >= ? ORDER BY received_at, seq LIMIT 1',
    );
    this.lastBefore = db.prepare(
      'SELECT seq FROM events WHERE received_at < ? ORDER BY received_at DESC, seq DESC LIMIT 1',
    );
    this.ends = db.prepare('SELECT (SELECT min(seq) FROM events) AS lo, (SELECT max(seq) FROM events) AS hi');
  }

  search(query: EventQuery, limit: number, beforeSeq: number | undefined): EventSummary[] {
    const built = this.build(query, beforeSeq, limit);
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
  plan(query: EventQuery, beforeSeq?: number, limit = 100): string[] {
    const built = this.build(query, beforeSeq, limit);
    if (!built) return [];
    return (
      this.db.prepare(`EXPLAIN QUERY PLAN ${built.sql}`).all(...built.args, limit) as { detail: string }[]
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
  private build(
    query: EventQuery,
    beforeSeq: number | undefined,
    limit: number,
  ): { sql: string; args: unknown[] } | null {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (clause: string, ...values: unknown[]) => {
      where.push(clause);
      args.push(...values);
    };
    // The numbers a match may have, for telling a broad subject prefix from a narrow one.
    const window: { floor?: number; ceiling?: number } = {};
    if (beforeSeq !== undefined) {
      add('seq < ?', beforeSeq);
      window.ceiling = beforeSeq - 1;
    }
    // The time range becomes a range of sequence numbers, read from the time index: the embedded
    // store numbers events in the order it receives them, so the range of one is the range of the
    // other, and each field index (ending in seq) serves both at once. The times are still checked,
    // with `+` so that the planner never reads the range through the time index and sorts it.
    if (query.from !== undefined) {
      const first = this.firstAtOrAfter.get(query.from.getTime()) as { seq: number } | undefined;
      if (!first) return null;
      add('seq >= ?', first.seq);
      add('+received_at >= ?', query.from.getTime());
      window.floor = first.seq;
    }
    if (query.to !== undefined) {
      const last = this.lastBefore.get(query.to.getTime()) as { seq: number } | undefined;
      if (!last) return null;
      add('seq <= ?', last.seq);
      add('+received_at < ?', query.to.getTime());
      window.ceiling = Math.min(window.ceiling ?? last.seq, last.seq);
    }
    if (query.type !== undefined) add('type = ?', query.type);
    if (query.source !== undefined) add('source = ?', query.source);
    let keysFirst = false;
    if (query.subject !== undefined) {
      const match = subjectMatch(query.subject);
      if ('equals' in match) add('subject = ?', match.equals);
      else if (this.broad(match, window, limit)) {
        // `+` keeps the subject index out: the page is walked backwards by number (or by another
        // field's index), the prefix checked on each row, and stops at the limit.
        add('+subject >= ?', match.low);
        if (match.high !== null) add('+subject < ?', match.high);
      } else {
        add('subject >= ?', match.low);
        if (match.high !== null) add('subject < ?', match.high);
        keysFirst = true;
      }
    }
    if (query.correlationid !== undefined) add('correlation_id = ?', query.correlationid);
    if (query.traceid !== undefined) add('trace_id = ?', query.traceid);
    const from = `FROM events ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}`;
    const columns = `seq, source, id, type, subject, json_extract(body, '$.time') AS time, received_at,
        correlation_id, trace_id`;
    // A narrow prefix's matches are sorted as numbers read from the subject index alone (it ends in
    // seq), and only the page's rows are read: sorting whole rows read each one's body.
    const sql = keysFirst
      ? `SELECT ${columns} FROM events WHERE seq IN (SELECT seq ${from} ORDER BY seq DESC LIMIT ?) ORDER BY seq DESC`
      : `SELECT ${columns} ${from} ORDER BY seq DESC LIMIT ?`;
    return { sql, args };
  }

  /**
   * Whether the prefix matches enough events among the window's numbers for walking them by number
   * to beat sorting its matches (see `broadPrefixMatches`): counted on the subject index, up to
   * that many.
   */
  private broad(
    match: { low: string; high: string | null },
    window: { floor?: number; ceiling?: number },
    limit: number,
  ): boolean {
    const ends = this.ends.get() as { lo: number | null; hi: number | null };
    if (ends.lo === null || ends.hi === null) return false;
    const floor = window.floor ?? ends.lo;
    const ceiling = window.ceiling ?? ends.hi;
    const enough = broadPrefixMatches(limit, ceiling - floor + 1);
    const range = match.high === null ? 'subject >= ?' : 'subject >= ? AND subject < ?';
    const { n } = this.statement(
      `SELECT count(*) AS n FROM (SELECT 1 FROM events INDEXED BY events_by_subject
        WHERE ${range} AND seq BETWEEN ? AND ? LIMIT ?)`,
    ).get(...(match.high === null ? [match.low] : [match.low, match.high]), floor, ceiling, enough) as {
      n: number;
    };
    return n >= enough;
  }
}
