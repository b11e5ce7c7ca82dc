import type { FastifyPluginAsync } from 'fastify';
import { parseRestHook, restHook, samples, subscribeRestHook, viewOf } from '../../adapters/rest-hooks.js';
import { ValidationError } from '../../core/errors.js';
import { readJsonBody } from '../body.js';
import type { Hub } from '../hub.js';

/** How many recent events `sample` returns at most. */
const MAX_SAMPLES = 10;

/** REST hooks: no-code triggers subscribe and unsubscribe themselves (src/adapters/rest-hooks.ts). */
export const restHookRoutes: FastifyPluginAsync<{ hub: Hub }> = async (app, { hub }) => {
  app.post('/v1/rest-hooks', async (request, reply) => {
    const { target, event } = await parseRestHook(readJsonBody(request), hub);
    const view = await subscribeRestHook(hub, target, event);
    // Absolute: Power Automate's webhook triggers DELETE exactly the Location they were given.
    return reply.code(201).header('location', `${hub.publicUrl}/v1/rest-hooks/${view.id}`).send(view);
  });

  app.get('/v1/rest-hooks', async () =>
    hub
      .listSubscriptions()
      .filter((s) => s.origin === 'rest-hook')
      .map(viewOf),
  );

  // Registered before `/:id`, which would otherwise take `sample` as an id.
  app.get('/v1/rest-hooks/sample', async (request) => {
    const { event, limit } = request.query as Record<string, unknown>;
    if (typeof event !== 'string' || event === '') {
      throw ValidationError.field('/event', 'query parameter event is required: the event type to sample');
    }
    const n = limit === undefined ? 3 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > MAX_SAMPLES) {
      throw ValidationError.field('/limit', `limit must be a whole number from 1 to ${MAX_SAMPLES}`);
    }
    if (!(await hub.knowsType(event))) {
      throw ValidationError.field(
        '/event',
        `unknown event type '${event}': register its schema (POST /v1/schemas/${event}) or publish one first`,
      );
    }
    return samples(hub, event, n);
  });

  app.get<{ Params: { id: string } }>('/v1/rest-hooks/:id', async (request) =>
    viewOf(restHook(hub, request.params.id)),
  );

  app.delete<{ Params: { id: string } }>('/v1/rest-hooks/:id', async (request, reply) => {
    restHook(hub, request.params.id);
    await hub.deleteSubscription(request.params.id);
    return reply.code(204).send();
  });
};
