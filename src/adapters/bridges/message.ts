/**
 * What the CloudEvents protocol bindings (AMQP, MQTT, NATS) have in common, as the bridges use it.
 * Each binding module reduces a broker message to a `BoundMessage` (attributes carried beside the
 * body, a content type, the body); `readEvents` then reads it with the HTTP binding's own reader,
 * so that every protocol gets the same data rules, size limits and error messages as `POST
 * /v1/events`. Outbound, the dispatcher encodes a delivery as an HTTP message; `fromHttpForm` turns
 * it back into attributes and metadata, which each binding writes in its own way.
 */
import type { CloudEvent } from '../../core/event.js';
import { type IngestLimits, parseIngest } from '../../core/http-binding.js';
import { decodeHeaderValue, encodeHeaderValue } from '../../core/percent-encoding.js';

/** A broker message reduced to what the bindings share. */
export interface BoundMessage {
  /** Context attributes carried beside the body (binary mode), by name, in canonical string form. */
  attributes: Record<string, string>;
  /** The media type of the body, when the protocol carries one. */
  contentType: string | undefined;
  body: Buffer;
}

/** A delivery as a broker sink writes it: a bound message, and the hub's own metadata. */
export interface OutboundMessage extends BoundMessage {
  /** `webhook-id`, `webhook-timestamp`, `webhook-signature`, and `traceparent`/`tracestate` when set. */
  meta: Record<string, string>;
}

/** The media type of the JSON event format: structured mode in every binding. */
export const STRUCTURED_TYPE = 'application/cloudevents+json';

/** An attribute name, as the CloudEvents spec allows it: what may be read from a property name. */
export const ATTRIBUTE_NAME = /^[a-z0-9]{1,50}$/;

/** The hub's own metadata that travels with every delivery, whatever the protocol. */
const META = new Set(['webhook-id', 'webhook-timestamp', 'webhook-signature', 'traceparent', 'tracestate']);

/**
 * Reads a broker message into events. Attributes beside the body mean binary mode; a content type
 * of `application/cloudevents+json` (or the batch type) means structured mode; a message with
 * neither (MQTT 3.1.1, which has no properties; a plain NATS message) is read as structured, as the
 * MQTT and NATS bindings say a receiver should.
 *
 * @throws the HTTP binding's typed errors (400, 413, 415) when the message is not a valid event:
 *   the bridge rejects such a message rather than retrying it.
 * @example
 * readEvents({ attributes: {}, contentType: undefined, body: Buffer.from(json) }, limits)
 */
export function readEvents(message: BoundMessage, limits: IngestLimits): CloudEvent[] {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.attributes)) {
    headers[`ce-${name}`] = encodeHeaderValue(value);
  }
  const binary = Object.keys(headers).length > 0;
  const contentType = message.contentType ?? (binary ? undefined : STRUCTURED_TYPE);
  if (contentType !== undefined) headers['content-type'] = contentType;
  return parseIngest(headers, message.body, limits).events;
}

/**
 * Takes apart an outbound delivery as the dispatcher encoded it for HTTP: `ce-*` headers become
 * attributes (percent-decoded), Content-Type the content type, and the signing and trace headers
 * the metadata. Everything else (the user agent) is HTTP's alone.
 *
 * @example fromHttpForm({ 'ce-id': '1', 'content-type': 'application/json' }, body).attributes.id // '1'
 */
export function fromHttpForm(headers: Record<string, string>, body: Buffer): OutboundMessage {
  const attributes: Record<string, string> = {};
  const meta: Record<string, string> = {};
  let contentType: string | undefined;
  for (const [key, value] of Object.entries(headers)) {
    const name = key.toLowerCase();
    if (name.startsWith('ce-')) attributes[name.slice(3)] = decodeHeaderValue(value);
    else if (name === 'content-type') contentType = value;
    else if (META.has(name)) meta[name] = value;
  }
  return { attributes, contentType, body, meta };
}

/** A property value a broker carried as something other than a string, in canonical string form. */
export function canonicalString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value instanceof Date) return value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  return undefined;
}
