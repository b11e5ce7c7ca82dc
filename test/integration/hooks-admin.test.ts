/**
 * The admin API of inbound hooks against the real hub: create (the secret shown once), read,
 * list, patch, replace, rotate with and without a grace period, delete; field errors by pointer;
 * and a hook that keeps working, and still knows its duplicates, after a restart.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { type HubProcess, startHub } from '../helpers/server.js';

let hub: HubProcess;

beforeAll(async () => {
  hub = await startHub();
});

afterAll(async () => {
  await hub?.stop();
});

const json = (method: string, body: unknown) => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

async function create(body: Record<string, unknown>) {
  const res = await hub.fetch('/v1/hooks', json('POST', body));
  expect(res.status).toBe(201);
  return {
    res,
    hook: (await res.json()) as Record<string, unknown> & { id: string; secret: string; url: string },
  };
}

const send = (url: string) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });

describe('hook admin API', () => {
  it('creates a hook with its secret and URL once, and never shows a secret again', async () => {
    const { res, hook } = await create({
      name: 'Deploys',
      preset: 'signed',
      type: 'com.acme.deploy',
      signing: { secret: 'shh', header: 'X-Sig' },
    });
    expect(res.headers.get('location')).toBe(`/v1/hooks/${hook.id}`);
    expect(hook.secret).toMatch(/^hks_[A-Za-z0-9_-]{43}$/);
    expect(hook.url).toBe(`${hub.url}/v1/hooks/${hook.id}?secret=${hook.secret}`);
    expect(hook).toMatchObject({
      name: 'Deploys',
      source: `/hooks/${hook.id}`,
      signing: { header: 'x-sig', algorithm: 'sha256' },
    });

    const got = (await (await hub.fetch(`/v1/hooks/${hook.id}`)).json()) as Record<string, unknown>;
    const text = JSON.stringify(got);
    expect(text).not.toContain(hook.secret);
    expect(text).not.toContain('shh');
    expect(got.secretHash).toBeUndefined();
    expect(got.url).toBe(`${hub.url}/v1/hooks/${hook.id}`);
    const list = (await (await hub.fetch('/v1/hooks')).json()) as { id: string }[];
    expect(list.map((h) => h.id)).toContain(hook.id);
    expect(JSON.stringify(list)).not.toContain('shh');
  });

  it('names each bad field with its pointer, and wants the admin key', async () => {
    const res = await hub.fetch('/v1/hooks', json('POST', { preset: 'nope', mapping: '$$$(' }));
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: { pointer: string }[] };
    expect(problem.errors.map((e) => e.pointer).sort()).toEqual(['/mapping', '/preset', '/type']);
    expect((await fetch(`${hub.url}/v1/hooks`)).status).toBe(401);
  });

  it('patches a field keeping the signing secret, replaces the whole hook, deletes it', async () => {
    const { hook } = await create({
      preset: 'signed',
      type: 'a',
      signing: { secret: 'keep-me', header: 'X-Sig' },
    });
    const patched = await hub.fetch(
      `/v1/hooks/${hook.id}`,
      json('PATCH', { type: 'b', signing: { header: 'X-Other' } }),
    );
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ type: 'b', signing: { header: 'x-other' } });
    const signed = await fetch(hook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-other': createHmac('sha256', 'keep-me').update('{}').digest('hex'),
      },
      body: '{}',
    });
    expect(signed.status).toBe(202);
    const bad = await hub.fetch(`/v1/hooks/${hook.id}`, json('PATCH', { maxBodyBytes: 1 }));
    expect(bad.status).toBe(400);

    const replaced = await hub.fetch(`/v1/hooks/${hook.id}`, json('PUT', { preset: 'zapier', type: 'c' }));
    expect(replaced.status).toBe(200);
    expect(await replaced.json()).toMatchObject({ preset: 'zapier', type: 'c', signing: null });
    expect((await send(hook.url)).status).toBe(200);
    const mismatch = await hub.fetch(`/v1/hooks/${hook.id}`, json('PUT', { id: 'hook_other', type: 'c' }));
    expect(mismatch.status).toBe(400);

    expect((await hub.fetch(`/v1/hooks/${hook.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await hub.fetch(`/v1/hooks/${hook.id}`)).status).toBe(404);
    expect((await send(hook.url)).status).toBe(404);
  });

  it('rotates the secret: the old one stops at once, or works through a grace period', async () => {
    const { hook } = await create({ type: 'r' });
    const rotated = await hub.fetch(`/v1/hooks/${hook.id}/rotate`, { method: 'POST' });
    expect(rotated.status).toBe(200);
    const first = (await rotated.json()) as { secret: string; url: string; previousSecretExpiresAt: null };
    expect(first.previousSecretExpiresAt).toBeNull();
    expect((await send(hook.url)).status).toBe(401);
    expect((await send(first.url)).status).toBe(202);

    const graced = await hub.fetch(`/v1/hooks/${hook.id}/rotate`, json('POST', { graceSeconds: 3600 }));
    const second = (await graced.json()) as { url: string; previousSecretExpiresAt: string };
    expect(Date.parse(second.previousSecretExpiresAt)).toBeGreaterThan(Date.now() + 3500_000);
    expect((await send(first.url)).status).toBe(202);
    expect((await send(second.url)).status).toBe(202);
    const refused = await hub.fetch(`/v1/hooks/${hook.id}/rotate`, json('POST', { graceSeconds: -1 }));
    expect(refused.status).toBe(400);
  });

  it('is managed from the CLI: create prints the URL, list, rotate and delete', async () => {
    const env = { JUNCTION_URL: hub.url, JUNCTION_KEY: hub.key };
    const created = await runCli(
      ['hook', 'create', '--preset', 'ifttt', '--type', 'cli.made', '--name', 'From CLI', '--json'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const hook = JSON.parse(created.stdout) as { id: string; url: string };
    expect((await send(hook.url)).status).toBe(200);
    const listed = await runCli(['hook', 'list'], env);
    expect(listed.stdout).toMatch(new RegExp(`${hook.id}\\s+ifttt\\s+active\\s+cli.made\\s+From CLI`));
    const rotated = await runCli(['hook', 'rotate', hook.id, '--json'], env);
    expect((await send((JSON.parse(rotated.stdout) as { url: string }).url)).status).toBe(200);
    expect((await runCli(['hook', 'delete', hook.id], env)).stdout).toBe(`deleted ${hook.id}\n`);
    const missing = await runCli(['hook', 'get', hook.id], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/Not found \(HTTP 404\)/);
  });

  it('keeps hooks across a restart, with their duplicates', async () => {
    const { hook } = await create({ preset: 'make', type: 'persisted', idField: 'id' });
    // The port is new after the restart; the path and secret are not.
    const post = () =>
      fetch(`${hub.url}/v1/hooks/${hook.id}?secret=${hook.secret}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"id":"x1"}',
      });
    expect(await (await post()).json()).toMatchObject({ status: 'accepted' });
    await hub.stop();
    hub = await startHub({ dataDir: hub.dataDir });
    const after = await post();
    expect(after.status).toBe(200);
    expect(await after.json()).toMatchObject({ id: 'x1', status: 'duplicate' });
    expect((await (await hub.fetch(`/v1/hooks/${hook.id}`)).json()) as object).toMatchObject({
      preset: 'make',
    });
  });
});
