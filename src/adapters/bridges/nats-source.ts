/**
 * The NATS sources. JetStream: a durable pull consumer with explicit acks on an existing stream;
 * each message is acked once its events are durable, terminated when it is not a CloudEvent, and
 * nak'ed with a delay when the hub cannot store it now: at-least-once. NATS core has no
 * acknowledgements: a message is the hub's once it arrives, so one the hub dies holding is lost
 * (at-most-once). A publisher that sends a request gets its reply only once the events are durable,
 * which gives it an acknowledgement of its own to retry on.
 */
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiError,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { connect, type Msg, type NatsConnection, nanos, type Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { JetStreamBridge, NatsBridge } from './config.js';
import { Backoff, type BridgeHost, Intake, pause, Slots, type Verdict } from './intake.js';
import { natsToMessage } from './nats-binding.js';

/** Codes for a durable created again with another configuration (they differ across server versions). */
const CONSUMER_EXISTS = new Set([10013, 10148]);
/** How long JetStream waits before redelivering a message the hub could not store now. */
const NAK_DELAY_MS = 1_000;

/** Connects with the client's own reconnection, forever, waiting for a server that is not up yet. */
function open(url: string, name: string): Promise<NatsConnection> {
  const backoff = new Backoff();
  return connect({
    servers: url.split(',').map((u) => u.trim()),
    name: `junction bridge ${name}`,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectDelayHandler: () => backoff.next(),
  });
}

/** The reply a NATS request gets: what `POST /v1/events` would have answered. */
function reply(verdict: Verdict): string {
  if (verdict.kind === 'stored')
    return JSON.stringify({ status: 202, events: verdict.statuses.map((status) => ({ status })) });
  return JSON.stringify({ status: verdict.kind === 'rejected' ? 400 : 503, detail: verdict.reason });
}

export class NatsSource {
  private readonly intake: Intake;
  private readonly slots: Slots;
  private readonly stopped = new AbortController();
  private nc: NatsConnection | undefined;
  private sub: Subscription | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly config: NatsBridge,
    host: BridgeHost,
    private readonly log: Logger,
  ) {
    this.intake = new Intake(config.name, host, log);
    this.slots = new Slots(config.prefetch);
  }

  /** Starts connecting; the client resubscribes after every reconnect by itself. */
  start(): void {
    this.loop = (async () => {
      try {
        const nc = await open(this.config.url, this.config.name);
        if (this.stopped.signal.aborted) return void (await nc.close());
        this.nc = nc;
        const sub = nc.subscribe(this.config.subject, this.config.queue ? { queue: this.config.queue } : {});
        this.sub = sub;
        this.log.info({ subject: this.config.subject }, 'NATS bridge subscribed');
        for await (const msg of sub) {
          await this.slots.take();
          void this.handle(msg).finally(() => this.slots.release());
        }
      } catch (error) {
        if (!this.stopped.signal.aborted) this.log.error({ err: error }, 'NATS bridge stopped');
      }
    })();
  }

  /** Unsubscribes, waits for messages being ingested (and their replies), and closes. */
  async stop(): Promise<void> {
    this.stopped.abort();
    this.sub?.unsubscribe();
    await this.loop;
    await this.intake.drained();
    await this.nc?.drain().catch(() => {});
  }

  private async handle(msg: Msg): Promise<void> {
    const backoff = new Backoff(NAK_DELAY_MS);
    for (;;) {
      const verdict = await this.intake.take(() => natsToMessage(msg.headers, Buffer.from(msg.data)));
      // A requester retries on a 503 itself; without one, the message exists only here, so the
      // hub keeps trying while it runs (its slot held, which slows the subscription down).
      if (verdict.kind === 'retry' && !msg.reply && !this.stopped.signal.aborted) {
        await pause(backoff.next(), this.stopped.signal);
        continue;
      }
      if (msg.reply) msg.respond(reply(verdict));
      return;
    }
  }
}

export class JetStreamSource {
  private readonly intake: Intake;
  private readonly stopped = new AbortController();
  private nc: NatsConnection | undefined;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly config: JetStreamBridge,
    host: BridgeHost,
    private readonly log: Logger,
  ) {
    this.intake = new Intake(config.name, host, log);
  }

  /** Starts connecting and consuming; the client's consumer keeps pulling across reconnects. */
  start(): void {
    this.loop = this.run();
  }

  /** Stops pulling, waits for messages being ingested to be acked, and closes. */
  async stop(): Promise<void> {
    this.stopped.abort();
    await this.messages?.close().catch(() => {});
    await this.loop;
    await this.intake.drained();
    await this.nc?.drain().catch(() => {});
  }

  private async run(): Promise<void> {
    const { config } = this;
    const backoff = new Backoff();
    const nc = await open(config.url, config.name).catch(() => undefined);
    if (!nc || this.stopped.signal.aborted) return void (await nc?.close());
    this.nc = nc;
    // Until the stream exists (or JetStream answers) the bridge waits and tries again.
    while (!this.stopped.signal.aborted) {
      try {
        await this.ensureConsumer(nc);
        const consumer = await jetstream(nc).consumers.get(config.stream, config.durable);
        const messages = await consumer.consume({ max_messages: config.prefetch });
        this.messages = messages;
        backoff.reset();
        this.log.info({ stream: config.stream, durable: config.durable }, 'JetStream bridge consuming');
        for await (const msg of messages) void this.handle(msg);
        if (this.stopped.signal.aborted) return;
      } catch (error) {
        if (this.stopped.signal.aborted) return;
        this.log.warn({ err: error, stream: config.stream }, 'JetStream bridge cannot consume; retrying');
      }
      await pause(backoff.next(), this.stopped.signal);
    }
  }

  /**
   * Creates the durable when it does not exist; when it does, updates what the bridge's settings
   * govern (how many messages it holds, its filter), and leaves the rest as the operator set it.
   */
  private async ensureConsumer(nc: NatsConnection): Promise<void> {
    const { config } = this;
    const jsm = await jetstreamManager(nc);
    const settings = {
      max_ack_pending: config.prefetch,
      ack_wait: nanos(config.ackWaitMs),
      ...(config.subject ? { filter_subject: config.subject } : {}),
    };
    try {
      await jsm.consumers.add(config.stream, {
        durable_name: config.durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ...settings,
      });
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || !CONSUMER_EXISTS.has(error.code)) throw error;
      await jsm.consumers.update(config.stream, config.durable, settings);
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    const verdict = await this.intake.take(() => natsToMessage(msg.headers, Buffer.from(msg.data)));
    if (verdict.kind === 'stored') msg.ack();
    // Without a reason: servers before 2.10.4 do not read `+TERM <reason>` as a term at all, and
    // leave the message pending. The reason is in the log.
    else if (verdict.kind === 'rejected') msg.term();
    else msg.nak(NAK_DELAY_MS);
  }
}
