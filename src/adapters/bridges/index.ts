/**
 * The protocol bridges as the hub runs them: one source per configured bridge, started after the
 * hub has loaded and stopped before its store closes. Each protocol's client library is loaded
 * only when a bridge uses it, so a hub without bridges never loads amqplib, mqtt or NATS.
 */
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { CloudEvent } from '../../core/event.js';
import type { IngestLimits } from '../../core/http-binding.js';
import type { BridgeConfig } from './config.js';
import type { BridgeHost } from './intake.js';

/** A running source. */
interface Source {
  start(): void;
  stop(): Promise<void>;
}

export interface BridgesDeps {
  ingest(events: CloudEvent[]): Promise<{ status: 'accepted' | 'duplicate' }[]>;
  limits: IngestLimits;
  /** Where the bridges' metrics are registered: the hub's own registry. */
  registry: Registry;
}

export class Bridges {
  private readonly sources: Source[] = [];
  private readonly host: BridgeHost;

  constructor(
    private readonly configs: BridgeConfig[],
    deps: BridgesDeps,
    private readonly log: Logger,
  ) {
    this.host = {
      ingest: deps.ingest,
      limits: deps.limits,
      messages: new Counter({
        name: 'junction_bridge_messages_total',
        help: 'Messages taken from brokers, by bridge and outcome: stored, duplicate, rejected (settled without redelivery), retried (left for redelivery).',
        labelNames: ['bridge', 'outcome'] as const,
        registers: [deps.registry],
      }),
    };
  }

  /**
   * Starts every source. A broker that is down does not hold the hub up: its source keeps trying
   * with backoff, and says so in the log.
   */
  async start(): Promise<void> {
    for (const config of this.configs) {
      const log = this.log.child({ bridge: config.name, protocol: config.protocol });
      const source = await this.create(config, log);
      source.start();
      this.sources.push(source);
    }
  }

  /** Stops every source: no new messages, those in flight stored and acknowledged, then closed. */
  async stop(): Promise<void> {
    await Promise.all(
      this.sources.map((s) =>
        s.stop().catch((error) => this.log.warn({ err: error }, 'bridge did not stop cleanly')),
      ),
    );
    this.sources.length = 0;
  }

  private async create(config: BridgeConfig, log: Logger): Promise<Source> {
    switch (config.protocol) {
      case 'amqp': {
        const { AmqpSource } = await import('./amqp-source.js');
        return new AmqpSource(config, this.host, log);
      }
      case 'mqtt': {
        const { MqttSource } = await import('./mqtt-source.js');
        return new MqttSource(config, this.host, log);
      }
      case 'nats': {
        const { NatsSource } = await import('./nats-source.js');
        return new NatsSource(config, this.host, log);
      }
      case 'jetstream': {
        const { JetStreamSource } = await import('./nats-source.js');
        return new JetStreamSource(config, this.host, log);
      }
    }
  }
}
