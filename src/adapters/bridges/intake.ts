/**
 * What every source does with a message once its protocol has delivered it: map it to events,
 * ingest them, and say what the source should tell the broker. A source acknowledges upstream only
 * on `stored`, when ingest has answered, which it does once the events are durable.
 */
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { JunctionError } from '../../core/errors.js';
import type { CloudEvent } from '../../core/event.js';
import type { IngestLimits } from '../../core/http-binding.js';
import { type BoundMessage, readEvents } from './message.js';

/** What the hub offers a bridge. */
export interface BridgeHost {
  /** Stores events durably: the hub's own ingest, as `POST /v1/events` uses it. */
  ingest(events: CloudEvent[]): Promise<{ status: 'accepted' | 'duplicate' }[]>;
  limits: IngestLimits;
  /** Counts messages by bridge and outcome: stored, duplicate, rejected, retried. */
  messages: Counter<'bridge' | 'outcome'>;
}

/**
 * What to tell the broker: `stored`, acknowledge; `rejected`, the message can never be taken (not
 * a CloudEvent, or an event ingest refuses), so settle it without redelivery; `retry`, the hub could
 * not store it now (the store is down or behind), so leave it unacknowledged for redelivery.
 */
export type Verdict =
  | { kind: 'stored'; statuses: ('accepted' | 'duplicate')[] }
  | { kind: 'rejected'; reason: string }
  | { kind: 'retry'; reason: string };

/** Takes a bridge's messages, and knows how many are between the broker and a verdict. */
export class Intake {
  private inFlight = 0;
  private idle: (() => void)[] = [];

  constructor(
    private readonly bridge: string,
    private readonly host: BridgeHost,
    private readonly log: Logger,
  ) {}

  /**
   * Maps a message with `decode` and ingests its events. Never rejects: every failure is a verdict.
   *
   * @example
   * const verdict = await intake.take(() => amqpToMessage(msg.properties, msg.content));
   * if (verdict.kind === 'stored') channel.ack(msg);
   */
  async take(decode: () => BoundMessage): Promise<Verdict> {
    this.inFlight += 1;
    try {
      const verdict = await this.decide(decode);
      if (verdict.kind === 'stored') {
        for (const status of verdict.statuses)
          this.host.messages.inc({
            bridge: this.bridge,
            outcome: status === 'accepted' ? 'stored' : 'duplicate',
          });
      } else {
        this.host.messages.inc({
          bridge: this.bridge,
          outcome: verdict.kind === 'rejected' ? 'rejected' : 'retried',
        });
        if (verdict.kind === 'rejected')
          this.log.warn({ reason: verdict.reason }, 'message rejected: not taken');
        else this.log.info({ reason: verdict.reason }, 'message left for redelivery');
      }
      return verdict;
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  /** Resolves once no message is being taken. */
  drained(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private async decide(decode: () => BoundMessage): Promise<Verdict> {
    let events: CloudEvent[];
    try {
      events = readEvents(decode(), this.host.limits);
    } catch (error) {
      // Mapping depends on the message alone: whatever failed will fail again on redelivery.
      return { kind: 'rejected', reason: error instanceof Error ? error.message : String(error) };
    }
    try {
      const results = await this.host.ingest(events);
      return { kind: 'stored', statuses: results.map((r) => r.status) };
    } catch (error) {
      // A 4xx is about the event (a contract refuses it) and will not change on redelivery; a
      // 503, or anything unexpected, may pass, and a message must never be dropped for it.
      if (error instanceof JunctionError && error.status < 500)
        return { kind: 'rejected', reason: error.message };
      return { kind: 'retry', reason: error instanceof Error ? error.message : String(error) };
    }
  }
}

/**
 * Reconnection delays: exponential from `initialMs` to `maxMs`, with full jitter so that bridges of
 * many hubs do not reconnect in step after a broker restart.
 */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly initialMs = 200,
    private readonly maxMs = 15_000,
  ) {}

  /** The delay before the next attempt; each call doubles the cap. */
  next(): number {
    const cap = Math.min(this.maxMs, this.initialMs * 2 ** this.failures);
    this.failures += 1;
    return Math.max(this.initialMs / 2, Math.floor(Math.random() * cap));
  }

  reset(): void {
    this.failures = 0;
  }
}

/** A counting semaphore: at most `size` messages of a source between the broker and a verdict. */
export class Slots {
  private used = 0;
  private waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  /** Resolves once a slot is free, and takes it. */
  async take(): Promise<void> {
    while (this.used >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.used += 1;
  }

  release(): void {
    this.used -= 1;
    this.waiting.shift()?.();
  }
}

/** Waits `ms`, or less when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
