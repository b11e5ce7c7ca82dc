/**
 * Reads a subscription as the API takes it (the CloudEvents Subscriptions API resource plus
 * Junction's `delivery` policy), checks every field, and fills in the defaults. Every problem is
 * reported at once, each by its JSON pointer.
 */
import { DEFAULT_DELIVERY_POLICY, DELIVERY_BOUNDS } from '../core/config.js';
import { type FieldError, pointerToken, ValidationError } from '../core/errors.js';
import type { DeliveryFormat } from '../core/http-binding.js';
import type { DeliveryPolicy, Filter, Subscription } from '../storage/ports.js';
import { checkFilters } from './filters.js';

/** The fields a client may set; the rest (`id`, `status`, times, secrets) belong to the hub. */
export type SubscriptionInput = Pick<
  Subscription,
  'types' | 'filters' | 'sink' | 'protocol' | 'protocolsettings' | 'delivery'
> & {
  status?: Subscription['status'];
};

const FORMATS: readonly DeliveryFormat[] = ['binary', 'structured', 'webhook'];
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

  let sink = '';
  if (typeof body.sink !== 'string' || body.sink === '') {
    err('/sink', 'sink is required: the http(s) URL to deliver events to');
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
      err('/sink', `sink must be an http or https URL, not ${url.protocol}`);
    } else if (url && (url.username || url.password)) {
      err('/sink', 'put credentials in protocolsettings.headers, not in the sink URL');
    }
  }

  const protocol = body.protocol ?? 'HTTP';
  if (protocol !== 'HTTP')
    err('/protocol', `protocol ${JSON.stringify(protocol)} is not supported yet; use "HTTP"`);

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

  const protocolsettings: Subscription['protocolsettings'] = {};
  if (body.protocolsettings !== undefined) {
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

  const delivery = parseDelivery(body.delivery, err);

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
    protocol: 'HTTP',
    protocolsettings,
    delivery,
    ...(status ? { status } : {}),
  };
}

function parseDelivery(raw: unknown, err: (pointer: string, message: string) => void): DeliveryPolicy {
  const policy: DeliveryPolicy = { ...DEFAULT_DELIVERY_POLICY };
  if (raw === undefined) return policy;
  if (!isObject(raw)) {
    err('/delivery', 'delivery must be an object of delivery settings');
    return policy;
  }
  for (const [key, value] of Object.entries(raw)) {
    const at = `/delivery/${pointerToken(key)}`;
    if (key === 'format') {
      if (!FORMATS.includes(value as DeliveryFormat)) err(at, `format must be one of ${FORMATS.join(', ')}`);
      else policy.format = value as DeliveryFormat;
      continue;
    }
    const bounds = Object.hasOwn(DELIVERY_BOUNDS, key)
      ? DELIVERY_BOUNDS[key as keyof typeof DELIVERY_BOUNDS]
      : undefined;
    if (!bounds) {
      err(at, `unknown delivery setting '${key}'; known: format, ${Object.keys(DELIVERY_BOUNDS).join(', ')}`);
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
  return policy;
}
