/**
 * The dashboard at /ui: the Vite build in dist/ui, beside the hub's compiled code. Hashed assets are
 * cached for a year (a new build gives them new names); every other path under /ui answers index.html
 * so that deep links (/ui/events/lineage?…) load the app, which routes on the client. The files hold no
 * secrets, so they sit outside /v1's auth: the app signs in with an API key and calls /v1 itself.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { sendProblem } from '../problem.js';

/** Where `npm run build` puts the dashboard: dist/ui, from dist/server/routes. */
export const UI_ROOT = resolve(import.meta.dirname, '../../ui');

export const uiRoutes: FastifyPluginAsync<{ root?: string }> = async (app, options) => {
  const root = options.root ?? UI_ROOT;
  app.get('/', (_request, reply) => reply.redirect('/ui/'));

  if (!existsSync(join(root, 'index.html'))) {
    const notBuilt = (reply: FastifyReply) =>
      sendProblem(reply, {
        type: 'https://junction.dev/problems/not-found',
        title: 'Dashboard not built',
        status: 404,
        detail: `the dashboard has not been built (no ${join(root, 'index.html')}); run npm run build and restart the hub`,
      });
    app.get('/ui', (_request, reply) => notBuilt(reply));
    app.get('/ui/*', (_request, reply) => notBuilt(reply));
    return;
  }

  await app.register(fastifyStatic, {
    root: join(root, 'assets'),
    prefix: '/ui/assets/',
    index: false,
    maxAge: '365d',
    immutable: true,
  });
  const sendIndex = (reply: FastifyReply) =>
    // The page names the current build's assets, so the browser must ask again each time.
    reply.header('cache-control', 'no-cache').sendFile('index.html', root, { cacheControl: false });
  app.get('/ui', (_request, reply) => sendIndex(reply));
  app.get('/ui/*', (_request, reply) => sendIndex(reply));
};
