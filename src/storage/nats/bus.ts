/**
 * The JetStream event bus: one stream per channel, publishes deduplicated by message id, durable
 * pull consumers shared by every hub process. docs/distributed.md tells how `junction serve` uses
 * it and the subject scheme.
 */
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { ChannelConfig } from '../../core/config.js';
import type { CloudEvent } from '../../core/event.js';
import { encodeEvent } from './codec.js';
import { type BusState, type Link, openLink, type StatusListener } from './connection.js';
import { type BusHandler, type RunningLoop, runLoop } from './consumer.js';
import { BusClosedError } from './errors.js';
import { translate } from './failures.js';
import {
  bucketSubjects,
  bucketToken,
  channelSubjects,
  checkPlainName,
  consumerName,
  eventSubject,
  PARTITION_BUCKETS,
  streamName,
  UNKEYED_BUCKET,
} from './names.js';
import {
  type BusOptions,
  type ConsumeOptions,
  DEFAULT_DUPLICATE_WINDOW_MS,
  type ParsedBusOptions,
  parseBusOptions,
  parseConsumeOptions,
} from './options.js';
import { AckedPublisher } from './publisher.js';

/** What a publish did: the stream sequence, and whether the id had been published already. */
export interface PublishResult {
  seq: number;
  duplicate: boolean;
}

/** A running `consume`: `stop` ends pulling and waits for the handlers in flight to settle. */
export interface Subscription {
  stop(): Promise<void>;
}

/** The part of a channel's configuration the bus needs. */
export type BusChannel = Pick<ChannelConfig, 'name' | 'retentionMs'>;

export class JetStreamBus {
  readonly #options: ParsedBusOptions;
  readonly #link: Link;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #publisher: AckedPublisher;
  readonly #loops = new Set<RunningLoop>();
  #closing = false;

  private constructor(options: ParsedBusOptions, link: Link, jsm: JetStreamManager) {
    this.#options = options;
    this.#link = link;
    this.#jsm = jsm;
    this.#js = jetstream(link.nc, { timeout: options.publishTimeoutMs });
    this.#publisher = new AckedPublisher(link.nc, options.publishTimeoutMs);
  }

  /**
   * Connects to NATS and checks that JetStream is enabled. Once connected, the bus reconnects by
   * itself forever; follow it with `state` and `onStatus`.
   *
   * @example const bus = await JetStreamBus.connect({ servers: 'nats://127.0.0.1:4222', prefix: 'junction' })
   * @throws BusUnavailableError when NATS cannot be reached or has no JetStream.
   */
  static async connect(options: BusOptions): Promise<JetStreamBus> {
    const parsed = parseBusOptions(options);
    const link = await openLink(parsed);
    try {
      // jetstreamManager asks the server for account info, so a server without -js fails here.
      const jsm = await jetstreamManager(link.nc, { timeout: parsed.publishTimeoutMs });
      return new JetStreamBus(parsed, link, jsm);
    } catch (error) {
      await link.nc.close();
      throw translate(error, `JetStream is not available at ${parsed.servers.join(', ')}`);
    }
  }

  /** The connection's state now. */
  get state(): BusState {
    return this.#link.state();
  }

  /**
   * Calls `listener` on every change of state (and on asynchronous server errors); returns the
   * function that removes it.
   *
   * @example const off = bus.onStatus((state) => log.info({ state }, 'bus'))
   */
  onStatus(listener: StatusListener): () => void {
    return this.#link.onStatus(listener);
  }

  /**
   * Creates the channel's stream, or brings an existing one to the channel's retention. Safe to
   * call from every process at start-up: creation and update are idempotent.
   *
   * @example await bus.ensureStream({ name: 'orders', retentionMs: 7 * 86_400_000 })
   * @throws BusRequestError when JetStream refuses the configuration (overlapping subjects, replicas).
   */
  async ensureStream(channel: BusChannel, replicas = 1): Promise<void> {
    this.#checkOpen();
    const name = streamName(this.#options.prefix, channel.name);
    // The duplicate window cannot exceed the max age: JetStream refuses such a stream.
    const config = {
      subjects: [channelSubjects(this.#options.prefix, channel.name)],
      max_age: nanos(channel.retentionMs),
      duplicate_window: nanos(Math.min(DEFAULT_DUPLICATE_WINDOW_MS, channel.retentionMs)),
      num_replicas: replicas,
    } satisfies Partial<StreamConfig>;
    try {
      await this.#jsm.streams.add({ name, storage: StorageType.File, ...config });
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.code !== STREAM_NAME_IN_USE) {
        throw translate(error, `cannot create stream ${name}`);
      }
      try {
        await this.#jsm.streams.update(name, config);
      } catch (cause) {
        throw translate(cause, `cannot update stream ${name}`);
      }
    }
  }

  /**
   * Publishes an event to its channel's stream. `msgId` is the `Nats-Msg-Id`: a second publish with
   * the same id within the duplicate window stores nothing and resolves with `duplicate: true` and
   * the first one's sequence. Resolves once JetStream has stored (and replicated) the event.
   * `meta` travels as message headers beside the event (what the hub learnt of it at ingest), and
   * reaches the consumer as `BusMessage.meta`.
   *
   * @example const { seq, duplicate } = await bus.publish('orders', event, `${event.source} ${event.id}`)
   * @throws PublishTimeoutError when no acknowledgement came in time (retry with the same msgId).
   * @throws BusUnavailableError when no stream takes the subject or NATS is unreachable.
   */
  async publish(
    channel: string,
    event: CloudEvent,
    msgId: string,
    meta: Record<string, string> = {},
  ): Promise<PublishResult> {
    this.#checkOpen();
    const subject = eventSubject(this.#options.prefix, channel, event.type, event.partitionkey);
    const { data, headers } = encodeEvent(event);
    for (const [name, value] of Object.entries(meta)) headers.set(name, value);
    headers.set(MSG_ID_HEADER, msgId);
    return this.#publisher.publish(subject, data, headers);
  }

  /**
   * Handles the channel's events on a durable consumer. Every process that consumes with the same
   * `durable` shares the work: each message goes to one of them, is acked once `handler`
   * resolves, and is nak'ed with a growing delay when it rejects. A message whose process dies
   * unacked is redelivered after `ackWaitMs`. With `ordered`, events with the same `partitionkey`
   * are handled one at a time in publish order (one consumer per key bucket, one message each).
   *
   * @example const sub = await bus.consume('orders', 'router', async (m) => route(m.event), { maxAckPending: 64 })
   * @throws BusRequestError when the stream does not exist (call ensureStream first).
   */
  async consume(
    channel: string,
    durable: string,
    handler: BusHandler,
    options: ConsumeOptions = {},
  ): Promise<Subscription> {
    this.#checkOpen();
    checkPlainName(durable, 'durable');
    const opts = parseConsumeOptions(options);
    const { prefix } = this.#options;
    const targets = opts.ordered
      ? [
          {
            name: consumerName(prefix, durable, undefined),
            filter: bucketSubjects(prefix, channel, UNKEYED_BUCKET),
            max: opts.maxAckPending,
          },
          ...Array.from({ length: PARTITION_BUCKETS }, (_, b) => ({
            name: consumerName(prefix, durable, b),
            filter: bucketSubjects(prefix, channel, bucketToken(b)),
            max: 1,
          })),
        ]
      : [
          {
            name: consumerName(prefix, durable),
            filter: channelSubjects(prefix, channel),
            max: opts.maxAckPending,
          },
        ];
    const stream = streamName(prefix, channel);
    const loops: RunningLoop[] = [];
    try {
      for (const target of targets) {
        await this.#ensureConsumer(stream, target.name, target.filter, target.max, opts.ackWaitMs);
        const consumer = await this.#js.consumers.get(stream, target.name);
        const loop = await runLoop(consumer, handler, {
          maxMessages: target.max,
          expiresMs: opts.pullExpiresMs,
          nakDelayMs: opts.nakDelayMs,
          maxNakDelayMs: opts.maxNakDelayMs,
          onError: opts.onError,
        });
        loops.push(loop);
        this.#loops.add(loop);
      }
    } catch (error) {
      await Promise.all(loops.map((l) => l.stop()));
      throw translate(error, `cannot consume ${stream} as ${durable}`);
    }
    return {
      stop: async () => {
        await Promise.all(loops.map((l) => l.stop()));
        for (const l of loops) this.#loops.delete(l);
      },
    };
  }

  /**
   * Closes the bus. By default it stops pulling, waits for handlers in flight to ack, then drains
   * the connection. `force` closes the connection at once: messages not yet acked are redelivered
   * to other processes after the ack wait, as if this process had died.
   *
   * @example await bus.close()
   */
  async close(options: { force?: boolean } = {}): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (options.force) {
      await this.#link.nc.close();
      return;
    }
    await Promise.all([...this.#loops].map((l) => l.stop()));
    this.#loops.clear();
    await this.#link.nc.drain();
  }

  /** Deletes the channel's stream and its consumers: for tests and for removing a channel. */
  async deleteStream(channel: string): Promise<void> {
    this.#checkOpen();
    try {
      await this.#jsm.streams.delete(streamName(this.#options.prefix, channel));
    } catch (error) {
      throw translate(error, `cannot delete the stream of ${channel}`);
    }
  }

  /**
   * Creates the durable, or updates the settings that may change (ack wait, max ack pending) when
   * it exists with others: a redeploy with a new `maxAckPending` must not fail every process.
   */
  async #ensureConsumer(
    stream: string,
    name: string,
    filter: string,
    maxAckPending: number,
    ackWaitMs: number,
  ) {
    const settings = { ack_wait: nanos(ackWaitMs), max_ack_pending: maxAckPending, filter_subject: filter };
    try {
      await this.#jsm.consumers.add(stream, {
        durable_name: name,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ...settings,
      });
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || !CONSUMER_EXISTS.has(error.code)) throw error;
      await this.#jsm.consumers.update(stream, name, settings);
    }
  }

  #checkOpen(): void {
    if (this.#closing || this.#link.state() === 'closed') throw new BusClosedError('the bus is closed');
  }
}

/** The header JetStream deduplicates publishes by. */
const MSG_ID_HEADER = 'Nats-Msg-Id';
/** JetStream's error code for a stream created again with another configuration. */
const STREAM_NAME_IN_USE = 10058;
/** Codes for a durable created again with another configuration (they differ across server versions). */
const CONSUMER_EXISTS = new Set([10013, 10148]);
