/**
 * What a subscription to a broker may say: the `protocol` names of the CloudEvents Subscriptions
 * API, the sink URL each takes, and each protocol's `protocolsettings` (adapted to AMQP 0-9-1, which
 * has exchanges and routing keys where AMQP 1.0 has addresses). Every problem is reported by its
 * JSON pointer, as the rest of a subscription's checks are.
 *
 * A broker URL may carry credentials (`amqp://user:pass@host`), as broker clients expect them; the
 * API never shows the password (`***`), and a PUT that sends `***` back keeps the stored one.
 */
import { ATTRIBUTE_NAME } from '../../adapters/bridges/message.js';
import { pointerToken } from '../../core/errors.js';
import type { ProtocolSettings, SinkProtocol } from '../../storage/ports.js';

type Report = (pointer: string, message: string) => void;

/** The names taken, `MQTT` being MQTT 5 (stored as `MQTT5`). KAFKA is in the API but not here. */
export const PROTOCOLS = ['HTTP', 'AMQP', 'MQTT', 'MQTT3', 'MQTT5', 'NATS'] as const;

const SCHEMES: Record<Exclude<SinkProtocol, 'HTTP'>, string[]> = {
  AMQP: ['amqp:', 'amqps:'],
  MQTT3: ['mqtt:', 'mqtts:', 'ws:', 'wss:'],
  MQTT5: ['mqtt:', 'mqtts:', 'ws:', 'wss:'],
  NATS: ['nats:', 'tls:'],
};
const EXAMPLES: Record<Exclude<SinkProtocol, 'HTTP'>, string> = {
  AMQP: 'amqp://user:password@rabbit:5672/vhost',
  MQTT3: 'mqtt://broker:1883',
  MQTT5: 'mqtt://broker:1883',
  NATS: 'nats://nats:4222',
};
const KEYS: Record<Exclude<SinkProtocol, 'HTTP'>, string[]> = {
  AMQP: ['exchange', 'routingkey', 'persistent', 'mandatory'],
  MQTT3: ['topicname', 'qos', 'retain'],
  MQTT5: ['topicname', 'qos', 'retain', 'expiry', 'userproperties'],
  NATS: ['subject', 'jetstream'],
};
/** The hub's own metadata, which a subscription's user properties may not replace. */
const RESERVED_PROPERTY = /^(webhook-.*|traceparent|tracestate)$/i;
/** What `***` stands for in a sink URL the API shows. */
export const HIDDEN_PASSWORD = '***';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads `protocol`: HTTP when absent; `MQTT` is MQTT 5. */
export function parseProtocol(raw: unknown, err: Report): SinkProtocol {
  if (raw === undefined) return 'HTTP';
  if (!PROTOCOLS.includes(raw as (typeof PROTOCOLS)[number])) {
    err('/protocol', `protocol must be one of ${PROTOCOLS.join(', ')}, got ${JSON.stringify(raw)}`);
    return 'HTTP';
  }
  return raw === 'MQTT' ? 'MQTT5' : (raw as SinkProtocol);
}

/** Checks a broker sink URL: the protocol's schemes, a host, no fragment. */
export function checkBrokerSink(protocol: Exclude<SinkProtocol, 'HTTP'>, sink: string, err: Report): void {
  let url: URL;
  try {
    url = new URL(sink);
  } catch {
    err('/sink', `'${redactSink(sink)}' is not a URL; give one such as ${EXAMPLES[protocol]}`);
    return;
  }
  if (!SCHEMES[protocol].includes(url.protocol))
    err(
      '/sink',
      `a ${protocol} sink must be a ${SCHEMES[protocol].map((s) => `${s}//`).join(' or ')} URL, not ${url.protocol}`,
    );
  else if (url.hostname === '') err('/sink', `the sink needs a host, such as ${EXAMPLES[protocol]}`);
  else if (url.hash) err('/sink', 'the sink URL cannot have a #fragment');
}

/**
 * Reads a broker protocol's `protocolsettings`, with their defaults (AMQP `persistent` and
 * `mandatory` true, MQTT `qos` 1, `retain` false).
 */
export function parseBrokerSettings(
  protocol: Exclude<SinkProtocol, 'HTTP'>,
  raw: unknown,
  err: Report,
): ProtocolSettings {
  const at = (key: string) => `/protocolsettings/${pointerToken(key)}`;
  const settings: ProtocolSettings = {};
  const ps = raw ?? {};
  if (!isObject(ps)) {
    err('/protocolsettings', `protocolsettings must be an object of ${KEYS[protocol].join(', ')}`);
    return settings;
  }
  for (const key of Object.keys(ps)) {
    if (!KEYS[protocol].includes(key))
      err(at(key), `unknown ${protocol} setting '${key}'; use ${KEYS[protocol].join(', ')}`);
  }
  const bool = (key: 'persistent' | 'mandatory' | 'retain' | 'jetstream', fallback?: boolean) => {
    const value = ps[key] ?? fallback;
    if (value === undefined) return;
    if (typeof value === 'boolean') settings[key] = value;
    else err(at(key), `${key} must be true or false`);
  };
  if (protocol === 'AMQP') {
    const exchange = ps.exchange ?? '';
    if (typeof exchange !== 'string' || !/^[A-Za-z0-9_.:-]{0,255}$/.test(exchange))
      err(
        at('exchange'),
        "exchange must be an exchange name (letters, digits, '-', '_', '.', ':'), or '' for the default exchange",
      );
    else settings.exchange = exchange;
    const key = ps.routingkey ?? '';
    if (typeof key !== 'string' || Buffer.byteLength(key) > 255)
      err(at('routingkey'), 'routingkey must be a string of at most 255 bytes');
    else if (exchange === '' && key === '')
      err(
        at('routingkey'),
        'the default exchange routes by queue name: give the queue as routingkey, or name an exchange',
      );
    else settings.routingkey = key;
    bool('persistent', true);
    bool('mandatory', true);
  } else if (protocol === 'NATS') {
    const subject = ps.subject;
    if (typeof subject !== 'string' || !/^[^\s.*>]+(\.[^\s.*>]+)*$/.test(subject))
      err(
        at('subject'),
        'subject is required: a NATS subject such as "orders.created" (no spaces, wildcards or empty tokens)',
      );
    else settings.subject = subject;
    bool('jetstream', false);
  } else {
    parseMqttSettings(protocol, ps, settings, at, err);
    bool('retain', false);
  }
  return settings;
}

function parseMqttSettings(
  protocol: 'MQTT3' | 'MQTT5',
  ps: Record<string, unknown>,
  settings: ProtocolSettings,
  at: (key: string) => string,
  err: Report,
): void {
  const topic = ps.topicname;
  if (
    typeof topic !== 'string' ||
    topic === '' ||
    /[+#]/.test(topic) ||
    topic.includes('\0') ||
    Buffer.byteLength(topic) > 65_535
  )
    err(
      at('topicname'),
      'topicname is required: an MQTT topic such as "orders/created" (no wildcards + or #)',
    );
  else settings.topicname = topic;
  const qos = ps.qos ?? 1;
  if (qos !== 0 && qos !== 1 && qos !== 2)
    err(at('qos'), 'qos must be 0, 1 or 2 (1, the default, is acknowledged by the broker; 0 is not)');
  else settings.qos = qos;
  if (protocol === 'MQTT3') return;
  if (ps.expiry !== undefined) {
    const e = ps.expiry;
    if (typeof e !== 'number' || !Number.isInteger(e) || e < 1 || e > 0xffff_ffff)
      err(at('expiry'), 'expiry must be the message expiry in seconds, a whole number from 1 to 4294967295');
    else settings.expiry = e;
  }
  if (ps.userproperties !== undefined) {
    if (!isObject(ps.userproperties)) {
      err(at('userproperties'), 'userproperties must be an object of names to string values');
      return;
    }
    const props: Record<string, string> = {};
    for (const [name, value] of Object.entries(ps.userproperties)) {
      const where = `${at('userproperties')}/${pointerToken(name)}`;
      if (name === '' || ATTRIBUTE_NAME.test(name) || RESERVED_PROPERTY.test(name))
        err(
          where,
          `'${name}' is reserved: names of letters and digits alone are CloudEvents attributes, and webhook-*, traceparent and tracestate are the hub's`,
        );
      else if (typeof value !== 'string') err(where, 'a user property value must be a string');
      else props[name] = value;
    }
    settings.userproperties = props;
  }
}

/** A sink URL as the API shows it: its password, if any, as `***`. */
export function redactSink(sink: string): string {
  try {
    const url = new URL(sink);
    if (!url.password) return sink;
    url.password = HIDDEN_PASSWORD;
    return url.toString();
  } catch {
    return sink.replace(/:[^:@/]*@/, `:${HIDDEN_PASSWORD}@`);
  }
}

/**
 * A sink given back with its password hidden (`***`), as a client that PUTs what it read sends
 * it: the stored password is kept when the rest of the URL up to the path is the same.
 *
 * @example restorePassword('amqp://app:***@mq/v', 'amqp://app:s3cret@mq/v') // 'amqp://app:s3cret@mq/v'
 */
export function restorePassword(given: string, stored: string): string {
  try {
    const next = new URL(given);
    const before = new URL(stored);
    if (next.password !== encodeURIComponent(HIDDEN_PASSWORD) && next.password !== HIDDEN_PASSWORD)
      return given;
    if (next.protocol !== before.protocol || next.username !== before.username || next.host !== before.host)
      return given;
    next.password = before.password;
    return next.toString();
  } catch {
    return given;
  }
}
