import type { FastifyPluginAsync } from 'fastify';
import type { Hub } from '../hub.js';

/**
 * Prometheus metrics in the text exposition format. Behind the API key like `/v1`: Prometheus
 * sends one with `authorization: {credentials: <key>}` in its scrape config.
 */
export const metricsRoutes: FastifyPluginAsync<{ hub: Hub }> = async (app, { hub }) => {
  app.get('/metrics', async (_request, reply) => {
    const registry = hub.metrics.registry;
    return reply.header('content-type', registry.contentType).send(await registry.metrics());
  });
};
