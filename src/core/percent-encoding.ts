/**
 * Percent-encoding of `ce-*` header values, HTTP protocol binding 1.0.2 §3.1.3.2. The binding is
 * narrower than `encodeURIComponent` (it keeps every printable ASCII character except space, `"`
 * and `%`), so it is written here rather than borrowed.
 */

const HEX = '0123456789ABCDEF';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Encodes a string attribute value for an HTTP header: UTF-8 bytes, with space, `"`, `%` and every
 * byte outside printable ASCII (U+0021-U+007E) written as `%XX`.
 *
 * @example encodeHeaderValue('café 50%') // 'caf%C3%A9%2050%25'
 */
export function encodeHeaderValue(value: string): string {
  let out = '';
  for (const byte of encoder.encode(value)) {
    if (byte >= 0x21 && byte <= 0x7e && byte !== 0x22 && byte !== 0x25) {
      out += String.fromCharCode(byte);
    } else {
      out += `%${HEX[byte >> 4]}${HEX[byte & 0x0f]}`;
    }
  }
  return out;
}

/** Why a header value could not be decoded; the caller names the header. */
export class HeaderDecodingError extends Error {
  override readonly name = 'HeaderDecodingError';
}

/**
 * Decodes a header value: `%XX` escapes become bytes and the bytes must be valid UTF-8 (the binding
 * requires rejecting invalid sequences such as the overlong `%C0%A0`). Unnecessary escapes are
 * accepted, as the binding requires.
 *
 * Node's HTTP parser hands header values over as latin1, one character per byte, so any character
 * up to U+00FF that arrives unescaped is taken as the byte it was on the wire. Producers that send
 * raw UTF-8 (which the binding forbids, but curl makes easy) are therefore still read correctly.
 * A character above U+00FF cannot have come off the wire and is rejected.
 *
 * @throws HeaderDecodingError on a bad escape, a non-byte character or invalid UTF-8.
 */
export function decodeHeaderValue(value: string): string {
  // Fast path: printable ASCII without escapes decodes to itself.
  if (/^[\x20-\x24\x26-\x7e]*$/.test(value)) return value;
  const bytes = new Uint8Array(value.length);
  let length = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0x25) {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
        throw new HeaderDecodingError(`"%${hex}" at offset ${i} is not a valid percent escape (use %XX)`);
      }
      bytes[length++] = Number.parseInt(hex, 16);
      i += 2;
    } else if (code <= 0xff) {
      bytes[length++] = code;
    } else {
      throw new HeaderDecodingError(
        `character U+${code.toString(16).toUpperCase()} cannot appear in a header`,
      );
    }
  }
  try {
    return utf8.decode(bytes.subarray(0, length));
  } catch {
    throw new HeaderDecodingError('the percent-decoded bytes are not valid UTF-8');
  }
}
