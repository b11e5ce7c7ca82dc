/**
 * The API's happy paths on a real server process: health, the API description, the subscription
 * resource's whole life, and the bootstrap admin key.
 */
import { readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubProcess, startHub } from '../helpers/server.js';

let hub: HubProcess;
beforeAll(async () => {
  hub = await startHub();
});
afterAll(async () => {
  await hub?.stop();
});

const post = (path: string, body: unknown, method = 'POST') =>
  hub.fetch(path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('health and description', () => {
  it('answers liveness and readiness without a key', async () => {
    expect(await (await fetch(`${hub.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${hub.url}/readyz`)).json()).toEqual({ status: 'ready' });
  });

  it('serves an OpenAPI description of every route', async () => {
    const doc = (await (await fetch(`${hub.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/events',
        '/v1/events/lookup',
        '/v1/subscriptions',
        '/v1/subscriptions/{id}',
        '/v1/subscriptions/{id}/deliveries',
        '/v1/dead-letters',
        '/v1/dead-letters/redrive',
        '/v1/hooks',
        '/v1/hooks/{id}',
        '/v1/hooks/{id}/rotate',
        '/v1/hooks/{id}/requests/{requestId}',
      ]),
    );
  });
});

describe('subscriptions', () => {
  it('creates, reads, lists, replaces and deletes a subscription', async () => {
    const created = await post('/v1/subscriptions', {
      sink: 'https://crm.example.com/hooks/orders',
      types: ['com.acme.order.created'],
      filters: [{ prefix: { subject: 'orders/' } }, { not: { exact: { source: '/test' } } }],
      protocolsettings: { headers: { 'X-Team': 'crm' } },
      delivery: { format: 'webhook', maxAttempts: 5 },
    });
    expect(created.status).toBe(201);
    const sub = (await created.json()) as Record<string, unknown> & { id: string };
    expect(created.headers.get('location')).toBe(`/v1/subscriptions/${sub.id}`);
    expect(sub).toMatchObject({
      status: 'active',
      protocol: 'HTTP',
      protocolsettings: { headers: { 'x-team': 'crm' } },
      delivery: { format: 'webhook', maxAttempts: 5, timeoutMs: 15000, maxAgeMs: 86400000 },
    });
    expect(sub.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);

    const fetched = (await (await hub.fetch(`/v1/subscriptions/${sub.id}`)).json()) as Record<
      string,
      unknown
    >;
    expect(fetched.secret).toBeUndefined();
    expect(fetched.secrets).toBeUndefined();
    expect(fetched.sink).toBe('https://crm.example.com/hooks/orders');

    const list = (await (await hub.fetch('/v1/subscriptions')).json()) as { id: string }[];
    expect(list.map((s) => s.id)).toContain(sub.id);

    const replaced = await post(
      `/v1/subscriptions/${sub.id}`,
      { sink: 'https://crm.example.com/v2', status: 'disabled' },
      'PUT',
    );
    expect(replaced.status).toBe(200);
    expect(await replaced.json()).toMatchObject({
      id: sub.id,
      sink: 'https://crm.example.com/v2',
      status: 'disabled',
      types: [],
    });

    const deleted = await hub.fetch(`/v1/subscriptions/${sub.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect((await hub.fetch(`/v1/subscriptions/${sub.id}`)).status).toBe(404);
  });

  it('routes only what the types and filters select', async () => {
    const create = await post('/v1/subscriptions', {
      sink: 'http://127.0.0.1:9/never',
      types: ['com.acme.order.created'],
      filters: [{ prefix: { subject: 'orders/' } }],
      delivery: { maxAttempts: 1 },
    });
    const { id } = (await create.json()) as { id: string };
    const publish = (eid: string, type: string, subject: string) =>
      hub.fetch('/v1/events', {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify({ specversion: '1.0', id: eid, source: '/routing', type, subject }),
      });
    await publish('r1', 'com.acme.order.created', 'orders/1');
    await publish('r2', 'com.acme.order.created', 'invoices/1');
    await publish('r3', 'com.acme.order.cancelled', 'orders/1');
    const deliveriesOf = async (eid: string) =>
      (
        (await (await hub.fetch(`/v1/events/lookup?source=/routing&id=${eid}`)).json()) as {
          deliveries: { subscriptionId: string }[];
        }
      ).deliveries;
    expect((await deliveriesOf('r1')).map((d) => d.subscriptionId)).toEqual([id]);
    expect(await deliveriesOf('r2')).toEqual([]);
    expect(await deliveriesOf('r3')).toEqual([]);
  });
});

describe('authentication', () => {
  it('guards every /v1 route however its path is spelled', async () => {
    const spellings = [
      '/v1/subscriptions',
      '/%761/subscriptions',
      '/v%31/subscriptions',
      '/v1/%73ubscriptions',
    ];
    for (const path of spellings) {
      const res = await fetch(`${hub.url}${path}`);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate'), path).toMatch(/^Bearer/);
    }
    const publish = await fetch(`${hub.url}/%761/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: 'sneaky', source: '/x', type: 't' }),
    });
    expect(publish.status).toBe(401);
    // An absolute URL in the request line, as a proxy would send it.
    const raw = await new Promise<string>((resolve, reject) => {
      const { hostname, port } = new URL(hub.url);
      const socket = connect(Number(port), hostname, () =>
        socket.end(
          `GET ${hub.url}/v1/subscriptions HTTP/1.1\r\nhost: ${hostname}\r\nconnection: close\r\n\r\n`,
        ),
      );
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 401 /);
  });
});

describe('the bootstrap admin key', () => {
  it('is generated on first start, kept with mode 0600, printed once, and read back on restart', async () => {
    const env = { JUNCTION_ADMIN_KEY: '' };
    const first = await startHub({ env });
    const path = join(first.dataDir, 'admin.key');
    const key = readFileSync(path, 'utf8').trim();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(first.output()).toContain(key);
    expect((await first.fetch('/v1/subscriptions')).status).toBe(401);
    expect(
      (await first.fetch('/v1/subscriptions', { headers: { authorization: `Bearer ${key}` } })).status,
    ).toBe(200);
    await first.stop();

    const second = await startHub({ env, dataDir: first.dataDir });
    expect(second.output()).not.toContain(key);
    expect(
      (await second.fetch('/v1/subscriptions', { headers: { authorization: `Bearer ${key}` } })).status,
    ).toBe(200);
    await second.stop();
  });
});
