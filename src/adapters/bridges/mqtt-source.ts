/**
 * The MQTT source (3.1.1 or 5): a persistent session (a fixed client id, no clean start) subscribed
 * at QoS 1 by default. mqtt.js sends the PUBACK only when `customHandleAcks` calls back, and this
 * source calls back once the events are durable; it takes one message at a time, as mqtt.js hands
 * them over. A message that is not a CloudEvent is acknowledged and counted (MQTT has no
 * dead-letter); one the hub cannot store now is left unacknowledged and the session is reopened
 * after a pause, which makes the broker send it again. The pause grows while the hub keeps
 * refusing (its store is down), from about a second to 15 s, and is short again once a message is
 * stored. At QoS 0 the broker expects no acknowledgement, and a message lost with the hub is lost.
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { MqttBridge } from './config.js';
import { Backoff, type BridgeHost, Intake } from './intake.js';
import { mqttToMessage } from './mqtt-binding.js';

type Packet = {
  qos: number;
  properties?: { contentType?: string; userProperties?: Record<string, string | string[]> };
};

export class MqttSource {
  private readonly intake: Intake;
  /** Pauses before reconnecting to a broker that dropped or refused the connection. */
  private readonly backoff = new Backoff();
  /**
   * Pauses before reopening the session for a message the hub refused. Each reopen succeeds at
   * once, so the broker's backoff (reset on connect) would allow five a second against a store that
   * is down; this one is reset only when a message is stored. Its jitter has a floor of half the
   * first step: reopens are at least a second apart, at most 15 s.
   */
  private readonly refusals = new Backoff(2_000, 15_000);
  private client: MqttClient | undefined;
  private stopping = false;
  /** Reopening the session so that the broker redelivers what was left unacknowledged. */
  private bouncing = false;

  constructor(
    private readonly config: MqttBridge,
    host: BridgeHost,
    private readonly log: Logger,
  ) {
    this.intake = new Intake(config.name, host, log);
  }

  /** Starts connecting; mqtt.js reconnects by itself, with our backoff as its period. */
  start(): void {
    const { config } = this;
    const options: IClientOptions = {
      clientId: config.clientId,
      clean: false,
      protocolVersion: config.version === 5 ? 5 : 4,
      reconnectPeriod: this.backoff.next(),
      connectTimeout: 10_000,
      // The session keeps the subscriptions, but a broker that lost it (restarted without
      // persistence) would not: subscribe on every connect.
      resubscribe: false,
      customHandleAcks: (_topic, payload, packet, done) => void this.handle(payload, packet as Packet, done),
    };
    if (config.version === 5) options.properties = { sessionExpiryInterval: config.sessionExpirySeconds };
    const client = connect(config.url, options);
    this.client = client;
    client.on('connect', () => {
      this.backoff.reset();
      client.options.reconnectPeriod = this.backoff.next();
      client
        .subscribeAsync(config.topics, { qos: config.qos })
        .then(() => this.log.info({ topics: config.topics }, 'MQTT bridge subscribed'))
        .catch((error: unknown) => this.log.warn({ err: error }, 'MQTT bridge could not subscribe'));
    });
    client.on('reconnect', () => {
      client.options.reconnectPeriod = this.backoff.next();
    });
    client.on('error', (error) => this.log.warn({ err: error }, 'MQTT bridge error'));
    client.on('offline', () => this.log.info('MQTT bridge offline; reconnecting'));
    // QoS 0 messages bypass customHandleAcks: they come only as events, with nothing to acknowledge.
    client.on('message', (_topic, payload, packet) => {
      if (packet.qos === 0 && !this.stopping)
        void this.intake.take(() => mqttToMessage(packet.properties, payload));
    });
  }

  /**
   * Stops taking messages, waits for the one being ingested to be acknowledged, and disconnects.
   * The session stays with the broker, holding what arrives meanwhile.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.intake.drained();
    await this.client?.endAsync().catch(() => {});
  }

  private async handle(
    payload: Buffer,
    packet: Packet,
    done: (error: Error | number) => void,
  ): Promise<void> {
    // While stopping, the message is neither taken nor acknowledged: the session keeps it.
    if (this.stopping || this.bouncing) return;
    const verdict = await this.intake.take(() => mqttToMessage(packet.properties, payload));
    if (verdict.kind !== 'retry') {
      if (verdict.kind === 'stored') this.refusals.reset();
      done(0);
      return;
    }
    done(new Error(`not stored: ${verdict.reason}`));
    this.bounce();
  }

  /**
   * MQTT redelivers an unacknowledged message only when the session is resumed: close the
   * connection and open it again after a pause.
   */
  private bounce(): void {
    const client = this.client;
    if (!client || this.bouncing) return;
    this.bouncing = true;
    const delay = this.refusals.next();
    client.end(true, () => {
      setTimeout(() => {
        this.bouncing = false;
        if (!this.stopping) client.reconnect();
      }, delay).unref();
    });
  }
}
