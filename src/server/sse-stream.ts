/**
 * One `GET /v1/events/stream` connection: reads the log after its cursor, writes the events that
 * match as server-sent events, and waits at the end of the log for more.
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { eventJson } from '../core/event.js';
import type { Predicate } from '../routing/filters.js';
import type { Cursor, LiveEvents } from './live-events.js';

export interface SseStreamOptions {
  /** A comment line this often keeps proxies and the client from taking a quiet stream for a dead one. */
  heartbeatMs: number;
  /** Events read from the store at once. */
  pageSize: number;
  /** Bytes written but not yet taken by the client, at most. */
  maxBufferBytes: number;
  /** How long a full buffer may stay full before the stream is closed with `overflow`. */
  stallMs: number;
}

/** How long an overflowed stream's last message waits for the client before the socket goes. */
const OVERFLOW_LINGER_MS = 60_000;

/** The `data:` lines of an SSE message: a line break inside the text would end the field. */
function dataLines(text: string): string {
  return /[\r\n]/.test(text) ? text.split(/\r\n|\r|\n/).join('\ndata: ') : text;
}

/**
 * Streams events after `cursor` that `matches` to `res` until the client leaves or `close` is
 * called. Reading at the client's pace keeps memory to one page: the store is the backlog.
 */
export class SseStream {
  private readonly abort = new AbortController();
  /** The last event sent: what the client resumes from. */
  private lastSent: number | null = null;

  constructor(
    private readonly res: ServerResponse,
    private readonly live: LiveEvents,
    private readonly matches: Predicate,
    private cursor: Cursor,
    private readonly options: SseStreamOptions,
  ) {
    res.on('close', () => this.abort.abort());
  }

  /** Ends the stream at once, whatever the client has still to read: shutdown does not wait. */
  close(): void {
    this.abort.abort();
    this.res.destroy();
  }

  /** Writes the stream's head and runs until the stream ends; never rejects. */
  async run(): Promise<void> {
    const { res } = this;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      // The connection ends with the stream, so that a closing hub has no keep-alive socket to wait on.
      connection: 'close',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    const heartbeat = setInterval(() => {
      if (res.writableLength < this.options.maxBufferBytes) res.write(': heartbeat\n\n');
    }, this.options.heartbeatMs);
    heartbeat.unref();
    try {
      await this.pump();
    } catch {
      // The store failed mid-stream: end it, and the client resumes from its last id.
    } finally {
      clearInterval(heartbeat);
      if (!res.destroyed && !res.writableEnded) res.end();
    }
  }

  private async pump(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const mark = this.live.mark;
      const page = await this.live.read(this.cursor, this.options.pageSize);
      if (signal.aborted) return;
      if (page.length === 0) {
        await this.live.waitAfter(mark, signal);
        continue;
      }
      let chunk = '';
      let last: number | null = null;
      for (const stored of page) {
        this.cursor = { from: Date.parse(stored.receivedAt), afterSeq: stored.seq };
        if (!this.matches(stored.event)) continue;
        chunk += `id: ${stored.seq}\nevent: cloudevent\ndata: ${dataLines(eventJson(stored.event))}\n\n`;
        last = stored.seq;
        // Written in pieces of about the buffer's size, so that a page of large events is never
        // held whole as one string.
        if (chunk.length >= this.options.maxBufferBytes) {
          if (!(await this.send(chunk, last))) return;
          chunk = '';
        }
      }
      if (last !== null && chunk !== '' && !(await this.send(chunk, last))) return;
    }
  }

  /** Writes once there is room; false when the stream has ended, by overflow or the client leaving. */
  private async send(chunk: string, last: number): Promise<boolean> {
    if (!(await this.room(Buffer.byteLength(chunk)))) {
      if (!this.abort.signal.aborted) this.overflow();
      return false;
    }
    this.res.write(chunk);
    this.lastSent = last;
    return true;
  }

  /**
   * Waits until `bytes` more fit in the buffer; false when the client has not made room within
   * `stallMs`, or has gone.
   */
  private async room(bytes: number): Promise<boolean> {
    const { maxBufferBytes, stallMs } = this.options;
    const deadline = Date.now() + stallMs;
    while (this.res.writableLength > 0 && this.res.writableLength + bytes > maxBufferBytes) {
      const left = deadline - Date.now();
      if (left <= 0 || this.abort.signal.aborted) return false;
      // A timer of its own rather than AbortSignal.timeout inside AbortSignal.any: on Node 20 that
      // combination was seen here never to fire, leaving a stalled stream open for good.
      const wait = new AbortController();
      const timer = setTimeout(() => wait.abort(), left);
      const stop = () => wait.abort();
      this.abort.signal.addEventListener('abort', stop, { once: true });
      try {
        await once(this.res, 'drain', { signal: wait.signal });
      } catch {
        // Timed out or aborted: the loop's checks say which.
      } finally {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', stop);
      }
    }
    return !this.abort.signal.aborted;
  }

  /** Tells a client that fell too far behind to reconnect from its last id, and ends the stream. */
  private overflow(): void {
    const data = JSON.stringify({
      reason: `the client took less than the hub sent for ${this.options.stallMs} ms`,
      lastEventId: this.lastSent === null ? null : String(this.lastSent),
      action: 'reconnect with Last-Event-ID to catch up from the store',
    });
    this.res.end(`event: overflow\ndata: ${data}\n\n`);
    // A client that never reads again would hold the socket: it gets a minute to take the message.
    setTimeout(() => this.res.destroy(), OVERFLOW_LINGER_MS).unref();
  }
}
