/**
 * Reads a hook as the admin API takes it, checks every field, and fills in the defaults (the
 * preset's among them). Every problem is reported at once, each by its JSON pointer, as
 * `routing/subscription-input.ts` does for subscriptions.
 */
import { Webhook } from 'standardwebhooks';
import { compileExpression } from '../../contracts/jsonata-budget.js';
import { type FieldError, pointerToken, ValidationError } from '../../core/errors.js';
import { parseUriReference } from '../../core/uri.js';
import { HOOK_PRESETS, type Hook, type HookPreset, type HookSigning } from '../../storage/ports.js';
import { MAX_PATH_LENGTH, parseFieldPath } from './paths.js';
import { MAX_HOOK_BODY_BYTES, MIN_HOOK_BODY_BYTES, PRESETS } from './presets.js';

/** The fields a client may set; the id, URL secret and times belong to the hub. */
export type HookInput = Omit<
  Hook,
  | 'id'
  | 'source'
  | 'secretHash'
  | 'previousSecretHash'
  | 'previousSecretExpiresAt'
  | 'createdAt'
  | 'updatedAt'
> & {
  /** Null: `/hooks/{id}`, filled in once the id is known. */
  source: string | null;
};

const SCHEMES = ['hmac', 'stripe', 'standard-webhooks'] as const;
const ALGORITHMS = ['sha1', 'sha256', 'sha512'] as const;
const ENCODINGS = ['hex', 'base64'] as const;
const PATH_FIELDS = ['typeField', 'subjectField', 'partitionKeyField', 'idField'] as const;
const TOP_LEVEL = new Set([
  'id',
  'name',
  'preset',
  'status',
  'type',
  'typeField',
  'typeHeader',
  'typePrefix',
  'source',
  'subjectField',
  'partitionKeyField',
  'idField',
  'idHeader',
  'mapping',
  'signing',
  'macSecret',
  'maxBodyBytes',
]);
const SIGNING_FIELDS = new Set([
  'scheme',
  'secret',
  'header',
  'algorithm',
  'encoding',
  'prefix',
  'timestampHeader',
  'payload',
  'toleranceSeconds',
]);
/** Each scheme's defaults: Stripe and Standard Webhooks fix everything but the secret and tolerance. */
const SCHEME_DEFAULTS: Record<HookSigning['scheme'], Omit<HookSigning, 'scheme' | 'secret'>> = {
  hmac: {
    header: '',
    algorithm: 'sha256',
    encoding: 'hex',
    prefix: '',
    timestampHeader: null,
    payload: '{body}',
    toleranceSeconds: 300,
  },
  stripe: {
    header: 'stripe-signature',
    algorithm: 'sha256',
    encoding: 'hex',
    prefix: '',
    timestampHeader: null,
    payload: '{timestamp}.{body}',
    toleranceSeconds: 300,
  },
  'standard-webhooks': {
    header: 'webhook-signature',
    algorithm: 'sha256',
    encoding: 'base64',
    prefix: 'v1,',
    timestampHeader: 'webhook-timestamp',
    payload: '{id}.{timestamp}.{body}',
    toleranceSeconds: 300,
  },
};
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_TEXT = 1024;
const MAX_TOLERANCE_SECONDS = 86_400;

type Report = (pointer: string, message: string) => void;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A string of 1..MAX_TEXT characters, null when absent or null; reports anything else. */
function text(body: Record<string, unknown>, key: string, err: Report, what: string): string | null {
  const value = body[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value === '' || value.length > MAX_TEXT) {
    err(`/${key}`, `${key} must be ${what}, a non-empty string of at most ${MAX_TEXT} characters, or null`);
    return null;
  }
  return value;
}

function headerName(value: unknown, pointer: string, err: Report): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || !HEADER_NAME.test(value)) {
    err(pointer, 'must be an HTTP header name such as X-Hub-Signature-256');
    return null;
  }
  return value.toLowerCase();
}

function oneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  fallback: T,
  pointer: string,
  err: Report,
): T {
  if (value === undefined) return fallback;
  if (allowed.includes(value as T)) return value as T;
  err(pointer, `must be one of ${allowed.join(', ')}`);
  return fallback;
}

function parseSigning(raw: unknown, err: Report): HookSigning | null {
  if (raw === undefined || raw === null) return null;
  if (!isObject(raw)) {
    err('/signing', 'signing must be an object: {scheme, secret, header, algorithm, encoding, prefix, …}');
    return null;
  }
  for (const key of Object.keys(raw)) {
    if (!SIGNING_FIELDS.has(key)) err(`/signing/${pointerToken(key)}`, `unknown signing field '${key}'`);
  }
  const scheme = oneOf(raw.scheme, SCHEMES, 'hmac', '/signing/scheme', err);
  const d = SCHEME_DEFAULTS[scheme];
  const fixed = scheme !== 'hmac';
  const secret =
    typeof raw.secret === 'string' && raw.secret !== '' && raw.secret.length <= MAX_TEXT ? raw.secret : '';
  if (secret === '') err('/signing/secret', 'secret is required: the shared secret the sender signs with');
  else if (scheme === 'standard-webhooks') {
    try {
      new Webhook(secret);
    } catch {
      err('/signing/secret', 'a Standard Webhooks secret is whsec_ followed by base64');
    }
  }
  for (const key of ['algorithm', 'encoding', 'prefix', 'timestampHeader', 'payload'] as const) {
    if (fixed && raw[key] !== undefined)
      err(`/signing/${key}`, `${key} is fixed by the ${scheme} scheme; leave it out`);
  }
  const header = fixed
    ? (headerName(raw.header, '/signing/header', err) ?? d.header)
    : headerName(raw.header, '/signing/header', err);
  if (!fixed && header === null)
    err('/signing/header', 'header is required: the header that carries the signature');
  const timestampHeader = fixed
    ? d.timestampHeader
    : headerName(raw.timestampHeader, '/signing/timestampHeader', err);
  let payload = d.payload;
  if (!fixed && raw.payload !== undefined) {
    const p = raw.payload;
    if (typeof p !== 'string' || p.split('{body}').length !== 2 || p.length > MAX_TEXT) {
      err(
        '/signing/payload',
        'payload must contain {body} once, as in {timestamp}.{body} or v0:{timestamp}:{body}',
      );
    } else if (p.includes('{timestamp}') && timestampHeader === null) {
      err('/signing/payload', '{timestamp} needs signing.timestampHeader, the header the timestamp comes in');
    } else payload = p;
  }
  let prefix = d.prefix;
  if (!fixed && raw.prefix !== undefined) {
    if (typeof raw.prefix === 'string' && raw.prefix.length <= 64 && !/[\s,]/.test(raw.prefix))
      prefix = raw.prefix;
    else
      err(
        '/signing/prefix',
        'prefix must be a string of at most 64 characters without spaces or commas, such as sha256=',
      );
  }
  let toleranceSeconds = d.toleranceSeconds;
  if (raw.toleranceSeconds !== undefined) {
    const t = raw.toleranceSeconds;
    if (typeof t === 'number' && Number.isInteger(t) && t >= 1 && t <= MAX_TOLERANCE_SECONDS)
      toleranceSeconds = t;
    else
      err(
        '/signing/toleranceSeconds',
        `toleranceSeconds must be a whole number of seconds from 1 to ${MAX_TOLERANCE_SECONDS}`,
      );
  }
  return {
    scheme,
    secret,
    header: header ?? '',
    algorithm: fixed ? d.algorithm : oneOf(raw.algorithm, ALGORITHMS, d.algorithm, '/signing/algorithm', err),
    encoding: fixed ? d.encoding : oneOf(raw.encoding, ENCODINGS, d.encoding, '/signing/encoding', err),
    prefix,
    timestampHeader,
    payload,
    toleranceSeconds,
  };
}

/**
 * Parses a create or replace request; throws one ValidationError naming every bad field.
 *
 * @example
 * parseHookInput({ preset: 'zapier', type: 'com.acme.lead.created', idField: 'lead.id' });
 */
export function parseHookInput(body: unknown): HookInput {
  if (!isObject(body)) throw ValidationError.field('', 'the body must be a JSON object describing the hook');
  const errors: FieldError[] = [];
  const err: Report = (pointer, message) => errors.push({ pointer, message });
  for (const key of Object.keys(body)) {
    if (!TOP_LEVEL.has(key)) err(`/${pointerToken(key)}`, `unknown field '${key}'`);
  }
  const preset: HookPreset = oneOf(body.preset, HOOK_PRESETS, 'generic', '/preset', err);
  const defaults = PRESETS[preset].defaults;
  const status = oneOf(body.status, ['active', 'disabled'] as const, 'active', '/status', err);
  const name = text(body, 'name', err, 'a name');

  const paths: Record<(typeof PATH_FIELDS)[number], string | null> = {
    typeField: null,
    subjectField: defaults.subjectField ?? null,
    partitionKeyField: defaults.partitionKeyField ?? null,
    idField: null,
  };
  for (const key of PATH_FIELDS) {
    const value = body[key];
    if (value === undefined) continue;
    if (value === null) paths[key] = null;
    else if (typeof value === 'string' && parseFieldPath(value) !== undefined) paths[key] = value;
    else {
      err(
        `/${key}`,
        `${key} must be a field path such as order.id or /order/id (at most ${MAX_PATH_LENGTH} characters), or null`,
      );
    }
  }
  const type =
    body.type === undefined ? (defaults.type ?? null) : text(body, 'type', err, 'a CloudEvents type');
  const typeHeader = headerName(body.typeHeader, '/typeHeader', err);
  if (paths.typeField !== null && typeHeader !== null)
    err('/typeHeader', 'give typeField or typeHeader, not both');
  // A typeField given but malformed is already reported; the type would come from it.
  const typeGiven =
    type !== null || typeHeader !== null || (body.typeField !== undefined && body.typeField !== null);
  if (!typeGiven) {
    err(
      '/type',
      'type is required: a fixed event type, or typeField/typeHeader to read it from each request',
    );
  }
  const typePrefix = body.typePrefix === undefined || body.typePrefix === null ? '' : body.typePrefix;
  if (typeof typePrefix !== 'string' || typePrefix.length > MAX_TEXT) {
    err(
      '/typePrefix',
      'typePrefix must be a string such as com.github., put before a type read from the request',
    );
  }
  const idHeader = headerName(body.idHeader, '/idHeader', err);
  if (paths.idField !== null && idHeader !== null) err('/idHeader', 'give idField or idHeader, not both');

  const source = text(body, 'source', err, 'a URI-reference such as /crm or https://crm.example.com');
  if (source !== null && parseUriReference(source) === undefined) {
    err('/source', 'source must be a URI-reference such as /crm or https://crm.example.com, percent-encoded');
  }
  let mapping: string | null = null;
  if (body.mapping !== undefined && body.mapping !== null) {
    try {
      compileExpression(body.mapping, '/mapping');
      mapping = body.mapping as string;
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      errors.push(...(error.errors ?? []));
    }
  }
  const signing = parseSigning(body.signing, err);
  if (preset === 'signed' && signing === null) {
    err('/signing', 'the signed preset needs signing: {scheme, secret, header, …}');
  }
  if (preset === 'airtable' && signing !== null) {
    err('/signing', 'Airtable signs with its own MAC: give macSecret (macSecretBase64) instead');
  }
  let macSecret: string | null = null;
  if (body.macSecret !== undefined && body.macSecret !== null) {
    if (preset !== 'airtable') err('/macSecret', 'macSecret is for the airtable preset only');
    else if (typeof body.macSecret !== 'string' || body.macSecret === '' || !BASE64.test(body.macSecret)) {
      err(
        '/macSecret',
        "macSecret must be Airtable's macSecretBase64, as its create-webhook call returns it",
      );
    } else macSecret = body.macSecret;
  }
  let maxBodyBytes = PRESETS[preset].maxBodyBytes;
  if (body.maxBodyBytes !== undefined && body.maxBodyBytes !== null) {
    const n = body.maxBodyBytes;
    if (typeof n === 'number' && Number.isInteger(n) && n >= MIN_HOOK_BODY_BYTES && n <= MAX_HOOK_BODY_BYTES)
      maxBodyBytes = n;
    else
      err(
        '/maxBodyBytes',
        `maxBodyBytes must be a whole number from ${MIN_HOOK_BODY_BYTES} to ${MAX_HOOK_BODY_BYTES}`,
      );
  }
  if (errors.length > 0) {
    throw new ValidationError(`the hook has ${errors.length} invalid field${errors.length > 1 ? 's' : ''}`, {
      errors,
    });
  }
  return {
    name,
    preset,
    status,
    type,
    typeField: paths.typeField,
    typeHeader,
    typePrefix: typePrefix as string,
    source,
    subjectField: paths.subjectField,
    partitionKeyField: paths.partitionKeyField,
    // Stripe's events carry their own unique id: the natural idempotency key.
    idField: paths.idField ?? (signing?.scheme === 'stripe' && idHeader === null ? 'id' : null),
    idHeader,
    mapping,
    signing,
    macSecret,
    maxBodyBytes,
  };
}
