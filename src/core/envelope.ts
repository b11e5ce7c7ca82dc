/**
 * Validation of a CloudEvents 1.0.2 event in the JSON format (spec §3 context attributes, JSON
 * event format §2-§3). Every problem is collected, each with a JSON pointer and a message that says
 * what to change, so a producer can fix a whole event (or batch) in one round trip.
 */
import { type FieldError, pointerToken } from './errors.js';
import type { CloudEvent } from './event.js';
import { isJsonMediaType, parseMediaType } from './media-type.js';
import { isRfc3339Timestamp } from './timestamp.js';
import { isAbsoluteUri, parseUriReference } from './uri.js';

/**
 * The longest attribute name the hub accepts. The spec says names SHOULD NOT exceed 20 characters,
 * a recommendation to producers rather than a rule for receivers, so longer names from real
 * producers are taken; the hard ceiling only keeps names sane as header and column names.
 */
export const MAX_ATTRIBUTE_NAME_LENGTH = 50;

const ATTRIBUTE_NAME = /^[a-z0-9]+$/;
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;
// RFC 4648 §4 standard alphabet with padding; line breaks (MIME style) are not part of it.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const REQUIRED = ['specversion', 'id', 'source', 'type'] as const;

export type EventValidation = { event: CloudEvent; errors: [] } | { event: undefined; errors: FieldError[] };

/**
 * Checks one JSON-format event object. `pointer` locates the event in its document: `''` for a
 * single event, `/3` for index 3 of a batch; each error's pointer is `${pointer}/${attribute}`.
 *
 * On success `event` is a copy with `null` attributes removed, because the JSON format (§2.2)
 * says a null attribute MUST be treated as unset. A null `data` is kept: it is an explicit null
 * payload (§3.1.1).
 *
 * @example
 * validateEvent({ specversion: '1.0', id: '1', source: '/shop', type: 'order.created' }, '').errors // []
 */
export function validateEvent(raw: unknown, pointer: string): EventValidation {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {
      event: undefined,
      errors: [{ pointer, message: 'an event must be a JSON object with specversion, id, source and type' }],
    };
  }
  const errors: FieldError[] = [];
  const event: Record<string, unknown> = {};
  const report = (name: string, message: string) =>
    errors.push({ pointer: `${pointer}/${pointerToken(name)}`, message });

  for (const [name, value] of Object.entries(raw)) {
    // An `undefined` member can only come from a caller in JS, never from JSON; it means absent.
    if (value === undefined) continue;
    if (name === 'data') {
      event.data = value;
      continue;
    }
    if (value === null) continue;
    if (name === 'data_base64') {
      if (typeof value !== 'string' || !BASE64.test(value)) {
        report(
          name,
          '`data_base64` must be a standard base64 string (RFC 4648: A-Z a-z 0-9 + /, padded with =)',
        );
      }
    } else if (!ATTRIBUTE_NAME.test(name)) {
      report(name, `attribute names may only use lowercase letters a-z and digits 0-9; rename "${name}"`);
      continue;
    } else if (name.length > MAX_ATTRIBUTE_NAME_LENGTH) {
      report(
        name,
        `attribute names must be at most ${MAX_ATTRIBUTE_NAME_LENGTH} characters (20 recommended)`,
      );
      continue;
    } else {
      const problem = checkAttribute(name, value);
      if (problem !== undefined) report(name, problem);
    }
    event[name] = value;
  }

  for (const name of REQUIRED) {
    if (event[name] === undefined) report(name, `\`${name}\` is required: ${requiredHint(name)}`);
  }
  if ('data' in event && event.data_base64 !== undefined) {
    report(
      'data_base64',
      '`data` and `data_base64` are mutually exclusive: send binary payloads in `data_base64`, others in `data`',
    );
  }
  checkDataMatchesContentType(event, report);

  return errors.length === 0 ? { event: event as CloudEvent, errors: [] } : { event: undefined, errors };
}

/** The problem with one attribute's value, or undefined when it is valid. */
function checkAttribute(name: string, value: unknown): string | undefined {
  switch (name) {
    case 'specversion':
      return value === '1.0'
        ? undefined
        : `\`specversion\` must be "1.0", the CloudEvents version this hub accepts`;
    case 'id':
    case 'type':
    case 'subject':
      if (typeof value !== 'string' || value === '')
        return `\`${name}\` must be a non-empty string: ${requiredHint(name)}`;
      return checkCharacters(name, value);
    case 'source':
      if (typeof value !== 'string' || value === '' || parseUriReference(value) === undefined) {
        return `\`source\` must be a non-empty URI-reference (RFC 3986) such as /orders or https://shop.example.com/orders, with spaces and other special characters percent-encoded`;
      }
      return undefined;
    case 'dataschema':
      if (typeof value !== 'string' || !isAbsoluteUri(value)) {
        return '`dataschema` must be an absolute URI (RFC 3986) such as https://schemas.example.com/order.json';
      }
      return undefined;
    case 'datacontenttype':
      // Visible ASCII only: it becomes the Content-Type header of binary-mode deliveries.
      if (
        typeof value !== 'string' ||
        !/^[\t\x20-\x7e]*$/.test(value) ||
        parseMediaType(value) === undefined
      ) {
        return '`datacontenttype` must be a media type (RFC 2046) in ASCII, such as application/json or text/plain; charset=utf-8';
      }
      return undefined;
    case 'time':
      if (typeof value !== 'string' || !isRfc3339Timestamp(value)) {
        return '`time` must be an RFC 3339 timestamp such as 2024-05-01T12:00:00Z or 2024-05-01T14:00:00.5+02:00';
      }
      return undefined;
    default:
      return checkExtension(name, value);
  }
}

/** Extension values use the spec's type system; in JSON only String, Boolean and Integer fit. */
function checkExtension(name: string, value: unknown): string | undefined {
  if (typeof value === 'boolean') return undefined;
  if (typeof value === 'string') return checkCharacters(name, value);
  if (typeof value === 'number' && Number.isInteger(value)) {
    // The spec's Integer is a signed 32-bit value.
    return value >= INT32_MIN && value <= INT32_MAX
      ? undefined
      : `extension \`${name}\` is outside the integer range ${INT32_MIN}..${INT32_MAX}; send it as a string`;
  }
  return `extension \`${name}\` must be a string, a boolean or an integer; send other values (numbers with fractions, objects, arrays) as strings`;
}

/**
 * The spec's String type (§ Type System) forbids control characters (U+0000-U+001F,
 * U+007F-U+009F), unpaired surrogates and Unicode noncharacters.
 */
function checkCharacters(name: string, value: string): string | undefined {
  if (/^[\x20-\x7e]*$/.test(value)) return undefined;
  for (let i = 0; i < value.length; i++) {
    const code = value.codePointAt(i)!;
    if (code > 0xffff) i++;
    const forbidden =
      code < 0x20 ||
      (code >= 0x7f && code <= 0x9f) ||
      (code >= 0xd800 && code <= 0xdfff) ||
      (code >= 0xfdd0 && code <= 0xfdef) ||
      (code & 0xfffe) === 0xfffe;
    if (forbidden) {
      const hex = code.toString(16).toUpperCase().padStart(4, '0');
      return `\`${name}\` must not contain control characters, unpaired surrogates or Unicode noncharacters; remove U+${hex} at index ${i}`;
    }
  }
  return undefined;
}

/**
 * The JSON format (§3.1.2) lets a receiver refuse non-string `data` under a non-JSON
 * `datacontenttype`; the hub does, because it could not later deliver such data in binary mode
 * without misstating its type.
 */
function checkDataMatchesContentType(
  event: Record<string, unknown>,
  report: (name: string, message: string) => void,
): void {
  if (
    event.data === undefined ||
    typeof event.data === 'string' ||
    typeof event.datacontenttype !== 'string'
  ) {
    return;
  }
  const mediaType = parseMediaType(event.datacontenttype);
  if (mediaType !== undefined && !isJsonMediaType(mediaType)) {
    report(
      'data',
      `\`data\` must be a string because \`datacontenttype\` ${mediaType.essence} is not a JSON type; send binary payloads in \`data_base64\``,
    );
  }
}

function requiredHint(name: string): string {
  switch (name) {
    case 'specversion':
      return 'set it to "1.0"';
    case 'id':
      return 'set it to an identifier unique among events from this source';
    case 'source':
      return 'set it to a URI-reference naming where the event happened, such as /orders';
    case 'type':
      return 'set it to the kind of event, such as com.acme.order.created';
    default:
      return 'omit it when there is no value';
  }
}
