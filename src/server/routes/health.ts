import type { FastifyPluginAsync } from 'fastify';
import { VERSION } from '../../core/version.js';
import type { Hub } from '../hub.js';
import { openApiDocument } from '../openapi.js';

/** The API description; liveness answers while the process runs; readiness only while storage answers too. */
export const healthRoutes: FastifyPluginAsync<{ hub: Hub }> = async (app, { hub }) => {
  const openapi = openApiDocument(VERSION);
  app.get('/openapi.json', async () => openapi);
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (await hub.store.ping()) return { status: 'ready' };
    return reply.code(503).send({ status: 'unavailable', detail: 'storage does not answer' });
  });
};
