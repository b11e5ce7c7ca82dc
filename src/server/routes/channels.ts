import type { FastifyPluginAsync } from 'fastify';
import type { Hub } from '../hub.js';

/** Channels as configured, and the circuit breakers of the endpoints the hub has sent to. */
export const channelRoutes: FastifyPluginAsync<{ hub: Hub }> = async (app, { hub }) => {
  app.get('/v1/channels', async () => hub.channelList());
  app.get('/v1/endpoints', async () => hub.breakers.list());
};
