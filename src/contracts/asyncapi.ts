/**
 * The event catalog as an AsyncAPI 3.0.0 document: every registered event type as a message with
 * its latest schema, the channel it travels in, and an operation for the hub taking it in and for
 * each subscription the hub sends it to. Built from data alone, so the route and tests share it.
 */
import type { EventType, SchemaVersion, Subscription } from '../storage/ports.js';
import { pinnedVersion } from './conversion.js';
import { rebaseRefs, under } from './schema-refs.js';
import { isObject } from './schema-walk.js';

/**
 * The payload's schema format. The registry stores JSON Schema draft 2020-12, and @asyncapi/parser
 * 3.x accepts this format without errors or warnings: for AsyncAPI 3 documents it does not run a
 * payload schema parser at all, so an unknown format is not flagged. Labelling the schemas
 * `draft-07` (the format it knows) would misstate them, since 2020-12 keywords such as
 * `prefixItems` and `unevaluatedProperties` mean nothing in draft-07.
 */
export const PAYLOAD_SCHEMA_FORMAT = 'application/schema+json;version=draft-2020-12';

/** One registered type with its latest version, or null when it has none. */
export interface CatalogType {
  eventType: EventType;
  latest: SchemaVersion | null;
}

/** What the catalog is built from. */
export interface CatalogInput {
  /** The hub's version, as `info.version`. */
  version: string;
  types: CatalogType[];
  subscriptions: Pick<Subscription, 'id' | 'status' | 'types' | 'filters' | 'sink' | 'delivery'>[];
  /** The channel the hub's routing configuration gives a type (`hub.channels.of(type).name`). */
  routedChannel: (type: string) => string;
  /** A registered version, for subscriptions pinned to one other than the latest. */
  schemaVersion?: (type: string, version: number) => SchemaVersion | undefined;
}

type Json = Record<string, unknown>;

/**
 * Builds the AsyncAPI 3.0.0 document.
 *
 * - Each type is a message under `components.messages`, its latest schema under
 *   `components.schemas` as a multi-format schema (draft 2020-12). A type with no version is still
 *   listed, without a payload, so the catalog shows every contract.
 * - A type's channel is its own `channel` setting, else the one routing gives it.
 * - `receive` operations: the hub takes each type in (`POST /v1/events`). `send` operations: the
 *   hub sends the type to a subscription. AsyncAPI 3 reads an action from the point of view of the
 *   application the document describes, and this document describes the hub (its `info`), so a
 *   delivery to a subscriber is the hub's `send`; calling it `receive` would tell a reader the hub
 *   receives it from the subscriber. Subscribers of types not in the registry are left out.
 * - A sink appears as its origin only: many sink URLs carry a token in the path (Slack's do).
 *
 * @example
 * buildAsyncApi({ version: '0.1.0', types: [], subscriptions: [], routedChannel: () => 'default' });
 * // { asyncapi: '3.0.0', info: {...}, channels: {}, operations: {}, components: {...} }
 */
export function buildAsyncApi(input: CatalogInput): Json {
  const channels: Record<string, Json> = {};
  const operations: Record<string, Json> = {};
  const schemas: Record<string, Json> = {};
  const messages: Record<string, Json> = {};
  const channelKeys = new Keys();
  const messageKeys = new Keys();
  const operationKeys = new Keys();
  /** Per event type: where its message is, for the operations that take it. */
  const placed = new Map<
    string,
    { channel: string; message: string; eventType: EventType; latest: number | null }
  >();
  /**
   * The message of an earlier version, for a subscription pinned to it: added to the type's channel
   * on first use, its schema beside the latest one's.
   */
  const pinnedMessage = (where: { channel: string; message: string; eventType: EventType }, n: number) => {
    const key = `${where.message}.v${n}`;
    if (messages[key]) return key;
    const version = input.schemaVersion?.(where.eventType.type, n);
    if (!version) return undefined;
    const at = `#/components/schemas/${key}/schema`;
    schemas[key] = { schemaFormat: PAYLOAD_SCHEMA_FORMAT, schema: rebaseRefs(version.schema, under(at)) };
    messages[key] = messageOf(where.eventType, version, where.message);
    (channels[where.channel]!.messages as Json)[key] = { $ref: `#/components/messages/${key}` };
    return key;
  };

  const types = [...input.types].sort((a, b) => compare(a.eventType.type, b.eventType.type));
  for (const { eventType, latest } of types) {
    const type = eventType.type;
    const channelName = eventType.channel ?? input.routedChannel(type);
    const channel = channelKeys.for(`channel:${channelName}`, channelName);
    const message = messageKeys.for(type, type);
    if (latest !== null) {
      const schemaKey = `${message}.v${latest.version}`;
      const at = `#/components/schemas/${schemaKey}/schema`;
      schemas[schemaKey] = {
        schemaFormat: PAYLOAD_SCHEMA_FORMAT,
        schema: rebaseRefs(latest.schema, under(at)),
      };
    }
    messages[message] = messageOf(eventType, latest, message);
    const inChannel = channelMessages(channels, channel, channelName);
    inChannel[message] = { $ref: `#/components/messages/${message}` };
    placed.set(type, { channel, message, eventType, latest: latest?.version ?? null });
    operations[operationKeys.for(`ingest:${type}`, `ingest.${message}`)] = {
      action: 'receive',
      title: `Publish ${type}`,
      summary: `Producers publish ${type} to the hub with POST /v1/events.`,
      channel: { $ref: `#/channels/${channel}` },
      messages: [{ $ref: `#/channels/${channel}/messages/${message}` }],
    };
  }

  const subscriptions = [...input.subscriptions].sort((a, b) => compare(a.id, b.id));
  for (const sub of subscriptions) {
    // No types means every type, so such a subscription gets an operation for each one.
    const taken = sub.types.length === 0 ? [...placed.keys()] : sub.types;
    const origin = originOf(sub.sink);
    for (const type of taken) {
      const where = placed.get(type);
      if (!where) continue;
      const filtered = sub.filters.length > 0 ? ' (only events its filters match)' : '';
      // A subscription pinned to another version receives that version's message, converted.
      const pin = pinnedVersion(sub, type);
      const message =
        (pin !== undefined && pin !== where.latest && pinnedMessage(where, pin)) || where.message;
      operations[operationKeys.for(`deliver:${sub.id}:${type}`, `deliver.${sub.id}.${where.message}`)] = {
        action: 'send',
        title: `Deliver ${type} to ${sub.id}`,
        summary: `The hub sends ${type} to subscription ${sub.id} at ${origin}${filtered}.`,
        channel: { $ref: `#/channels/${where.channel}` },
        messages: [{ $ref: `#/channels/${where.channel}/messages/${message}` }],
        'x-junction-subscription': sub.id,
        ...(pin === undefined ? {} : { 'x-junction-pinned-version': pin }),
        'x-junction-status': sub.status,
        'x-junction-sink-origin': origin,
        'x-junction-format': sub.delivery.format,
      };
    }
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Junction event catalog',
      version: input.version,
      description:
        'Event types registered in this Junction hub, each with its latest JSON Schema (draft 2020-12), ' +
        'the channel it travels in, and the subscriptions the hub delivers it to. Operations are the ' +
        "hub's: it receives events from producers and sends them to subscribers.",
    },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { schemas, messages },
  };
}

/** The messages map of a channel, which is added on first use. */
function channelMessages(channels: Record<string, Json>, key: string, name: string): Json {
  const found = channels[key];
  if (found) return found.messages as Json;
  const messages: Json = {};
  channels[key] = {
    address: key,
    title: name,
    description: `Junction channel "${name}": its events share a backlog, a concurrency budget and a retention.`,
    messages,
  };
  return messages;
}

/** A type's message: its settings, its payload, its CloudEvents headers and its example. */
function messageOf(eventType: EventType, latest: SchemaVersion | null, key: string): Json {
  const type = eventType.type;
  const message: Json = {
    name: type,
    title: type,
    summary:
      latest === null ? `${type}: no schema registered yet` : `${type}, schema version ${latest.version}`,
    contentType: 'application/json',
    headers: cloudEventHeaders(type),
    correlationId: {
      description: 'The CloudEvents id: with ce-source, the identity of the event.',
      location: '$message.header#/ce-id',
    },
  };
  if (eventType.description !== null) message.description = eventType.description;
  if (latest !== null) {
    message.payload = { $ref: `#/components/schemas/${key}.v${latest.version}` };
    message['x-junction-schema-version'] = latest.version;
  }
  if (eventType.owner !== null) {
    message['x-owner'] = eventType.owner;
    message.tags = [{ name: `owner:${eventType.owner}`, description: 'who answers for the contract' }];
  }
  message['x-junction-compatibility'] = eventType.compatibility;
  const example = exampleOf(eventType.example, type);
  if (example) message.examples = [example];
  return message;
}

/**
 * The headers of the CloudEvents HTTP binding's binary mode, the default delivery format, plus the
 * Standard Webhooks signing headers every delivery carries. Structured mode carries the same
 * attributes in an `application/cloudevents+json` body instead; `x-junction-format` on each send
 * operation says which one a subscription gets.
 */
function cloudEventHeaders(type: string): Json {
  return {
    type: 'object',
    description:
      'Binary-mode CloudEvents headers (ce-*), and the Standard Webhooks headers of every delivery. Other ' +
      'extensions the producer set (ce-traceparent, ce-partitionkey, ...) come as ce-* headers too.',
    required: ['ce-specversion', 'ce-id', 'ce-source', 'ce-type'],
    properties: {
      'ce-specversion': { type: 'string', const: '1.0' },
      'ce-id': { type: 'string', description: 'unique per ce-source' },
      'ce-source': { type: 'string', format: 'uri-reference' },
      'ce-type': { type: 'string', const: type },
      'ce-time': { type: 'string', format: 'date-time' },
      'ce-subject': { type: 'string' },
      'webhook-id': { type: 'string', description: 'the same across retries: an idempotency key' },
      'webhook-timestamp': { type: 'string', description: 'seconds since the epoch' },
      'webhook-signature': { type: 'string', description: 'v1,<base64 HMAC-SHA256>, space-separated' },
    },
  };
}

/**
 * A message example from a type's `example` setting. A whole CloudEvent (it has `specversion`)
 * gives its `data` as the payload and its attributes as `ce-*` headers; anything else is the payload.
 */
function exampleOf(example: unknown, type: string): Json | undefined {
  if (example === null || example === undefined) return undefined;
  if (!isObject(example) || typeof example.specversion !== 'string') {
    return { name: 'example', payload: example };
  }
  const headers: Json = {};
  for (const [name, value] of Object.entries(example)) {
    if (name === 'data' || name === 'data_base64' || name === 'datacontenttype') continue;
    if (value !== null && value !== undefined) {
      headers[`ce-${name}`] = typeof value === 'string' ? value : JSON.stringify(value);
    }
  }
  headers['ce-type'] ??= type;
  const out: Json = { name: 'example', headers };
  if (example.data !== undefined) out.payload = example.data;
  return out;
}

/** A sink's origin (scheme, host, port): never its path, query or user info, which may hold tokens. */
function originOf(sink: string): string {
  try {
    return new URL(sink).origin;
  } catch {
    return '(invalid URL)';
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Keys for AsyncAPI maps, which allow `[A-Za-z0-9._-]` only: other characters become `_`, and a
 * clash between two different names gets a numeric suffix, so each name keeps one stable key.
 */
class Keys {
  private readonly byName = new Map<string, string>();
  private readonly used = new Set<string>();

  for(identity: string, text: string): string {
    const known = this.byName.get(identity);
    if (known !== undefined) return known;
    const base = text.replace(/[^A-Za-z0-9._-]/g, '_') || '_';
    let key = base;
    for (let n = 2; this.used.has(key); n++) key = `${base}_${n}`;
    this.used.add(key);
    this.byName.set(identity, key);
    return key;
  }
}
