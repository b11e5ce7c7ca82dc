/**
 * Turns a hook request into a CloudEvent: the type, id, subject and partition key from the fields
 * and headers the hook names, the data from its JSONata mapping (or the body as it came), and the
 * hook's source. What cannot be mapped is refused with 422 naming the field, before anything is
 * stored.
 */
import { createHash } from 'node:crypto';
import { BudgetExceededError, compiledExpression, evaluateWithin } from '../../contracts/jsonata-budget.js';
import { validateEvent } from '../../core/envelope.js';
import { PayloadTooLargeError } from '../../core/errors.js';
import type { CloudEvent } from '../../core/event.js';
import type { Hook } from '../../storage/ports.js';
import { UnmappableBodyError } from './errors.js';
import { parseFieldPath, pointerOf, readField } from './paths.js';
import { IDEMPOTENCY_HEADERS, PRESETS } from './presets.js';
import type { ParsedBody } from './request-body.js';
import { headerValue, type RequestHeaders } from './signature.js';

/** A hook request as the mapping reads it. */
export interface HookRequest {
  headers: RequestHeaders;
  /** The query string's parameters, the secret left out. */
  query: Record<string, string>;
  body: Buffer;
  parsed: ParsedBody;
}

/** W3C Trace Context `traceparent`, version 00: carried over so a trace goes on through the hub. */
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Where a header is named in a 422: not in the body, so under a `/headers` pseudo-pointer. */
const headerPointer = (name: string) => `/headers/${name.toLowerCase()}`;

/**
 * A field's value as an attribute: a non-empty string, or a number written out (ids and keys are
 * often numbers in no-code tools). Undefined when absent; anything else is refused.
 */
function attributeAt(input: unknown, path: string, setting: string): string | undefined {
  const keys = parseFieldPath(path) ?? [];
  const value = readField(input, keys);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw UnmappableBodyError.field(
    pointerOf(keys),
    `${setting} ${path} must hold a non-empty string or a number, not ${Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : JSON.stringify(value)}`,
  );
}

function required(input: unknown, path: string, setting: string): string {
  const value = attributeAt(input, path, setting);
  if (value === undefined) {
    const pointer = pointerOf(parseFieldPath(path) ?? []);
    throw UnmappableBodyError.field(
      pointer,
      `${setting} ${path} is missing from the body (looked for ${pointer})`,
    );
  }
  return value;
}

function typeOf(hook: Hook, input: unknown, headers: RequestHeaders): string {
  let read: string | undefined;
  if (hook.typeField !== null) read = attributeAt(input, hook.typeField, 'typeField');
  else if (hook.typeHeader !== null) read = headerValue(headers, hook.typeHeader) || undefined;
  if (read !== undefined) return hook.typePrefix + read;
  if (hook.type !== null) return hook.type;
  if (hook.typeField !== null) return required(input, hook.typeField, 'typeField');
  const name = hook.typeHeader ?? '';
  throw UnmappableBodyError.field(headerPointer(name), `the ${name} header with the event type is missing`);
}

/**
 * The event id: the named field, the named header, a sender's own delivery id, or else a hash of
 * the hook and the request. The hash makes a blind retry (the same request sent again because no
 * answer came) a duplicate, which is what a tool that retries blindly needs.
 */
function idOf(hook: Hook, input: unknown, request: HookRequest): string {
  if (hook.idField !== null) return required(input, hook.idField, 'idField');
  if (hook.idHeader !== null) {
    const value = headerValue(request.headers, hook.idHeader);
    if (!value) {
      throw UnmappableBodyError.field(
        headerPointer(hook.idHeader),
        `the ${hook.idHeader} header with the event id is missing`,
      );
    }
    return value;
  }
  for (const name of IDEMPOTENCY_HEADERS) {
    const value = headerValue(request.headers, name);
    if (value) return value;
  }
  const hash = createHash('sha256').update(`${hook.id}\n`);
  const query = Object.entries(request.query).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  hash.update(`${JSON.stringify(query)}\n`);
  // A multipart body's boundary is new on every send, retries included: hash what it holds.
  hash.update(request.parsed.kind === 'multipart' ? JSON.stringify(request.parsed.value) : request.body);
  return hash.digest('hex');
}

async function dataOf(hook: Hook, input: unknown, request: HookRequest): Promise<unknown> {
  if (hook.mapping === null) return input;
  let result: unknown;
  try {
    result = await evaluateWithin(compiledExpression(hook.mapping, '/mapping'), input, {
      headers: request.headers,
      query: request.query,
      hook: { id: hook.id, name: hook.name, preset: hook.preset },
    });
  } catch (error) {
    const why =
      error instanceof BudgetExceededError ? error.message : ((error as Error).message ?? String(error));
    throw UnmappableBodyError.field('', `the hook's mapping failed on this body: ${why}`);
  }
  if (result === undefined) {
    throw UnmappableBodyError.field(
      '',
      "the hook's mapping produced nothing from this body; check the fields it reads",
    );
  }
  // A JSON round trip leaves plain data; a function in the result fails here.
  const json = JSON.stringify(result);
  if (json === undefined) throw UnmappableBodyError.field('', "the hook's mapping produced no JSON value");
  return JSON.parse(json) as unknown;
}

/**
 * Maps a request to the hook's CloudEvent, at most `maxEventBytes` as JSON.
 *
 * @throws UnmappableBodyError (422) naming the field that is missing or of the wrong type, or the
 *   mapping's failure; PayloadTooLargeError (413) for an event over `maxEventBytes`.
 * @example
 * const event = await mapToEvent(hook, { headers, query: {}, body, parsed }, new Date(), 1_048_576);
 */
export async function mapToEvent(
  hook: Hook,
  request: HookRequest,
  now: Date,
  maxEventBytes: number,
): Promise<CloudEvent> {
  const shape = PRESETS[hook.preset].shape;
  const input = shape ? shape(request.parsed, request.query) : request.parsed.value;
  const event: CloudEvent = {
    specversion: '1.0',
    id: idOf(hook, input, request),
    source: hook.source,
    type: typeOf(hook, input, request.headers),
    time: now.toISOString(),
    hookid: hook.id,
  };
  if (hook.subjectField !== null) {
    const subject = attributeAt(input, hook.subjectField, 'subjectField');
    if (subject !== undefined) event.subject = subject;
  }
  if (hook.partitionKeyField !== null)
    event.partitionkey = required(input, hook.partitionKeyField, 'partitionKeyField');
  const traceparent = headerValue(request.headers, 'traceparent');
  if (traceparent !== undefined && TRACEPARENT.test(traceparent)) event.traceparent = traceparent;
  const data = await dataOf(hook, input, request);
  if (data !== null || hook.mapping !== null) {
    const text = hook.mapping === null && request.parsed.kind === 'text';
    event.datacontenttype = text ? 'text/plain' : 'application/json';
    event.data = data;
  }
  const checked = validateEvent(event, '');
  if (checked.event === undefined) {
    throw new UnmappableBodyError('the mapped event is not a valid CloudEvent', { errors: checked.errors });
  }
  const size = Buffer.byteLength(JSON.stringify(checked.event));
  if (size > maxEventBytes) {
    throw new PayloadTooLargeError(
      `the event made from this body is ${size} bytes; events may be at most ${maxEventBytes} bytes (maxEventBytes): raise maxEventBytes, or give the hook a mapping that keeps only what is needed`,
    );
  }
  return checked.event;
}
