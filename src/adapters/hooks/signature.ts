/**
 * Signature checks for signed hooks: a plain HMAC in a header (GitHub, Shopify, Slack and most
 * others), Stripe's `t=…,v1=…`, Standard Webhooks, and Airtable's `X-Airtable-Content-MAC`.
 * Every comparison is made in constant time, and a header may carry several signatures (a sender
 * rotating its secret signs with both): any one that matches will do.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { HookSigning } from '../../storage/ports.js';
import { SignatureError } from './errors.js';

export type RequestHeaders = Record<string, string | string[] | undefined>;

/** A header's value; a repeated header counts as absent, since a sender sends its signature once. */
export function headerValue(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return typeof value === 'string' ? value : undefined;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function hmac(algorithm: string, key: string | Buffer, parts: (string | Buffer)[]): Buffer {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/**
 * Reads a Unix time in seconds (or milliseconds, which some senders use: any value past 10^11 is
 * taken as such) and refuses one further than `toleranceSeconds` from `now` either way.
 */
function checkTimestamp(
  text: string | undefined,
  where: string,
  toleranceSeconds: number,
  now: number,
): number {
  if (text === undefined || !/^\d{1,16}$/.test(text.trim())) {
    throw new SignatureError(
      'missing-timestamp',
      `${where} must hold the Unix time the request was signed at`,
    );
  }
  const raw = Number(text.trim());
  const seconds = raw > 1e11 ? Math.floor(raw / 1000) : raw;
  const skew = Math.abs(now / 1000 - seconds);
  if (skew > toleranceSeconds) {
    throw new SignatureError(
      'stale-timestamp',
      `the timestamp in ${where} is ${Math.round(skew)} s from the hub's clock, outside the tolerance of ${toleranceSeconds} s; a replayed or delayed request is refused`,
    );
  }
  return raw;
}

function noMatch(where: string): SignatureError {
  return new SignatureError(
    'bad-signature',
    `the signature in ${where} does not match the body; check the hook's signing secret, algorithm and encoding`,
  );
}

/** `hmac`: the signature, after its prefix, of the payload template filled with the timestamp and body. */
function verifyHmac(s: HookSigning, headers: RequestHeaders, body: Buffer, now: number): void {
  const given = headerValue(headers, s.header);
  if (given === undefined || given.trim() === '') {
    throw new SignatureError(
      'missing-signature',
      `the ${s.header} header with the request's signature is missing`,
    );
  }
  let timestamp = '';
  if (s.timestampHeader !== null) {
    timestamp = headerValue(headers, s.timestampHeader) ?? '';
    checkTimestamp(
      headerValue(headers, s.timestampHeader),
      `the ${s.timestampHeader} header`,
      s.toleranceSeconds,
      now,
    );
  }
  const [before, after = ''] = s.payload.split('{body}');
  const fill = (text: string | undefined) => (text ?? '').replaceAll('{timestamp}', timestamp.trim());
  const digest = hmac(s.algorithm, s.secret, [fill(before), body, fill(after)]).toString(s.encoding);
  const candidates = given.split(/[\s,]+/).filter((c) => c !== '');
  if (!candidates.some((c) => c.startsWith(s.prefix) && sameText(c.slice(s.prefix.length), digest))) {
    throw noMatch(`the ${s.header} header`);
  }
}

/** Stripe: `t=<unix>,v1=<hex>[,v1=…]`, the HMAC-SHA256 of `<t>.<body>`. */
function verifyStripe(s: HookSigning, headers: RequestHeaders, body: Buffer, now: number): void {
  const given = headerValue(headers, s.header);
  if (given === undefined) {
    throw new SignatureError(
      'missing-signature',
      `the ${s.header} header with the request's signature is missing`,
    );
  }
  const pairs = given.split(',').map((p) => p.trim().split('='));
  const t = pairs.find(([k]) => k === 't')?.[1];
  checkTimestamp(t, `t= of the ${s.header} header`, s.toleranceSeconds, now);
  const digest = hmac('sha256', s.secret, [`${t}.`, body]).toString('hex');
  const signatures = pairs.filter(([k]) => k === 'v1').map(([, v]) => v ?? '');
  if (!signatures.some((v) => sameText(v, digest))) throw noMatch(`the ${s.header} header`);
}

/** Standard Webhooks: the library computes the signature; the tolerance is the hook's own. */
function verifyStandard(s: HookSigning, headers: RequestHeaders, body: Buffer, now: number): void {
  const id = headerValue(headers, 'webhook-id');
  const given = headerValue(headers, 'webhook-signature');
  if (id === undefined || given === undefined) {
    throw new SignatureError(
      'missing-signature',
      'the webhook-id and webhook-signature headers are required',
    );
  }
  const raw = checkTimestamp(
    headerValue(headers, 'webhook-timestamp'),
    'the webhook-timestamp header',
    s.toleranceSeconds,
    now,
  );
  const expected = new Webhook(s.secret).sign(id, new Date(raw * 1000), body);
  if (!given.split(' ').some((g) => sameText(g, expected))) throw noMatch('the webhook-signature header');
}

/**
 * Checks a signed hook's request.
 *
 * @throws SignatureError with the reason: no signature, no or stale timestamp, or no match.
 * @example
 * verifySignature(hook.signing, request.headers, rawBody, Date.now());
 */
export function verifySignature(
  signing: HookSigning,
  headers: RequestHeaders,
  body: Buffer,
  now: number,
): void {
  if (signing.scheme === 'stripe') verifyStripe(signing, headers, body, now);
  else if (signing.scheme === 'standard-webhooks') verifyStandard(signing, headers, body, now);
  else verifyHmac(signing, headers, body, now);
}

/** The header Airtable signs its notifications in. */
export const AIRTABLE_MAC_HEADER = 'x-airtable-content-mac';

/**
 * Checks Airtable's `X-Airtable-Content-MAC: hmac-sha256=<mac>`, the HMAC-SHA256 of the body keyed
 * with the base64-decoded `macSecretBase64`. Airtable documents the MAC in hex; base64 is taken too,
 * as the same MAC in another spelling.
 *
 * @throws SignatureError when the header is missing or does not match.
 */
export function verifyAirtableMac(macSecretBase64: string, headers: RequestHeaders, body: Buffer): void {
  const given = headerValue(headers, AIRTABLE_MAC_HEADER);
  if (given === undefined || !given.startsWith('hmac-sha256=')) {
    throw new SignatureError(
      'missing-signature',
      'the X-Airtable-Content-MAC header (hmac-sha256=…) is missing',
    );
  }
  const mac = hmac('sha256', Buffer.from(macSecretBase64, 'base64'), [body]);
  const value = given.slice('hmac-sha256='.length).trim();
  if (!sameText(value, mac.toString('hex')) && !sameText(value, mac.toString('base64'))) {
    throw noMatch('the X-Airtable-Content-MAC header');
  }
}
