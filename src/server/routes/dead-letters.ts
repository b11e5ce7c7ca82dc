import type { FastifyPluginAsync } from 'fastify';
import { ValidationError } from '../../core/errors.js';
import { MAX_REDRIVE_PER_CALL } from '../../storage/ports.js';
import { readJsonBody } from '../body.js';
import type { Hub } from '../hub.js';
import { readPaging } from '../paging.js';

const MAX_REDRIVE_IDS = 1000;

/** Dead letters: list them, and send them again with their original `webhook-id`. */
export const deadLetterRoutes: FastifyPluginAsync<{ hub: Hub }> = async (app, { hub }) => {
  app.get('/v1/dead-letters', async (request) => {
    const query = request.query as Record<string, unknown>;
    const { limit, after } = readPaging(query);
    const subscription =
      typeof query.subscription === 'string' && query.subscription ? query.subscription : undefined;
    return hub.listDeadLetters(subscription, limit, after);
  });

  app.post('/v1/dead-letters/redrive', async (request) => {
    const body = readJsonBody(request) as Record<string, unknown> | null;
    const hint = 'send {"ids": ["dlv_…"]} or {"subscription": "sub_…"}';
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw ValidationError.field('', hint);
    const { ids, subscription } = body;
    if ((ids === undefined) === (subscription === undefined)) {
      throw ValidationError.field('', `give exactly one of ids and subscription: ${hint}`);
    }
    if (ids !== undefined) {
      if (
        !Array.isArray(ids) ||
        ids.length === 0 ||
        ids.length > MAX_REDRIVE_IDS ||
        !ids.every((i) => typeof i === 'string')
      ) {
        throw ValidationError.field('/ids', `ids must be an array of 1 to ${MAX_REDRIVE_IDS} delivery ids`);
      }
      const moved = new Set((await hub.redrive({ ids: ids as string[] })).map((d) => d.id));
      // Name what was not moved, so a typo or an already-redriven id does not pass unnoticed.
      const skipped = (ids as string[]).filter((id) => !moved.has(id));
      return { redriven: moved.size, skipped };
    }
    if (typeof subscription !== 'string' || subscription === '') {
      throw ValidationError.field('/subscription', 'subscription must be a subscription id');
    }
    const redriven = (await hub.redrive({ subscriptionId: subscription })).length;
    return { redriven, skipped: [], more: redriven === MAX_REDRIVE_PER_CALL };
  });
};
