import type { FastifyPluginAsync } from 'fastify';
import { buildAsyncApi } from '../../contracts/asyncapi.js';
import { VERSION } from '../../core/version.js';
import type { Hub } from '../hub.js';

/** The event catalog: the registry, the channels and the subscriptions as one AsyncAPI document. */
export const catalogRoutes: FastifyPluginAsync<{ hub: Hub }> = async (app, { hub }) => {
  app.get('/v1/catalog/asyncapi.json', async () => {
    const summaries = await hub.registry.listTypes();
    const types = await Promise.all(
      summaries.map(async (summary) => {
        const {
          latest,
          latestVersion: _latestVersion,
          ...eventType
        } = await hub.registry.describe(summary.type);
        return { eventType, latest };
      }),
    );
    return buildAsyncApi({
      version: VERSION,
      types,
      subscriptions: hub.listSubscriptions(),
      routedChannel: (type) => hub.channels.of(type).name,
      schemaVersion: (type, n) => hub.registry.cache.get(type)?.versions.get(n),
    });
  });
};
