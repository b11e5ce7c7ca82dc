/**
 * The MQTT sink (3.1.1 and 5): one client per broker URL and version. At QoS 1 a delivery is done
 * when the broker's PUBACK arrives, at QoS 2 its PUBCOMP; at QoS 0 once the message is written to
 * the connection, which the broker does not acknowledge. A publish waits for the client to be
 * connected (within its timeout) before it is handed to mqtt.js, never in mqtt.js's offline queue:
 * each retry would otherwise add one more copy to send when the broker is back.
 */
import { connect, type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { OutboundMessage } from '../../adapters/bridges/message.js';
import { messageToMqtt } from '../../adapters/bridges/mqtt-binding.js';
import type { ProtocolSettings, SinkProtocol } from '../../storage/ports.js';
import type { BrokerAnswer, BrokerSink } from './router.js';

/**
 * MQTT 5 PUBACK reason codes that refuse a message, in HTTP's terms: a refusal about the message
 * or its topic is permanent; quota and broker trouble pass. Others (0x80 unspecified, 0x83
 * implementation specific) are broker trouble too.
 */
const REFUSALS: Record<number, number> = {
  135: 403, // not authorized
  144: 400, // topic name invalid
  153: 400, // payload format invalid
  151: 429, // quota exceeded
};

export class MqttSink implements BrokerSink {
  private readonly clients = new Map<string, MqttClient>();

  constructor(private readonly log: Logger) {}

  /**
   * Publishes to `topicname` at `qos` (1 by default), retained when `retain`, with `expiry` as the
   * MQTT 5 Message Expiry Interval and `userproperties` beside the binding's own.
   *
   * @example await sink.publish('mqtt://localhost:1883', 'MQTT5', { topicname: 'orders' }, message, 5_000)
   */
  async publish(
    url: string,
    protocol: SinkProtocol,
    settings: ProtocolSettings,
    message: OutboundMessage,
    timeoutMs: number,
  ): Promise<BrokerAnswer> {
    const version = protocol === 'MQTT3' ? 3 : 5;
    const client = await this.ready(url, version, timeoutMs);
    const { payload, properties } = messageToMqtt(message, version, settings.userproperties);
    const qos = settings.qos ?? 1;
    const options: IClientPublishOptions = { qos, retain: settings.retain ?? false };
    if (version === 5) {
      options.properties = {
        ...(properties?.contentType ? { contentType: properties.contentType } : {}),
        userProperties: properties?.userProperties ?? {},
        ...(settings.expiry ? { messageExpiryInterval: settings.expiry } : {}),
      };
    }
    const topic = settings.topicname ?? '';
    try {
      await client.publishAsync(topic, payload, options);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'number') throw error;
      return {
        status: REFUSALS[code] ?? 503,
        detail: `the broker refused the message on '${topic}' with reason code 0x${code.toString(16)} (${(error as Error).message})`,
      };
    }
    const what =
      qos === 0
        ? 'written to the broker (QoS 0: no acknowledgement)'
        : `acknowledged by the broker (QoS ${qos})`;
    return { status: 200, detail: `${what} on '${topic}'` };
  }

  async close(): Promise<void> {
    const clients = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(clients.map((c) => c.endAsync().catch(() => {})));
  }

  /** The client for the broker, connected within `timeoutMs`. */
  private async ready(url: string, version: 3 | 5, timeoutMs: number): Promise<MqttClient> {
    const key = `${version} ${url}`;
    let client = this.clients.get(key);
    if (client === undefined) {
      client = connect(url, {
        protocolVersion: version === 5 ? 5 : 4,
        clean: true,
        reconnectPeriod: 1_000,
        connectTimeout: Math.max(1_000, timeoutMs),
        queueQoSZero: false,
      });
      client.on('error', (error) => this.log.warn({ err: error }, 'MQTT sink error'));
      this.clients.set(key, client);
    }
    if (client.connected) return client;
    const waiting = client;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.off('connect', onConnect);
        reject(new Error(`not connected to the MQTT broker within ${timeoutMs} ms`));
      }, timeoutMs);
      const onConnect = () => {
        clearTimeout(timer);
        resolve();
      };
      waiting.once('connect', onConnect);
    });
    return waiting;
  }
}
