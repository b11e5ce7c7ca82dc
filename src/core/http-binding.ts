/**
 * The CloudEvents 1.0.2 HTTP protocol binding: reading an ingest request in binary, structured or
 * batch mode, and writing an outbound delivery as binary, structured or plain webhook JSON.
 */
import { validateEvent } from './envelope.js';
import {
  type FieldError,
  MalformedRequestError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from './errors.js';
import { type BindingMode, type CloudEvent, rememberJson } from './event.js';
import { parseJsonText } from './json-text.js';
import {
  isJsonMediaType,
  isTextualMediaType,
  isUtf8Charset,
  type MediaType,
  parseMediaType,
} from './media-type.js';
import { decodeHeaderValue, encodeHeaderValue, HeaderDecodingError } from './percent-encoding.js';

/** How an outbound delivery is written; `webhook` is plain JSON, not a CloudEvents binding. */
export type DeliveryFormat = 'binary' | 'structured' | 'webhook';

export interface IngestLimits {
  /** Largest single event: the body in binary and structured mode, each member of a batch. */
  maxEventBytes: number;
  /** Largest batch request body. */
  maxBatchBytes: number;
  /** Most events in one batch request. */
  maxBatchEvents: number;
}

const MIB = 1024 * 1024;

export const DEFAULT_INGEST_LIMITS: IngestLimits = {
  maxEventBytes: MIB,
  maxBatchBytes: 10 * MIB,
  maxBatchEvents: 1000,
};

/** Request headers as Node gives them: lower-case names, repeated headers as arrays. */
export type IngestHeaders = Record<string, string | string[] | undefined>;

export interface EncodedMessage {
  headers: Record<string, string>;
  body: Buffer;
}

const STRUCTURED_TYPE = 'application/cloudevents+json';
const BATCH_TYPE = 'application/cloudevents-batch+json';
const ACCEPTED =
  'send application/cloudevents+json (structured mode), application/cloudevents-batch+json (batch mode), ' +
  'or the event data with ce-specversion, ce-id, ce-source and ce-type headers (binary mode)';
const BODY = 'the request body';
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads an ingest request into validated events.
 *
 * The mode follows the binding (§3): a `application/cloudevents+json` or
 * `application/cloudevents-batch+json` Content-Type means structured or batch mode; otherwise
 * `ce-*` headers mean binary mode. A batch is all-or-nothing: every invalid member is reported.
 *
 * @throws UnsupportedMediaTypeError (415) when the request is in none of the three modes, uses
 *   another event format, or declares a JSON charset other than UTF-8.
 * @throws PayloadTooLargeError (413) when a limit is exceeded; the message names the limit.
 * @throws MalformedRequestError (400) on bad JSON, bad UTF-8 or a bad header encoding.
 * @throws ValidationError (400) listing every invalid attribute with its pointer.
 * @example
 * parseIngest({ 'content-type': 'application/cloudevents+json' }, body, DEFAULT_INGEST_LIMITS)
 */
export function parseIngest(
  headers: IngestHeaders,
  body: Buffer,
  limits: IngestLimits,
): { mode: BindingMode; events: CloudEvent[] } {
  const contentType = singleHeader(headers, 'content-type');
  const mediaType = contentType === undefined ? undefined : parseMediaType(contentType);
  const essence = mediaType?.essence;
  if (mediaType !== undefined && (essence === STRUCTURED_TYPE || essence === BATCH_TYPE)) {
    const batch = essence === BATCH_TYPE;
    requireUtf8(mediaType);
    const limit = batch ? limits.maxBatchBytes : limits.maxEventBytes;
    if (body.length > limit) {
      const what = batch ? `a batch may be at most ${limit} bytes (maxBatchBytes)` : tooLargeEvent(limit);
      throw new PayloadTooLargeError(`${BODY} is ${body.length} bytes; ${what}`);
    }
    const text = decodeUtf8(body);
    const json = parseJsonText(text, BODY);
    if (batch) return { mode: 'batch', events: parseBatch(json, limits) };
    const event = checked(validateEvent(json, ''), []);
    // Validation only ever drops null attributes: with as many members, the text is this event.
    if (Object.keys(event).length === Object.keys(json as object).length) rememberJson(event, text);
    return { mode: 'structured', events: [event] };
  }
  // §3.2.1: any application/cloudevents media type is structured mode, whatever its format.
  if (mediaType?.type === 'application' && /^cloudevents(?:[-+]|$)/.test(mediaType.subtype)) {
    throw new UnsupportedMediaTypeError(
      `the ${mediaType.essence} event format is not supported: ${ACCEPTED}`,
    );
  }
  if (Object.keys(headers).some((name) => name.toLowerCase().startsWith('ce-'))) {
    return { mode: 'binary', events: [parseBinary(headers, body, contentType, mediaType, limits)] };
  }
  throw new UnsupportedMediaTypeError(
    `Content-Type ${contentType ?? '(none)'} without ce- headers is not a CloudEvent: ${ACCEPTED}`,
  );
}

function parseBatch(json: unknown, limits: IngestLimits): CloudEvent[] {
  if (!Array.isArray(json)) {
    throw ValidationError.field(
      '',
      'a batch must be a JSON array of events (application/cloudevents-batch+json)',
    );
  }
  if (json.length === 0) throw ValidationError.field('', 'the batch is empty; send at least one event');
  if (json.length > limits.maxBatchEvents) {
    throw new PayloadTooLargeError(
      `the batch has ${json.length} events; a batch may hold at most ${limits.maxBatchEvents} (maxBatchEvents)`,
    );
  }
  const oversized: FieldError[] = [];
  // Each member's text, kept for storing the event (as in structured mode) once it is valid.
  const texts = json.map((member) => JSON.stringify(member));
  texts.forEach((text, index) => {
    const size = Buffer.byteLength(text);
    if (size > limits.maxEventBytes) {
      oversized.push({
        pointer: `/${index}`,
        message: `event /${index} is ${size} bytes; ${tooLargeEvent(limits.maxEventBytes)}`,
      });
    }
  });
  if (oversized.length > 0) {
    throw new PayloadTooLargeError(oversized.map((error) => error.message).join('; '), { errors: oversized });
  }
  const events: CloudEvent[] = [];
  const errors: FieldError[] = [];
  json.forEach((member, index) => {
    const result = validateEvent(member, `/${index}`);
    if (result.event === undefined) errors.push(...result.errors);
    else {
      if (Object.keys(result.event).length === Object.keys(member).length) {
        rememberJson(result.event, texts[index]!);
      }
      events.push(result.event);
    }
  });
  if (errors.length > 0) throw invalid(errors);
  return events;
}

/**
 * Binary mode (§3.1): attributes come from `ce-*` headers, `datacontenttype` from Content-Type,
 * and the body is the event data.
 */
function parseBinary(
  headers: IngestHeaders,
  body: Buffer,
  contentType: string | undefined,
  mediaType: MediaType | undefined,
  limits: IngestLimits,
): CloudEvent {
  if (body.length > limits.maxEventBytes) {
    throw new PayloadTooLargeError(`${BODY} is ${body.length} bytes; ${tooLargeEvent(limits.maxEventBytes)}`);
  }
  const raw: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const key of Object.keys(headers)) {
    const name = key.toLowerCase();
    if (!name.startsWith('ce-')) continue;
    const value = singleHeader(headers, key);
    if (value === undefined) continue;
    const attribute = name.slice(3);
    if (attribute === 'datacontenttype') {
      errors.push({
        pointer: '/datacontenttype',
        message: 'in binary mode send the media type in Content-Type, not ce-datacontenttype',
      });
    } else if (attribute === 'data' || attribute === 'data_base64') {
      errors.push({
        pointer: `/${attribute}`,
        message: `in binary mode the request body is the event data; remove the ${name} header`,
      });
    } else {
      raw[attribute] = decodeHeader(name, value);
    }
  }
  if (contentType !== undefined) raw.datacontenttype = contentType;
  if (body.length > 0) readBinaryData(raw, body, contentType, mediaType);
  return checked(validateEvent(raw, ''), errors);
}

/**
 * JSON types (and a missing Content-Type, which the JSON format reads as application/json) become
 * a JSON `data` value; UTF-8 text becomes a string; anything else, including text in another
 * charset or text that is not valid UTF-8, is kept byte for byte in `data_base64`.
 */
function readBinaryData(
  raw: Record<string, unknown>,
  body: Buffer,
  contentType: string | undefined,
  mediaType: MediaType | undefined,
): void {
  if (contentType === undefined || (mediaType !== undefined && isJsonMediaType(mediaType))) {
    if (mediaType !== undefined) requireUtf8(mediaType);
    raw.data = parseJsonText(decodeUtf8(body), `${BODY} (JSON event data)`, '/data');
    return;
  }
  if (mediaType !== undefined && isTextualMediaType(mediaType) && isUtf8Charset(mediaType)) {
    try {
      raw.data = utf8.decode(body);
      return;
    } catch {
      // Falls through to base64: the bytes are kept exactly even though they are not UTF-8.
    }
  }
  raw.data_base64 = body.toString('base64');
}

/**
 * Encodes an event for an outbound HTTP delivery.
 *
 * - `binary`: attributes and extensions as percent-encoded `ce-*` headers (§3.1.3), Content-Type
 *   from `datacontenttype` (application/json when the data is JSON with none declared), the data
 *   as the body.
 * - `structured`: the JSON event format as the body (§3.2).
 * - `webhook`: `{id, type, source, subject?, timestamp, data}` as application/json; `timestamp` is
 *   the event's `time`, else `receivedAt`. Signing headers are added by the delivery layer.
 *
 * @example encodeEvent(event, 'binary', new Date()).headers['ce-id']
 */
export function encodeEvent(event: CloudEvent, format: DeliveryFormat, receivedAt: Date): EncodedMessage {
  switch (format) {
    case 'binary':
      return encodeBinary(event);
    case 'structured':
      return {
        headers: { 'content-type': `${STRUCTURED_TYPE}; charset=utf-8` },
        body: Buffer.from(JSON.stringify(event)),
      };
    case 'webhook': {
      const payload: Record<string, unknown> = { id: event.id, type: event.type, source: event.source };
      if (event.subject !== undefined) payload.subject = event.subject;
      payload.timestamp = event.time ?? receivedAt.toISOString();
      // A stable shape helps no-code tools map fields, so absent data is sent as null.
      payload.data = event.data_base64 ?? event.data ?? null;
      return { headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(payload)) };
    }
  }
}

/**
 * Encodes several events as one `application/cloudevents-batch+json` request (§3.3): a JSON array
 * of events in the structured format.
 *
 * @example encodeBatch([a, b]).headers['content-type'] // 'application/cloudevents-batch+json; charset=utf-8'
 */
export function encodeBatch(events: CloudEvent[]): EncodedMessage {
  return {
    headers: { 'content-type': `${BATCH_TYPE}; charset=utf-8` },
    body: Buffer.from(JSON.stringify(events)),
  };
}

function encodeBinary(event: CloudEvent): EncodedMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event)) {
    if (value === undefined || value === null) continue;
    if (name === 'data' || name === 'data_base64' || name === 'datacontenttype') continue;
    headers[`ce-${name}`] = encodeHeaderValue(typeof value === 'string' ? value : JSON.stringify(value));
  }
  const declared = event.datacontenttype;
  if (event.data_base64 !== undefined) {
    headers['content-type'] = declared ?? 'application/octet-stream';
    return { headers, body: Buffer.from(event.data_base64, 'base64') };
  }
  if (event.data === undefined) {
    if (declared !== undefined) headers['content-type'] = declared;
    return { headers, body: Buffer.alloc(0) };
  }
  // The JSON format (§3.1.2) reads a missing datacontenttype as application/json and asks that
  // re-encoding in another binding states it explicitly.
  headers['content-type'] = declared ?? 'application/json';
  const mediaType = declared === undefined ? undefined : parseMediaType(declared);
  const asJson = mediaType === undefined || isJsonMediaType(mediaType) || typeof event.data !== 'string';
  return { headers, body: Buffer.from(asJson ? JSON.stringify(event.data) : (event.data as string)) };
}

function singleHeader(headers: IngestHeaders, name: string): string | undefined {
  const value = headers[name];
  if (!Array.isArray(value)) return value;
  if (value.length > 1)
    throw new MalformedRequestError(`the ${name} header appears more than once; send it once`);
  return value[0];
}

function decodeHeader(name: string, value: string): string {
  try {
    return decodeHeaderValue(value);
  } catch (error) {
    if (!(error instanceof HeaderDecodingError)) throw error;
    throw new MalformedRequestError(
      `the ${name} header is not valid: ${error.message}; percent-encode the UTF-8 bytes of space, ", % and non-ASCII characters as %XX`,
      { cause: error },
    );
  }
}

function decodeUtf8(body: Buffer): string {
  try {
    // A leading BOM is dropped, which RFC 8259 §8.1 allows a parser to do.
    return utf8.decode(body);
  } catch (error) {
    throw new MalformedRequestError(
      `${BODY} is not valid UTF-8; JSON must be sent as UTF-8 (RFC 8259 §8.1)`,
      {
        cause: error,
      },
    );
  }
}

function requireUtf8(mediaType: MediaType): void {
  if (!isUtf8Charset(mediaType)) {
    throw new UnsupportedMediaTypeError(
      `charset=${mediaType.params.charset} is not supported for ${mediaType.essence}; send JSON as UTF-8 (charset=utf-8 or no charset)`,
    );
  }
}

function tooLargeEvent(limit: number): string {
  return `an event may be at most ${limit} bytes (maxEventBytes)`;
}

/** Turns a validation result into an event, merging in problems found before validation. */
function checked(result: ReturnType<typeof validateEvent>, earlier: FieldError[]): CloudEvent {
  if (result.event !== undefined && earlier.length === 0) return result.event;
  throw invalid([...earlier, ...result.errors]);
}

function invalid(errors: FieldError[]): ValidationError {
  const [first] = errors;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return new ValidationError(`the event is invalid: ${first?.pointer || '/'} ${first?.message}${more}`, {
    errors,
  });
}
