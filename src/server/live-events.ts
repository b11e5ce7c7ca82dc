/**
 * Live events for `GET /v1/events/stream`: every open stream reads the store after its own cursor,
 * so replay and live are one code path and a stream can have neither a gap nor a repeat between
 * them. What is shared is one poll, made only while some stream waits at the end of the log, that
 * says when that end has moved, whatever cursor any stream holds.
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

/** A stream waiting for the log's end to move. */
interface Waiter {
  wake: () => void;
}

function after(at: number, seq: number, cursor: Cursor): boolean {
  return at > cursor.from || (at === cursor.from && seq > cursor.afterSeq);
}

/** The shared poll, the register of open streams, and their cap. */
export class LiveEvents {
  private readonly waiters = new Set<Waiter>();
  private readonly closers = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;
  /** How many times the poll has woken the streams: what `mark` reads. */
  private wakes = 0;
  /** The highest sequence number the poll has seen, undefined before the first event. */
  private end: number | undefined;
  /** When the poll last saw the end move. */
  private movedAt = 0;
  /** When the streams are next woken for a move already seen, if one is still to show. */
  private dueAt: number | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly options: LiveEventsOptions,
  ) {}

  /** How many streams are open. */
  get open(): number {
    return this.closers.size;
  }

  /**
   * Taken by a stream before it reads: `waitAfter(mark)` then returns at once if the streams were
   * woken during the read, whose result may predate what woke them.
   */
  get mark(): number {
    return this.wakes;
  }

  /**
   * Registers a stream, with what closes it at shutdown. False when `maxStreams` are open already
   * or the hub is closing; otherwise call the returned function when the stream ends (more than
   * once is harmless).
   */
  admit(close: () => void): (() => void) | false {
    if (this.closed || this.closers.size >= this.options.maxStreams) return false;
    this.closers.add(close);
    return () => this.closers.delete(close);
  }

  /**
   * The events after `cursor`, at most `limit`, in order of receipt. When the cursor's own event
   * has been swept, the store reads again from the cursor's time, and what it repeats is dropped
   * here; a full page of nothing but repeats (many events in one millisecond) is read past, so
   * that an empty answer always means the end of the log.
   */
  async read(cursor: Cursor, limit: number): Promise<StoredEvent[]> {
    const to = this.options.settleMs > 0 ? Date.now() - this.options.settleMs : END_OF_TIME;
    if (to <= cursor.from) return [];
    let at = cursor;
    for (;;) {
      const page = await this.store.archived(new Date(at.from), new Date(to), at.afterSeq, limit);
      const fresh = page.filter((e) => after(Date.parse(e.receivedAt), e.seq, cursor));
      const last = page.at(-1);
      if (fresh.length > 0 || page.length < limit || !last) return fresh;
      // Every row a repeat: go on from the last one, an event that exists, so the store moves on.
      at = { from: Date.parse(last.receivedAt), afterSeq: last.seq };
    }
  }

  /**
   * Where a stream resumes after the event numbered `seq`: after that event's time of receipt, since
   * with several processes numbers and receipt need not agree. When that event is gone (swept, or
   * from another hub's log), just before the first event numbered above it, or at the log's end
   * if there is none: a cursor the log cannot place would otherwise read its oldest events forever.
   */
  async cursorAfter(seq: number): Promise<Cursor> {
    const key = (await this.store.eventSummaries([seq])).get(seq);
    const found = key ? await this.store.lookupEvent(key.source, key.id) : undefined;
    if (found) return { from: Date.parse(found.event.receivedAt), afterSeq: seq };
    const [newest] = await this.store.searchEvents({}, 1, undefined);
    // Numbered in order of receipt within a process, so the event numbered just below `seq` is the
    // one read just before the first above it.
    const [below] = newest && newest.seq > seq ? await this.store.searchEvents({}, 1, seq) : [newest];
    return below ? { from: Date.parse(below.receivedAt), afterSeq: below.seq } : { from: 0, afterSeq: 0 };
  }

  /**
   * Resolves once the log's end has moved since `mark` was taken (or the stream is closed through
   * `signal`). Waking early is harmless: the stream reads and, finding nothing, waits again.
   */
  waitAfter(mark: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.closed || mark !== this.wakes) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = {
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
   * One look at the log's end, the newest sequence number, whatever the streams' cursors: when it
   * moved, every waiter is woken, since one read each costs less than a look per cursor. With a
   * shared store the wake comes once what moved it has settled, a poll later than the streams
   * could read it; an event numbered lower that commits late was received no later, give or
   * take clock skew, so that wake shows it too.
   */
  private async poll(): Promise<void> {
    this.polling = true;
    try {
      const [newest] = await this.store.searchEvents({}, 1, undefined);
      const now = Date.now();
      const delay = this.options.settleMs > 0 ? this.options.settleMs + this.options.pollIntervalMs : 0;
      if (newest && newest.seq !== this.end) {
        this.end = newest.seq;
        this.movedAt = now;
        this.dueAt ??= now + delay;
      }
      if (this.dueAt !== undefined && now >= this.dueAt) {
        // Moves seen since the last one settled get a wake of their own.
        this.dueAt = this.movedAt + delay > now ? this.movedAt + delay : undefined;
        this.wakes += 1;
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
