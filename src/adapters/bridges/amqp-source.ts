/**
 * The AMQP 0-9-1 source: consumes an existing queue with manual acknowledgements and a prefetch
 * bound, acknowledging each message once its events are durable. A message that is not a CloudEvent
 * is rejected without requeue, so the queue's dead-letter exchange gets it when it has one; one the
 * hub cannot store now is requeued after a pause. Messages unacknowledged when the connection or
 * the hub dies go back to the queue: at-least-once, duplicates answered as such by (source, id).
 *
 * The reconnect loop is our own rather than amqplib's recovery: after a reconnect the old delivery
 * tags are void and the consumer must be set up again, which the loop makes explicit.
 */
import { type Channel, type ChannelModel, type ConsumeMessage, connect } from 'amqplib';
import type { Logger } from 'pino';
import { amqpToMessage } from './amqp-binding.js';
import type { AmqpBridge } from './config.js';
import { Backoff, type BridgeHost, Intake } from './intake.js';

/** How long a message the hub could not store waits before it is requeued. */
const REQUEUE_DELAY_MS = 1_000;

export class AmqpSource {
  private readonly intake: Intake;
  private readonly backoff = new Backoff();
  private connection: ChannelModel | undefined;
  private channel: Channel | undefined;
  private consumerTag: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(
    private readonly config: AmqpBridge,
    host: BridgeHost,
    private readonly log: Logger,
  ) {
    this.intake = new Intake(config.name, host, log);
  }

  /** Starts connecting; a broker that is down is retried with backoff, never thrown. */
  start(): void {
    void this.connect();
  }

  /**
   * Stops taking messages, waits for those being ingested to be acknowledged, then closes. Messages
   * prefetched but not yet taken go back to the queue with the channel.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    const { channel, consumerTag, connection } = this;
    if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => {});
    await this.intake.drained();
    await connection?.close().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.stopping) return;
    let connection: ChannelModel | undefined;
    try {
      connection = await connect(this.config.url, {
        clientProperties: { connection_name: `junction bridge ${this.config.name}` },
      });
      this.connection = connection;
      const current = connection;
      connection.on('error', (error: Error) => this.log.warn({ err: error }, 'AMQP connection error'));
      connection.on('close', () => this.lost(current));
      const channel = await connection.createChannel();
      channel.on('error', (error: Error) => this.log.warn({ err: error }, 'AMQP channel error'));
      // A channel closed by the broker (the queue deleted, say) takes the consumer with it: start over.
      channel.on('close', () => void current.close().catch(() => {}));
      // Passive: the queue and its arguments (a dead-letter exchange among them) are the operator's.
      await channel.checkQueue(this.config.queue);
      await channel.prefetch(this.config.prefetch);
      this.channel = channel;
      const { consumerTag } = await channel.consume(
        this.config.queue,
        (message) => {
          if (message) void this.handle(channel, message);
        },
        { noAck: false },
      );
      this.consumerTag = consumerTag;
      if (this.stopping) await channel.cancel(consumerTag).catch(() => {});
      this.backoff.reset();
      this.log.info({ queue: this.config.queue }, 'AMQP bridge consuming');
    } catch (error) {
      this.log.warn({ err: error, queue: this.config.queue }, 'AMQP bridge cannot consume; retrying');
      if (connection) await connection.close().catch(() => {});
      else this.retry();
    }
  }

  /** The connection is gone: its unacknowledged messages are back in the queue. */
  private lost(connection: ChannelModel): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.channel = undefined;
    this.consumerTag = undefined;
    this.retry();
  }

  private retry(): void {
    if (this.stopping) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), this.backoff.next());
  }

  private async handle(channel: Channel, message: ConsumeMessage): Promise<void> {
    const verdict = await this.intake.take(() => amqpToMessage(message.properties, message.content));
    // On a channel that closed meanwhile the delivery tag is void; the broker has requeued it.
    if (this.channel !== channel) return;
    try {
      if (verdict.kind === 'stored') channel.ack(message);
      else if (verdict.kind === 'rejected') channel.nack(message, false, false);
      else {
        // Requeued at once it would come straight back and fail again: the pause holds its
        // prefetch slot, which slows the consumer down while the store is away.
        setTimeout(() => {
          if (this.channel === channel && !this.stopping) {
            try {
              channel.nack(message, false, true);
            } catch {
              // The channel closed meanwhile, which requeued the message.
            }
          }
        }, REQUEUE_DELAY_MS).unref();
      }
    } catch (error) {
      this.log.warn({ err: error }, 'could not settle an AMQP message; the broker will redeliver it');
    }
  }
}
