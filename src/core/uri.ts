/**
 * RFC 3986 syntax checks for the `source` (URI-reference) and `dataschema` (URI) attributes.
 * Written by hand because WHATWG `URL` is deliberately lenient (it accepts spaces, backslashes and
 * bare non-ASCII, and cannot hold a relative reference), while the spec asks for RFC 3986.
 */
import { isIPv6 } from 'node:net';

// Character classes from RFC 3986 §2 and §3; each alternative also allows a `%XX` escape.
const PCT = '%[0-9A-Fa-f]{2}';
const UNRESERVED_SUB_DELIMS = "A-Za-z0-9\\-._~!$&'()*+,;=";
const PCHAR = `(?:[${UNRESERVED_SUB_DELIMS}:@]|${PCT})`;
const PATH = new RegExp(`^(?:${PCHAR}|/)*$`);
const QUERY_OR_FRAGMENT = new RegExp(`^(?:${PCHAR}|[/?])*$`);
const USERINFO = new RegExp(`^(?:[${UNRESERVED_SUB_DELIMS}:]|${PCT})*$`);
const REG_NAME = new RegExp(`^(?:[${UNRESERVED_SUB_DELIMS}]|${PCT})*$`);
const IP_FUTURE = new RegExp(`^v[0-9A-Fa-f]+\\.[${UNRESERVED_SUB_DELIMS}:]+$`);
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/** The parts of a reference that callers branch on. */
export interface UriReference {
  /** Present for an absolute URI (RFC 3986 §3), absent for a relative reference (§4.2). */
  scheme: string | undefined;
}

/**
 * Parses a URI-reference (RFC 3986 §4.1); undefined when the text breaks the grammar, for
 * example on whitespace, control or non-ASCII characters, or a `%` not followed by two hex digits.
 *
 * @example parseUriReference('/orders/42')?.scheme // undefined (relative)
 */
export function parseUriReference(text: string): UriReference | undefined {
  let rest = text;
  const hash = rest.indexOf('#');
  if (hash !== -1) {
    if (!QUERY_OR_FRAGMENT.test(rest.slice(hash + 1))) return undefined;
    rest = rest.slice(0, hash);
  }
  const question = rest.indexOf('?');
  if (question !== -1) {
    if (!QUERY_OR_FRAGMENT.test(rest.slice(question + 1))) return undefined;
    rest = rest.slice(0, question);
  }
  const scheme = SCHEME.exec(rest)?.[1];
  if (scheme !== undefined) rest = rest.slice(scheme.length + 1);
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    const authority = slash === -1 ? rest.slice(2) : rest.slice(2, slash);
    if (!isAuthority(authority)) return undefined;
    rest = slash === -1 ? '' : rest.slice(slash);
  } else if (scheme === undefined) {
    // path-noscheme: a colon in the first segment would have made it a scheme (§4.2).
    const slash = rest.indexOf('/');
    if ((slash === -1 ? rest : rest.slice(0, slash)).includes(':')) return undefined;
  }
  return PATH.test(rest) ? { scheme } : undefined;
}

/** Whether the text is an absolute URI: a URI-reference with a scheme. */
export function isAbsoluteUri(text: string): boolean {
  return parseUriReference(text)?.scheme !== undefined;
}

/** authority = [ userinfo "@" ] host [ ":" port ] (§3.2). */
function isAuthority(authority: string): boolean {
  let hostPort = authority;
  const at = authority.indexOf('@');
  if (at !== -1) {
    if (!USERINFO.test(authority.slice(0, at))) return false;
    hostPort = authority.slice(at + 1);
  }
  let port: string;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close === -1) return false;
    const literal = hostPort.slice(1, close);
    // Node's isIPv6 accepts a zone id (`%eth0`), which RFC 3986 has no syntax for.
    if (!(isIPv6(literal) && !literal.includes('%')) && !IP_FUTURE.test(literal)) return false;
    port = hostPort.slice(close + 1);
    if (port !== '' && !port.startsWith(':')) return false;
    port = port.slice(1);
  } else {
    const colon = hostPort.indexOf(':');
    const host = colon === -1 ? hostPort : hostPort.slice(0, colon);
    if (!REG_NAME.test(host)) return false;
    port = colon === -1 ? '' : hostPort.slice(colon + 1);
  }
  return /^[0-9]*$/.test(port);
}
