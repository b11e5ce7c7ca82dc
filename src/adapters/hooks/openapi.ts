/**
 * The hook routes' part of the API description, spread into `server/openapi.ts`: the admin paths
 * under the API key, and the ingest paths under the hook's own secret.
 */
import { HOOK_PRESETS } from '../../storage/ports.js';
import { MAX_ROTATION_GRACE_SECONDS } from './admin.js';
import { MAX_HOOK_BODY_BYTES, MIN_HOOK_BODY_BYTES } from './presets.js';
import { SECRET_HEADER } from './receiver.js';
import { ACCEPTED_TYPES } from './request-body.js';

const problem = { $ref: '#/components/responses/Problem' };
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const nullableText = { type: ['string', 'null'] };
const path = { type: ['string', 'null'], description: 'a field path: order.id, or a JSON pointer /order/id' };
/** The hook's secret, in the query string or a header: a no-code tool can only paste a URL. */
const hookSecurity = [{ hookSecret: [] }, { hookSecretHeader: [] }];
const answer = json({
  type: 'object',
  required: ['id', 'source', 'type', 'status'],
  properties: {
    id: { type: 'string' },
    source: { type: 'string' },
    type: { type: 'string' },
    status: { enum: ['accepted', 'duplicate'] },
  },
});

/** Paths of `/v1/hooks`. */
export const hookPaths = {
  '/v1/hooks': {
    get: {
      summary: 'List inbound hooks (never their secrets)',
      responses: { 200: json({ type: 'array', items: ref('Hook') }) },
    },
    post: {
      summary: 'Create an inbound hook; the answer carries its secret and the URL with it, shown only here',
      requestBody: { required: true, ...json(ref('HookRequest')) },
      responses: { 201: json(ref('Hook')), 400: problem, 415: problem },
    },
  },
  '/v1/hooks/{id}': {
    parameters: [idParam],
    get: { summary: 'Get an inbound hook', responses: { 200: json(ref('Hook')), 404: problem } },
    put: {
      summary: 'Replace an inbound hook (its id and URL secret stay)',
      requestBody: { required: true, ...json(ref('HookRequest')) },
      responses: { 200: json(ref('Hook')), 400: problem, 404: problem },
    },
    patch: {
      summary: 'Change the fields given (null clears one); signing is merged while its scheme stays',
      requestBody: { required: true, ...json(ref('HookRequest')) },
      responses: { 200: json(ref('Hook')), 400: problem, 404: problem },
    },
    delete: { summary: 'Delete an inbound hook', responses: { 200: json(ref('Hook')), 404: problem } },
    post: {
      summary: 'Send to the hook: the body becomes a CloudEvent, answered once durable',
      description: `Authenticated by the hook's secret (?secret= or ${SECRET_HEADER}), not the API key. Bodies: ${ACCEPTED_TYPES}. Power Automate hooks answer 202 with Location and Retry-After; Zapier, Make, n8n, Airtable and IFTTT hooks answer 200; generic and signed hooks 202.`,
      security: hookSecurity,
      requestBody: { content: { '*/*': {} } },
      responses: {
        200: answer,
        202: answer,
        400: problem,
        401: problem,
        404: problem,
        410: problem,
        413: problem,
        415: problem,
        422: problem,
        503: problem,
      },
    },
  },
  '/v1/hooks/{id}/rotate': {
    parameters: [idParam],
    post: {
      summary: 'Give the hook a new URL secret; the previous one may keep working for graceSeconds',
      requestBody: json({
        type: 'object',
        properties: {
          graceSeconds: { type: 'integer', minimum: 0, maximum: MAX_ROTATION_GRACE_SECONDS, default: 0 },
        },
      }),
      responses: {
        200: json({
          type: 'object',
          properties: {
            id: { type: 'string' },
            secret: { type: 'string' },
            url: { type: 'string' },
            previousSecretExpiresAt: nullableText,
          },
        }),
        400: problem,
        404: problem,
      },
    },
  },
  '/v1/hooks/{id}/requests/{requestId}': {
    parameters: [idParam, { name: 'requestId', in: 'path', required: true, schema: { type: 'string' } }],
    get: {
      summary:
        "Status of a request to a hook (Power Automate's Location): 202 while delivering, 200 when settled",
      security: hookSecurity,
      responses: {
        200: json(ref('HookRequestStatus')),
        202: json(ref('HookRequestStatus')),
        401: problem,
        404: problem,
      },
    },
  },
};

const signing = {
  type: ['object', 'null'],
  required: ['secret'],
  properties: {
    scheme: { enum: ['hmac', 'stripe', 'standard-webhooks'], default: 'hmac' },
    secret: { type: 'string', writeOnly: true },
    header: { type: 'string', description: 'hmac: the header with the signature (required)' },
    algorithm: { enum: ['sha1', 'sha256', 'sha512'], default: 'sha256' },
    encoding: { enum: ['hex', 'base64'], default: 'hex' },
    prefix: { type: 'string', default: '', description: 'before the signature, such as sha256=' },
    timestampHeader: nullableText,
    payload: {
      type: 'string',
      default: '{body}',
      description: 'what is signed: {body}, optionally {timestamp}',
    },
    toleranceSeconds: { type: 'integer', minimum: 1, maximum: 86_400, default: 300 },
  },
};

/** Schemas of the hook paths. */
export const hookSchemas = {
  HookRequest: {
    type: 'object',
    properties: {
      name: nullableText,
      preset: { enum: HOOK_PRESETS, default: 'generic' },
      status: { enum: ['active', 'disabled'], default: 'active' },
      type: {
        ...nullableText,
        description: 'the event type, or the fallback when typeField/typeHeader is absent',
      },
      typeField: path,
      typeHeader: nullableText,
      typePrefix: { type: 'string', default: '' },
      source: { ...nullableText, description: 'default /hooks/{id}' },
      subjectField: path,
      partitionKeyField: path,
      idField: path,
      idHeader: {
        ...nullableText,
        description:
          'else Idempotency-Key, webhook-id, X-GitHub-Delivery, X-Shopify-Webhook-Id, else a body hash',
      },
      mapping: {
        ...nullableText,
        description: 'JSONata: makes the data from the body; $headers, $query, $hook',
      },
      signing,
      macSecret: { ...nullableText, writeOnly: true, description: "airtable: the webhook's macSecretBase64" },
      maxBodyBytes: { type: 'integer', minimum: MIN_HOOK_BODY_BYTES, maximum: MAX_HOOK_BODY_BYTES },
    },
  },
  Hook: {
    allOf: [
      ref('HookRequest'),
      {
        type: 'object',
        properties: {
          id: { type: 'string' },
          url: { type: 'string', description: 'with ?secret= in the create answer only' },
          secret: { type: 'string', description: 'in the create answer only' },
          macSecretSet: { type: 'boolean' },
          previousSecretExpiresAt: nullableText,
          createdAt: { type: 'string', format: 'date-time' },
          updatedAt: { type: 'string', format: 'date-time' },
        },
      },
    ],
  },
  HookRequestStatus: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      source: { type: 'string' },
      type: { type: 'string' },
      status: { enum: ['delivering', 'completed'] },
      deliveries: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            subscriptionId: { type: 'string' },
            status: { type: 'string' },
            attempts: { type: 'integer' },
            lastError: nullableText,
          },
        },
      },
    },
  },
};

/** The hook secret's two ways in. */
export const hookSecuritySchemes = {
  hookSecret: { type: 'apiKey', in: 'query', name: 'secret' },
  hookSecretHeader: { type: 'apiKey', in: 'header', name: SECRET_HEADER },
};
