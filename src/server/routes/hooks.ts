/**
 * Inbound hooks. The admin routes (`/v1/hooks`, behind the API key) manage the definitions; the
 * ingest routes (`POST /v1/hooks/{id}` and the status of a request) authenticate with the hook's
 * own secret instead, since a no-code tool can only paste a URL.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { HookAdmin } from '../../adapters/hooks/admin.js';
import { parseHookInput } from '../../adapters/hooks/input.js';
import { HookMetrics } from '../../adapters/hooks/metrics.js';
import { MAX_HOOK_BODY_BYTES } from '../../adapters/hooks/presets.js';
import { hookUrl, toPublicHook } from '../../adapters/hooks/public.js';
import { HookReceiver, type IncomingHookRequest } from '../../adapters/hooks/receiver.js';
import { readJsonBody } from '../body.js';
import type { Hub } from '../hub.js';

/** The admin side and the receiving side of hooks, made once per app and shared by both plugins. */
export interface HookServices {
  admin: HookAdmin;
  receiver: HookReceiver;
}

/** Builds the hook services on the hub's store, with their counters in the hub's registry. */
export function hookServices(hub: Hub): HookServices {
  return {
    admin: new HookAdmin(hub.store),
    receiver: new HookReceiver(hub, new HookMetrics(hub.metrics.registry)),
  };
}

/**
 * The hub's address as the client reached it: the configured `publicUrl` when there is one (behind
 * a proxy), else the scheme and Host of this request.
 */
function baseOf(hub: Hub, request: FastifyRequest): string {
  return hub.config.publicUrl ?? `${request.protocol}://${request.host}`;
}

/** A body that may be left out (rotate): JSON when there is one. */
function optionalJson(request: FastifyRequest): unknown {
  return Buffer.isBuffer(request.body) && request.body.length > 0 ? readJsonBody(request) : undefined;
}

/** `/v1/hooks` and `/v1/hooks/{id}` for admins: create, list, read, replace, patch, delete, rotate. */
export const hookAdminRoutes: FastifyPluginAsync<{ hub: Hub; hooks: HookServices }> = async (
  app,
  { hub, hooks },
) => {
  const { admin } = hooks;

  app.post('/v1/hooks', async (request, reply) => {
    const { hook, secret } = await admin.create(parseHookInput(readJsonBody(request)));
    const base = baseOf(hub, request);
    // The secret, and the URL that carries it, are shown here and nowhere else.
    return reply
      .code(201)
      .header('location', `/v1/hooks/${hook.id}`)
      .send({ ...toPublicHook(hook, base), secret, url: hookUrl(base, hook.id, secret) });
  });

  app.get('/v1/hooks', async (request) => {
    const base = baseOf(hub, request);
    return (await admin.list()).map((h) => toPublicHook(h, base));
  });

  app.get<{ Params: { id: string } }>('/v1/hooks/:id', async (request) =>
    toPublicHook(await admin.get(request.params.id), baseOf(hub, request)),
  );

  app.put<{ Params: { id: string } }>('/v1/hooks/:id', async (request) =>
    toPublicHook(await admin.replace(request.params.id, readJsonBody(request)), baseOf(hub, request)),
  );

  app.patch<{ Params: { id: string } }>('/v1/hooks/:id', async (request) =>
    toPublicHook(await admin.patch(request.params.id, readJsonBody(request)), baseOf(hub, request)),
  );

  app.delete<{ Params: { id: string } }>('/v1/hooks/:id', async (request) =>
    toPublicHook(await admin.delete(request.params.id), baseOf(hub, request)),
  );

  app.post<{ Params: { id: string } }>('/v1/hooks/:id/rotate', async (request) => {
    const { hook, secret } = await admin.rotate(request.params.id, optionalJson(request));
    const base = baseOf(hub, request);
    return {
      id: hook.id,
      secret,
      url: hookUrl(base, hook.id, secret),
      previousSecretExpiresAt: hook.previousSecretExpiresAt,
    };
  });
};

/** `POST /v1/hooks/{id}` and `GET /v1/hooks/{id}/requests/{requestId}`, authenticated by the hook's secret. */
export const hookIngestRoutes: FastifyPluginAsync<{ hub: Hub; hooks: HookServices }> = async (
  app,
  { hub, hooks },
) => {
  const incoming = (request: FastifyRequest): IncomingHookRequest => ({
    headers: request.headers,
    query: (request.query ?? {}) as Record<string, unknown>,
    body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
    base: baseOf(hub, request),
  });

  // The route takes the largest body any hook may; each hook's own limit is checked once it is known.
  app.post<{ Params: { id: string } }>(
    '/v1/hooks/:id',
    { bodyLimit: MAX_HOOK_BODY_BYTES },
    async (request, reply) => {
      const answer = await hooks.receiver.receive(request.params.id, incoming(request));
      return reply.code(answer.status).headers(answer.headers).send(answer.body);
    },
  );

  app.get<{ Params: { id: string; requestId: string } }>(
    '/v1/hooks/:id/requests/:requestId',
    async (request, reply) => {
      const answer = await hooks.receiver.status(
        request.params.id,
        request.params.requestId,
        incoming(request),
      );
      return reply.code(answer.status).headers(answer.headers).send(answer.body);
    },
  );
};
