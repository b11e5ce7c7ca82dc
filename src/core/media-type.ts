/**
 * Media type syntax (RFC 2046 names, RFC 9110 §8.3.1 grammar). Written by hand: the binding only
 * needs to split a Content-Type into type, subtype and parameters, and the common libraries either
 * reject the empty parameters RFC 9110 allows or accept tokens it forbids.
 */

/** A parsed media type; names are lower-cased because RFC 9110 makes them case-insensitive. */
export interface MediaType {
  type: string;
  subtype: string;
  /** `type/subtype` without parameters. */
  essence: string;
  /** The structured syntax suffix (RFC 6838 §4.2.8), e.g. `json` for `application/ld+json`. */
  suffix: string | undefined;
  /** Parameter names lower-cased; values unquoted but otherwise as sent. */
  params: Record<string, string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parses `type/subtype *( OWS ";" OWS [ name=value ] )`; returns undefined when the text breaks the
 * grammar.
 *
 * @example parseMediaType('text/plain; charset="utf-8"')?.params.charset // 'utf-8'
 */
export function parseMediaType(text: string): MediaType | undefined {
  const semicolon = text.indexOf(';');
  const head = (semicolon === -1 ? text : text.slice(0, semicolon)).trim();
  const slash = head.indexOf('/');
  if (slash === -1) return undefined;
  const type = head.slice(0, slash).toLowerCase();
  const subtype = head.slice(slash + 1).toLowerCase();
  if (!TOKEN.test(type) || !TOKEN.test(subtype)) return undefined;
  const params: Record<string, string> = Object.create(null);
  if (semicolon !== -1 && !parseParameters(text, semicolon, params)) return undefined;
  const plus = subtype.lastIndexOf('+');
  return {
    type,
    subtype,
    essence: `${type}/${subtype}`,
    suffix: plus === -1 ? undefined : subtype.slice(plus + 1),
    params,
  };
}

/** Reads parameters starting at the `;` at `start` into `params`; false on a syntax error. */
function parseParameters(text: string, start: number, params: Record<string, string>): boolean {
  let i = start;
  while (i < text.length) {
    // At a ';'. RFC 9110 allows empty parameters (`text/plain;`), so skip repeated separators.
    i = skipSpace(text, i + 1);
    if (i >= text.length) return true;
    if (text[i] === ';') continue;
    const nameStart = i;
    while (i < text.length && TOKEN_CHAR.test(text[i]!)) i++;
    const name = text.slice(nameStart, i).toLowerCase();
    if (name === '' || text[i] !== '=') return false;
    i++;
    let value = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const char = text[i];
        if (char === undefined) return false;
        if (char === '"') break;
        if (char === '\\') {
          const escaped = text[i + 1];
          if (escaped === undefined || !isQuotedTextChar(escaped)) return false;
          value += escaped;
          i += 2;
        } else {
          if (!isQuotedTextChar(char)) return false;
          value += char;
          i++;
        }
      }
      i++;
    } else {
      const valueStart = i;
      while (i < text.length && TOKEN_CHAR.test(text[i]!)) i++;
      value = text.slice(valueStart, i);
      if (value === '') return false;
    }
    params[name] = value;
    i = skipSpace(text, i);
    if (i < text.length && text[i] !== ';') return false;
  }
  return true;
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (text[i] === ' ' || text[i] === '\t') i++;
  return i;
}

/** qdtext: HTAB, SP, visible ASCII except `"` and `\`, and obs-text (0x80-0xFF). */
function isQuotedTextChar(char: string): boolean {
  const code = char.charCodeAt(0);
  return code === 0x09 || (code >= 0x20 && code <= 0xff && code !== 0x7f);
}

/**
 * Whether the type declares JSON content: per the JSON event format §3.1.1 that is `*\/json` or
 * `*\/*+json`.
 */
export function isJsonMediaType(mediaType: MediaType): boolean {
  return mediaType.subtype === 'json' || mediaType.suffix === 'json';
}

const TEXTUAL_ESSENCES = new Set([
  'application/xml',
  'application/javascript',
  'application/ecmascript',
  'application/x-www-form-urlencoded',
  'application/yaml',
  'application/x-yaml',
  'application/graphql',
  'application/sql',
]);

/** Whether a payload of this type is text, kept as a string rather than as base64 bytes. */
export function isTextualMediaType(mediaType: MediaType): boolean {
  return mediaType.type === 'text' || mediaType.suffix === 'xml' || TEXTUAL_ESSENCES.has(mediaType.essence);
}

/** Whether the charset parameter, if any, names UTF-8 (or its subset US-ASCII). */
export function isUtf8Charset(mediaType: MediaType): boolean {
  const charset = mediaType.params.charset?.toLowerCase();
  return charset === undefined || charset === 'utf-8' || charset === 'utf8' || charset === 'us-ascii';
}
