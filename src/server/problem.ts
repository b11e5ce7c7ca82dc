/**
 * RFC 9457 problem details: the one shape every error leaves the hub in.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type FieldError, JunctionError } from '../core/errors.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

const TYPE_BASE = 'https://junction.dev/problems/';

/** Fastify's own 4xx errors, mapped to a message that says what to change. */
function fromFastify(error: FastifyError): Problem | undefined {
  const status = error.statusCode;
  if (!status || status < 400 || status >= 500) return undefined;
  const detail =
    error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
      ? 'the request body is larger than this endpoint accepts; send less data per request'
      : error.message;
  const code = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'payload-too-large' : 'bad-request';
  return {
    type: TYPE_BASE + code,
    title: status === 413 ? 'Payload too large' : 'Bad request',
    status,
    detail,
  };
}

export function toProblem(error: unknown): Problem | undefined {
  if (error instanceof JunctionError) {
    return {
      type: TYPE_BASE + error.code,
      title: error.title,
      status: error.status,
      detail: error.message,
      ...(error.errors ? { errors: error.errors } : {}),
    };
  }
  if (error instanceof Error && 'statusCode' in error) return fromFastify(error as FastifyError);
  return undefined;
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type('application/problem+json').send(problem);
}

/** The app's error handler: known errors as problem+json, anything else logged and a bare 500. */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const problem = toProblem(error);
  if (problem) return sendProblem(reply, problem);
  request.log.error({ err: error }, 'unhandled error');
  return sendProblem(reply, {
    type: `${TYPE_BASE}internal`,
    title: 'Internal error',
    status: 500,
    detail: 'the hub failed to handle this request; it has been logged',
  });
}
