import type { FastifyPluginAsync } from 'fastify';
import { ValidationError } from '../../core/errors.js';
import { parseIngest } from '../../core/http-binding.js';
import type { Hub } from '../hub.js';

/** Ingest in every CloudEvents HTTP mode, and lookup of one event with its deliveries. */
export const eventRoutes: FastifyPluginAsync<{ hub: Hub }> = async (app, { hub }) => {
  const limits = {
    maxEventBytes: hub.config.maxEventBytes,
    maxBatchBytes: hub.config.maxBatchBytes,
    maxBatchEvents: hub.config.maxBatchEvents,
  };

  const onError = async (_request: unknown, _reply: unknown, error: unknown) => hub.metrics.rejected(error);
  app.post('/v1/events', { bodyLimit: limits.maxBatchBytes, onError }, async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const { mode, events } = parseIngest(request.headers, body, limits);
    // The 202 goes out only once the append is durable: that is what `await` waits for.
    const { results, headers } = await hub.ingest(events, mode === 'batch', request.headers);
    return reply.code(202).headers(headers).send({ events: results });
  });

  app.get('/v1/events/lookup', async (request) => {
    const query = request.query as Record<string, unknown>;
    const source = typeof query.source === 'string' ? query.source : '';
    const id = typeof query.id === 'string' ? query.id : '';
    const errors = [
      ...(source ? [] : [{ pointer: '/source', message: 'query parameter source is required' }]),
      ...(id ? [] : [{ pointer: '/id', message: 'query parameter id is required' }]),
    ];
    if (errors.length > 0)
      throw new ValidationError('give both source and id of the event to look up', { errors });
    return hub.lookupEvent(source, id);
  });
};
