/**
 * The `bridges` setting: the brokers the hub consumes events from. Parsed and checked with the rest
 * of the configuration at start-up; every problem names the bridge's path (`bridges[1].queue`).
 */

/** Settings every source has. */
interface BridgeBase {
  /** Names the bridge in logs and metrics; unique. */
  name: string;
  /** The broker, credentials included (`amqp://user:pass@host:5672/vhost`). */
  url: string;
  /**
   * Messages taken from the broker and not yet acknowledged, at most: the AMQP prefetch, the
   * JetStream `max_ack_pending`, the NATS core ingests in flight. MQTT takes one at a time.
   */
  prefetch: number;
}

/** AMQP 0-9-1: consumes an existing queue with manual acknowledgements. */
export interface AmqpBridge extends BridgeBase {
  protocol: 'amqp';
  queue: string;
}

/** MQTT 3.1.1 or 5: a persistent session subscribed to topic filters. */
export interface MqttBridge extends BridgeBase {
  protocol: 'mqtt';
  topics: string[];
  qos: 0 | 1 | 2;
  version: 3 | 5;
  /** Fixed, so that the broker keeps the session (and unacknowledged messages) across restarts. */
  clientId: string;
  /** MQTT 5: how long the broker keeps the session while the hub is away. */
  sessionExpirySeconds: number;
}

/** NATS core: a subscription, in a queue group when `queue` is set. At most once. */
export interface NatsBridge extends BridgeBase {
  protocol: 'nats';
  subject: string;
  queue: string | undefined;
}

/** JetStream: a durable consumer on an existing stream, acknowledged explicitly. */
export interface JetStreamBridge extends BridgeBase {
  protocol: 'jetstream';
  stream: string;
  /** The durable consumer's name; created with `subject` as its filter when it does not exist. */
  durable: string;
  subject: string | undefined;
  /** How long JetStream waits for an ack before redelivering: the delay a hub that died adds. */
  ackWaitMs: number;
}

export type BridgeConfig = AmqpBridge | MqttBridge | NatsBridge | JetStreamBridge;

export const BRIDGE_PROTOCOLS = ['amqp', 'mqtt', 'nats', 'jetstream'] as const;
export const DEFAULT_PREFETCH = 64;
export const DEFAULT_SESSION_EXPIRY_SECONDS = 7 * 24 * 60 * 60;
export const DEFAULT_ACK_WAIT_MS = 30_000;
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const SCHEMES: Record<BridgeConfig['protocol'], string[]> = {
  amqp: ['amqp:', 'amqps:'],
  mqtt: ['mqtt:', 'mqtts:', 'ws:', 'wss:'],
  nats: ['nats:', 'tls:'],
  jetstream: ['nats:', 'tls:'],
};
const KEYS: Record<BridgeConfig['protocol'], string[]> = {
  amqp: ['queue'],
  mqtt: ['topics', 'qos', 'version', 'clientId', 'sessionExpirySeconds'],
  nats: ['subject', 'queue'],
  jetstream: ['stream', 'durable', 'subject', 'ackWaitMs'],
};
/** A NATS subject or filter: dot-separated tokens without spaces; `*` and `>` are wildcards. */
const SUBJECT = /^[^\s.]+(\.[^\s.]+)*$/;
/** A JetStream stream or consumer name: no spaces, dots, wildcards or path separators. */
const JS_NAME = /^[^\s.*>/\\]{1,255}$/;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

/** A URL with its password hidden, for messages. */
export function redactPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

/**
 * Checks the `bridges` list. `where` says where the setting came from (` (in junction.json)`);
 * each problem goes to `report`, and the bridges that passed are returned.
 *
 * @example
 * parseBridges([{ name: 'orders', protocol: 'amqp', url: 'amqp://localhost', queue: 'orders' }], '', report)
 */
export function parseBridges(raw: unknown, where: string, report: (message: string) => void): BridgeConfig[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    report(
      `bridges must be a list of broker sources, such as [{"name": "orders", "protocol": "amqp", "url": "amqp://localhost", "queue": "orders"}], got ${show(raw)}${where}`,
    );
    return [];
  }
  const bridges: BridgeConfig[] = [];
  const names = new Set<string>();
  raw.forEach((spec, i) => {
    const path = `bridges[${i}]`;
    const problems: string[] = [];
    const fail = (message: string) => problems.push(message);
    if (!isObject(spec)) {
      report(`${path} must be an object with name, protocol and url, got ${show(spec)}${where}`);
      return;
    }
    const { name, protocol, url } = spec;
    if (typeof name !== 'string' || !NAME.test(name))
      fail(`${path}.name must be 1 to 63 lower-case letters, digits, '.', '_' or '-', got ${show(name)}`);
    else if (names.has(name)) fail(`${path}.name '${name}' is used by another bridge; names are unique`);
    else names.add(name);
    if (!BRIDGE_PROTOCOLS.includes(protocol as BridgeConfig['protocol'])) {
      report(`${path}.protocol must be one of ${BRIDGE_PROTOCOLS.join(', ')}, got ${show(protocol)}${where}`);
      return;
    }
    const p = protocol as BridgeConfig['protocol'];
    const known = ['name', 'protocol', 'url', 'prefetch', ...KEYS[p]];
    for (const key of Object.keys(spec)) {
      if (!known.includes(key))
        fail(`${path}.${key} is not a setting of ${p} bridges; use ${known.join(', ')}`);
    }
    if (!isUrlOf(url, SCHEMES[p]))
      fail(
        `${path}.url must be a URL starting ${SCHEMES[p].map((s) => `${s}//`).join(' or ')}, got ${show(typeof url === 'string' ? redactPassword(url) : url)}`,
      );
    const prefetch = wholeNumber(spec.prefetch, DEFAULT_PREFETCH, `${path}.prefetch`, [1, 65_535], fail);
    const base = { name: name as string, url: url as string, prefetch };
    let bridge: BridgeConfig | undefined;
    if (p === 'amqp') {
      if (typeof spec.queue !== 'string' || spec.queue === '' || spec.queue.length > 255)
        fail(`${path}.queue must name an existing queue (1 to 255 characters), got ${show(spec.queue)}`);
      bridge = { ...base, protocol: p, queue: spec.queue as string };
    } else if (p === 'mqtt') {
      bridge = parseMqtt(spec, path, base, fail);
    } else if (p === 'nats') {
      if (typeof spec.subject !== 'string' || !SUBJECT.test(spec.subject))
        fail(
          `${path}.subject must be a NATS subject such as "orders.>" (no spaces or empty tokens), got ${show(spec.subject)}`,
        );
      if (spec.queue !== undefined && (typeof spec.queue !== 'string' || !/^\S+$/.test(spec.queue)))
        fail(`${path}.queue must be a queue group name without spaces, got ${show(spec.queue)}`);
      bridge = {
        ...base,
        protocol: p,
        subject: spec.subject as string,
        queue: spec.queue as string | undefined,
      };
    } else {
      if (typeof spec.stream !== 'string' || !JS_NAME.test(spec.stream))
        fail(
          `${path}.stream must name an existing JetStream stream (no spaces, '.', '*', '>'), got ${show(spec.stream)}`,
        );
      const durable = spec.durable ?? `junction-${String(name)}`;
      if (typeof durable !== 'string' || !JS_NAME.test(durable))
        fail(`${path}.durable must be a consumer name (no spaces, '.', '*', '>'), got ${show(spec.durable)}`);
      if (spec.subject !== undefined && (typeof spec.subject !== 'string' || !SUBJECT.test(spec.subject)))
        fail(`${path}.subject must be a NATS subject filter such as "orders.>", got ${show(spec.subject)}`);
      bridge = {
        ...base,
        protocol: p,
        stream: spec.stream as string,
        durable: durable as string,
        subject: spec.subject as string | undefined,
        ackWaitMs: wholeNumber(
          spec.ackWaitMs,
          DEFAULT_ACK_WAIT_MS,
          `${path}.ackWaitMs`,
          [1_000, 3_600_000],
          fail,
        ),
      };
    }
    for (const message of problems) report(`${message}${where}`);
    if (problems.length === 0) bridges.push(bridge);
  });
  return bridges;
}

function parseMqtt(
  spec: Record<string, unknown>,
  path: string,
  base: { name: string; url: string; prefetch: number },
  fail: (message: string) => void,
): MqttBridge {
  const topics = spec.topics;
  if (
    !Array.isArray(topics) ||
    topics.length === 0 ||
    !topics.every((t) => typeof t === 'string' && t !== '' && Buffer.byteLength(t) <= 65_535)
  )
    fail(
      `${path}.topics must be a non-empty list of topic filters such as ["orders/#"], got ${show(topics)}`,
    );
  const qos = spec.qos ?? 1;
  if (qos !== 0 && qos !== 1 && qos !== 2)
    fail(`${path}.qos must be 0, 1 or 2 (1 is at-least-once; 0 may lose messages), got ${show(spec.qos)}`);
  const version = spec.version ?? 5;
  if (version !== 3 && version !== 5)
    fail(`${path}.version must be 3 (MQTT 3.1.1) or 5, got ${show(spec.version)}`);
  const clientId = spec.clientId ?? `junction-${base.name}`;
  if (typeof clientId !== 'string' || clientId === '' || Buffer.byteLength(clientId) > 65_535)
    fail(`${path}.clientId must be a non-empty string, got ${show(spec.clientId)}`);
  const sessionExpirySeconds = wholeNumber(
    spec.sessionExpirySeconds,
    DEFAULT_SESSION_EXPIRY_SECONDS,
    `${path}.sessionExpirySeconds`,
    [1, 0xffff_ffff],
    fail,
  );
  return {
    ...base,
    protocol: 'mqtt',
    topics: topics as string[],
    qos: qos as 0 | 1 | 2,
    version: version as 3 | 5,
    clientId: clientId as string,
    sessionExpirySeconds,
  };
}

function wholeNumber(
  value: unknown,
  fallback: number,
  path: string,
  [min, max]: [number, number],
  fail: (message: string) => void,
): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) return value;
  fail(`${path} must be an integer from ${min} to ${max}, got ${show(value)}`);
  return fallback;
}

function isUrlOf(value: unknown, schemes: string[]): value is string {
  if (typeof value !== 'string') return false;
  try {
    return schemes.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}
