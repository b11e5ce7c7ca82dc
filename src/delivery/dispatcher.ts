/**
 * The in-process dispatcher. New deliveries are handed over straight from ingest once durable, so
 * the fast path never waits for a poll; retries and anything left over after a restart are found by
 * polling the store for due deliveries. A delivery is in `inFlight` from the moment it is queued
 * until its attempt is recorded, so no poll can pick it twice. A concurrency slot, though, is held
 * only for the HTTP exchange: waiting for the attempt's record to be durable needs no connection.
 */
import type { Logger } from 'pino';
import { encodeEvent } from '../core/http-binding.js';
import { VERSION } from '../core/version.js';
import type { DueDelivery, EventStore, Subscription } from '../storage/ports.js';
import { decideOutcome } from './outcome.js';
import { signWebhook } from './signing.js';
import type { HttpSink } from './sinks/http.js';

export interface DispatcherOptions {
  /** Attempts in flight at once, across all subscriptions. */
  concurrency: number;
  /** How often to look for due retries when nothing else wakes the dispatcher. */
  pollIntervalMs: number;
  /** Deliveries held in memory at most; the rest wait in the store for a poll. */
  maxQueued: number;
}

export interface DispatcherHooks {
  subscription(id: string): Subscription | undefined;
  /** Disables the subscription, unless it changed since `seen`, the version the attempt used. */
  disable(seen: Subscription, reason: string): Promise<void>;
}

/** A FIFO with O(1) take: Array.prototype.shift is linear, and the queue holds thousands. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  take(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  drain(): T[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return rest;
  }
}

const USER_AGENT = `Junction/${VERSION}`;
/** How long a delivery whose attempt could not be recorded is kept from being sent again. */
const UNRECORDED_HOLD_MS = 30_000;
/** W3C Trace Context: only well-formed values are forwarded as HTTP headers. */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const TRACESTATE = /^[\x20-\x7e]{0,512}$/;

export class Dispatcher {
  private readonly queue = new Fifo<DueDelivery>();
  private readonly inFlight = new Set<string>();
  /** HTTP exchanges under way: bounded by `concurrency`. */
  private active = 0;
  /** Attempts begun and not yet recorded: what a drain waits for. */
  private unsettled = 0;
  private timer: NodeJS.Timeout | undefined;
  /** When the timer will poll next (epoch ms). */
  private timerAt = 0;
  private running = false;
  private idleWaiters: (() => void)[] = [];
  /** Due deliveries were left in the store for lack of room in memory. */
  private backlog = false;

  constructor(
    private readonly store: EventStore,
    private readonly sink: HttpSink,
    private readonly hooks: DispatcherHooks,
    private readonly options: DispatcherOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.running = true;
    this.poll();
  }

  /** Takes deliveries that ingest just made durable. */
  enqueue(deliveries: DueDelivery[]): void {
    if (!this.running) return;
    for (const d of deliveries) {
      // A poll may have found it first: it became visible in the store before this handover.
      if (this.inFlight.has(d.delivery.id)) continue;
      // Over the limit, leave it to a poll: it is in the store, due now.
      if (this.queue.length >= this.options.maxQueued) {
        this.backlog = true;
        break;
      }
      this.inFlight.add(d.delivery.id);
      this.queue.push(d);
    }
    this.pump();
  }

  /** Stops taking work and waits for attempts in flight to finish and be recorded. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    // Queued but unsent deliveries stay due in the store; dropping them from memory loses nothing.
    for (const d of this.queue.drain()) this.inFlight.delete(d.delivery.id);
    if (this.unsettled > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Looks for due deliveries now: after a redrive, say. */
  wake(): void {
    this.poll();
  }

  private poll(): void {
    if (!this.running) return;
    let wait = this.options.pollIntervalMs;
    // With storage down no attempt could be recorded, and each would be sent again: wait it out.
    if (!this.store.ping()) {
      this.schedulePoll(Date.now() + wait);
      return;
    }
    try {
      const room = this.options.maxQueued - this.queue.length;
      if (room > 0) {
        const due = this.store.due(new Date(), room, this.inFlight);
        this.backlog = due.length === room;
        for (const d of due) {
          this.inFlight.add(d.delivery.id);
          this.queue.push(d);
        }
      }
      this.pump();
      // A retry due before the next regular poll sets its own alarm; one due already is either
      // queued or in flight, and is not a reason to poll sooner.
      const next = this.store.nextDueAt(new Date());
      if (next) wait = Math.max(1, Math.min(wait, next.getTime() - Date.now()));
    } catch (error) {
      this.log.error({ err: error }, 'polling for due deliveries failed');
    }
    this.schedulePoll(Date.now() + wait);
  }

  private schedulePoll(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.poll(), Math.max(0, at - Date.now()));
    this.timer.unref();
  }

  private pump(): void {
    while (this.running && this.active < this.options.concurrency && this.queue.length > 0) {
      const d = this.queue.take()!;
      this.active++;
      this.unsettled++;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.active--;
        this.pump();
      };
      let recorded = true;
      this.attempt(d, release)
        .catch((error) => {
          recorded = false;
          this.log.error({ err: error, delivery: d.delivery.id }, 'could not record an attempt');
        })
        .finally(() => {
          release();
          // An attempt whose record failed (storage trouble) would be found due by the very next
          // poll and sent again and again; it stays held for a while instead.
          if (recorded) this.inFlight.delete(d.delivery.id);
          else setTimeout(() => this.inFlight.delete(d.delivery.id), UNRECORDED_HOLD_MS).unref();
          this.unsettled--;
          if (this.unsettled === 0 && !this.running) for (const w of this.idleWaiters.splice(0)) w();
          // Room again while more is due in the store: fetch it now, not at the next tick.
          if (this.running && this.backlog && this.queue.length < this.options.maxQueued / 2) this.poll();
        });
    }
  }

  /** Sends one delivery, calls `release` once the HTTP exchange is over, then records the outcome. */
  private async attempt({ delivery, event }: DueDelivery, release: () => void): Promise<void> {
    const sub = this.hooks.subscription(delivery.subscriptionId);
    const at = new Date();
    if (sub?.status !== 'active') {
      const reason = sub ? `subscription is ${sub.status}` : 'subscription deleted';
      await this.store.recordAttempt(delivery.id, {
        kind: 'dead',
        attempt: {
          n: delivery.attempts + 1,
          at: at.toISOString(),
          status: null,
          outcome: 'dead',
          latencyMs: 0,
          error: reason,
          response: null,
        },
        reason,
      });
      return;
    }
    const message = encodeEvent(event.event, sub.delivery.format, new Date(event.receivedAt));
    const timestamp = Math.floor(at.getTime() / 1000);
    const headers: Record<string, string> = {
      ...sub.protocolsettings.headers,
      ...message.headers,
      'user-agent': USER_AGENT,
      'webhook-id': delivery.webhookId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(sub.secrets, delivery.webhookId, timestamp, message.body),
    };
    const { traceparent, tracestate } = event.event;
    if (typeof traceparent === 'string' && TRACEPARENT.test(traceparent)) {
      headers.traceparent = traceparent;
      if (typeof tracestate === 'string' && TRACESTATE.test(tracestate)) headers.tracestate = tracestate;
    }

    const sent = await this.sink.send({
      url: sub.sink,
      method: sub.protocolsettings.method ?? 'POST',
      headers,
      body: message.body,
      timeoutMs: sub.delivery.timeoutMs,
    });
    release();
    if (!sent.ok && sent.aborted) {
      // Shutdown cut the send short: it says nothing about the sink, so it spends no attempt. The
      // delivery stays due and goes out again, with the same webhook-id, after the next start.
      this.log.info({ delivery: delivery.id, subscription: sub.id }, 'send aborted by shutdown; left due');
      return;
    }
    const result = decideOutcome(delivery, sub.delivery, sent, at);
    const scope = {
      delivery: delivery.id,
      subscription: sub.id,
      event: `${event.event.source} ${event.event.id}`,
    };
    if (result.kind === 'delivered') this.log.debug({ ...scope, status: result.attempt.status }, 'delivered');
    else this.log.info({ ...scope, outcome: result.kind, error: result.attempt.error }, 'attempt failed');
    if (result.kind === 'disable') await this.hooks.disable(sub, result.reason);
    await this.store.recordAttempt(delivery.id, result);
    // A retry due before the next poll would otherwise wait for it: bring the poll forward.
    if (result.kind === 'retry' && this.running && result.nextAttemptAt.getTime() < this.timerAt) {
      this.schedulePoll(result.nextAttemptAt.getTime());
    }
  }
}
