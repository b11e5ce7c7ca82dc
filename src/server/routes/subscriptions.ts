import type { FastifyPluginAsync } from 'fastify';
import { ValidationError } from '../../core/errors.js';
import { parseSubscriptionInput } from '../../routing/subscription-input.js';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../../storage/ports.js';
import { readJsonBody } from '../body.js';
import { type Hub, toPublic } from '../hub.js';
import { readPaging } from '../paging.js';

const STATUSES: readonly DeliveryStatus[] = DELIVERY_STATUSES;

/** The CloudEvents Subscriptions API resource, with Junction's delivery policy under `delivery`. */
export const subscriptionRoutes: FastifyPluginAsync<{ hub: Hub }> = async (app, { hub }) => {
  app.post('/v1/subscriptions', async (request, reply) => {
    const input = parseSubscriptionInput(readJsonBody(request));
    const { subscription, secret } = await hub.createSubscription(input);
    // The secret is shown here and nowhere else.
    return reply
      .code(201)
      .header('location', `/v1/subscriptions/${subscription.id}`)
      .send({ ...toPublic(subscription), secret });
  });

  app.get('/v1/subscriptions', async () => hub.listSubscriptions().map(toPublic));

  app.get<{ Params: { id: string } }>('/v1/subscriptions/:id', async (request) =>
    toPublic(hub.getSubscription(request.params.id)),
  );

  app.put<{ Params: { id: string } }>('/v1/subscriptions/:id', async (request) => {
    hub.getSubscription(request.params.id);
    const body = readJsonBody(request);
    const id = (body as { id?: unknown } | null)?.id;
    if (id !== undefined && id !== request.params.id) {
      throw ValidationError.field(
        '/id',
        `id ${JSON.stringify(id)} does not match the path; omit it or use '${request.params.id}'`,
      );
    }
    return toPublic(await hub.replaceSubscription(request.params.id, parseSubscriptionInput(body)));
  });

  app.delete<{ Params: { id: string } }>('/v1/subscriptions/:id', async (request) =>
    toPublic(await hub.deleteSubscription(request.params.id)),
  );

  app.get<{ Params: { id: string } }>('/v1/subscriptions/:id/deliveries', async (request) => {
    const query = request.query as Record<string, unknown>;
    const status = query.status;
    if (status !== undefined && !STATUSES.includes(status as DeliveryStatus)) {
      throw ValidationError.field('/status', `query parameter status must be one of ${STATUSES.join(', ')}`);
    }
    const { limit, after } = readPaging(query);
    return hub.listDeliveries(request.params.id, status as DeliveryStatus | undefined, limit, after);
  });

  app.get<{ Params: { id: string } }>('/v1/subscriptions/:id/stats', async (request) =>
    hub.subscriptionStats(request.params.id),
  );
};
