/**
 * The API description served at `GET /openapi.json`. Written by hand: routes read their bodies
 * themselves (for errors that name the field), so there are no route schemas to generate it from.
 */
import {
  BATCH_BOUNDS,
  DEFAULT_BATCH_POLICY,
  DEFAULT_DELIVERY_POLICY,
  DELIVERY_BOUNDS,
  RATE_LIMIT_BOUNDS,
} from '../core/config.js';

const problem = { $ref: '#/components/responses/Problem' };
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
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
      rateLimit: {
        description:
          'Requests to the sink per second, with a burst, and at most `concurrency` in flight; throttled ' +
          'deliveries wait, never drop. null: no limit. Omitted: the sink preset, if any ' +
          '(hooks.slack.com: 1 per second, burst 1, concurrency 1), else null.',
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
      '/v1/events': {
        post: {
          summary: 'Publish events (CloudEvents HTTP binding: binary, structured or batch mode)',
          description:
            'Binary mode: `ce-*` headers and the data as the body. Structured: `application/cloudevents+json`. ' +
            'Batch: `application/cloudevents-batch+json`, all-or-nothing. Answers 202 only once the events are durable.',
          requestBody: {
            required: true,
            content: {
              'application/cloudevents+json': { schema: { $ref: '#/components/schemas/CloudEvent' } },
              'application/cloudevents-batch+json': {
                schema: { type: 'array', items: { $ref: '#/components/schemas/CloudEvent' } },
              },
              '*/*': { schema: {} },
            },
          },
          responses: {
            202: {
              description: 'durable',
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
            503: problem,
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
      '/v1/subscriptions': {
        get: {
          summary: 'List subscriptions',
          responses: { 200: json({ type: 'array', items: { $ref: '#/components/schemas/Subscription' } }) },
        },
        post: {
          summary: 'Create a subscription; the response carries its signing secret, shown only here',
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/SubscriptionRequest' }) },
          responses: { 201: json({ $ref: '#/components/schemas/Subscription' }), 400: problem, 415: problem },
        },
      },
      '/v1/subscriptions/{id}': {
        parameters: [idParam],
        get: {
          summary: 'Get a subscription',
          responses: { 200: json({ $ref: '#/components/schemas/Subscription' }), 404: problem },
        },
        put: {
          summary: 'Replace a subscription (its id, secret and history stay)',
          requestBody: { required: true, ...json({ $ref: '#/components/schemas/SubscriptionRequest' }) },
          responses: { 200: json({ $ref: '#/components/schemas/Subscription' }), 400: problem, 404: problem },
        },
        delete: {
          summary: 'Delete a subscription; its pending deliveries become dead letters',
          responses: { 200: json({ $ref: '#/components/schemas/Subscription' }), 404: problem },
        },
      },
      '/v1/subscriptions/{id}/deliveries': {
        get: {
          summary: 'Deliveries of one subscription',
          parameters: [
            idParam,
            {
              name: 'status',
              in: 'query',
              schema: { enum: ['pending', 'delivered', 'retrying', 'dead', 'filtered', 'blocked'] },
            },
            ...paging,
          ],
          responses: {
            200: { description: 'a page of deliveries: {items, next}' },
            400: problem,
            404: problem,
          },
        },
      },
      '/v1/dead-letters': {
        get: {
          summary: 'Dead letters, optionally of one subscription',
          parameters: [{ name: 'subscription', in: 'query', schema: { type: 'string' } }, ...paging],
          responses: { 200: { description: 'a page of dead deliveries: {items, next}' }, 400: problem },
        },
      },
      '/v1/dead-letters/redrive': {
        post: {
          summary: 'Send dead letters again, with their original webhook-id and a fresh retry budget',
          requestBody: {
            required: true,
            ...json({
              oneOf: [
                {
                  type: 'object',
                  required: ['ids'],
                  properties: { ids: { type: 'array', items: { type: 'string' } } },
                },
                {
                  type: 'object',
                  required: ['subscription'],
                  properties: { subscription: { type: 'string' } },
                },
              ],
            }),
          },
          responses: {
            200: json({ type: 'object', properties: { redriven: { type: 'integer' } } }),
            400: problem,
            404: problem,
          },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      responses: {
        Problem: {
          description: 'RFC 9457 problem details',
          content: {
            'application/problem+json': {
              schema: {
                type: 'object',
                required: ['type', 'title', 'status', 'detail'],
                properties: {
                  type: { type: 'string' },
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
                },
              },
            },
          },
        },
      },
      schemas: {
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
            sink: { type: 'string', format: 'uri', description: 'http(s) URL' },
            protocol: { const: 'HTTP' },
            types: { type: 'array', items: { type: 'string' } },
            filters: {
              type: 'array',
              description: 'Subscriptions API filters: exact, prefix, suffix, all, any, not',
              items: { type: 'object' },
            },
            protocolsettings: {
              type: 'object',
              properties: {
                headers: { type: 'object', additionalProperties: { type: 'string' } },
                method: { enum: ['POST', 'PUT', 'PATCH'] },
              },
            },
            delivery: { $ref: '#/components/schemas/DeliveryPolicy' },
            status: { enum: ['active', 'disabled'] },
          },
        },
        Subscription: {
          allOf: [
            { $ref: '#/components/schemas/SubscriptionRequest' },
            {
              type: 'object',
              properties: {
                id: { type: 'string' },
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
      },
    },
  };
}
