/**
 * Request bodies arrive as raw bytes (see app.ts); JSON endpoints read them here, so every JSON
 * error, from a wrong content type to bad UTF-8, has the same clear answer.
 */
import type { FastifyRequest } from 'fastify';
import { MalformedRequestError, UnsupportedMediaTypeError } from '../core/errors.js';
import { parseJsonText } from '../core/json-text.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function readJsonBody(request: FastifyRequest): unknown {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new UnsupportedMediaTypeError(
      `send this request as Content-Type: application/json${type ? `, not ${type}` : ''}`,
    );
  }
  const raw = request.body;
  if (!Buffer.isBuffer(raw) || raw.length === 0)
    throw new MalformedRequestError('the request body is empty; send a JSON object');
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new MalformedRequestError('the request body is not valid UTF-8');
  }
  return parseJsonText(text, 'the request body');
}
