/**
 * The consuming half of distributed ingest: every hub process pulls its share of each channel's
 * stream on one shared durable, records the events with their deliveries in the store, and acks
 * only once that transaction is durable. A process that dies before acking has its messages
 * redelivered to another; recording an event the store already holds is a duplicate and makes no
 * deliveries, so a redelivery costs nothing but the read.
 *
 * Messages arriving together are recorded together, in one append: a transaction per event would
 * cap the rate at what PostgreSQL commits one by one. Events with a `partitionkey` come one at a
 * time per key bucket (the bus's ordered consumers), so a key's events are recorded, and given
 * their sequence numbers, in publish order.
 */
import type { Logger } from 'pino';
import type { ChannelConfig } from '../core/config.js';
import type { CloudEvent } from '../core/event.js';
import type { Subscription as BusSubscription, JetStreamBus } from '../storage/nats/bus.js';
import type { BusMessage } from '../storage/nats/consumer.js';
import type { AppendResult, DueDelivery, EventContract, EventStore, Routed } from '../storage/ports.js';
import { CONTRACT_HEADER } from './intake.js';

/** The durable every hub process shares on each channel's stream. */
export const RECORDER_DURABLE = 'recorder';
/** Events recorded in one append at most. */
const MAX_BATCH = 500;
/** Appends in flight at once: enough to keep a connection pool busy while others commit. */
const MAX_FLUSHES = 4;

export interface RecorderHooks {
  /** The event's channel and subscriptions, decided when it is recorded. */
  route(event: CloudEvent): Routed;
  /** Events just recorded, what the store made of them, and how each was routed. */
  recorded(events: CloudEvent[], appended: Appended, routes: Map<CloudEvent, Routed>): void;
}

export interface Appended {
  results: AppendResult[];
  deliveries: DueDelivery[];
}

interface Waiting {
  event: CloudEvent;
  contract: EventContract | null;
  resolve(): void;
  reject(error: unknown): void;
}

export class BusRecorder {
  private readonly queue: Waiting[] = [];
  private readonly subscriptions: BusSubscription[] = [];
  private flushes = 0;
  private scheduled = false;

  constructor(
    private readonly bus: JetStreamBus,
    private readonly store: EventStore,
    private readonly hooks: RecorderHooks,
    private readonly log: Logger,
  ) {}

  /** Creates (or updates) each channel's stream: before ingest publishes to them. */
  async prepare(channels: ChannelConfig[], replicas: number): Promise<void> {
    for (const channel of channels) await this.bus.ensureStream(channel, replicas);
  }

  /**
   * Starts consuming each channel's stream; after `prepare`. What this process took and did not ack
   * within `ackWaitMs` (it died, or lost its connection) goes to another process.
   */
  async start(channels: ChannelConfig[], ackWaitMs: number): Promise<void> {
    for (const channel of channels) {
      this.subscriptions.push(
        await this.bus.consume(channel.name, RECORDER_DURABLE, (m) => this.record(m), {
          ordered: true,
          maxAckPending: 1_000,
          ackWaitMs,
          onError: (error) =>
            this.log.warn({ err: error, channel: channel.name }, 'recording an event failed'),
        }),
      );
    }
  }

  /** Stops pulling and waits for the events in hand to be recorded and acked. */
  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.splice(0).map((s) => s.stop()));
  }

  /** Resolves once the event is recorded: the bus acks it then, and naks it on a rejection. */
  private record(message: BusMessage): Promise<void> {
    const contractText = message.meta(CONTRACT_HEADER);
    let contract: EventContract | null = null;
    if (contractText !== undefined) {
      try {
        contract = JSON.parse(contractText) as EventContract;
      } catch {
        // Written by a hub, so never bad in practice; the event matters more than its verdict.
      }
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ event: message.event, contract, resolve, reject });
      this.schedule();
    });
  }

  /** Flushes on the next turn, so that messages arriving together are recorded together. */
  private schedule(): void {
    if (this.scheduled || this.flushes >= MAX_FLUSHES || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.flushes < MAX_FLUSHES && this.queue.length > 0) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, MAX_BATCH);
    this.flushes++;
    try {
      const routes = new Map<CloudEvent, Routed>();
      const events = batch.map((w) => w.event);
      const appended = await this.store.append(
        events,
        (event) => {
          const routed = this.hooks.route(event);
          routes.set(event, routed);
          return routed;
        },
        batch.map((w) => w.contract),
      );
      for (const w of batch) w.resolve();
      this.hooks.recorded(events, appended, routes);
    } catch (error) {
      for (const w of batch) w.reject(error);
    } finally {
      this.flushes--;
      this.schedule();
    }
  }
}
