/**
 * What each preset changes: how big a body it takes, how the body is shaped before mapping, which
 * fields it fills in when the hook leaves them out, and how the hook answers. Everything else is
 * the same for every preset, so that an event from Make looks like an event from n8n.
 */
import type { HookPreset } from '../../storage/ports.js';
import type { ParsedBody } from './request-body.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** How a hook answers an event it has made durable (accepted or a duplicate alike). */
export type HookAnswer =
  /** 200 with `{id, source, type, status}`: what no-code tools treat as plain success. */
  | 'ok'
  /** 202 with the same body, as `POST /v1/events` answers. */
  | 'accepted'
  /** 202 with `Location` and `Retry-After`: Power Automate's asynchronous pattern, polled to 200. */
  | 'async';

export interface PresetSpec {
  /** The body size taken unless the hook says otherwise. */
  maxBodyBytes: number;
  answer: HookAnswer;
  /** Fields a new hook of this preset gets when it leaves them out. */
  defaults: { type?: string; subjectField?: string; partitionKeyField?: string };
  /** Reshapes the parsed body (and query) into what the mapping and field paths read. */
  shape?: (body: ParsedBody, query: Record<string, string>) => unknown;
}

/** The largest `maxBodyBytes` a hook may set. */
export const MAX_HOOK_BODY_BYTES = 10 * MiB;
/** The smallest: below this even a ping from Airtable would not fit. */
export const MIN_HOOK_BODY_BYTES = KiB;

/**
 * Zapier's "Unflatten" turns `order__id` into `{"order": {"id": …}}` when it sends JSON, but a
 * form keeps the flat keys. Unflattening here makes both payload types arrive alike. Where two
 * keys collide (`a` and `a__b`), the first one sent wins.
 */
function unflatten(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  // Null prototypes: a key named __proto__ is then just a key.
  const out: Record<string, unknown> = Object.create(null);
  for (const [key, field] of Object.entries(value)) {
    const keys = key.split('__');
    let at = out;
    let nested = keys.length > 1 && keys.every((k) => k !== '');
    for (const k of nested ? keys.slice(0, -1) : []) {
      if (!Object.hasOwn(at, k)) at[k] = Object.create(null);
      const next = at[k];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) {
        nested = false;
        break;
      }
      at = next as Record<string, unknown>;
    }
    const [target, name] = nested ? [at, keys[keys.length - 1]!] : [out, key];
    if (!Object.hasOwn(target, name)) target[name] = field;
  }
  return out;
}

const IFTTT_VALUES = ['value1', 'value2', 'value3'] as const;

/**
 * IFTTT's Webhooks service speaks in `value1`..`value3`, in a JSON or form body or in the query
 * string. Those three are the data; a JSON body without them (IFTTT's "JSON payload" shape) is
 * kept whole.
 */
function iftttValues(body: ParsedBody, query: Record<string, string>): unknown {
  const fields =
    body.value !== null && typeof body.value === 'object' && !Array.isArray(body.value)
      ? (body.value as Record<string, unknown>)
      : {};
  const found = IFTTT_VALUES.filter((k) => Object.hasOwn(fields, k) || Object.hasOwn(query, k));
  if (found.length === 0) return body.value;
  const data: Record<string, unknown> = {};
  for (const k of IFTTT_VALUES) data[k] = Object.hasOwn(fields, k) ? fields[k] : (query[k] ?? null);
  return data;
}

export const PRESETS: Record<HookPreset, PresetSpec> = {
  generic: { maxBodyBytes: MiB, answer: 'accepted', defaults: {} },
  signed: { maxBodyBytes: MiB, answer: 'accepted', defaults: {} },
  zapier: {
    maxBodyBytes: MiB,
    answer: 'ok',
    defaults: {},
    shape: (body) => (body.kind === 'form' || body.kind === 'multipart' ? unflatten(body.value) : body.value),
  },
  // Make caps what it sends at 5 MB: take all of it here rather than fail a scenario Make allows.
  make: { maxBodyBytes: 5 * MiB, answer: 'ok', defaults: {} },
  n8n: { maxBodyBytes: MiB, answer: 'ok', defaults: {} },
  'power-automate': { maxBodyBytes: MiB, answer: 'async', defaults: {} },
  // Airtable's notification is a ping of a few hundred bytes: anything big is not from Airtable.
  airtable: {
    maxBodyBytes: 64 * KiB,
    answer: 'ok',
    defaults: {
      type: 'com.airtable.webhook.notification',
      subjectField: 'webhook.id',
      partitionKeyField: 'base.id',
    },
  },
  ifttt: { maxBodyBytes: 64 * KiB, answer: 'ok', defaults: {}, shape: iftttValues },
};

/**
 * Headers a sender puts its own delivery id in, tried in this order when the hook names neither
 * `idField` nor `idHeader`: the IETF draft's `Idempotency-Key`, Standard Webhooks, GitHub, Shopify.
 */
export const IDEMPOTENCY_HEADERS = [
  'idempotency-key',
  'webhook-id',
  'x-github-delivery',
  'x-shopify-webhook-id',
];
