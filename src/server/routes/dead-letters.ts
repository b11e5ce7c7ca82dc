import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ValidationError } from '../../core/errors.js';
import { type Delivery, MAX_REDRIVE_PER_CALL } from '../../storage/ports.js';
import { readJsonBody } from '../body.js';
import type { Hub } from '../hub.js';
import { readPaging } from '../paging.js';

const MAX_IDS = 1000;

type Selector = { ids: string[] } | { subscriptionId: string };

/** Reads `{"ids": [...]}` or `{"subscription": "sub_…"}`: which dead letters an action is for. */
function readSelector(request: FastifyRequest): Selector {
  const body = readJsonBody(request) as Record<string, unknown> | null;
  const hint = 'send {"ids": ["dlv_…"]} or {"subscription": "sub_…"}';
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw ValidationError.field('', hint);
  const { ids, subscription } = body;
  if ((ids === undefined) === (subscription === undefined)) {
    throw ValidationError.field('', `give exactly one of ids and subscription: ${hint}`);
  }
  if (ids !== undefined) {
    if (
      !Array.isArray(ids) ||
      ids.length === 0 ||
      ids.length > MAX_IDS ||
      !ids.every((i) => typeof i === 'string')
    ) {
      throw ValidationError.field('/ids', `ids must be an array of 1 to ${MAX_IDS} delivery ids`);
    }
    return { ids: ids as string[] };
  }
  if (typeof subscription !== 'string' || subscription === '') {
    throw ValidationError.field('/subscription', 'subscription must be a subscription id');
  }
  return { subscriptionId: subscription };
}

/** What an action did: how many it moved, the ids it skipped, and whether more are left. */
function summary(selector: Selector, done: Delivery[]) {
  if ('ids' in selector) {
    const moved = new Set(done.map((d) => d.id));
    // Name what was not moved, so a typo or an id no longer dead does not pass unnoticed.
    return { count: moved.size, skipped: selector.ids.filter((id) => !moved.has(id)), more: false };
  }
  return { count: done.length, skipped: [], more: done.length === MAX_REDRIVE_PER_CALL };
}

/**
 * Dead letters: list them, send them again with their original `webhook-id`, or discard them for
 * good (which lets later events of their partition key go on under `onDead: "block"`).
 */
export const deadLetterRoutes: FastifyPluginAsync<{ hub: Hub }> = async (app, { hub }) => {
  app.get('/v1/dead-letters', async (request) => {
    const query = request.query as Record<string, unknown>;
    const { limit, after } = readPaging(query);
    const subscription =
      typeof query.subscription === 'string' && query.subscription ? query.subscription : undefined;
    return hub.listDeadLetters(subscription, limit, after);
  });

  app.post('/v1/dead-letters/redrive', async (request) => {
    const selector = readSelector(request);
    const { count, skipped, more } = summary(selector, await hub.redrive(selector));
    return { redriven: count, skipped, ...('subscriptionId' in selector ? { more } : {}) };
  });

  app.post('/v1/dead-letters/discard', async (request) => {
    const selector = readSelector(request);
    const { count, skipped, more } = summary(selector, await hub.discard(selector));
    return { discarded: count, skipped, ...('subscriptionId' in selector ? { more } : {}) };
  });
};
