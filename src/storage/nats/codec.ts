/**
 * The payload of a bus message: the CloudEvent in the JSON event format (structured mode of the
 * CloudEvents NATS binding), with `Content-Type: application/cloudevents+json`.
 *
 * Structured rather than binary mode because the hub already holds the JSON text an event arrived
 * as (`eventJson`), so publishing costs no serialisation, `data_base64` and extensions travel
 * unchanged, and a message read back from the stream (replay, `nats stream get`) is a whole event
 * without header reassembly.
 */
import { type MsgHdrs, headers as natsHeaders } from '@nats-io/transport-node';
import { type CloudEvent, eventJson, rememberJson } from '../../core/event.js';
import { BusDecodeError } from './errors.js';

export const CONTENT_TYPE = 'application/cloudevents+json';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The payload and headers of an event's message.
 *
 * @example const { data, headers } = encodeEvent(event); js.publish(subject, data, { headers })
 */
export function encodeEvent(event: CloudEvent): { data: Uint8Array; headers: MsgHdrs } {
  const headers = natsHeaders();
  headers.set('Content-Type', CONTENT_TYPE);
  return { data: encoder.encode(eventJson(event)), headers };
}

/**
 * The event a message carries. The text is remembered with the event so that storing it later
 * does not serialise it again.
 *
 * @example const event = decodeEvent(msg.data)
 * @throws BusDecodeError when the payload is not UTF-8 JSON of an object with id, source and type.
 */
export function decodeEvent(data: Uint8Array): CloudEvent {
  let text: string;
  let value: unknown;
  try {
    text = decoder.decode(data);
    value = JSON.parse(text);
  } catch (cause) {
    throw new BusDecodeError('bus message payload is not UTF-8 JSON', { cause });
  }
  const event = value as Partial<CloudEvent> | null;
  if (
    typeof event !== 'object' ||
    event === null ||
    Array.isArray(event) ||
    typeof event.id !== 'string' ||
    typeof event.source !== 'string' ||
    typeof event.type !== 'string'
  ) {
    throw new BusDecodeError('bus message payload is not a CloudEvent (needs string id, source and type)');
  }
  rememberJson(event as CloudEvent, text);
  return event as CloudEvent;
}
