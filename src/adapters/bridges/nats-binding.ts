/**
 * The CloudEvents NATS protocol binding (1.0.3): in binary mode every attribute, `datacontenttype`
 * included, is a header named `ce-<name>` whose value is percent-encoded as in the HTTP binding; a
 * `Content-Type` of `application/cloudevents…` means structured mode, and a message without headers
 * (a server before 2.2, a plain publisher) is structured too. Header names are case-insensitive.
 */
import { MalformedRequestError } from '../../core/errors.js';
import { decodeHeaderValue, encodeHeaderValue, HeaderDecodingError } from '../../core/percent-encoding.js';
import type { BoundMessage, OutboundMessage } from './message.js';

/** Headers as name and values, which is how the NATS client iterates them. */
export type NatsHeaderList = Iterable<[string, string[]]>;

/**
 * Reduces a received NATS message to a bound message.
 *
 * @throws MalformedRequestError when a `ce-` header repeats or is not valid percent-encoding.
 * @example natsToMessage([['ce-id', ['1']], ['ce-specversion', ['1.0']]], payload).attributes.id // '1'
 */
export function natsToMessage(headers: NatsHeaderList | undefined, payload: Buffer): BoundMessage {
  const attributes: Record<string, string> = {};
  let contentType: string | undefined;
  for (const [key, values] of headers ?? []) {
    const name = key.toLowerCase();
    if (name !== 'content-type' && !name.startsWith('ce-')) continue;
    if (values.length !== 1)
      throw new MalformedRequestError(`the ${name} header appears ${values.length} times; send it once`);
    if (name === 'content-type') contentType = values[0];
    else attributes[name.slice(3)] = decodeValue(name, values[0]!);
  }
  // The binding carries the data's media type as ce-datacontenttype; the reader wants it as the
  // content type, as in HTTP.
  const declared = attributes.datacontenttype;
  if (declared !== undefined) {
    delete attributes.datacontenttype;
    contentType = declared;
  }
  return { attributes, contentType, body: payload };
}

/**
 * Writes an outbound delivery as NATS headers and a payload: `ce-*` headers in binary mode
 * (`ce-datacontenttype` for the data's type), `Content-Type` otherwise, and the metadata.
 *
 * @example messageToNats(fromHttpForm(headers, body)).headers
 */
export function messageToNats(message: OutboundMessage): { headers: [string, string][]; payload: Buffer } {
  const headers: [string, string][] = [];
  const binary = Object.keys(message.attributes).length > 0;
  for (const [name, value] of Object.entries(message.attributes)) {
    headers.push([`ce-${name}`, encodeHeaderValue(value)]);
  }
  if (message.contentType !== undefined) {
    headers.push(
      binary
        ? ['ce-datacontenttype', encodeHeaderValue(message.contentType)]
        : ['content-type', message.contentType],
    );
  }
  for (const [name, value] of Object.entries(message.meta)) headers.push([name, value]);
  return { headers, payload: message.body };
}

/**
 * Undoes RFC 7230 quoting, which older producers may use (the binding asks receivers to accept it),
 * then one round of percent-decoding.
 */
function decodeValue(name: string, raw: string): string {
  const value =
    raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')
      ? raw.slice(1, -1).replace(/\\(.)/g, '$1')
      : raw;
  try {
    return decodeHeaderValue(value);
  } catch (error) {
    if (!(error instanceof HeaderDecodingError)) throw error;
    throw new MalformedRequestError(`the ${name} header is not valid: ${error.message}`, { cause: error });
  }
}
