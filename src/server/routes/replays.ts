import type { FastifyPluginAsync } from 'fastify';
import { parseReplayInput } from '../../delivery/replay.js';
import { readJsonBody } from '../body.js';
import type { Hub } from '../hub.js';

/** Replays of archived events to one subscription, as jobs with progress. */
export const replayRoutes: FastifyPluginAsync<{ hub: Hub }> = async (app, { hub }) => {
  app.post('/v1/replays', async (request, reply) => {
    const replay = await hub.startReplay(parseReplayInput(readJsonBody(request)));
    return reply
      .code(202)
      .header('location', `/v1/replays/${replay.id}`)
      .send(await hub.getReplay(replay.id));
  });

  app.get('/v1/replays', async () => hub.listReplays());

  app.get<{ Params: { id: string } }>('/v1/replays/:id', async (request) => hub.getReplay(request.params.id));

  app.post<{ Params: { id: string } }>('/v1/replays/:id/cancel', async (request) => {
    await hub.cancelReplay(request.params.id);
    return hub.getReplay(request.params.id);
  });
};
