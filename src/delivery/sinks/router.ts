/**
 * The sink the dispatcher sends through: HTTP subscriptions go to the HTTP sink as before, the
 * others to the broker sink of their protocol (AMQP, MQTT, NATS), loaded the first time one is used.
 * A broker's answer comes back in the HTTP sink's result shape, so that retries, backoff, circuit
 * breakers and dead letters treat every protocol alike:
 *
 * - confirmed by the broker (AMQP publisher confirm, MQTT PUBACK, JetStream ack, NATS flush): 200;
 * - refused for good (no such exchange or stream, unroutable, not authorised): a 4xx, dead-lettered;
 * - refused for now (a broker nack, quota exceeded): 503 or 429, retried;
 * - unreachable, or no answer within `timeoutMs`: a failed send, retried.
 *
 * The response excerpt of each attempt says what the broker answered.
 */
import type { Logger } from 'pino';
import { fromHttpForm, type OutboundMessage } from '../../adapters/bridges/message.js';
import type { ProtocolSettings, SinkProtocol } from '../../storage/ports.js';
import type { HttpSendRequest, HttpSendResult, HttpSink } from './http.js';

/** A send as the dispatcher makes it: an HTTP-encoded message, and where and how it goes. */
export interface SinkRequest extends HttpSendRequest {
  protocol?: SinkProtocol;
  protocolsettings?: ProtocolSettings;
}

/** What the dispatcher needs of a sink. */
export interface DeliverySink {
  send(req: SinkRequest): Promise<HttpSendResult>;
}

/** A broker's answer to a publish: a status in HTTP's terms, and what the broker said. */
export interface BrokerAnswer {
  status: number;
  detail: string;
}

/**
 * One protocol's sink: publishes on pooled connections, one per broker URL. It resolves with the
 * broker's answer, and rejects when it could not reach the broker (every such failure is retried).
 */
export interface BrokerSink {
  publish(
    url: string,
    protocol: SinkProtocol,
    settings: ProtocolSettings,
    message: OutboundMessage,
    timeoutMs: number,
  ): Promise<BrokerAnswer>;
  close(): Promise<void>;
}

type BrokerKind = 'amqp' | 'mqtt' | 'nats';
const KIND: Record<Exclude<SinkProtocol, 'HTTP'>, BrokerKind> = {
  AMQP: 'amqp',
  MQTT3: 'mqtt',
  MQTT5: 'mqtt',
  NATS: 'nats',
};

/** The reason a publish was cut short by `abortAll`. */
class ShutdownAbort extends Error {
  override readonly name = 'ShutdownAbort';
}

/** The reason a publish was given up when its timeout passed. */
class PublishTimeout extends Error {
  override readonly name = 'PublishTimeout';
}

export class SinkRouter implements DeliverySink {
  private readonly brokers = new Map<BrokerKind, Promise<BrokerSink>>();
  /** Publishes in flight, each with how to cut it short, for `abortAll`. */
  private readonly live = new Set<(reason: Error) => void>();

  constructor(
    private readonly http: HttpSink,
    private readonly log: Logger,
  ) {}

  /**
   * Sends one delivery by its subscription's protocol. Like the HTTP sink's, the promise settles
   * within `timeoutMs` (plus the time to load a protocol's client the first time) and never rejects.
   *
   * @example
   * await router.send({ url: 'amqp://broker', protocol: 'AMQP', protocolsettings: { exchange: 'orders' }, ... })
   */
  async send(req: SinkRequest): Promise<HttpSendResult> {
    const protocol = req.protocol ?? 'HTTP';
    if (protocol === 'HTTP') return this.http.send(req);
    const started = performance.now();
    const latencyMs = () => performance.now() - started;
    let cut: ((reason: Error) => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      cut = reject;
    });
    const timer = setTimeout(
      () => cut?.(new PublishTimeout(`no answer from the broker within ${req.timeoutMs} ms`)),
      req.timeoutMs,
    );
    this.live.add(cut!);
    try {
      const message = fromHttpForm(req.headers, req.body);
      const sink = await this.broker(KIND[protocol]);
      const answer = await Promise.race([
        sink.publish(req.url, protocol, req.protocolsettings ?? {}, message, req.timeoutMs),
        stop,
      ]);
      return { ok: true, status: answer.status, headers: {}, excerpt: answer.detail, latencyMs: latencyMs() };
    } catch (error) {
      if (error instanceof ShutdownAbort)
        return {
          ok: false,
          error: `aborted: ${error.message}`,
          timedOut: false,
          latencyMs: latencyMs(),
          aborted: true,
        };
      if (error instanceof PublishTimeout)
        return { ok: false, error: error.message, timedOut: true, latencyMs: latencyMs() };
      return { ok: false, error: describe(error), timedOut: false, latencyMs: latencyMs() };
    } finally {
      clearTimeout(timer);
      this.live.delete(cut!);
      stop.catch(() => {});
    }
  }

  /** Cuts every send in flight short, HTTP and broker alike; each resolves as aborted. */
  abortAll(reason: string): void {
    this.http.abortAll(reason);
    for (const cut of this.live) cut(new ShutdownAbort(reason));
  }

  /** Closes the HTTP pools and every broker connection. */
  async close(): Promise<void> {
    const brokers = [...this.brokers.values()];
    this.brokers.clear();
    await Promise.all([
      this.http.close(),
      ...brokers.map(async (loading) => {
        try {
          await (await loading).close();
        } catch (error) {
          this.log.warn({ err: error }, 'closing a broker sink failed');
        }
      }),
    ]);
  }

  private broker(kind: BrokerKind): Promise<BrokerSink> {
    let sink = this.brokers.get(kind);
    if (sink === undefined) {
      sink = load(kind, this.log.child({ sink: kind }));
      this.brokers.set(kind, sink);
    }
    return sink;
  }
}

/** Loads a protocol's sink, and with it the protocol's client library. */
async function load(kind: BrokerKind, log: Logger): Promise<BrokerSink> {
  switch (kind) {
    case 'amqp':
      return new (await import('./amqp.js')).AmqpSink(log);
    case 'mqtt':
      return new (await import('./mqtt.js')).MqttSink(log);
    case 'nats':
      return new (await import('./nats.js')).NatsSink(log);
  }
}

/** An error as the attempt log shows it; never with the broker URL, which may hold a password. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code)
    ? `${code}: ${error.message}`
    : error.message;
}
