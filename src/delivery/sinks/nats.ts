/**
 * The NATS sink: one connection per server URL. Core NATS has no receipts: a delivery is done once
 * the server has the message (publish, then a flush round trip), whether or not anyone subscribes,
 * so a core NATS sink is at-most-once past the server. With `jetstream: true` the delivery is done
 * when a stream has stored it and acked; the webhook-id goes as `Nats-Msg-Id`, so the stream drops
 * a retry of a publish whose ack was lost, within its duplicate window.
 */
import { JetStreamApiError, jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { OutboundMessage } from '../../adapters/bridges/message.js';
import { messageToNats } from '../../adapters/bridges/nats-binding.js';
import type { ProtocolSettings } from '../../storage/ports.js';
import type { BrokerAnswer, BrokerSink } from './router.js';

export class NatsSink implements BrokerSink {
  private readonly connections = new Map<string, Promise<NatsConnection>>();

  constructor(private readonly log: Logger) {}

  /**
   * Publishes to `subject`, through JetStream when `jetstream`.
   *
   * @example await sink.publish('nats://localhost:4222', 'NATS', { subject: 'orders.created' }, message, 5_000)
   */
  async publish(
    url: string,
    _protocol: string,
    settings: ProtocolSettings,
    message: OutboundMessage,
    timeoutMs: number,
  ): Promise<BrokerAnswer> {
    const nc = await this.connection(url, timeoutMs);
    const subject = settings.subject ?? '';
    const encoded = messageToNats(message);
    const h = natsHeaders();
    for (const [name, value] of encoded.headers) h.append(name, value);
    if (!settings.jetstream) {
      nc.publish(subject, encoded.payload, { headers: h });
      await nc.flush();
      return {
        status: 200,
        detail: `taken by the NATS server on '${subject}' (core NATS: no receipt from subscribers)`,
      };
    }
    const webhookId = message.meta['webhook-id'];
    try {
      const ack = await jetstream(nc, { timeout: timeoutMs }).publish(subject, encoded.payload, {
        headers: h,
        ...(webhookId ? { msgID: webhookId } : {}),
      });
      const again = ack.duplicate ? ', a duplicate of an earlier attempt' : '';
      return {
        status: 200,
        detail: `stored by JetStream stream '${ack.stream}' at sequence ${ack.seq}${again}`,
      };
    } catch (error) {
      // The client reports "no responders" to a JetStream publish as JetStream not being enabled
      // (a class it does not export): either way no stream listens on the subject, and retrying
      // will not make one.
      if (error instanceof Error && error.name === 'JetStreamNotEnabled')
        return {
          status: 404,
          detail: `no JetStream stream takes subject '${subject}'; add one (or the subject to one), then redrive`,
        };
      if (error instanceof JetStreamApiError)
        return {
          status: 503,
          detail: `JetStream refused the message: ${error.message} (code ${error.code})`,
        };
      throw error;
    }
  }

  async close(): Promise<void> {
    const connections = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(
      connections.map(async (pending) => {
        try {
          await (await pending).drain();
        } catch {
          // Never opened, or already closed.
        }
      }),
    );
  }

  /** The connection to `url`: opened on first use, reconnecting by itself, forgotten once closed. */
  private connection(url: string, timeoutMs: number): Promise<NatsConnection> {
    const known = this.connections.get(url);
    if (known !== undefined) return known;
    const opened = connect({
      servers: url.split(',').map((u) => u.trim()),
      name: 'junction sink',
      timeout: timeoutMs,
      maxReconnectAttempts: -1,
    });
    this.connections.set(url, opened);
    opened.then(
      (nc) => {
        void nc.closed().then((error) => {
          if (error) this.log.warn({ err: error }, 'NATS sink connection closed');
          if (this.connections.get(url) === opened) this.connections.delete(url);
        });
      },
      () => this.connections.delete(url),
    );
    return opened;
  }
}
