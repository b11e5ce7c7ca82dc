import type { FastifyPluginAsync } from 'fastify';
import { type FieldError, UnavailableError, ValidationError } from '../../core/errors.js';
import { checkFilters, compileFilters } from '../../routing/filters.js';
import type { Filter } from '../../storage/ports.js';
import type { Hub } from '../hub.js';
import { type Cursor, LiveEvents } from '../live-events.js';
import { SseStream } from '../sse-stream.js';

/** Streams open at once: each holds a connection and a read of the store per new event. */
export const MAX_STREAMS = 100;
/** How often a stream waiting at the end of the log learns of new events, at most. */
const POLL_INTERVAL_MS = 100;
/** With a shared store, how long an event is left to settle before streams read it (see LiveEvents). */
const SHARED_SETTLE_MS = 1_000;
const STREAM_OPTIONS = {
  heartbeatMs: 15_000,
  pageSize: 100,
  maxBufferBytes: 1024 * 1024,
  stallMs: 5_000,
};

/** What a stream shows, and where it starts. */
export interface StreamQuery {
  filters: Filter[];
  /** The sequence number to resume after, or undefined to start with the next event. */
  after: number | undefined;
}

/** Each value of a repeatable query parameter, comma lists split, blanks kept to be refused. */
function listOf(value: unknown): string[] {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values.flatMap((v) => String(v).split(',')).map((v) => v.trim());
}

/** One value of a parameter given at most once, or the problem with it. */
function single(query: Record<string, unknown>, name: string, errors: FieldError[]): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    errors.push({ pointer: `/${name}`, message: `give ${name} once, with a non-empty value` });
    return undefined;
  }
  return value;
}

function cursorValue(value: string, pointer: string, errors: FieldError[]): number | undefined {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    errors.push({ pointer, message: 'a cursor is the `id` of a streamed event: a whole number' });
    return undefined;
  }
  return n;
}

/**
 * Reads the stream's filters and cursor. `Last-Event-ID` (sent by a reconnecting client) wins over
 * `after`, which the client's first request carried and its reconnections repeat.
 *
 * @example
 * parseStreamQuery({ type: 'a.b,a.c', subject: 'orders/' }, undefined)
 * // { filters: [{ any: [{ exact: { type: 'a.b' } }, { exact: { type: 'a.c' } }] }, { prefix: { subject: 'orders/' } }], after: undefined }
 */
export function parseStreamQuery(query: Record<string, unknown>, lastEventId: unknown): StreamQuery {
  const errors: FieldError[] = [];
  const filters: Filter[] = [];
  const types = listOf(query.type);
  if (types.some((t) => t === '')) {
    errors.push({
      pointer: '/type',
      message: 'type takes event types, repeated or comma-separated, none empty',
    });
  } else if (types.length > 0) {
    const exact = types.map((type) => ({ exact: { type } }));
    filters.push(exact.length === 1 ? exact[0]! : { any: exact });
  }
  const source = single(query, 'source', errors);
  if (source !== undefined) filters.push({ exact: { source } });
  const subject = single(query, 'subject', errors);
  if (subject !== undefined) filters.push({ prefix: { subject } });
  const sql = single(query, 'sql', errors);
  if (sql !== undefined) {
    const problems = checkFilters([{ sql }], '');
    if (problems.length > 0) errors.push(...problems.map((p) => ({ pointer: '/sql', message: p.message })));
    else filters.push({ sql });
  }
  let after: number | undefined;
  if (typeof lastEventId === 'string' && lastEventId !== '') {
    after = cursorValue(lastEventId.trim(), '/Last-Event-ID', errors);
  } else {
    const given = single(query, 'after', errors);
    if (given !== undefined) after = cursorValue(given, '/after', errors);
  }
  if (errors.length > 0) {
    const names = [...new Set(errors.map((e) => e.pointer))].join(', ');
    throw new ValidationError(`the stream has ${errors.length} invalid parameter(s): ${names}`, { errors });
  }
  return { filters, after };
}

/**
 * `GET /v1/events/stream`: server-sent events of events as they become durable, filtered, and
 * resumable by their `id`.
 */
export const streamRoutes: FastifyPluginAsync<{ hub: Hub }> = async (app, { hub }) => {
  const live = new LiveEvents(hub.store, {
    pollIntervalMs: POLL_INTERVAL_MS,
    settleMs: hub.config.store === undefined ? 0 : SHARED_SETTLE_MS,
    maxStreams: MAX_STREAMS,
  });
  // Before the server stops taking connections and waits for open ones: streams never end by themselves.
  app.addHook('preClose', (done) => {
    live.close();
    done();
  });

  app.get('/v1/events/stream', async (request, reply) => {
    const query = parseStreamQuery(
      request.query as Record<string, unknown>,
      request.headers['last-event-id'],
    );
    // From the next event on: the time now, since the log is read in order of receipt.
    const cursor: Cursor =
      query.after === undefined ? { from: Date.now(), afterSeq: 0 } : await live.cursorAfter(query.after);
    let stream: SseStream | undefined;
    const release = live.admit(() => stream?.close());
    if (!release) {
      throw new UnavailableError(
        `${MAX_STREAMS} event streams are open, the most this hub serves; close one or retry later`,
      );
    }
    reply.hijack();
    // A client that left while its cursor was placed has closed already: no 'close' is to come.
    if (reply.raw.destroyed) {
      release();
      return;
    }
    reply.raw.on('close', release);
    stream = new SseStream(reply.raw, live, compileFilters(query.filters), cursor, STREAM_OPTIONS);
    try {
      await stream.run();
    } finally {
      // Releasing twice is harmless: whichever of the end of the stream and 'close' comes first frees the place.
      release();
    }
  });
};
