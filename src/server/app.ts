/**
 * The HTTP app: Fastify with raw-byte bodies (each route reads its own format), bearer-key auth on
 * `/v1`, and problem+json for every error.
 */
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { UnauthorizedError } from '../core/errors.js';
import { keyChecker } from '../governance/admin-key.js';
import type { Hub } from './hub.js';
import { errorHandler, sendProblem } from './problem.js';
import { catalogRoutes } from './routes/catalog.js';
import { channelRoutes } from './routes/channels.js';
import { dashboardApiRoutes } from './routes/dashboard-api.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { eventRoutes } from './routes/events.js';
import { expressionRoutes } from './routes/expressions.js';
import { healthRoutes } from './routes/health.js';
import { hookAdminRoutes, hookIngestRoutes, hookServices } from './routes/hooks.js';
import { metricsRoutes } from './routes/metrics.js';
import { replayRoutes } from './routes/replays.js';
import { restHookRoutes } from './routes/rest-hooks.js';
import { schemaRoutes } from './routes/schemas.js';
import { simulateRoutes } from './routes/simulate.js';
import { statsRoutes } from './routes/stats.js';
import { streamRoutes } from './routes/stream.js';
import { subscriptionRoutes } from './routes/subscriptions.js';
import { uiRoutes } from './routes/ui.js';

export interface AppOptions {
  hub: Hub;
  adminKey: string;
  logger: Logger;
}

/** JSON bodies other than events are small; events have their own, larger limits. */
const DEFAULT_BODY_LIMIT = 1024 * 1024;

export function buildApp({ hub, adminKey, logger }: AppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // A log line per request would cost more than the request at ingest rates; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: DEFAULT_BODY_LIMIT,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Errors Fastify meets before routing (a bad percent-encoding in the path) skip the error handler.
    frameworkErrors: (error, request, reply) => {
      void errorHandler(error, request as FastifyRequest, reply as FastifyReply);
    },
    // A malformed request line or header never reaches a route: answer it in the same shape anyway.
    clientErrorHandler: (error, socket) => {
      if (!socket.writable) return;
      const body = JSON.stringify({
        type: 'https://junction.dev/problems/malformed-request',
        title: 'Malformed request',
        status: 400,
        detail: `the HTTP request could not be parsed (${(error as { code?: string }).code ?? error.message}); check header names and values`,
      });
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      type: 'https://junction.dev/problems/not-found',
      title: 'Not found',
      status: 404,
      detail: `no route for ${request.method} ${request.url.split('?')[0]}; see GET /openapi.json`,
    }),
  );

  app.register(healthRoutes, { hub });
  // The dashboard's files hold no secrets: it signs in with an API key and calls /v1 like any client.
  app.register(uiRoutes);
  // Hooks are posted to by no-code tools holding the hook's own secret, not an API key: outside /v1's auth.
  const hooks = hookServices(hub);
  app.register(hookIngestRoutes, { hub, hooks });
  // Every /v1 route (and /metrics) lives in this plugin, whose hook authenticates each of its requests. Deciding
  // by the matched route, not by the raw URL, is what keeps /%761/... from slipping past.
  const keyMatches = keyChecker(adminKey);
  app.register(async (v1) => {
    // A callback hook, not an async one: it runs on every request, and a promise per request shows.
    v1.addHook('onRequest', (request, _reply, done) => {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
      if (!match) {
        return done(
          new UnauthorizedError(
            'send Authorization: Bearer <api key>; the admin key is printed on first start and kept in <data>/admin.key',
          ),
        );
      }
      done(keyMatches(match[1]!) ? undefined : new UnauthorizedError('the API key is not valid'));
    });
    v1.register(eventRoutes, { hub });
    v1.register(streamRoutes, { hub });
    v1.register(subscriptionRoutes, { hub });
    v1.register(deadLetterRoutes, { hub });
    v1.register(replayRoutes, { hub });
    v1.register(channelRoutes, { hub });
    v1.register(schemaRoutes, { hub });
    v1.register(metricsRoutes, { hub });
    v1.register(statsRoutes, { hub });
    v1.register(catalogRoutes, { hub });
    v1.register(simulateRoutes, { hub });
    v1.register(expressionRoutes, { hub });
    v1.register(restHookRoutes, { hub });
    v1.register(hookAdminRoutes, { hub, hooks });
    v1.register(dashboardApiRoutes, { hub });
  });
  return app;
}
