/**
 * Reads a hook request's body in whatever form a no-code tool sends it: JSON, an HTML form
 * (`application/x-www-form-urlencoded`), `multipart/form-data`, or plain text. Multipart is parsed
 * by undici's `Response.formData()` (the fetch implementation Node ships), not by hand.
 */
import { TextDecoder } from 'node:util';
import { MalformedRequestError, UnsupportedMediaTypeError } from '../../core/errors.js';
import { parseJsonText } from '../../core/json-text.js';
import { isJsonMediaType, parseMediaType } from '../../core/media-type.js';

/** What a body was sent as, and what it holds: a JSON value, a form's fields, or text. */
export interface ParsedBody {
  kind: 'json' | 'form' | 'multipart' | 'text' | 'empty';
  value: unknown;
}

/** Named in every 415, so the sender knows what to switch to. */
export const ACCEPTED_TYPES =
  'application/json (or any +json type), application/x-www-form-urlencoded, multipart/form-data or text/plain (any text/*)';

const WHAT = 'the request body';

function decode(body: Buffer, charset = 'utf-8'): string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset, { fatal: true });
  } catch {
    throw new UnsupportedMediaTypeError(`charset ${charset} is not supported; send UTF-8`);
  }
  try {
    return decoder.decode(body);
  } catch {
    throw new MalformedRequestError(`${WHAT} is not valid ${charset}`);
  }
}

/** A field given more than once becomes an array of its values, in the order sent. */
function addField(into: Record<string, unknown>, name: string, value: unknown): void {
  if (!Object.hasOwn(into, name)) {
    into[name] = value;
    return;
  }
  const present = into[name];
  into[name] = Array.isArray(present) ? [...present, value] : [present, value];
}

function parseForm(text: string): Record<string, unknown> {
  // A null prototype: a field named __proto__ is then just a field.
  const fields: Record<string, unknown> = Object.create(null);
  for (const [name, value] of new URLSearchParams(text)) addField(fields, name, value);
  return { ...fields };
}

/** Fields as text; a file as its name, type, size and content in base64. */
async function parseMultipart(body: Buffer, contentType: string): Promise<Record<string, unknown>> {
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch (error) {
    throw new MalformedRequestError(`${WHAT} is not valid multipart/form-data: ${(error as Error).message}`);
  }
  const fields: Record<string, unknown> = Object.create(null);
  for (const [name, value] of form) {
    if (typeof value === 'string') addField(fields, name, value);
    else {
      addField(fields, name, {
        filename: value.name,
        contentType: value.type || 'application/octet-stream',
        size: value.size,
        base64: Buffer.from(await value.arrayBuffer()).toString('base64'),
      });
    }
  }
  return { ...fields };
}

/**
 * Parses a body by its Content-Type. Without one, a body that parses as JSON is JSON and any other
 * is text: some tools leave the header out, and refusing them would help nobody.
 *
 * @throws UnsupportedMediaTypeError (415) naming the accepted types; MalformedRequestError (400)
 *   for bad JSON, bad UTF-8 or a broken multipart body.
 * @example
 * await parseHookBody(Buffer.from('a=1&a=2'), 'application/x-www-form-urlencoded'); // { kind: 'form', value: { a: ['1', '2'] } }
 */
export async function parseHookBody(body: Buffer, contentType: string | undefined): Promise<ParsedBody> {
  if (contentType === undefined || contentType.trim() === '') {
    if (body.length === 0) return { kind: 'empty', value: null };
    const text = decode(body);
    try {
      return { kind: 'json', value: parseJsonText(text, WHAT) };
    } catch {
      return { kind: 'text', value: text };
    }
  }
  const type = parseMediaType(contentType);
  if (type === undefined) {
    throw new UnsupportedMediaTypeError(
      `Content-Type ${contentType} is not a media type; send ${ACCEPTED_TYPES}`,
    );
  }
  if (isJsonMediaType(type)) {
    if (body.length === 0) return { kind: 'empty', value: null };
    return { kind: 'json', value: parseJsonText(decode(body, type.params.charset), WHAT) };
  }
  if (type.essence === 'application/x-www-form-urlencoded') {
    return { kind: 'form', value: parseForm(decode(body, type.params.charset)) };
  }
  if (type.essence === 'multipart/form-data') {
    return { kind: 'multipart', value: await parseMultipart(body, contentType) };
  }
  if (type.type === 'text') {
    return {
      kind: body.length === 0 ? 'empty' : 'text',
      value: body.length === 0 ? null : decode(body, type.params.charset),
    };
  }
  throw new UnsupportedMediaTypeError(
    `Content-Type ${type.essence} is not taken by hooks; send ${ACCEPTED_TYPES}`,
  );
}
