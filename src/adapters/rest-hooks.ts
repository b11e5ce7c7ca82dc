/**
 * REST hooks: the subscribe/unsubscribe pattern of no-code triggers (Zapier's "REST Hook"
 * triggers, and the tools that copied it). When a user turns a Zap on, the tool POSTs
 * `{target_url, event}` and keeps the id it gets back; when the Zap is turned off it DELETEs that
 * id, and when the Zap is deleted the target answers 410 to the next delivery. Each hook is an
 * ordinary subscription marked `origin: "rest-hook"`, for one type, to the target URL, with the
 * preset its URL is recognised by (else plain JSON): it is stored, survives restarts, and is
 * delivered like any other. The tool owns it: the hub removes it, rather than disabling it, on a 410.
 */
import type { FieldError } from '../core/errors.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { encodeEvent } from '../core/http-binding.js';
import { parseSubscriptionInput } from '../routing/subscription-input.js';
import type { StoredEvent, Subscription } from '../storage/ports.js';
import { recognisePreset } from './presets.js';

/** What a REST hook looks like through `/v1/rest-hooks`. */
export interface RestHookView {
  id: string;
  target_url: string;
  event: string;
  status: Subscription['status'];
  createdAt: string;
  /** The Standard Webhooks secret, in the answer that created the subscription only. */
  secret?: string;
}

/** The part of the hub REST hooks use. */
export interface RestHookHub {
  listSubscriptions(): Subscription[];
  getSubscription(id: string): Subscription;
  createSubscription(
    input: ReturnType<typeof parseSubscriptionInput> & { origin?: 'rest-hook' },
  ): Promise<{ subscription: Subscription; secret: string }>;
  replaceSubscription(id: string, input: ReturnType<typeof parseSubscriptionInput>): Promise<Subscription>;
  deleteSubscription(id: string): Promise<Subscription>;
  /** Whether the type is known: registered in the schema registry, or seen at ingest. */
  knowsType(type: string): Promise<boolean>;
  recentEvents(type: string, limit: number): Promise<StoredEvent[]>;
  /** The first of the latest schema's `examples`, for a type with no event stored yet. */
  exampleData(type: string): unknown;
}

const FIELDS = new Set(['target_url', 'event']);

/**
 * Reads a subscribe request: `target_url` an http(s) URL, `event` a known type.
 *
 * @throws ValidationError (400) naming each bad field.
 */
export async function parseRestHook(
  body: unknown,
  hub: RestHookHub,
): Promise<{ target: string; event: string }> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw ValidationError.field(
      '',
      'the body must be a JSON object: {"target_url": "https://…", "event": "type"}',
    );
  }
  const raw = body as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const key of Object.keys(raw)) {
    if (!FIELDS.has(key))
      errors.push({ pointer: `/${key}`, message: `unknown field '${key}'; send target_url and event` });
  }
  const target = raw.target_url;
  if (typeof target !== 'string' || target === '') {
    errors.push({ pointer: '/target_url', message: 'target_url is required: the http(s) URL to deliver to' });
  } else {
    let url: URL | undefined;
    try {
      url = new URL(target);
    } catch {
      errors.push({
        pointer: '/target_url',
        message: `'${target}' is not a URL; give an absolute http(s) URL`,
      });
    }
    if (url && url.protocol !== 'http:' && url.protocol !== 'https:') {
      errors.push({
        pointer: '/target_url',
        message: `target_url must be an http or https URL, not ${url.protocol}`,
      });
    }
  }
  const event = raw.event;
  if (typeof event !== 'string' || event === '') {
    errors.push({
      pointer: '/event',
      message: 'event is required: the event type to deliver, such as com.acme.order.created',
    });
  } else if (!(await hub.knowsType(event))) {
    errors.push({
      pointer: '/event',
      message: `unknown event type '${event}': register its schema (POST /v1/schemas/${event}) or publish one first`,
    });
  }
  if (errors.length > 0) {
    throw new ValidationError(`the REST hook has ${errors.length} invalid field(s)`, { errors });
  }
  return { target: target as string, event: event as string };
}

/**
 * Subscribes `target` to `event`: the existing REST hook for that pair (active again if it was
 * disabled), or a new one. A tool that repeats its subscribe call gets the same id.
 */
export async function subscribeRestHook(
  hub: RestHookHub,
  target: string,
  event: string,
): Promise<RestHookView> {
  // A target no preset recognises gets the plain JSON one: a trigger maps fields of a flat object.
  const input = parseSubscriptionInput({
    sink: target,
    types: [event],
    ...(recognisePreset(target) ? {} : { delivery: { preset: 'json' } }),
  });
  const existing = hub
    .listSubscriptions()
    .find(
      (s) => s.origin === 'rest-hook' && s.sink === target && s.types.length === 1 && s.types[0] === event,
    );
  if (existing) {
    const sub =
      existing.status === 'active'
        ? existing
        : await hub.replaceSubscription(existing.id, { ...input, status: 'active' });
    return viewOf(sub);
  }
  const { subscription, secret } = await hub.createSubscription({ ...input, origin: 'rest-hook' });
  return { ...viewOf(subscription), secret };
}

/** The REST hook `id`, or NotFoundError when there is none (or `id` is another kind of subscription). */
export function restHook(hub: RestHookHub, id: string): Subscription {
  let sub: Subscription | undefined;
  try {
    sub = hub.getSubscription(id);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
  if (sub?.origin !== 'rest-hook') {
    throw new NotFoundError(`no REST hook with id '${id}'; list them with GET /v1/rest-hooks`);
  }
  return sub;
}

export function viewOf(sub: Subscription): RestHookView {
  return {
    id: sub.id,
    target_url: sub.sink,
    event: sub.types[0] ?? '',
    status: sub.status,
    createdAt: sub.createdAt,
  };
}

/**
 * Up to `limit` recent events of the type, newest first, each as the hook delivers it (the webhook
 * shape: `{id, type, source, subject?, timestamp, data}`), for a tool to show the fields a user can
 * map. With none stored, one made from the schema's first example, marked by its source.
 */
export async function samples(hub: RestHookHub, event: string, limit: number): Promise<unknown[]> {
  const stored = await hub.recentEvents(event, limit);
  if (stored.length > 0) {
    return stored.map((s) =>
      JSON.parse(encodeEvent(s.event, 'webhook', new Date(s.receivedAt)).body.toString()),
    );
  }
  const data = hub.exampleData(event);
  if (data === undefined) return [];
  return [
    {
      id: 'sample',
      type: event,
      source: 'junction:schema-example',
      timestamp: new Date().toISOString(),
      data,
    },
  ];
}
