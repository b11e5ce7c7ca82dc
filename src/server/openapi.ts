/**
 * The API description served at `GET /openapi.json`. Written by hand: routes read their bodies
 * themselves (for errors that name the field), so there are no route schemas to generate it from.
 */

import { hookPaths, hookSchemas, hookSecuritySchemes } from '../adapters/hooks/openapi.js';
import { PRESET_NAMES } from '../adapters/presets.js';
import { COMPATIBILITY_MODES } from '../contracts/compatibility.js';
import { MAX_SCHEMA_BYTES } from '../contracts/schema-validation.js';
import { DEFAULT_COMPATIBILITY, DEFAULT_VALIDATION } from '../contracts/type-defaults.js';
import {
  BATCH_BOUNDS,
  DEFAULT_BATCH_POLICY,
  DEFAULT_DELIVERY_POLICY,
  DELIVERY_BOUNDS,
  RATE_LIMIT_BOUNDS,
} from '../core/config.js';
import { DELIVERY_STATUSES } from '../storage/ports.js';
import { dashboardPaths, dashboardSchemas, eventSearch } from './openapi-dashboard.js';

const problem = { $ref: '#/components/responses/Problem' };
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const typeParam = {
  name: 'type',
  in: 'path',
  required: true,
  description: 'the CloudEvents type, URL-encoded',
  schema: { type: 'string', minLength: 1 },
};
/** An event type's settings, as registration and PATCH take them. */
const typeSettings = {
  type: 'object',
  properties: {
    owner: { type: ['string', 'null'] },
    description: { type: ['string', 'null'] },
    channel: {
      type: ['string', 'null'],
      description: 'informational: routing takes channels from the config',
    },
    example: { description: 'an example event of the type' },
    compatibility: { enum: COMPATIBILITY_MODES, default: DEFAULT_COMPATIBILITY },
    optionalFriendly: {
      type: 'boolean',
      default: false,
      description: 'adding an optional property to an open model counts as compatible',
    },
    validation: {
      enum: ['enforce', 'warn', 'off'],
      default: DEFAULT_VALIDATION,
      description:
        'what ingest does with an event that does not match its version: refuse it, take it flagged, or not look',
    },
    afterSunset: {
      enum: ['refuse', 'accept'],
      default: 'refuse',
      description: 'what ingest does with an event of a version past its sunset',
    },
  },
};
/** A compatibility verdict: compatible or not, and each breaking change. */
const checkResult = {
  type: 'object',
  required: ['compatible', 'changes'],
  properties: {
    compatible: { type: 'boolean' },
    changes: { type: 'array', items: { $ref: '#/components/schemas/SchemaChange' } },
  },
};
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
/** A page of items: `next` is the cursor for `after`, null on the last page. */
const pageOf = (items: unknown) => ({
  type: 'object',
  required: ['items', 'next'],
  properties: { items: { type: 'array', items }, next: { type: ['string', 'null'] } },
});
/** The `ids` or `subscription` body of redrive and discard; exactly one of the two. */
const deadLetterSelector = json({
  oneOf: [
    {
      type: 'object',
      required: ['ids'],
      additionalProperties: false,
      properties: { ids: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 1000 } },
    },
    {
      type: 'object',
      required: ['subscription'],
      additionalProperties: false,
      properties: { subscription: { type: 'string', minLength: 1 } },
    },
  ],
});
/** What redrive and discard answer; `count` is the name of the count field. */
const deadLetterResult = (count: string) =>
  json({
    type: 'object',
    required: [count, 'skipped'],
    properties: {
      [count]: { type: 'integer', description: 'dead letters moved' },
      skipped: {
        type: 'array',
        items: { type: 'string' },
        description: 'ids given that are unknown or not dead; always empty for a subscription',
      },
      more: {
        type: 'boolean',
        description:
          'by subscription only: true when the 10,000-per-call limit cut it short; repeat the call until false',
      },
    },
  });
const paging = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
  {
    name: 'after',
    in: 'query',
    description: 'the `next` cursor of the previous page',
    schema: { type: 'string' },
  },
];

/** A whole number within the bounds the API enforces, with its default. */
const bounded = (
  [minimum, maximum]: [number, number],
  fallback: number | undefined,
  description?: string,
) => ({
  type: 'integer',
  minimum,
  maximum,
  ...(fallback === undefined ? {} : { default: fallback }),
  ...(description ? { description } : {}),
});

/** Junction's `delivery` policy of a subscription, with the bounds and defaults the API applies. */
function deliveryPolicySchema() {
  const d = DEFAULT_DELIVERY_POLICY;
  const b = DELIVERY_BOUNDS;
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      format: { enum: ['binary', 'structured', 'webhook'], default: d.format },
      timeoutMs: bounded(b.timeoutMs, d.timeoutMs),
      maxAttempts: bounded(b.maxAttempts, d.maxAttempts),
      maxAgeMs: bounded(b.maxAgeMs, d.maxAgeMs),
      initialDelayMs: bounded(b.initialDelayMs, d.initialDelayMs),
      maxDelayMs: bounded(b.maxDelayMs, d.maxDelayMs),
      maxRetryAfterMs: bounded(b.maxRetryAfterMs, d.maxRetryAfterMs),
      disableAfterMs: bounded(
        b.disableAfterMs,
        d.disableAfterMs,
        'a subscription whose every attempt has failed for this long is disabled',
      ),
      transform: {
        type: ['string', 'null'],
        default: null,
        description:
          "JSONata that reshapes each event's data for this subscription ($event is the whole event); runs within 100 ms and 500 steps, no regular expressions or $eval; a failure dead-letters the delivery",
      },
      allowedRegions: {
        oneOf: [{ type: 'null' }, { type: 'array', items: { type: 'string' }, minItems: 1 }],
        default: null,
        description:
          'the `dataregion` values whose events may go here; others are recorded as blocked. null: any',
      },
      mode: {
        enum: ['live', 'shadow'],
        default: 'live',
        description: '`shadow`: matched events are recorded as `shadow` deliveries and never sent',
      },
      preset: {
        oneOf: [{ type: 'null' }, { enum: [...PRESET_NAMES] }],
        description:
          "A no-code tool's settings for what the request leaves out (format, timeout, rate limit, Slack's message template, retried statuses); see docs/recipes/. Omitted: recognised from the sink's host (hooks.zapier.com, hook.*.make.com, *.app.n8n.cloud, *.logic.azure.com, hooks.slack.com), else null.",
      },
      retryOn: {
        type: 'array',
        items: { type: 'integer', minimum: 400, maximum: 499, not: { enum: [410, 429] } },
        maxItems: 20,
        default: [],
        description:
          "4xx statuses retried instead of dead-lettered, such as n8n's 404 while its workflow is inactive",
      },
      schemaVersion: {
        description:
          "The schema version to receive events in, converted by the type's converters: a number for a subscription of one type, or versions by type. null: as published.",
        oneOf: [
          { type: 'null' },
          { type: 'integer', minimum: 1 },
          { type: 'object', additionalProperties: { type: 'integer', minimum: 1 }, minProperties: 1 },
        ],
        default: null,
      },
      rateLimit: {
        description:
          'Requests to the sink per second, with a burst, and at most `concurrency` in flight; throttled ' +
          "deliveries wait, never drop. null: no limit. Omitted: the preset's, if any " +
          '(slack: 1 per second, burst 1, concurrency 1; make: 30; zapier: 50), else null.',
        oneOf: [
          { type: 'null' },
          {
            type: 'object',
            required: ['perSecond'],
            additionalProperties: false,
            properties: {
              perSecond: {
                type: 'number',
                exclusiveMinimum: RATE_LIMIT_BOUNDS.perSecond[0],
                maximum: RATE_LIMIT_BOUNDS.perSecond[1],
                description: 'fractions allowed: 0.5 is one request every 2 s',
              },
              burst: bounded(RATE_LIMIT_BOUNDS.burst, undefined, 'default: max(1, ceil(perSecond))'),
              concurrency: {
                oneOf: [{ type: 'null' }, bounded(RATE_LIMIT_BOUNDS.concurrency, undefined)],
                default: null,
                description: 'requests in flight at once; null: no cap of its own',
              },
            },
          },
        ],
      },
      ordering: {
        enum: ['none', 'partition'],
        default: d.ordering,
        description: '`partition`: events with the same `partitionkey` one at a time, in publish order',
      },
      onDead: {
        enum: ['skip', 'block'],
        default: d.onDead,
        description:
          "with ordering `partition`, what a dead letter does to its key: `skip` goes on with the next event, `block` holds the key until the dead letter is redriven or discarded; `block` requires ordering 'partition'",
      },
      batch: {
        description:
          'Send events as `application/cloudevents-batch+json`, up to whichever limit comes first; not with format `webhook`. null: one event per request.',
        oneOf: [
          { type: 'null' },
          {
            type: 'object',
            additionalProperties: false,
            properties: {
              maxEvents: bounded(BATCH_BOUNDS.maxEvents, DEFAULT_BATCH_POLICY.maxEvents),
              maxWaitMs: bounded(BATCH_BOUNDS.maxWaitMs, DEFAULT_BATCH_POLICY.maxWaitMs),
              maxBytes: bounded(BATCH_BOUNDS.maxBytes, DEFAULT_BATCH_POLICY.maxBytes),
            },
          },
        ],
      },
    },
  };
}

export function openApiDocument(version: string) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Junction',
      version,
      description: 'Event hub: CloudEvents in, signed webhooks out, durable, with retries and dead letters.',
    },
    security: [{ bearer: [] }],
    paths: {
      '/healthz': {
        get: { summary: 'Liveness', security: [], responses: { 200: { description: 'alive' } } },
      },
      '/readyz': {
        get: {
          summary: 'Readiness: storage answers',
          security: [],
          responses: { 200: { description: 'ready' }, 503: { description: 'storage does not answer' } },
        },
      },
      '/ui': {
        get: {
          summary:
            'The web dashboard (deep links under /ui/ answer the same page); it signs in with an API key',
          security: [],
          responses: {
            200: { description: 'the dashboard', content: { 'text/html': {} } },
            404: { description: 'the dashboard was not built (run npm run build)' },
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics (text exposition format), behind the API key',
          responses: { 200: { description: 'metrics', content: { 'text/plain': {} } }, 401: problem },
        },
      },
      '/v1/stats': {
        get: {
          summary: "Live figures for the dashboard: this process's counts in 5 s buckets, totals, backlog",
          description:
            'Per process: kept in memory since it started. `failed` counts failed attempts; latency is from receipt to delivery.',
          parameters: [
            {
              name: 'window',
              in: 'query',
              description: 'seconds of buckets to return',
              schema: { type: 'integer', minimum: 5, maximum: 3600, default: 600 },
            },
          ],
          responses: { 200: json(ref('Stats')), 400: problem, 401: problem },
        },
      },
      '/v1/events': {
        get: eventSearch,
        post: {
          summary: 'Publish events (CloudEvents HTTP binding: binary, structured or batch mode)',
          description:
            'Binary mode: `ce-*` headers and the data as the body. Structured: `application/cloudevents+json`. ' +
            'Batch: `application/cloudevents-batch+json`, all-or-nothing. Answers 202 only once the events are durable.',
          requestBody: {
            required: true,
            content: {
              'application/cloudevents+json': { schema: ref('CloudEvent') },
              'application/cloudevents-batch+json': {
                schema: { type: 'array', items: ref('CloudEvent') },
              },
              '*/*': { schema: {} },
            },
          },
          responses: {
            202: {
              description:
                'durable; publishing a deprecated schema version adds `Deprecation`, `Sunset` and `Link: <…>; rel="successor-version"` headers',
              ...json({
                type: 'object',
                properties: {
                  events: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        source: { type: 'string' },
                        id: { type: 'string' },
                        status: { enum: ['accepted', 'duplicate'] },
                        warnings: {
                          type: 'array',
                          description:
                            'what the event was taken despite: `{code: "schema-violation", version, errors}` (validation warn), `{code: "deprecated", version, sunset}`, `{code: "dataschema", message}`',
                          items: {
                            type: 'object',
                            required: ['code'],
                            properties: { code: { type: 'string' } },
                          },
                        },
                      },
                    },
                  },
                },
              }),
            },
            400: problem,
            401: problem,
            413: problem,
            415: problem,
            503: {
              description:
                'Problem `overloaded`: more events are waiting to be written than `maxPendingWrites`; nothing in ' +
                'the request was stored, so send it again after `Retry-After` seconds. Problem `unavailable`: the ' +
                'hub is shutting down.',
              headers: {
                'Retry-After': {
                  description: 'seconds to wait before retrying (with `overloaded`)',
                  schema: { type: 'integer' },
                },
              },
              content: { 'application/problem+json': { schema: ref('Problem') } },
            },
          },
        },
      },
      '/v1/events/lookup': {
        get: {
          summary: 'One event with its deliveries and every attempt',
          parameters: [
            { name: 'source', in: 'query', required: true, schema: { type: 'string' } },
            { name: 'id', in: 'query', required: true, schema: { type: 'string' } },
          ],
          responses: { 200: { description: 'the event' }, 400: problem, 404: problem },
        },
      },
      '/v1/events/stream': {
        get: {
          summary:
            'Server-sent events of events as they become durable (event: cloudevent, id: the sequence number); resumable with Last-Event-ID',
          parameters: [
            {
              name: 'type',
              in: 'query',
              description: 'exact event type; repeat it or give a comma list for any of several',
              schema: { type: 'array', items: { type: 'string' } },
              style: 'form',
              explode: true,
            },
            { name: 'source', in: 'query', description: 'exact source', schema: { type: 'string' } },
            { name: 'subject', in: 'query', description: 'subject prefix', schema: { type: 'string' } },
            { name: 'sql', in: 'query', description: 'a CESQL expression', schema: { type: 'string' } },
            {
              name: 'after',
              in: 'query',
              description: 'replay stored events after this id first (Last-Event-ID wins when both are sent)',
              schema: { type: 'integer', minimum: 0 },
            },
            { name: 'Last-Event-ID', in: 'header', schema: { type: 'string' } },
          ],
          responses: {
            200: {
              description:
                'a text/event-stream: `cloudevent` messages, `: heartbeat` comments every 15 s, and a last `overflow` message when the client falls too far behind',
              content: { 'text/event-stream': { schema: { type: 'string' } } },
            },
            400: problem,
            401: problem,
            503: problem,
          },
        },
      },
      '/v1/subscriptions': {
        get: {
          summary: 'List subscriptions',
          responses: { 200: json({ type: 'array', items: ref('Subscription') }) },
        },
        post: {
          summary: 'Create a subscription; the response carries its signing secret, shown only here',
          requestBody: { required: true, ...json(ref('SubscriptionRequest')) },
          responses: { 201: json(ref('Subscription')), 400: problem, 415: problem },
        },
      },
      '/v1/subscriptions/{id}': {
        parameters: [idParam],
        get: {
          summary: 'Get a subscription',
          responses: { 200: json(ref('Subscription')), 404: problem },
        },
        put: {
          summary: 'Replace a subscription (its id, secret and history stay)',
          requestBody: { required: true, ...json(ref('SubscriptionRequest')) },
          responses: { 200: json(ref('Subscription')), 400: problem, 404: problem },
        },
        delete: {
          summary: 'Delete a subscription; its pending deliveries become dead letters',
          responses: { 200: json(ref('Subscription')), 404: problem },
        },
      },
      '/v1/subscriptions/{id}/deliveries': {
        get: {
          summary: 'Deliveries of one subscription',
          parameters: [
            idParam,
            { name: 'status', in: 'query', schema: { enum: DELIVERY_STATUSES } },
            ...paging,
          ],
          responses: {
            200: json(pageOf(ref('DeliveryItem'))),
            400: problem,
            404: problem,
          },
        },
      },
      '/v1/subscriptions/{id}/stats': {
        parameters: [idParam],
        get: {
          summary: "A subscription's deliveries by status, its endpoint's circuit breaker, and failingSince",
          responses: { 200: json(ref('SubscriptionStats')), 404: problem },
        },
      },
      ...hookPaths,
      ...dashboardPaths,
      '/v1/dead-letters': {
        get: {
          summary: 'Dead letters, optionally of one subscription',
          parameters: [{ name: 'subscription', in: 'query', schema: { type: 'string' } }, ...paging],
          responses: { 200: json(pageOf(ref('DeliveryItem'))), 400: problem },
        },
      },
      '/v1/dead-letters/redrive': {
        post: {
          summary: 'Send dead letters again, with their original webhook-id and a fresh retry budget',
          requestBody: { required: true, ...deadLetterSelector },
          responses: { 200: deadLetterResult('redriven'), 400: problem, 404: problem, 415: problem },
        },
      },
      '/v1/dead-letters/discard': {
        post: {
          summary:
            'Give up on dead letters for good: they become `discarded` and, under onDead `block`, stop holding back their partition key',
          requestBody: { required: true, ...deadLetterSelector },
          responses: { 200: deadLetterResult('discarded'), 400: problem, 404: problem, 415: problem },
        },
      },
      '/v1/replays': {
        get: {
          summary: 'The latest 100 replays, newest first (without delivery counts)',
          responses: { 200: json({ type: 'array', items: ref('Replay') }) },
        },
        post: {
          summary: 'Replay archived events of a time range to one subscription, as a job with progress',
          description:
            'Each replayed delivery carries the `junctionreplay` extension with the replay id, and keeps the ' +
            "`webhook-id` of the event's earlier delivery to the subscription (or one derived from the event " +
            'and subscription) unless `newWebhookIds` is true.',
          requestBody: { required: true, ...json(ref('ReplayRequest')) },
          responses: {
            202: {
              description: 'started; `Location: /v1/replays/{id}`',
              headers: { Location: { schema: { type: 'string' } } },
              ...json(ref('ReplayWithDeliveries')),
            },
            400: problem,
            404: problem,
            415: problem,
          },
        },
      },
      '/v1/replays/{id}': {
        parameters: [idParam],
        get: {
          summary: 'One replay, with its deliveries counted by status',
          responses: { 200: json(ref('ReplayWithDeliveries')), 404: problem },
        },
      },
      '/v1/replays/{id}/cancel': {
        parameters: [idParam],
        post: {
          summary:
            'Stop a running replay after its current page; the deliveries it made go on. A replay that has ended is returned unchanged.',
          responses: { 200: json(ref('ReplayWithDeliveries')), 404: problem },
        },
      },
      '/v1/rest-hooks': {
        get: {
          summary: 'The REST hooks no-code tools have subscribed',
          responses: { 200: json({ type: 'array', items: ref('RestHook') }) },
        },
        post: {
          summary: "Subscribe a no-code trigger's target URL to one event type (Zapier's REST hook pattern)",
          description:
            'Upserts a subscription on (target_url, event), with the preset its URL is recognised by; a repeated ' +
            'call answers the same id (and makes a disabled one active again). The subscription is stored like ' +
            'any other and removed when its target answers 410.',
          requestBody: {
            required: true,
            ...json({
              type: 'object',
              required: ['target_url', 'event'],
              additionalProperties: false,
              properties: {
                target_url: { type: 'string', format: 'uri', description: 'an http(s) URL' },
                event: { type: 'string', description: 'a registered type, or one already published' },
              },
            }),
          },
          responses: {
            201: {
              description:
                'subscribed; `Location: /v1/rest-hooks/{id}`; `secret` only when it was created now',
              headers: { Location: { schema: { type: 'string' } } },
              ...json(ref('RestHook')),
            },
            400: problem,
            415: problem,
          },
        },
      },
      '/v1/rest-hooks/sample': {
        get: {
          summary:
            'Recent events of a type as a REST hook delivers them, for a tool to show the fields to map',
          description:
            "Newest first, in the webhook shape `{id, type, source, subject?, timestamp, data}`. With none stored, one made from the latest schema's first `examples` entry; else an empty array.",
          parameters: [
            { name: 'event', in: 'query', required: true, schema: { type: 'string' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10, default: 3 } },
          ],
          responses: { 200: json({ type: 'array', items: { type: 'object' } }), 400: problem },
        },
      },
      '/v1/rest-hooks/{id}': {
        parameters: [idParam],
        get: { summary: 'One REST hook', responses: { 200: json(ref('RestHook')), 404: problem } },
        delete: {
          summary: 'Unsubscribe: remove the REST hook and its subscription',
          responses: { 204: { description: 'removed' }, 404: problem },
        },
      },
      '/v1/channels': {
        get: {
          summary: 'The channels in effect, `default` first',
          responses: { 200: json({ type: 'array', items: ref('Channel') }) },
        },
      },
      '/v1/endpoints': {
        get: {
          summary: 'Every sink endpoint the hub remembers, with its circuit breaker',
          responses: { 200: json({ type: 'array', items: ref('Endpoint') }) },
        },
      },
      '/v1/expressions/evaluate': {
        post: {
          summary: 'Evaluate a filter expression against an event: {result, error}, a parse error included',
          requestBody: {
            required: true,
            ...json({
              type: 'object',
              required: ['dialect', 'expression', 'event'],
              properties: {
                dialect: {
                  enum: ['sql', 'cesql', 'pattern', 'exact', 'prefix', 'suffix', 'all', 'any', 'not'],
                },
                expression: {
                  description: 'CESQL text for sql; the filter value (JSON) for the other dialects',
                },
                event: { type: 'object', description: 'a CloudEvent in the JSON format' },
              },
            }),
          },
          responses: {
            200: json({
              type: 'object',
              required: ['result', 'error'],
              properties: {
                result: { type: ['boolean', 'integer', 'string', 'null'] },
                error: {
                  oneOf: [
                    { type: 'null' },
                    {
                      type: 'object',
                      required: ['kind', 'message'],
                      properties: {
                        kind: {
                          enum: [
                            'parse',
                            'math',
                            'cast',
                            'missingFunction',
                            'functionEvaluation',
                            'missingAttribute',
                            'generic',
                          ],
                        },
                        message: { type: 'string' },
                        position: { type: 'integer', minimum: 0 },
                      },
                    },
                  ],
                },
              },
            }),
            400: problem,
          },
        },
      },
      '/v1/simulate': {
        post: {
          summary:
            'What the hub would do with an event, or the latest events of a type; nothing stored or sent',
          requestBody: {
            required: true,
            ...json({
              oneOf: [
                { type: 'object', required: ['event'], properties: { event: { type: 'object' } } },
                {
                  type: 'object',
                  required: ['type'],
                  properties: {
                    type: { type: 'string' },
                    sample: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
                  },
                },
              ],
            }),
          },
          responses: {
            200: json({
              type: 'object',
              properties: {
                events: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      event: { type: 'object' },
                      channel: { type: 'string' },
                      contract: {},
                      otherTypes: { type: 'integer' },
                      subscriptions: {
                        type: 'array',
                        items: {
                          type: 'object',
                          properties: {
                            id: { type: 'string' },
                            mode: { enum: ['live', 'shadow'] },
                            matched: { type: 'boolean' },
                            decidedBy: {},
                            outcome: { enum: ['send', 'not-matched', 'blocked', 'shadow', 'dead-letter'] },
                            reason: { type: ['string', 'null'] },
                            payload: {},
                          },
                        },
                      },
                    },
                  },
                },
              },
            }),
            400: problem,
          },
        },
      },
      '/v1/schemas': {
        get: {
          summary: 'Every registered event type with its settings and latest version number',
          responses: { 200: json({ type: 'array', items: ref('EventType') }) },
        },
      },
      '/v1/schemas/{type}': {
        parameters: [typeParam],
        post: {
          summary:
            "Register a JSON Schema as the type's next version, checked against the earlier ones under the type's compatibility mode",
          requestBody: { required: true, ...json(ref('SchemaRequest')) },
          responses: {
            201: json(ref('SchemaVersion')),
            400: problem,
            409: {
              description:
                'the schema would break consumers: problem+json with `changes: [{pointer, kind, message}]`',
              content: { 'application/problem+json': { schema: ref('Problem') } },
            },
            413: problem,
          },
        },
        get: {
          summary: "A type's settings with its latest version",
          responses: {
            200: json({
              allOf: [
                ref('EventType'),
                {
                  type: 'object',
                  properties: { latest: { oneOf: [ref('SchemaVersion'), { type: 'null' }] } },
                },
              ],
            }),
            404: problem,
          },
        },
        patch: {
          summary: "Change a type's settings; fields left out keep their value",
          requestBody: { required: true, ...json(typeSettings) },
          responses: { 200: json(ref('EventType')), 400: problem, 404: problem },
        },
      },
      '/v1/schemas/{type}/versions': {
        parameters: [typeParam],
        get: {
          summary: "A type's versions, oldest first",
          responses: { 200: json({ type: 'array', items: ref('SchemaVersion') }), 404: problem },
        },
      },
      '/v1/schemas/{type}/versions/{n}': {
        parameters: [
          typeParam,
          { name: 'n', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } },
        ],
        get: {
          summary: 'One version of a type',
          responses: { 200: json(ref('SchemaVersion')), 400: problem, 404: problem },
        },
        patch: {
          summary: 'Deprecate a version (a sunset deprecates too), or take the deprecation back',
          requestBody: {
            required: true,
            ...json({
              type: 'object',
              additionalProperties: false,
              properties: {
                deprecated: { type: 'boolean' },
                sunset: { type: ['string', 'null'], format: 'date-time' },
              },
            }),
          },
          responses: { 200: json(ref('SchemaVersion')), 400: problem, 404: problem },
        },
      },
      '/v1/schemas/{type}/converters': {
        parameters: [typeParam],
        post: {
          summary: 'Register (or replace) the JSONata converter between two adjacent versions',
          requestBody: { required: true, ...json(ref('SchemaConverter')) },
          responses: { 201: json(ref('SchemaConverter')), 400: problem, 404: problem },
        },
        get: {
          summary: "A type's converters, by from then to",
          responses: { 200: json({ type: 'array', items: ref('SchemaConverter') }), 404: problem },
        },
      },
      '/v1/schemas/{type}/converters/{from}/{to}': {
        parameters: [
          typeParam,
          { name: 'from', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } },
          { name: 'to', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } },
        ],
        delete: {
          summary: 'Remove a converter',
          responses: { 204: { description: 'removed' }, 400: problem, 404: problem },
        },
      },
      '/v1/schemas/{type}/check': {
        parameters: [typeParam],
        post: {
          summary: 'Check a candidate schema against the registered versions without registering it',
          requestBody: {
            required: true,
            ...json({
              type: 'object',
              required: ['schema'],
              properties: {
                schema: { description: 'JSON Schema, draft 2020-12' },
                compatibility: { enum: COMPATIBILITY_MODES, description: "default: the type's own mode" },
              },
            }),
          },
          responses: {
            200: json(checkResult),
            400: problem,
            413: problem,
          },
        },
      },
      '/v1/schemas/{type}/diff': {
        parameters: [typeParam],
        get: {
          summary:
            'Compare two versions of a type: the JSON Patch (RFC 6902) from one to the other, and whether each reads data written with the other',
          description:
            '`from` may be greater than `to`. `required`, `enum` and an array `type` are compared as sets: the patch ' +
            'turns `from` into `to` up to their order. Each operation carries a `summary` and, for `remove` and ' +
            '`replace`, the `oldValue`. `backward`: can `to` read data written with `from`; `forward`: the reverse; ' +
            "both under the type's optionalFriendly setting.",
          parameters: [
            { name: 'from', in: 'query', required: true, schema: { type: 'integer', minimum: 1 } },
            { name: 'to', in: 'query', required: true, schema: { type: 'integer', minimum: 1 } },
          ],
          responses: {
            200: json({
              type: 'object',
              required: ['type', 'from', 'to', 'changes', 'compatibility'],
              properties: {
                type: { type: 'string' },
                from: { type: 'integer' },
                to: { type: 'integer' },
                changes: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['op', 'path', 'summary'],
                    properties: {
                      op: { enum: ['add', 'remove', 'replace', 'move'] },
                      path: { type: 'string', description: 'JSON pointer into the schema' },
                      from: { type: 'string', description: '`move` only' },
                      value: { description: '`add` and `replace`' },
                      oldValue: { description: '`remove` and `replace`: the value before' },
                      summary: { type: 'string' },
                    },
                  },
                },
                compatibility: {
                  type: 'object',
                  required: ['backward', 'forward'],
                  properties: { backward: checkResult, forward: checkResult },
                },
              },
            }),
            400: problem,
            404: problem,
          },
        },
      },
      '/v1/schemas/{type}/changes': {
        parameters: [typeParam],
        get: {
          summary: "Every change to a type's contract, oldest first, with who made it and when",
          responses: {
            200: json({
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'integer' },
                  type: { type: 'string' },
                  at: { type: 'string', format: 'date-time' },
                  actor: { type: 'string', description: '`admin` for the bootstrap key' },
                  change: {
                    type: 'object',
                    description:
                      '`{action: "register", version, fields?}` (settings given with the schema), `{action: "settings", fields}`, `{action: "lifecycle", version, deprecatedAt, sunsetAt}`, `{action: "converter", from, to, expression}` or `{action: "converter-removed", from, to}`',
                  },
                },
              },
            }),
            404: problem,
          },
        },
      },
      '/v1/catalog/asyncapi.json': {
        get: {
          summary: 'The event catalog as an AsyncAPI 3.0.0 document',
          description:
            'Every registered event type as a message with its latest schema (multi-format, ' +
            '`application/schema+json;version=draft-2020-12`), CloudEvents binary-mode headers and example; ' +
            "its channel (the type's `channel` setting, else the routing configuration's); a `receive` " +
            'operation for producers publishing it and a `send` operation per subscription taking it. ' +
            'Sinks appear as their origin only.',
          responses: {
            200: json({
              type: 'object',
              required: ['asyncapi', 'info', 'channels', 'operations', 'components'],
              properties: { asyncapi: { const: '3.0.0' } },
            }),
            401: problem,
          },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, ...hookSecuritySchemes },
      responses: {
        Problem: {
          description: 'RFC 9457 problem details',
          content: { 'application/problem+json': { schema: ref('Problem') } },
        },
      },
      schemas: {
        ...hookSchemas,
        ...dashboardSchemas,
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail'],
          properties: {
            type: { type: 'string', description: '`https://junction.dev/problems/<code>`' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            errors: {
              type: 'array',
              items: {
                type: 'object',
                properties: { pointer: { type: 'string' }, message: { type: 'string' } },
              },
            },
            changes: {
              type: 'array',
              description: 'for an incompatible schema (409): each breaking change',
              items: ref('SchemaChange'),
            },
          },
        },
        SchemaChange: {
          type: 'object',
          required: ['pointer', 'kind', 'message'],
          properties: {
            pointer: { type: 'string', description: 'JSON pointer into the schema' },
            kind: { type: 'string' },
            message: { type: 'string', description: 'what breaks and what to do instead' },
            direction: { enum: ['BACKWARD', 'FORWARD'] },
            againstVersion: { type: 'integer' },
          },
        },
        SchemaRequest: {
          type: 'object',
          required: ['schema'],
          properties: {
            schema: {
              description: `JSON Schema, draft 2020-12, at most ${MAX_SCHEMA_BYTES} bytes; $ref only within the document ("#...")`,
            },
            ...typeSettings.properties,
          },
        },
        SchemaVersion: {
          type: 'object',
          required: ['type', 'version', 'schema', 'createdAt'],
          properties: {
            type: { type: 'string' },
            version: { type: 'integer', minimum: 1 },
            schema: {},
            createdAt: { type: 'string', format: 'date-time' },
            createdBy: { type: 'string' },
            deprecatedAt: { type: ['string', 'null'], format: 'date-time' },
            sunsetAt: { type: ['string', 'null'], format: 'date-time' },
            state: { enum: ['active', 'deprecated', 'retired'], description: '`retired`: past its sunset' },
          },
        },
        SchemaConverter: {
          type: 'object',
          required: ['from', 'to', 'expression'],
          properties: {
            type: { type: 'string' },
            from: { type: 'integer', minimum: 1 },
            to: { type: 'integer', minimum: 1, description: 'from + 1 or from - 1' },
            expression: {
              type: 'string',
              description:
                "JSONata: takes the event's data (and `$event`) and returns the data in version `to`",
            },
            createdAt: { type: 'string', format: 'date-time' },
            createdBy: { type: 'string' },
          },
        },
        EventType: {
          type: 'object',
          properties: {
            type: { type: 'string' },
            ...typeSettings.properties,
            latestVersion: { type: ['integer', 'null'] },
            createdAt: { type: 'string', format: 'date-time' },
            updatedAt: { type: 'string', format: 'date-time' },
          },
        },
        CloudEvent: {
          type: 'object',
          required: ['specversion', 'id', 'source', 'type'],
          properties: {
            specversion: { const: '1.0' },
            id: { type: 'string', minLength: 1 },
            source: { type: 'string', format: 'uri-reference', minLength: 1 },
            type: { type: 'string', minLength: 1 },
            datacontenttype: { type: 'string' },
            dataschema: { type: 'string', format: 'uri' },
            subject: { type: 'string' },
            time: { type: 'string', format: 'date-time' },
            data: {},
            data_base64: { type: 'string', contentEncoding: 'base64' },
          },
          additionalProperties: { type: ['string', 'integer', 'boolean'] },
        },
        DeliveryPolicy: deliveryPolicySchema(),
        SubscriptionRequest: {
          type: 'object',
          required: ['sink'],
          properties: {
            sink: {
              type: 'string',
              format: 'uri',
              description:
                'http(s) URL; for a broker amqp(s)://, mqtt(s)://, ws(s)://, nats:// (credentials allowed, shown as ***)',
            },
            protocol: {
              enum: ['HTTP', 'AMQP', 'MQTT', 'MQTT3', 'MQTT5', 'NATS'],
              default: 'HTTP',
              description: 'MQTT is MQTT5; see docs/bridges.md',
            },
            types: { type: 'array', items: { type: 'string' } },
            filters: {
              type: 'array',
              description:
                'Subscriptions API filters: exact, prefix, suffix, all, any, not; and pattern (docs/patterns.md)',
              items: { type: 'object' },
            },
            protocolsettings: {
              type: 'object',
              description:
                "The protocol's settings: HTTP headers, method; AMQP exchange, routingkey, persistent, mandatory; MQTT topicname, qos, retain, expiry, userproperties; NATS subject, jetstream",
              properties: {
                headers: { type: 'object', additionalProperties: { type: 'string' } },
                method: { enum: ['POST', 'PUT', 'PATCH'] },
                exchange: { type: 'string' },
                routingkey: { type: 'string' },
                persistent: { type: 'boolean', default: true },
                mandatory: { type: 'boolean', default: true },
                topicname: { type: 'string' },
                qos: { enum: [0, 1, 2], default: 1 },
                retain: { type: 'boolean', default: false },
                expiry: { type: 'integer', minimum: 1 },
                userproperties: { type: 'object', additionalProperties: { type: 'string' } },
                subject: { type: 'string' },
                jetstream: { type: 'boolean', default: false },
              },
            },
            delivery: ref('DeliveryPolicy'),
            status: { enum: ['active', 'disabled'] },
          },
        },
        Subscription: {
          allOf: [
            ref('SubscriptionRequest'),
            {
              type: 'object',
              properties: {
                id: { type: 'string' },
                origin: {
                  enum: ['rest-hook'],
                  description:
                    'made through /v1/rest-hooks by a no-code tool; removed when its target answers 410',
                },
                statusReason: { type: ['string', 'null'] },
                failingSince: {
                  type: ['string', 'null'],
                  format: 'date-time',
                  description: 'since when every attempt has failed; null after any success',
                },
                secret: { type: 'string', description: 'whsec_ signing secret, in the create response only' },
                createdAt: { type: 'string', format: 'date-time' },
                updatedAt: { type: 'string', format: 'date-time' },
              },
            },
          ],
        },
        RestHook: {
          type: 'object',
          required: ['id', 'target_url', 'event', 'status', 'createdAt'],
          properties: {
            id: {
              type: 'string',
              description: 'the subscription id; DELETE /v1/rest-hooks/{id} unsubscribes',
            },
            target_url: { type: 'string' },
            event: { type: 'string' },
            status: { enum: ['active', 'disabled'] },
            createdAt: { type: 'string', format: 'date-time' },
            secret: {
              type: 'string',
              description: 'whsec_ signing secret, when the call created the subscription',
            },
          },
        },
        DeliveryStatus: {
          enum: DELIVERY_STATUSES,
          description:
            '`discarded`: a dead letter given up on with POST /v1/dead-letters/discard. `filtered` and `blocked` do not occur yet.',
        },
        Delivery: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            subscriptionId: { type: 'string' },
            eventSeq: { type: 'integer' },
            channel: {
              type: 'string',
              description: "the channel of the event's type when the delivery was made",
            },
            orderKey: {
              type: ['string', 'null'],
              description: "the event's partitionkey when the subscription orders by it; null otherwise",
            },
            replayId: {
              type: ['string', 'null'],
              description: 'the replay that made this delivery; null for a live one',
            },
            webhookId: {
              type: 'string',
              description: 'the webhook-id header; the same on every retry and redrive',
            },
            status: ref('DeliveryStatus'),
            attempts: { type: 'integer' },
            budgetAttempts: { type: 'integer' },
            budgetSince: { type: 'string', format: 'date-time' },
            nextAttemptAt: { type: ['string', 'null'], format: 'date-time' },
            lastError: { type: ['string', 'null'] },
            createdAt: { type: 'string', format: 'date-time' },
            updatedAt: { type: 'string', format: 'date-time' },
          },
        },
        DeliveryItem: {
          allOf: [
            ref('Delivery'),
            {
              type: 'object',
              properties: {
                event: {
                  type: 'object',
                  properties: {
                    source: { type: 'string' },
                    id: { type: 'string' },
                    type: { type: 'string' },
                  },
                },
              },
            },
          ],
        },
        Stats: {
          type: 'object',
          required: ['now', 'intervalSeconds', 'series', 'backlog', 'totals'],
          properties: {
            now: { type: 'string', format: 'date-time' },
            intervalSeconds: { type: 'integer', const: 5 },
            series: {
              type: 'array',
              description: 'one point per bucket of the window, oldest first; quiet buckets are zeros',
              items: {
                type: 'object',
                required: ['at', 'ingested', 'delivered', 'failed', 'dead', 'p50Ms', 'p99Ms'],
                properties: {
                  at: { type: 'string', format: 'date-time', description: 'start of the bucket' },
                  ingested: { type: 'integer' },
                  delivered: { type: 'integer' },
                  failed: { type: 'integer', description: 'failed attempts, retried or dead-lettered' },
                  dead: { type: 'integer' },
                  p50Ms: { type: ['number', 'null'], description: 'receipt-to-delivery latency' },
                  p99Ms: { type: ['number', 'null'] },
                },
              },
            },
            backlog: {
              type: 'array',
              items: {
                type: 'object',
                required: ['subscription', 'channel', 'pending', 'oldestPendingAgeSeconds'],
                properties: {
                  subscription: { type: 'string' },
                  channel: { type: 'string' },
                  pending: { type: 'integer', description: 'deliveries pending or retrying' },
                  oldestPendingAgeSeconds: { type: ['number', 'null'] },
                },
              },
            },
            backlogError: {
              type: 'string',
              description: 'present when the store could not be read: why; `backlog` is then empty',
            },
            totals: {
              type: 'object',
              description: 'since the process started',
              required: ['ingested', 'delivered', 'failed', 'dead'],
              properties: {
                ingested: { type: 'integer' },
                delivered: { type: 'integer' },
                failed: { type: 'integer' },
                dead: { type: 'integer' },
              },
            },
          },
        },
        Endpoint: {
          type: 'object',
          required: ['endpoint', 'state'],
          properties: {
            endpoint: {
              type: 'string',
              description:
                'the sink URL without credentials or fragment: subscriptions to the same one share a breaker',
            },
            state: { enum: ['closed', 'open', 'half-open'] },
            requests: {
              type: 'integer',
              description:
                'closed: requests in the window; open: the requests that opened it; half-open: probes settled so far',
            },
            failures: { type: 'integer', description: 'the failures among `requests`' },
            reopenAt: {
              type: ['string', 'null'],
              format: 'date-time',
              description: 'when an open breaker half-opens; null in the other states',
            },
          },
        },
        SubscriptionStats: {
          type: 'object',
          required: ['deliveries', 'breaker', 'failingSince'],
          properties: {
            deliveries: {
              type: 'object',
              description: 'delivery counts by status; a status with none is left out',
              propertyNames: ref('DeliveryStatus'),
              additionalProperties: { type: 'integer' },
            },
            breaker: {
              allOf: [ref('Endpoint')],
              description:
                'the breaker of the sink endpoint; only `endpoint` and `state: closed` when the hub has not sent to it',
            },
            failingSince: { type: ['string', 'null'], format: 'date-time' },
          },
        },
        Channel: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            types: {
              type: 'array',
              items: { type: 'string' },
              description: 'exact types or prefixes ending in `*`; `["*"]` for default',
            },
            mode: { enum: ['stream', 'batch'] },
            concurrency: { type: 'integer', description: 'attempts of this channel in flight at once' },
            retentionMs: {
              type: 'integer',
              description:
                'events older than this are deleted once none of their deliveries is pending, retrying or dead',
            },
            batch: {
              oneOf: [
                { type: 'null' },
                {
                  type: 'object',
                  properties: {
                    maxEvents: { type: 'integer' },
                    maxWaitMs: { type: 'integer' },
                    maxBytes: { type: 'integer' },
                  },
                },
              ],
              description:
                'for a batch channel, the limits of subscriptions that set no batch; null for stream',
            },
          },
        },
        ReplayRequest: {
          type: 'object',
          required: ['subscription', 'from'],
          additionalProperties: false,
          properties: {
            subscription: { type: 'string', description: 'the subscription to send the events to' },
            from: {
              type: 'string',
              format: 'date-time',
              description: 'start of the range of receive times, inclusive (RFC 3339)',
            },
            to: {
              type: 'string',
              format: 'date-time',
              description: 'end of the range, exclusive; later than from; default now',
            },
            types: {
              type: 'array',
              items: { type: 'string' },
              description: "event types to replay; default the subscription's types (empty: every type)",
            },
            filters: {
              type: 'array',
              items: { type: 'object' },
              description:
                "Subscriptions API filters, all of which must match; default the subscription's filters",
            },
            newWebhookIds: {
              type: 'boolean',
              default: false,
              description: 'give the replayed deliveries new webhook-ids instead of keeping them',
            },
          },
        },
        Replay: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            subscriptionId: { type: 'string' },
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            types: { type: 'array', items: { type: 'string' } },
            filters: { type: 'array', items: { type: 'object' } },
            newWebhookIds: { type: 'boolean' },
            status: { enum: ['running', 'completed', 'failed', 'cancelled'] },
            scanned: { type: 'integer', description: 'events of the range looked at so far' },
            matched: {
              type: 'integer',
              description: 'events that matched types and filters: deliveries made',
            },
            total: {
              type: 'integer',
              description: 'events received in the range when the replay started, of any type',
            },
            cursor: { type: 'integer', description: 'the last event sequence number looked at' },
            error: { type: ['string', 'null'], description: 'why a failed replay failed' },
            createdAt: { type: 'string', format: 'date-time' },
            updatedAt: { type: 'string', format: 'date-time' },
          },
        },
        ReplayWithDeliveries: {
          allOf: [
            ref('Replay'),
            {
              type: 'object',
              properties: {
                deliveries: {
                  type: 'object',
                  description: "the replay's deliveries counted by status; a status with none is left out",
                  propertyNames: ref('DeliveryStatus'),
                  additionalProperties: { type: 'integer' },
                },
              },
            },
          ],
        },
      },
    },
  };
}
