/**
 * How the hub serves the dashboard over HTTP: the app at /ui and at any deep link under it, hashed
 * assets cached for good, `/` sent to /ui, and a problem+json 404 naming the fix when it is not built.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler } from '../../src/server/problem.js';
import { uiRoutes } from '../../src/server/routes/ui.js';
import { type HubProcess, startHub, tempDataDir } from '../helpers/server.js';

const BUILT = join(import.meta.dirname, '../../dist/ui');

describe('the dashboard over HTTP', () => {
  let hub: HubProcess;

  beforeAll(async () => {
    hub = await startHub();
  });

  afterAll(async () => {
    await hub?.stop();
  });

  it('sends / to /ui/', async () => {
    const res = await fetch(`${hub.url}/`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/ui/');
  });

  it('answers the app, without a key, at /ui and at every deep link, never cached', async () => {
    for (const path of ['/ui', '/ui/', '/ui/events/lineage?source=%2Fshop&id=1', '/ui/subscriptions/sub_x']) {
      const res = await fetch(hub.url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('<div id="app"></div>');
    }
  });

  it('caches the hashed assets for a year and answers a missing one with problem+json', async () => {
    const script = readdirSync(join(BUILT, 'assets')).find((f) => f.endsWith('.js'));
    expect(script).toBeDefined();
    const res = await fetch(`${hub.url}/ui/assets/${script}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const missing = await fetch(`${hub.url}/ui/assets/index-missing.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('is in the OpenAPI description', async () => {
    const doc = (await (await fetch(`${hub.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/ui');
  });

  it('keeps the API behind the key while the dashboard is open', async () => {
    const res = await fetch(`${hub.url}/v1/subscriptions`);
    expect(res.status).toBe(401);
  });

  it('says to run npm run build when the dashboard was not built', async () => {
    const app = Fastify();
    app.setErrorHandler(errorHandler);
    app.register(uiRoutes, { root: tempDataDir() });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      for (const path of ['/ui', '/ui/events']) {
        const res = await fetch(url + path);
        expect(res.status).toBe(404);
        expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        const problem = (await res.json()) as { title: string; detail: string };
        expect(problem.title).toBe('Dashboard not built');
        expect(problem.detail).toContain('run npm run build');
      }
    } finally {
      await app.close();
    }
  });
});
