/**
 * The dashboard API's part of the API description, spread into `openapi.ts`: the event search (the
 * GET of `/v1/events`), a subscription's test event and its delivery state.
 */
const problem = { $ref: '#/components/responses/Problem' };
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const text = (name: string, description: string) => ({
  name,
  in: 'query',
  description,
  schema: { type: 'string' },
});
const nullable = (type: string, extra: Record<string, unknown> = {}) => ({ type: [type, 'null'], ...extra });

/** `GET /v1/events`: the search, newest first, a page at a time. */
export const eventSearch = {
  summary: 'Search stored events, newest first',
  description:
    'Every parameter is optional and an empty one is ignored; the filters given must all match. Each is ' +
    'answered from an index, so a page costs milliseconds with a million events stored. The next page ' +
    'starts below the `next` cursor (keyset paging by sequence number).',
  parameters: [
    text('type', 'the event type, exactly'),
    text('source', 'the event source, exactly'),
    text(
      'subject',
      'the subject exactly, or, ending in `*`, every subject starting with what comes before it',
    ),
    text('correlationid', 'the `correlationid` extension, exactly'),
    {
      name: 'traceid',
      in: 'query',
      description: "the 32 hex digits of the trace id in the event's `traceparent` extension",
      schema: { type: 'string', pattern: '^[0-9a-fA-F]{32}$' },
    },
    {
      name: 'from',
      in: 'query',
      description: 'received at or after (RFC 3339)',
      schema: { type: 'string', format: 'date-time' },
    },
    {
      name: 'to',
      in: 'query',
      description: 'received before (RFC 3339); later than `from`',
      schema: { type: 'string', format: 'date-time' },
    },
    { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
    {
      name: 'after',
      in: 'query',
      description: 'the `next` cursor of the previous page',
      schema: { type: 'string' },
    },
  ],
  responses: {
    200: json({
      type: 'object',
      required: ['items', 'next'],
      properties: { items: { type: 'array', items: ref('EventSummary') }, next: nullable('string') },
    }),
    400: problem,
  },
};

export const dashboardPaths = {
  '/v1/subscriptions/{id}/test': {
    parameters: [idParam],
    post: {
      summary: "Send one test event through the subscription's sink, once; nothing is stored",
      description:
        'The event has id `test_…`, source `junction:test` and the extension `junctiontest: true`; its type is ' +
        "`type`, else the subscription's first type, else `dev.junction.test`; its data is `data`, else the data " +
        'of the latest stored event of the type, else the schema\'s first example, else `{"test": true}`. It goes ' +
        'out as a delivery would (conversion, transform, format, headers, signature, protocol), with no retry and ' +
        'no circuit breaker; the answer says what the sink did.',
      requestBody: {
        required: false,
        ...json({
          type: 'object',
          properties: { type: { type: 'string', minLength: 1 }, data: {} },
        }),
      },
      responses: { 200: json(ref('TestEventResult')), 400: problem, 404: problem, 415: problem },
    },
  },
  '/v1/subscriptions/{id}/state': {
    parameters: [idParam],
    get: {
      summary: "A subscription's circuit breaker, rate limit and delivery counts",
      responses: { 200: json(ref('SubscriptionState')), 404: problem },
    },
  },
};

export const dashboardSchemas = {
  EventSummary: {
    type: 'object',
    required: ['seq', 'source', 'id', 'type', 'subject', 'time', 'receivedAt', 'correlationid', 'traceid'],
    properties: {
      seq: { type: 'integer', description: 'the hub sequence number: the order events became durable' },
      source: { type: 'string' },
      id: { type: 'string' },
      type: { type: 'string' },
      subject: nullable('string'),
      time: nullable('string', { description: "the event's own `time`, as sent" }),
      receivedAt: { type: 'string', format: 'date-time' },
      correlationid: nullable('string'),
      traceid: nullable('string', { description: 'from the `traceparent` extension' }),
    },
  },
  TestEventResult: {
    type: 'object',
    required: ['event', 'ok', 'status', 'latencyMs', 'response', 'error'],
    properties: {
      event: { type: 'object', description: 'the CloudEvent sent, after conversion and transform' },
      ok: { type: 'boolean', description: 'the sink answered 2xx (a broker confirmed)' },
      status: nullable('integer', { description: 'null when no answer came' }),
      latencyMs: { type: 'number' },
      response: nullable('string', { description: 'the first 1 KiB of the answer' }),
      error: nullable('string'),
    },
  },
  SubscriptionState: {
    type: 'object',
    required: ['breaker', 'rateLimit', 'counts', 'failingSince'],
    properties: {
      breaker: ref('Endpoint'),
      rateLimit: {
        oneOf: [
          { type: 'null' },
          {
            type: 'object',
            required: ['perSecond', 'burst', 'concurrency'],
            properties: {
              perSecond: { type: 'number' },
              burst: { type: 'integer' },
              concurrency: nullable('integer'),
            },
          },
        ],
      },
      counts: {
        type: 'object',
        description: 'delivery counts by status, as in /stats; a status with none is left out',
        additionalProperties: { type: 'integer' },
      },
      failingSince: nullable('string', { format: 'date-time' }),
    },
  },
};
