/**
 * LiveEvents on a real embedded store: cursors whose event is gone, a page of nothing but repeats,
 * and the shared poll that wakes waiting streams when the log's end moves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CloudEvent } from '../../src/core/event.js';
import { LiveEvents } from '../../src/server/live-events.js';
import { openSqliteStore, type SqliteStore } from '../../src/storage/sqlite/store.js';

const none = () => ({ channel: 'default', subscriptions: [] });

function ev(id: string): CloudEvent {
  return { specversion: '1.0', id, source: '/live', type: 'com.acme.live' };
}

describe('LiveEvents', () => {
  let dir: string;
  let store: SqliteStore;
  let live: LiveEvents;

  /** Appends `n` events in one batch, stamped at `time` when given; returns their sequence numbers. */
  async function append(n: number, prefix: string, time?: string): Promise<number[]> {
    const events = Array.from({ length: n }, (_, i) => ev(`${prefix}${i}`));
    if (time) {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date(time));
    }
    let appended: ReturnType<SqliteStore['append']>;
    try {
      appended = store.append(events, none);
    } finally {
      vi.useRealTimers();
    }
    await appended;
    // The batch is the newest `n` events: their numbers, oldest first.
    return (await store.searchEvents({}, n, undefined)).map((e) => e.seq).reverse();
  }

  /** Deletes one event behind the store's back, as a sweep does to an event with nothing to deliver. */
  function sweep(seq: number): void {
    const db = new Database(join(dir, 'junction.db'));
    try {
      db.pragma('busy_timeout = 5000');
      expect(db.prepare('DELETE FROM events WHERE seq = ?').run(seq).changes).toBe(1);
    } finally {
      db.close();
    }
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'junction-live-'));
    store = await openSqliteStore(dir);
    live = new LiveEvents(store, { pollIntervalMs: 10, settleMs: 0, maxStreams: 10 });
  });

  afterEach(async () => {
    live.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('places a cursor past the end at the newest event, and one on an empty log at its start', async () => {
    expect(await live.cursorAfter(999_999_999)).toEqual({ from: 0, afterSeq: 0 });
    const seqs = await append(3, 'a');
    const end = await live.cursorAfter(999_999_999);
    expect(end.afterSeq).toBe(seqs[2]);
    expect(await live.read(end, 10)).toEqual([]);
    const [next] = await append(1, 'b');
    expect((await live.read(end, 10)).map((e) => e.seq)).toEqual([next]);
  });

  it('places a cursor whose event was swept just before the first event numbered above it', async () => {
    const seqs = await append(150, 'a');
    sweep(seqs[119]!);
    const cursor = await live.cursorAfter(seqs[119]!);
    const page = await live.read(cursor, 100);
    expect(page.map((e) => e.seq)).toEqual(seqs.slice(120));
  });

  it('reads past a full page of repeats when the cursor event was swept within its millisecond', async () => {
    const seqs = await append(10, 'a', '2026-11-27T00:00:00.000Z');
    const cursor = await live.cursorAfter(seqs[7]!);
    expect(cursor.from).toBe(Date.parse('2026-11-27T00:00:00.000Z'));
    sweep(seqs[7]!);
    // The store reads the millisecond again from its start: three pages of repeats come first.
    expect((await live.read(cursor, 3)).map((e) => e.seq)).toEqual(seqs.slice(8));
  });

  it('wakes a waiting stream when the end moves, and at once when it moved since the mark', async () => {
    await append(1, 'a');
    const mark = live.mark;
    const signal = new AbortController().signal;
    let woken = false;
    const waiting = live.waitAfter(mark, signal).then(() => {
      woken = true;
    });
    // The first poll sees the end where no poll has seen it yet: a wake that costs one read.
    await waiting;
    const settled = live.mark;
    woken = false;
    const again = live.waitAfter(settled, signal).then(() => {
      woken = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(woken).toBe(false);
    await append(1, 'b');
    await again;
    expect(woken).toBe(true);
    // A mark taken before that wake is stale: no waiting at all.
    await live.waitAfter(settled, signal);
  });
});
