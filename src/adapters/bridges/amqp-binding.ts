/**
 * The CloudEvents AMQP protocol binding (1.0.2), applied to AMQP 0-9-1 as RabbitMQ speaks it. The
 * binding is written for AMQP 1.0; its application-properties are the 0-9-1 `headers` table and its
 * `content-type` the basic property of that name. In binary mode each attribute is a header named
 * `cloudEvents_<name>`; the older `cloudEvents:<name>` prefix, which JMS cannot carry, is read too
 * but never written. Values are written as strings (their canonical form), which every CloudEvents
 * SDK reads; typed values (timestamps, numbers, booleans) are read back into canonical strings.
 */
import { type BoundMessage, canonicalString, type OutboundMessage } from './message.js';

/** What the binding reads from a delivered message: amqplib's `properties`, or a subset of them. */
export interface AmqpProperties {
  contentType?: string | undefined;
  headers?: Record<string, unknown> | undefined;
}

/** What the binding writes: the body, and amqplib's publish options. */
export interface AmqpPublication {
  content: Buffer;
  contentType: string | undefined;
  headers: Record<string, string>;
  /** The delivery's `webhook-id`: RabbitMQ consumers deduplicate by `message_id` by convention. */
  messageId: string | undefined;
  /** Seconds since the epoch, as the basic `timestamp` property has it. */
  timestamp: number | undefined;
}

/** The prefix written; both are read (AMQP binding §3.1.3.1). */
export const AMQP_PREFIX = 'cloudEvents_';
const READ_PREFIXES = ['cloudevents_', 'cloudevents:'];

/**
 * Reduces a delivered AMQP message to a bound message: `cloudEvents_*` and `cloudEvents:*` headers
 * are attributes, other headers are the application's and are left alone.
 *
 * @example amqpToMessage({ headers: { cloudEvents_id: '1' } }, body).attributes // { id: '1' }
 */
export function amqpToMessage(properties: AmqpProperties, content: Buffer): BoundMessage {
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(properties.headers ?? {})) {
    const prefix = READ_PREFIXES.find((p) => key.toLowerCase().startsWith(p));
    if (prefix === undefined) continue;
    const text = canonicalString(value);
    // A value of a type with no string form (a nested table) cannot be an attribute; leaving it
    // out lets validation name the attribute as missing when it was a required one.
    if (text !== undefined) attributes[key.slice(prefix.length)] = text;
  }
  return { attributes, contentType: properties.contentType, body: content };
}

/**
 * Writes an outbound delivery as an AMQP message: attributes as `cloudEvents_*` headers, the content
 * type as the basic property, the signing and trace metadata as headers of their own names.
 *
 * @example messageToAmqp(fromHttpForm(headers, body)).headers['cloudEvents_id']
 */
export function messageToAmqp(message: OutboundMessage): AmqpPublication {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.attributes)) headers[`${AMQP_PREFIX}${name}`] = value;
  for (const [name, value] of Object.entries(message.meta)) headers[name] = value;
  const seconds = Number(message.meta['webhook-timestamp']);
  return {
    content: message.body,
    contentType: message.contentType,
    headers,
    messageId: message.meta['webhook-id'],
    timestamp: Number.isSafeInteger(seconds) ? seconds : undefined,
  };
}
