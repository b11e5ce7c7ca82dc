/**
 * RFC 9457 problem details: the one shape every error leaves the hub in.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  type FieldError,
  IncompatibleSchemaError,
  JunctionError,
  type SchemaChange,
  UnavailableError,
} from '../core/errors.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
  /** For an incompatible schema (409): each breaking change. */
  changes?: SchemaChange[];
}

const TYPE_BASE = 'https://junction.dev/problems/';

/** What to do about each of Fastify's own 4xx errors that a client can cause. */
const FASTIFY_ERRORS: Record<
  string,
  { code: string; detail: (request: FastifyRequest | undefined) => string }
> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'payload-too-large',
    detail: (request) => {
      const limit = request?.routeOptions.bodyLimit;
      return `the request body is over this endpoint's limit${limit ? ` of ${limit} bytes` : ''}; send less per request`;
    },
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'unsupported-media-type',
    detail: () =>
      'the Content-Type header is not a valid media type (type/subtype); send application/json, or for events ' +
      "application/cloudevents+json, application/cloudevents-batch+json, or ce- headers with the data's type",
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'malformed-request',
    detail: () => 'the Content-Length header does not match the body that was sent',
  },
  FST_ERR_BAD_URL: {
    code: 'malformed-request',
    detail: () => 'the URL has a bad percent-encoding (such as %ZZ); encode each reserved byte as %XX',
  },
};

/** Fastify's own 4xx errors, mapped to a message that says what to change. */
function fromFastify(error: FastifyError, request: FastifyRequest | undefined): Problem | undefined {
  const status = error.statusCode;
  if (!status || status < 400 || status >= 500) return undefined;
  const known = FASTIFY_ERRORS[error.code];
  return {
    type: TYPE_BASE + (known?.code ?? 'bad-request'),
    title: STATUS_CODES[status] ?? 'Bad request',
    status,
    detail: known ? known.detail(request) : error.message,
  };
}

export function toProblem(error: unknown, request?: FastifyRequest): Problem | undefined {
  if (error instanceof JunctionError) {
    return {
      type: TYPE_BASE + error.code,
      title: error.title,
      status: error.status,
      detail: error.message,
      ...(error.errors ? { errors: error.errors } : {}),
      ...(error instanceof IncompatibleSchemaError ? { changes: error.changes } : {}),
    };
  }
  if (error instanceof Error && 'statusCode' in error) return fromFastify(error as FastifyError, request);
  return undefined;
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  if (problem.status === 401) reply.header('www-authenticate', 'Bearer realm="junction"');
  return reply.code(problem.status).type('application/problem+json').send(problem);
}

/** The app's error handler: known errors as problem+json, anything else logged and a bare 500. */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const problem = toProblem(error, request);
  if (error instanceof UnavailableError) reply.header('retry-after', String(error.retryAfterSeconds));
  if (problem) return sendProblem(reply, problem);
  request.log.error({ err: error }, 'unhandled error');
  return sendProblem(reply, {
    type: `${TYPE_BASE}internal`,
    title: 'Internal error',
    status: 500,
    detail: 'the hub failed to handle this request; it has been logged',
  });
}
