/**
 * Live events for `GET /v1/events/stream`: every open stream reads the store after its own cursor,
 * so replay and live are one code path and a stream can have neither a gap nor a repeat between
 * them. What is shared is one poll, made only while some stream waits at the end of the log, that
 * says when there is something after it.
 *
 * The store is read rather than ingest observed because the store is where an event is durable:
 * a stream never shows an event before its acknowledgement could have gone out (SQLite in WAL mode
 * with `synchronous=FULL` shows a commit to readers only once the log is synced; with a bus, the
 * acknowledgement comes from JetStream before the event is recorded). With a store shared by
 * several processes the poll sees the events every process records.
 */
import type { EventStore, StoredEvent } from '../storage/ports.js';

/** Where a stream stands in the log, in the (receivedAt, seq) order the store's archive reads in. */
export interface Cursor {
  /** Epoch ms: the received-at time of the last event read, or where reading starts. */
  from: number;
  /** The last event read, or 0 before the first. */
  afterSeq: number;
}

export interface LiveEventsOptions {
  /** How often the log's end is looked at while a stream waits there. */
  pollIntervalMs: number;
  /**
   * With a store shared by several processes: events younger than this are left for the next read.
   * Two processes take sequence numbers and commit in either order, and a reader that moved past an
   * event before its transaction committed would never see it; an append commits within
   * milliseconds of taking its time, so waiting this long lets every earlier one land first.
   */
  settleMs: number;
  /** Streams open at once; one more is refused. */
  maxStreams: number;
}

/** The latest time any store holds: the archive's upper bound when nothing must settle. */
const END_OF_TIME = 253_402_300_799_999;

/** A stream waiting at the end of the log for something after its cursor. */
interface Waiter {
  cursor: Cursor;
  wake: () => void;
}

function before(a: Cursor, b: Cursor): boolean {
  return a.from < b.from || (a.from === b.from && a.afterSeq < b.afterSeq);
}

/** The shared poll, the register of open streams, and their cap. */
export class LiveEvents {
  private readonly waiters = new Set<Waiter>();
  private readonly closers = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;

  constructor(
    private readonly store: EventStore,
    private readonly options: LiveEventsOptions,
  ) {}

  /** How many streams are open. */
  get open(): number {
    return this.closers.size;
  }

  /**
   * Registers a stream, with what closes it at shutdown. False when `maxStreams` are open already
   * or the hub is closing; otherwise call the returned function when the stream ends.
   */
  admit(close: () => void): (() => void) | false {
    if (this.closed || this.closers.size >= this.options.maxStreams) return false;
    this.closers.add(close);
    return () => this.closers.delete(close);
  }

  /**
   * The events after `cursor`, at most `limit`, in order of receipt. When the cursor's own event
   * has been swept, the store reads again from the cursor's time, and what it repeats is dropped
   * here; with no time known (`from` 0), by sequence number, the order of receipt in one process.
   */
  async read(cursor: Cursor, limit: number): Promise<StoredEvent[]> {
    const to = this.options.settleMs > 0 ? Date.now() - this.options.settleMs : END_OF_TIME;
    if (to <= cursor.from) return [];
    const page = await this.store.archived(new Date(cursor.from), new Date(to), cursor.afterSeq, limit);
    if (cursor.from === 0) return page.filter((e) => e.seq > cursor.afterSeq);
    return page.filter((e) => {
      const at = Date.parse(e.receivedAt);
      return at > cursor.from || (at === cursor.from && e.seq > cursor.afterSeq);
    });
  }

  /**
   * Where a stream resumes after the event numbered `seq`: after that event's time of receipt, since
   * with several processes numbers and receipt need not agree. Time unknown (0) when the event is
   * gone or never was.
   */
  async cursorAfter(seq: number): Promise<Cursor> {
    const key = (await this.store.eventSummaries([seq])).get(seq);
    const found = key ? await this.store.lookupEvent(key.source, key.id) : undefined;
    return { from: found ? Date.parse(found.event.receivedAt) : 0, afterSeq: seq };
  }

  /**
   * Resolves once there may be events after `cursor` (or the stream is closed through `signal`).
   * Waking early is harmless: the stream reads and, finding nothing, waits again.
   */
  waitAfter(cursor: Cursor, signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = {
        cursor,
        wake: () => {
          this.waiters.delete(waiter);
          signal.removeEventListener('abort', waiter.wake);
          resolve();
        },
      };
      this.waiters.add(waiter);
      signal.addEventListener('abort', waiter.wake, { once: true });
      this.schedule();
    });
  }

  /** Ends every open stream, promptly: shutdown never waits on a client. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const waiter of [...this.waiters]) waiter.wake();
    for (const close of [...this.closers]) close();
  }

  private schedule(): void {
    if (this.timer || this.polling || this.closed || this.waiters.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll();
    }, this.options.pollIntervalMs);
    this.timer.unref();
  }

  /**
   * One look past the earliest waiting cursor: one event is enough to know that the waiters should
   * read. Every waiter is woken, those already past it too, since one read each costs less than a
   * look per cursor.
   */
  private async poll(): Promise<void> {
    this.polling = true;
    try {
      let earliest: Cursor | undefined;
      for (const w of this.waiters) if (!earliest || before(w.cursor, earliest)) earliest = w.cursor;
      if (earliest && (await this.read(earliest, 1)).length > 0) {
        for (const waiter of [...this.waiters]) waiter.wake();
      }
    } catch {
      // The store did not answer: the next poll tries again, and /readyz reports the store.
    } finally {
      this.polling = false;
      this.schedule();
    }
  }
}
