/**
 * The AMQP 0-9-1 sink: publishes with publisher confirms on one confirm channel per broker URL, and
 * counts a delivery done only once the broker has confirmed it (for a persistent message to a
 * durable queue, once it is on disk). Messages are `mandatory` unless the subscription says
 * otherwise: one no queue takes is returned by the broker, and is a failure rather than a silent
 * loss.
 *
 * Publishing to an exchange that does not exist makes the broker close the channel, failing every
 * publish in flight on it; so the first publish to each exchange checks it on a channel of its own,
 * and a missing exchange is refused (404) without touching the shared channel.
 */
import { type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import type { Logger } from 'pino';
import { messageToAmqp } from '../../adapters/bridges/amqp-binding.js';
import type { OutboundMessage } from '../../adapters/bridges/message.js';
import type { ProtocolSettings } from '../../storage/ports.js';
import type { BrokerAnswer, BrokerSink } from './router.js';

/** A connection with its confirm channel, and what it has learnt. */
interface Link {
  connection: ChannelModel;
  channel: ConfirmChannel;
  /** Exchanges known to exist on this connection. */
  exchanges: Set<string>;
  /** The message ids of publishes the broker returned as unroutable, until their confirm comes. */
  returned: Set<string>;
}

export class AmqpSink implements BrokerSink {
  private readonly links = new Map<string, Promise<Link>>();

  constructor(private readonly log: Logger) {}

  /**
   * Publishes to `exchange` with `routingkey`: persistent (delivery mode 2) unless
   * `persistent: false`, mandatory unless `mandatory: false`.
   *
   * @example await sink.publish('amqp://localhost', 'AMQP', { exchange: 'orders' }, message, 5_000)
   */
  async publish(
    url: string,
    _protocol: string,
    settings: ProtocolSettings,
    message: OutboundMessage,
    _timeoutMs: number,
  ): Promise<BrokerAnswer> {
    const link = await this.link(url);
    const exchange = settings.exchange ?? '';
    const routingKey = settings.routingkey ?? '';
    const where = `exchange '${exchange}', routing key '${routingKey}'`;
    if (exchange !== '' && !link.exchanges.has(exchange)) {
      const missing = await checkExchange(link.connection, exchange);
      if (missing) return { status: 404, detail: `${missing}; declare the exchange, then redrive` };
      link.exchanges.add(exchange);
    }
    const publication = messageToAmqp(message);
    const mandatory = settings.mandatory ?? true;
    return new Promise((resolve, reject) => {
      link.channel.publish(
        exchange,
        routingKey,
        publication.content,
        {
          headers: publication.headers,
          ...(publication.contentType ? { contentType: publication.contentType } : {}),
          ...(publication.messageId ? { messageId: publication.messageId } : {}),
          ...(publication.timestamp ? { timestamp: publication.timestamp } : {}),
          appId: 'junction',
          persistent: settings.persistent ?? true,
          mandatory,
        },
        (error: unknown) => {
          const returned = publication.messageId !== undefined && link.returned.delete(publication.messageId);
          if (error) {
            // A nack (the broker could not take it now) or a channel that closed: both may pass.
            reject(error instanceof Error ? error : new Error(String(error)));
          } else if (returned) {
            resolve({
              status: 404,
              detail: `the broker returned the message as unroutable: no queue is bound for ${where}; bind one (or set mandatory false), then redrive`,
            });
          } else resolve({ status: 200, detail: `confirmed by the broker (${where})` });
        },
      );
    });
  }

  /** Closes every connection; publishes still waiting for a confirm fail and are retried later. */
  async close(): Promise<void> {
    const links = [...this.links.values()];
    this.links.clear();
    await Promise.all(
      links.map(async (pending) => {
        try {
          await (await pending).connection.close();
        } catch {
          // Never opened, or already closed.
        }
      }),
    );
  }

  /** The connection to `url`, opened on first use and forgotten once it closes. */
  private link(url: string): Promise<Link> {
    const known = this.links.get(url);
    if (known !== undefined) return known;
    const opened: Promise<Link> = this.open(url, () => {
      if (this.links.get(url) === opened) this.links.delete(url);
    });
    this.links.set(url, opened);
    opened.catch(() => this.links.delete(url));
    return opened;
  }

  private async open(url: string, forget: () => void): Promise<Link> {
    const connection = await connect(url, { clientProperties: { connection_name: 'junction sink' } });
    connection.on('error', (error: Error) => this.log.warn({ err: error }, 'AMQP sink connection error'));
    connection.on('close', forget);
    try {
      const channel = await connection.createConfirmChannel();
      const link: Link = { connection, channel, exchanges: new Set(), returned: new Set() };
      channel.on('error', (error: Error) => this.log.warn({ err: error }, 'AMQP sink channel error'));
      // A closed channel (an exchange deleted under a publish) cannot publish again: start afresh,
      // and check exchanges again on the next connection.
      channel.on('close', () => {
        forget();
        void connection.close().catch(() => {});
      });
      channel.on('return', (returned: { properties: { messageId?: string } }) => {
        if (returned.properties.messageId) link.returned.add(returned.properties.messageId);
      });
      return link;
    } catch (error) {
      await connection.close().catch(() => {});
      throw error;
    }
  }
}

/** Why `exchange` cannot take messages (it does not exist), or null when it can. */
async function checkExchange(connection: ChannelModel, exchange: string): Promise<string | null> {
  // A failed check closes the channel it ran on, so it runs on a channel of its own.
  const channel = await connection.createChannel();
  channel.on('error', () => {});
  try {
    await channel.checkExchange(exchange);
    return null;
  } catch (error) {
    if ((error as { code?: unknown }).code === 404) return `the broker has no exchange '${exchange}'`;
    throw error;
  } finally {
    await channel.close().catch(() => {});
  }
}
