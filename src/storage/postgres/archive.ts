/**
 * The archive of events, its retention (sweep), and replays of it. Each write is one statement.
 */
import type postgres from 'postgres';
import type { Replay, ReplayDelivery, StoredEvent } from '../ports.js';
import type { Leaser } from './due.js';
import { type EventRow, pgArray, toStoredEvent } from './rows.js';

/**
 * Deletes events of the channel past `before` with nothing left to deliver or redrive, with
 * their deliveries and attempts. Events another process is sweeping, or a replay is reading into
 * a page, are locked, and skipped rather than waited for.
 */
export async function sweep(
  sql: postgres.Sql,
  channel: string,
  before: Date,
  limit: number,
): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    WITH expired AS (
      SELECT seq FROM events e
      WHERE channel = ${channel} AND received_at < ${before.getTime()} AND NOT EXISTS (
        SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.status IN ('pending', 'retrying', 'dead'))
      ORDER BY received_at LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    ),
    gone_attempts AS (
      DELETE FROM attempts WHERE delivery_id IN (
        SELECT id FROM deliveries WHERE event_seq IN (SELECT seq FROM expired))
    ),
    gone_deliveries AS (DELETE FROM deliveries WHERE event_seq IN (SELECT seq FROM expired)),
    gone AS (DELETE FROM events WHERE seq IN (SELECT seq FROM expired) RETURNING 1)
    SELECT count(*)::int AS n FROM gone`;
  return row?.n ?? 0;
}

export async function archived(
  sql: postgres.Sql,
  from: Date,
  to: Date,
  afterSeq: number,
  limit: number,
): Promise<(StoredEvent & { channel: string })[]> {
  let cursor: [number, number] = [from.getTime(), 0];
  if (afterSeq > 0) {
    const [row] = await sql<
      { received_at: number }[]
    >`SELECT received_at FROM events WHERE seq = ${afterSeq}`;
    // The cursor's own event may have been swept since: then resume from where its range began
    // in time, which repeats nothing that a later check does not skip (replays ignore a repeat).
    if (row) cursor = [Math.max(row.received_at, from.getTime()), afterSeq];
  }
  const rows = await sql<(EventRow & { channel: string })[]>`
    SELECT seq, body, received_at, contract, channel FROM events
    WHERE (received_at, seq) > (${cursor[0]}, ${cursor[1]}) AND received_at < ${to.getTime()}
    ORDER BY received_at, seq LIMIT ${limit}`;
  return rows.map((r) => ({ ...toStoredEvent(r), channel: r.channel }));
}

export async function recentEvents(sql: postgres.Sql, type: string, limit: number): Promise<StoredEvent[]> {
  const rows = await sql<EventRow[]>`
    SELECT seq, body, received_at, contract FROM events WHERE type = ${type} ORDER BY seq DESC LIMIT ${limit}`;
  return rows.map(toStoredEvent);
}

export async function countArchived(sql: postgres.Sql, from: Date, to: Date): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM events WHERE received_at >= ${from.getTime()} AND received_at < ${to.getTime()}`;
  return row?.n ?? 0;
}

/**
 * The replay's progress and its page's deliveries in one statement. A page written again (after
 * a crash) adds nothing twice. An event swept while the replay read it is skipped: its row is
 * share-locked before its delivery is written, so a sweep either deleted it already (and the
 * lock finds nothing) or skips it now.
 */
export async function saveReplay(
  sql: postgres.Sql,
  replay: Replay,
  deliveries: ReplayDelivery[],
): Promise<void> {
  const now = Date.now();
  const col = <T extends string | number | null>(f: (d: ReplayDelivery) => T) => pgArray(deliveries.map(f));
  await sql`
    WITH saved AS (
      INSERT INTO replays (id, body) VALUES (${replay.id}, ${JSON.stringify(replay)}::text::jsonb)
      ON CONFLICT (id) DO UPDATE SET body = excluded.body
      -- An ended replay stays ended: a cancel made through another process is not undone by the
      -- page the running process was saving meanwhile.
      WHERE replays.body ->> 'status' = 'running'
    )
    INSERT INTO deliveries (id, subscription_id, event_seq, channel, order_key, replay_id, webhook_id, status,
      budget_since, next_attempt_at, created_at, updated_at)
    SELECT x.id, x.sub, x.seq, x.channel, x.key, ${replay.id}, x.webhook, 'pending', ${now}, ${now}, ${now}, ${now}
    FROM unnest(${col((d) => d.id)}::text[], ${col((d) => d.subscriptionId)}::text[],
      ${col((d) => d.eventSeq)}::bigint[], ${col((d) => d.channel)}::text[], ${col((d) => d.orderKey)}::text[],
      ${col((d) => d.webhookId)}::text[]) WITH ORDINALITY AS x (id, sub, seq, channel, key, webhook, ord)
    WHERE EXISTS (SELECT 1 FROM events WHERE seq = x.seq FOR KEY SHARE)
    ORDER BY x.ord
    ON CONFLICT DO NOTHING`;
}

export async function getReplay(sql: postgres.Sql, id: string): Promise<Replay | undefined> {
  const [row] = await sql<{ body: Replay }[]>`SELECT body FROM replays WHERE id = ${id}`;
  return row?.body;
}

export async function runningReplays(sql: postgres.Sql): Promise<Replay[]> {
  const rows = await sql<{ body: Replay }[]>`
    SELECT body FROM replays WHERE body ->> 'status' = 'running' ORDER BY id`;
  return rows.map((r) => r.body);
}

/** Claims a running replay for `who` unless another live process holds it. */
export async function claimReplay(sql: postgres.Sql, who: Leaser, id: string, now: number): Promise<boolean> {
  const rows = await sql`
    UPDATE replays SET claimed_by = ${who.owner}, claimed_until = ${now + who.leaseMs}
    WHERE id = ${id} AND body ->> 'status' = 'running'
      AND (claimed_by IS NULL OR claimed_by = ${who.owner} OR claimed_until <= ${now})
    RETURNING id`;
  return rows.length === 1;
}

export async function listReplays(sql: postgres.Sql, limit: number): Promise<Replay[]> {
  const rows = await sql<{ body: Replay }[]>`SELECT body FROM replays ORDER BY id DESC LIMIT ${limit}`;
  return rows.map((r) => r.body);
}
