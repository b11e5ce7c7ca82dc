import type { FastifyPluginAsync } from 'fastify';
import type { Hub } from '../hub.js';

/** Liveness answers while the process runs; readiness only while storage answers too. */
export const healthRoutes: FastifyPluginAsync<{ hub: Hub }> = async (app, { hub }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (hub.store.ping()) return { status: 'ready' };
    return reply.code(503).send({ status: 'unavailable', detail: 'storage does not answer' });
  });
};
