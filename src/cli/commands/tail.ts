/** `junction tail`: follow live events from `GET /v1/events/stream`, resuming where it left off. */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CloudEvent } from '../../core/event.js';
import { parseRetryAfter } from '../../delivery/backoff.js';
import { addClientOptions, buildUrl, type ClientOptions, formatProblem } from '../client.js';
import { ApiError, ConnectionError, InterruptedError } from '../errors.js';
import { cell } from '../format.js';
import { collect } from '../options.js';
import { SseParser } from '../sse.js';

export interface TailOptions extends ClientOptions {
  type?: string[] | undefined;
  source?: string | undefined;
  subject?: string | undefined;
  sql?: string | undefined;
  since?: string | undefined;
  format: 'json' | 'pretty';
}

/** The hub sends a heartbeat every 15 s: three missed mean the connection is dead though still open. */
const SILENCE_MS = 45_000;
/** Waits between reconnections grow to this. */
const MAX_RECONNECT_MS = 5_000;
/** A `Retry-After` is honoured up to this, so that a hub asking for hours does not park tail. */
const MAX_RETRY_AFTER_MS = 30_000;

/** A refusal the hub means to lift (503: its streams are full or its store is away; 429): wait, then ask again. */
class HubBusyError extends Error {
  override name = 'HubBusyError';
  constructor(
    message: string,
    /** What `Retry-After` asked for, if anything readable. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

/** Where the stream is, with the filters as query parameters; the cursor goes in Last-Event-ID. */
export function buildStreamUrl(opts: TailOptions): URL {
  return buildUrl(opts.url, '/v1/events/stream', {
    type: opts.type?.join(','),
    source: opts.source,
    subject: opts.subject,
    sql: opts.sql,
  });
}

/**
 * One streamed event as a line: the CloudEvent as compact JSON, or for reading, its cursor, time,
 * type, source, id, subject and data.
 */
export function formatTailEvent(event: CloudEvent, id: string, format: TailOptions['format']): string {
  if (format === 'json') return JSON.stringify(event);
  const data = event.data ?? event.data_base64;
  const subject = typeof event.subject === 'string' ? `  ${event.subject}` : '';
  return `${id}  ${cell(event.time)}  ${event.type}  ${event.source}  ${event.id}${subject}  ${cell(data, 120)}`;
}

function parseCursor(value: string): string {
  if (!/^\d+$/.test(value))
    throw new InvalidArgumentError('Expected the id of a streamed event (a whole number).');
  return value;
}

/** Why a connection failed, for the one line tail prints before it reconnects. */
function reason(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Follows the stream until `signal` aborts, writing each event to `out`. A dropped connection, a
 * hub restart or an `overflow` message leads to a reconnection with `Last-Event-ID`, so nothing is
 * missed or shown twice. A hub that is busy (503, 429) is asked again after its `Retry-After`, also
 * before the first stream. Refusals that retrying cannot fix (a bad key, a bad filter) end it.
 *
 * @throws ApiError on a 4xx other than 429; ConnectionError when the first connection fails
 * without an answer from the hub (refused, unreachable, a 5xx other than 503).
 */
export async function tail(
  opts: TailOptions,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
  signal: AbortSignal,
): Promise<void> {
  const url = buildStreamUrl(opts);
  let lastId = opts.since;
  let retryMs = 1_000;
  let connected = false;
  let failures = 0;
  /** What the hub's last refusal asked to wait, if it said. */
  let waitMs: number | undefined;
  /** Whether the hub has answered at all: after that, a failed connection is retried, never fatal. */
  let answered = false;
  while (!signal.aborted) {
    const silence = new AbortController();
    let timer = setTimeout(() => silence.abort(), SILENCE_MS);
    const heard = () => {
      clearTimeout(timer);
      timer = setTimeout(() => silence.abort(), SILENCE_MS);
    };
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (opts.key) headers.authorization = `Bearer ${opts.key}`;
      if (lastId !== undefined) headers['last-event-id'] = lastId;
      const response = await fetch(url, { headers, signal: AbortSignal.any([signal, silence.signal]) });
      if (!response.ok) {
        const text = await response.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {}
        const message = formatProblem(response.status, response.statusText, body, Boolean(opts.key));
        if (response.status < 500 && response.status !== 429)
          throw new ApiError(message, response.status, body);
        const line = message.split('\n').join(' ');
        if (response.status === 503 || response.status === 429) {
          const retryAfter = parseRetryAfter(response.headers.get('retry-after') ?? undefined, Date.now());
          throw new HubBusyError(line, retryAfter);
        }
        throw new Error(line);
      }
      if (failures > 0)
        err.write(
          `junction tail: ${connected ? 'reconnected' : 'connected'}${lastId ? ` after ${lastId}` : ''}\n`,
        );
      connected = true;
      failures = 0;
      const pending: string[] = [];
      const parser = new SseParser(
        (message) => {
          if (message.event === 'cloudevent') {
            pending.push(
              `${formatTailEvent(JSON.parse(message.data) as CloudEvent, message.id, opts.format)}\n`,
            );
            lastId = message.id;
          } else if (message.event === 'overflow') {
            err.write('junction tail: fell behind the hub; catching up from the store\n');
          }
        },
        (ms) => {
          retryMs = ms;
        },
      );
      const decoder = new TextDecoder();
      for await (const chunk of response.body ?? []) {
        heard();
        parser.push(decoder.decode(chunk as Uint8Array, { stream: true }));
        // Written in order, and no faster than `out` takes them: a slow reader slows the stream.
        for (const line of pending.splice(0)) {
          if (!out.write(line)) await once(out, 'drain');
        }
      }
      if (!signal.aborted) err.write('junction tail: the stream ended; reconnecting\n');
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError) throw error;
      if (error instanceof HubBusyError) {
        // The hub answered, so it is running: even before the first stream, waiting is what it asks.
        if (failures === 0) err.write(`junction tail: ${error.message}; retrying\n`);
        waitMs = error.retryAfterMs;
        answered = true;
        failures += 1;
      } else if (!connected && !answered) {
        throw new ConnectionError(
          `cannot stream from ${url.origin} (${reason(error)}).\n  Is \`junction serve\` running? Set --url or JUNCTION_URL to point elsewhere.`,
          { cause: error },
        );
      } else {
        if (failures === 0) err.write(`junction tail: connection lost (${reason(error)}); reconnecting\n`);
        failures += 1;
      }
    } finally {
      clearTimeout(timer);
    }
    const backoff = Math.min(retryMs * 2 ** Math.min(failures, 3), MAX_RECONNECT_MS);
    const wait = waitMs === undefined ? backoff : Math.min(Math.max(waitMs, 100), MAX_RETRY_AFTER_MS);
    waitMs = undefined;
    try {
      await sleep(wait, undefined, { signal });
    } catch {
      return;
    }
  }
}

/** Adds `junction tail` to the program. */
export function registerTail(program: Command): void {
  const command = program
    .command('tail')
    .description('Follow events as the hub accepts them (GET /v1/events/stream); Ctrl-C stops.')
    .option('-t, --type <type>', 'only this event type (repeatable)', collect)
    .option('-s, --source <source>', 'only events of this source')
    .option('--subject <prefix>', 'only events whose subject starts with this')
    .option(
      '--sql <expression>',
      'only events this CESQL expression matches, such as "subject LIKE \'orders/%\'"',
    )
    .option('--since <cursor>', 'first show stored events after this cursor (a printed id)', parseCursor)
    .addOption(
      new Option('--format <format>', 'one JSON event per line, or a line for reading')
        .choices(['json', 'pretty'])
        .default('pretty'),
    );
  addClientOptions(command).addHelpText(
    'after',
    `
Each pretty line starts with the event's cursor; pass it to --since to pick up from there.
A dropped connection or a hub restart is resumed from the last event shown.

Examples:
  $ junction tail
  $ junction tail --type com.acme.order.created --type com.acme.order.paid --format json
  $ junction tail --subject orders/ --sql "INT(total) > 100" --since 4211`,
  );
  command.action(async (opts: TailOptions) => {
    const interrupt = new AbortController();
    const onSigint = () => interrupt.abort();
    process.once('SIGINT', onSigint);
    process.once('SIGTERM', onSigint);
    try {
      await tail(opts, process.stdout, process.stderr, interrupt.signal);
    } finally {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    }
    throw new InterruptedError('junction tail: stopped');
  });
}
