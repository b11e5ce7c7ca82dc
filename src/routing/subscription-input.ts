/**
 * Reads a subscription as the API takes it (the CloudEvents Subscriptions API resource plus
 * Junction's `delivery` policy), checks every field, and fills in the defaults. Every problem is
 * reported at once, each by its JSON pointer.
 */

import { isPresetName, PRESET_NAMES, presetSettings, recognisePreset } from '../adapters/presets.js';
import { compileExpression } from '../contracts/jsonata-budget.js';
import {
  BATCH_BOUNDS,
  checkRegions,
  DEFAULT_BATCH_POLICY,
  DEFAULT_DELIVERY_POLICY,
  DELIVERY_BOUNDS,
  RATE_LIMIT_BOUNDS,
} from '../core/config.js';
import { type FieldError, pointerToken, ValidationError } from '../core/errors.js';
import type { DeliveryFormat } from '../core/http-binding.js';
import { checkBrokerSink, parseBrokerSettings, parseProtocol } from '../delivery/sinks/broker-settings.js';
import type {
  BatchPolicy,
  DeliveryPolicy,
  Filter,
  RateLimit,
  SchemaPin,
  Subscription,
} from '../storage/ports.js';
import { checkFilters } from './filters.js';

/** The fields a client may set; the rest (`id`, `status`, times, secrets) belong to the hub. */
export type SubscriptionInput = Pick<
  Subscription,
  'types' | 'filters' | 'sink' | 'protocol' | 'protocolsettings' | 'delivery'
> & {
  status?: Subscription['status'];
  /** Set by the hub for subscriptions a REST hook makes; never read from a request. */
  origin?: Subscription['origin'];
};

const FORMATS: readonly DeliveryFormat[] = ['binary', 'structured', 'webhook'];
/** Delivery settings that are not plain whole numbers within DELIVERY_BOUNDS. */
const SHAPED = [
  'format',
  'rateLimit',
  'ordering',
  'onDead',
  'batch',
  'schemaVersion',
  'transform',
  'allowedRegions',
  'mode',
  'preset',
  'retryOn',
];
const METHODS = ['POST', 'PUT', 'PATCH'];
const TOP_LEVEL = new Set([
  'types',
  'filters',
  'sink',
  'protocol',
  'protocolsettings',
  'delivery',
  'status',
  'id',
]);
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * Header names a subscription may not set: those the hub sets on every request (overriding them
 * would break signing or content negotiation), and the hop-by-hop and framing headers that undici
 * refuses or that would break the request (RFC 9110 §7.6.1, §6.4, §10.1.1).
 */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'content-type',
  'traceparent',
  'tracestate',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'host',
  'content-length',
]);
const RESERVED_PREFIX = /^(webhook-|ce-)/i;
/** RFC 9110 §5.5 field value, limited to visible ASCII, space and tab. */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses a create or replace request; throws one ValidationError naming every bad field. */
export function parseSubscriptionInput(body: unknown): SubscriptionInput {
  if (!isObject(body))
    throw ValidationError.field('', 'the body must be a JSON object describing the subscription');
  const errors: FieldError[] = [];
  const err = (pointer: string, message: string) => errors.push({ pointer, message });

  for (const key of Object.keys(body)) {
    if (!TOP_LEVEL.has(key))
      err(`/${pointerToken(key)}`, `unknown field '${key}'; Junction's own settings go under 'delivery'`);
  }

  const protocol = parseProtocol(body.protocol, err);
  let sink = '';
  if (typeof body.sink !== 'string' || body.sink === '') {
    err(
      '/sink',
      `sink is required: the ${protocol === 'HTTP' ? 'http(s)' : 'broker'} URL to deliver events to`,
    );
  } else if (protocol !== 'HTTP') {
    sink = body.sink;
    checkBrokerSink(protocol, sink, err);
  } else {
    sink = body.sink;
    let url: URL | undefined;
    try {
      url = new URL(body.sink);
    } catch {
      err(
        '/sink',
        `'${body.sink}' is not a URL; give an absolute http(s) URL such as https://example.com/hooks`,
      );
    }
    if (url && url.protocol !== 'http:' && url.protocol !== 'https:') {
      err('/sink', `sink must be an http or https URL, not ${url.protocol}; for a broker, set protocol`);
    } else if (url && (url.username || url.password)) {
      err('/sink', 'put credentials in protocolsettings.headers, not in the sink URL');
    }
  }

  let types: string[] = [];
  if (body.types !== undefined) {
    if (!Array.isArray(body.types)) err('/types', 'types must be an array of event type strings');
    else {
      body.types.forEach((t, i) => {
        if (typeof t !== 'string' || t === '') err(`/types/${i}`, 'each type must be a non-empty string');
      });
      types = [...new Set(body.types as string[])];
    }
  }

  let filters: Filter[] = [];
  if (body.filters !== undefined) {
    const problems = checkFilters(body.filters, '/filters');
    errors.push(...problems);
    if (problems.length === 0) filters = body.filters as Filter[];
  }

  let protocolsettings: Subscription['protocolsettings'] = {};
  if (protocol !== 'HTTP') {
    protocolsettings = parseBrokerSettings(protocol, body.protocolsettings, err);
  } else if (body.protocolsettings !== undefined) {
    const ps = body.protocolsettings;
    if (!isObject(ps)) err('/protocolsettings', 'protocolsettings must be an object with headers and method');
    else {
      for (const key of Object.keys(ps)) {
        if (key !== 'headers' && key !== 'method')
          err(
            `/protocolsettings/${pointerToken(key)}`,
            `unknown HTTP setting '${key}'; use headers or method`,
          );
      }
      if (ps.method !== undefined) {
        if (typeof ps.method !== 'string' || !METHODS.includes(ps.method.toUpperCase())) {
          err('/protocolsettings/method', `method must be one of ${METHODS.join(', ')}`);
        } else protocolsettings.method = ps.method.toUpperCase();
      }
      if (ps.headers !== undefined) {
        if (!isObject(ps.headers))
          err('/protocolsettings/headers', 'headers must be an object of header names to string values');
        else {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(ps.headers)) {
            const at = `/protocolsettings/headers/${pointerToken(name)}`;
            if (!HEADER_NAME.test(name)) err(at, `'${name}' is not a valid HTTP header name`);
            else if (RESERVED_PREFIX.test(name) || RESERVED_HEADERS.has(name.toLowerCase()))
              err(at, `'${name}' is set by the hub or controls the connection, and cannot be set here`);
            else if (typeof value !== 'string' || !HEADER_VALUE.test(value))
              err(
                at,
                'header values must be strings of visible ASCII characters, spaces and tabs (RFC 9110); percent-encode or base64 anything else',
              );
            else headers[name.toLowerCase()] = value;
          }
          protocolsettings.headers = headers;
        }
      }
    }
  }

  const delivery = parseDelivery(body.delivery, sink, err);
  if (protocol !== 'HTTP') brokerDelivery(protocol, delivery, body.delivery, err);
  checkPinnedTypes(delivery.schemaVersion, types, err);

  let status: Subscription['status'] | undefined;
  if (body.status !== undefined) {
    if (body.status !== 'active' && body.status !== 'disabled')
      err('/status', "status must be 'active' or 'disabled'");
    else status = body.status;
  }

  if (errors.length > 0) {
    throw new ValidationError(
      `the subscription has ${errors.length} invalid field(s): ${errors.map((e) => e.pointer).join(', ')}`,
      {
        errors,
      },
    );
  }
  return {
    types,
    filters,
    sink,
    protocol,
    protocolsettings,
    delivery,
    ...(status ? { status } : {}),
  };
}

type Report = (pointer: string, message: string) => void;

/**
 * What a broker sink changes in `delivery`: a message carries one event (no batches), and MQTT
 * 3.1.1, which has no properties for binary mode, defaults to structured and refuses binary.
 */
function brokerDelivery(
  protocol: Subscription['protocol'],
  policy: DeliveryPolicy,
  raw: unknown,
  err: Report,
): void {
  if (policy.batch !== null)
    err(
      '/delivery/batch',
      `batching applies to HTTP sinks; a ${protocol} sink takes one event per message, so remove batch`,
    );
  if (policy.preset !== null)
    err('/delivery/preset', `presets are for no-code tools' HTTP webhooks; a ${protocol} sink takes none`);
  if (protocol !== 'MQTT3') return;
  if (!(isObject(raw) && raw.format !== undefined)) policy.format = 'structured';
  else if (policy.format === 'binary')
    err(
      '/delivery/format',
      "MQTT 3.1.1 has no message properties, so it cannot carry binary mode: use 'structured' (the default) or 'webhook', or protocol MQTT5",
    );
}

/**
 * Reads `delivery`. The preset it names, or the one the sink is recognised by (a Slack or Zapier
 * URL), fills in the settings the request leaves out; an explicit setting wins, and an explicit
 * `"rateLimit": null` turns the preset's limit off. `"preset": null` asks for none.
 */
function parseDelivery(raw: unknown, sink: string, err: Report): DeliveryPolicy {
  const policy: DeliveryPolicy = { ...DEFAULT_DELIVERY_POLICY };
  const named = isObject(raw) && Object.hasOwn(raw, 'preset') ? raw.preset : undefined;
  if (named !== undefined && named !== null && !isPresetName(named)) {
    err(
      '/delivery/preset',
      `preset must be one of ${PRESET_NAMES.join(', ')}, or null for none; it is recognised from the sink URL when left out`,
    );
  }
  const preset = named === undefined ? recognisePreset(sink) : isPresetName(named) ? named : undefined;
  if (preset) Object.assign(policy, presetSettings(preset), { preset });
  if (raw === undefined) return policy;
  if (!isObject(raw)) {
    err('/delivery', 'delivery must be an object of delivery settings');
    return policy;
  }
  for (const [key, value] of Object.entries(raw)) {
    const at = `/delivery/${pointerToken(key)}`;
    if (key === 'preset') continue;
    if (key === 'retryOn') {
      const statuses = parseRetryOn(value, at, err);
      if (statuses !== undefined) policy.retryOn = statuses;
      continue;
    }
    if (key === 'format') {
      if (!FORMATS.includes(value as DeliveryFormat)) err(at, `format must be one of ${FORMATS.join(', ')}`);
      else policy.format = value as DeliveryFormat;
      continue;
    }
    if (key === 'rateLimit') {
      const limit = parseRateLimit(value, at, err);
      if (limit !== undefined) policy.rateLimit = limit;
      continue;
    }
    if (key === 'ordering') {
      if (value === 'none' || value === 'partition') policy.ordering = value;
      else
        err(
          at,
          "ordering must be 'none' or 'partition' (events with the same partitionkey one at a time, in publish order)",
        );
      continue;
    }
    if (key === 'onDead') {
      if (value === 'skip' || value === 'block') policy.onDead = value;
      else err(at, "onDead must be 'skip' (the next event of the key goes on) or 'block' (the key waits)");
      continue;
    }
    if (key === 'batch') {
      const batch = parseBatch(value, at, err);
      if (batch !== undefined) policy.batch = batch;
      continue;
    }
    if (key === 'transform') {
      if (value === null) policy.transform = null;
      else {
        try {
          compileExpression(value, at);
          policy.transform = value as string;
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error;
          for (const e of error.errors ?? []) err(e.pointer, e.message);
        }
      }
      continue;
    }
    if (key === 'allowedRegions') {
      const regions = value === null ? null : checkRegions(value);
      if (regions === undefined)
        err(
          at,
          "allowedRegions must be a non-empty array of region names such as [\"eu\"] (letters, digits, '-', '_', '.'), or null for any",
        );
      else policy.allowedRegions = regions;
      continue;
    }
    if (key === 'mode') {
      if (value === 'live' || value === 'shadow') policy.mode = value;
      else
        err(at, "mode must be 'live' (deliver) or 'shadow' (record what would be delivered, send nothing)");
      continue;
    }
    if (key === 'schemaVersion') {
      const pin = parsePin(value, at, err);
      if (pin !== undefined) policy.schemaVersion = pin;
      continue;
    }
    const bounds = Object.hasOwn(DELIVERY_BOUNDS, key)
      ? DELIVERY_BOUNDS[key as keyof typeof DELIVERY_BOUNDS]
      : undefined;
    if (!bounds) {
      err(
        at,
        `unknown delivery setting '${key}'; known: ${[...SHAPED, ...Object.keys(DELIVERY_BOUNDS)].join(', ')}`,
      );
      continue;
    }
    const [min, max] = bounds;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      err(at, `${key} must be a whole number from ${min} to ${max}`);
      continue;
    }
    policy[key as keyof typeof DELIVERY_BOUNDS] = value;
  }
  if (policy.initialDelayMs > policy.maxDelayMs)
    err('/delivery/initialDelayMs', 'initialDelayMs cannot exceed maxDelayMs');
  if (raw.onDead === 'block' && policy.ordering !== 'partition')
    err(
      '/delivery/onDead',
      "onDead 'block' only applies with ordering 'partition' (it holds back the later events of a key); set ordering to 'partition' or onDead to 'skip'",
    );
  if (policy.batch !== null && policy.format === 'webhook')
    err(
      '/delivery/format',
      "format 'webhook' cannot be batched: a batch is one application/cloudevents-batch+json request; use binary or structured, or remove batch",
    );
  return policy;
}

/**
 * Reads `retryOn`: 4xx statuses to retry instead of dead-lettering. 410 (which disables the
 * subscription) and 429 (always retried, after its Retry-After) are refused: listing them would
 * not do what it says. Undefined after a problem.
 */
function parseRetryOn(value: unknown, at: string, err: Report): number[] | undefined {
  const ok =
    Array.isArray(value) &&
    value.length <= 20 &&
    value.every((s) => Number.isInteger(s) && s >= 400 && s <= 499 && s !== 410 && s !== 429);
  if (!ok) {
    err(
      at,
      'retryOn must be an array of up to 20 HTTP statuses from 400 to 499 to retry rather than dead-letter, such as [404] (not 410, which disables the subscription, nor 429, which is always retried)',
    );
    return undefined;
  }
  return [...new Set(value as number[])].sort((a, b) => a - b);
}

const isVersion = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;

/** Reads `schemaVersion`: a version, an object of versions by type, or null. Undefined after a problem. */
function parsePin(value: unknown, at: string, err: Report): SchemaPin | null | undefined {
  if (value === null) return null;
  if (isVersion(value)) return value;
  if (!isObject(value) || Object.keys(value).length === 0) {
    err(
      at,
      'schemaVersion must be a version number (for a subscription of one type), an object such as {"com.acme.order.created": 2}, or null',
    );
    return undefined;
  }
  let ok = true;
  for (const [type, version] of Object.entries(value)) {
    if (!isVersion(version)) {
      err(`${at}/${pointerToken(type)}`, 'each pinned version must be a whole number from 1');
      ok = false;
    }
  }
  return ok ? (value as Record<string, number>) : undefined;
}

/** A pin names only types the subscription takes; one number needs exactly one type to pin. */
function checkPinnedTypes(pin: SchemaPin | null, types: string[], err: Report): void {
  if (pin === null) return;
  if (typeof pin === 'number') {
    if (types.length !== 1) {
      err(
        '/delivery/schemaVersion',
        'a single version pins a subscription of exactly one type; give an object of versions by type, such as {"com.acme.order.created": 2}',
      );
    }
    return;
  }
  for (const type of Object.keys(pin)) {
    if (types.length > 0 && !types.includes(type)) {
      err(
        `/delivery/schemaVersion/${pointerToken(type)}`,
        `'${type}' is not one of the subscription's types`,
      );
    }
  }
}

/** Reads `rateLimit`: an object, or null for no limit. Undefined after reporting a problem. */
function parseRateLimit(value: unknown, at: string, err: Report): RateLimit | null | undefined {
  if (value === null) return null;
  if (!isObject(value)) {
    err(at, 'rateLimit must be an object such as {"perSecond": 10, "burst": 20, "concurrency": 5}, or null');
    return undefined;
  }
  let ok = true;
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(RATE_LIMIT_BOUNDS, key)) {
      err(
        `${at}/${pointerToken(key)}`,
        `unknown rate limit setting '${key}'; use perSecond, burst or concurrency`,
      );
      ok = false;
    }
  }
  const [, maxRate] = RATE_LIMIT_BOUNDS.perSecond;
  const perSecond = value.perSecond;
  if (typeof perSecond !== 'number' || !Number.isFinite(perSecond) || perSecond <= 0 || perSecond > maxRate) {
    const what = perSecond === undefined ? 'perSecond is required: requests per second' : 'perSecond must be';
    err(`${at}/perSecond`, `${what} above 0 and at most ${maxRate} (0.5 is one request every 2 s)`);
    return undefined;
  }
  const whole = (key: 'burst' | 'concurrency'): number | undefined => {
    const [min, max] = RATE_LIMIT_BOUNDS[key];
    const n = value[key];
    if (typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max) return n;
    err(`${at}/${key}`, `${key} must be a whole number from ${min} to ${max}`);
    ok = false;
    return undefined;
  };
  const burst = value.burst === undefined ? Math.max(1, Math.ceil(perSecond)) : whole('burst');
  // Omitted or null: no cap of the subscription's own on requests in flight.
  const concurrency =
    value.concurrency === undefined || value.concurrency === null ? null : whole('concurrency');
  if (!ok || burst === undefined || concurrency === undefined) return undefined;
  return { perSecond, burst, concurrency };
}

/** Reads `batch`: an object whose omitted limits take their defaults, or null for one event per request. */
function parseBatch(value: unknown, at: string, err: Report): BatchPolicy | null | undefined {
  if (value === null) return null;
  if (!isObject(value)) {
    err(
      at,
      'batch must be an object such as {"maxEvents": 100, "maxWaitMs": 1000, "maxBytes": 1048576}, or null',
    );
    return undefined;
  }
  const batch: BatchPolicy = { ...DEFAULT_BATCH_POLICY };
  let ok = true;
  for (const [key, n] of Object.entries(value)) {
    if (!Object.hasOwn(BATCH_BOUNDS, key)) {
      err(
        `${at}/${pointerToken(key)}`,
        `unknown batch setting '${key}'; use maxEvents, maxWaitMs or maxBytes`,
      );
      ok = false;
      continue;
    }
    const [min, max] = BATCH_BOUNDS[key as keyof BatchPolicy];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      err(`${at}/${key}`, `${key} must be a whole number from ${min} to ${max}`);
      ok = false;
      continue;
    }
    batch[key as keyof BatchPolicy] = n;
  }
  return ok ? batch : undefined;
}

/**
 * A stored subscription with every delivery setting it lacks (it was saved by an older version)
 * filled from DEFAULT_DELIVERY_POLICY, and `failingSince` null when missing. A sink with a preset
 * gets the preset's rate limit when the stored policy has no `rateLimit` at all, as a new request
 * without one would.
 *
 * @example
 * for (const sub of store.listSubscriptions()) subscriptions.set(sub.id, withPolicyDefaults(sub));
 */
export function withPolicyDefaults(sub: Subscription): Subscription {
  const stored: Partial<DeliveryPolicy> = sub.delivery ?? {};
  const delivery: DeliveryPolicy = { ...DEFAULT_DELIVERY_POLICY };
  for (const [key, value] of Object.entries(stored)) {
    if (value !== undefined) (delivery as unknown as Record<string, unknown>)[key] = value;
  }
  // Saved before presets: the recognised one is named, and Slack's limit applies as it did then;
  // the format and the rest stay as they were saved, so nothing changes under the subscriber.
  if (stored.preset === undefined) delivery.preset = recognisePreset(sub.sink) ?? null;
  if (stored.rateLimit === undefined && delivery.preset === 'slack') {
    delivery.rateLimit = presetSettings('slack').rateLimit ?? null;
  }
  return { ...sub, delivery, failingSince: sub.failingSince ?? null };
}
