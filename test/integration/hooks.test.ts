/**
 * Inbound hooks against the real hub process and a real HTTP sink: for each preset, a request
 * shaped like the tool's own becomes the expected CloudEvent, found by lookup and delivered once,
 * and the same request again is a duplicate. Then the refusals, with nothing stored, and a hook
 * that outlives a restart.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

let hub: HubProcess;
let sink: Sink;

interface CreatedHook {
  id: string;
  secret: string;
  url: string;
  source: string;
}

interface Answer {
  id: string;
  source: string;
  type: string;
  status: 'accepted' | 'duplicate';
}

beforeAll(async () => {
  sink = await startSink();
  hub = await startHub();
});

afterAll(async () => {
  await hub?.stop();
  await sink?.close();
});

async function createHook(body: Record<string, unknown>): Promise<CreatedHook> {
  const res = await hub.fetch('/v1/hooks', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`create hook answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as CreatedHook;
}

/** A subscription of the type, sending structured CloudEvents to its own path on the sink. */
async function subscribe(type: string): Promise<{ id: string; path: string }> {
  const path = `/${type}`;
  const { id } = await hub.subscribe({
    sink: `${sink.url}${path}`,
    types: [type],
    delivery: { format: 'structured' },
  });
  return { id, path };
}

const receivedAt = (path: string) =>
  sink.received
    .filter((r) => r.path === `/hook${path}`)
    .map((r) => JSON.parse(r.body.toString()) as Record<string, unknown>);

async function lookup(source: string, id: string) {
  const res = await hub.fetch(
    `/v1/events/lookup?source=${encodeURIComponent(source)}&id=${encodeURIComponent(id)}`,
  );
  expect(res.status).toBe(200);
  return (await res.json()) as { event: Record<string, unknown>; deliveries: { status: string }[] };
}

/**
 * Sends the request twice: the first is accepted, the second a duplicate of it; the event is as
 * expected in the store and at the sink, where it arrives once.
 */
async function roundTrip(
  type: string,
  send: () => Promise<Response>,
  expected: Record<string, unknown>,
  status = 200,
): Promise<Answer> {
  const { path } = await subscribe(type);
  const first = await send();
  expect(first.status, await first.clone().text()).toBe(status);
  const answer = (await first.json()) as Answer;
  expect(answer).toMatchObject({ status: 'accepted', type });
  const again = await send();
  expect(again.status).toBe(status);
  expect(await again.json()).toEqual({ ...answer, status: 'duplicate' });

  const stored = await lookup(answer.source, answer.id);
  expect(stored.event).toMatchObject({ specversion: '1.0', type, ...expected });
  await waitFor(() => receivedAt(path).length >= 1, 10_000, `delivery to ${path}`);
  expect(receivedAt(path)[0]).toMatchObject({ id: answer.id, type, ...expected });
  await new Promise((r) => setTimeout(r, 300));
  expect(receivedAt(path)).toHaveLength(1);
  return answer;
}

describe("presets: a request shaped like the tool's own becomes the expected event, once", () => {
  it('zapier: a form POST from Webhooks by Zapier, unflattened', async () => {
    const hook = await createHook({ preset: 'zapier', type: 'hooks.zapier', subjectField: 'lead.email' });
    const send = () =>
      fetch(hook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Zapier' },
        body: 'lead__email=ann%40example.com&lead__name=Ann+Lee&source=typeform',
      });
    await roundTrip('hooks.zapier', send, {
      source: `/hooks/${hook.id}`,
      subject: 'ann@example.com',
      hookid: hook.id,
      data: { lead: { email: 'ann@example.com', name: 'Ann Lee' }, source: 'typeform' },
    });
  });

  it('make: JSON from the HTTP module, the id from a field', async () => {
    const hook = await createHook({
      preset: 'make',
      type: 'hooks.make',
      idField: 'order.id',
      partitionKeyField: 'customer.id',
    });
    const body = JSON.stringify({ order: { id: 'ord-1001', total: 99.5 }, customer: { id: 'c-9' } });
    const send = () =>
      fetch(hook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Make/production' },
        body,
      });
    await roundTrip('hooks.make', send, { id: 'ord-1001', partitionkey: 'c-9', data: JSON.parse(body) });
  });

  it('n8n: JSON from the HTTP Request node with the secret in a header, a blind retry by body hash', async () => {
    const hook = await createHook({
      preset: 'n8n',
      type: 'hooks.n8n',
      mapping: '{ "ticket": number, "title": $uppercase(title) }',
    });
    const url = hook.url.split('?')[0]!;
    const send = () =>
      fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'n8n',
          'x-junction-hook-secret': hook.secret,
        },
        body: '{"number":17,"title":"printer on fire"}',
      });
    const answer = await roundTrip('hooks.n8n', send, { data: { ticket: 17, title: 'PRINTER ON FIRE' } });
    expect(answer.id).toMatch(/^[0-9a-f]{64}$/);
  });

  it('power-automate: 202 with a Location that is polled to 200 with the deliveries', async () => {
    const hook = await createHook({ preset: 'power-automate', type: 'hooks.pa', subjectField: 'requestor' });
    const send = () =>
      fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': 'azure-logic-apps/1.0 (workflow 0a1b; version 08585)',
          'x-ms-workflow-run-id': '08585000000000000000000000000CU00',
          'x-ms-client-tracking-id': '08585000000000000000000000000CU00',
        },
        body: JSON.stringify({ requestor: 'ann@contoso.com', amount: 120 }),
      });
    const { path } = await subscribe('hooks.pa');
    const first = await send();
    expect(first.status).toBe(202);
    expect(first.headers.get('retry-after')).toBe('5');
    const location = first.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^${hub.url}/v1/hooks/${hook.id}/requests/[A-Za-z0-9_-]+\\?secret=`));
    const answer = (await first.json()) as Answer;
    let polled: Response | undefined;
    await waitFor(
      async () => {
        polled = await fetch(location);
        return polled.status === 200;
      },
      10_000,
      'the status resource to answer 200',
    );
    expect(await polled!.json()).toMatchObject({
      id: answer.id,
      status: 'completed',
      deliveries: [{ status: 'delivered', attempts: 1 }],
    });
    const again = await send();
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ id: answer.id, status: 'duplicate' });
    expect(receivedAt(path)).toHaveLength(1);
    expect(receivedAt(path)[0]).toMatchObject({ subject: 'ann@contoso.com', data: { amount: 120 } });
    // Without the secret the status is not shown.
    expect((await fetch(location.split('?')[0]!)).status).toBe(401);
  });

  it('airtable: refused until macSecret is set, then the MAC-verified ping carries the base and webhook ids', async () => {
    const macSecret = Buffer.from(randomUUID()).toString('base64');
    const hook = await createHook({ preset: 'airtable' });
    const body = JSON.stringify({
      base: { id: 'appJ3ZQ1' },
      webhook: { id: 'achW8nd4' },
      timestamp: '2024-03-06T00:32:58.992Z',
    });
    const mac = `hmac-sha256=${createHmac('sha256', Buffer.from(macSecret, 'base64')).update(body).digest('hex')}`;
    const send = () =>
      fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Airtable Webhooks',
          'x-airtable-content-mac': mac,
        },
        body,
      });
    const early = await send();
    expect(early.status).toBe(401);
    expect(((await early.json()) as { detail: string }).detail).toMatch(/macSecret/);
    const patched = await hub.fetch(`/v1/hooks/${hook.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ macSecret }),
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ macSecretSet: true, preset: 'airtable' });
    await roundTrip('com.airtable.webhook.notification', send, {
      subject: 'achW8nd4',
      partitionkey: 'appJ3ZQ1',
      data: JSON.parse(body),
    });
  });

  it('ifttt: value1..value3 of the Webhooks action', async () => {
    const hook = await createHook({ preset: 'ifttt', type: 'hooks.ifttt' });
    const send = () =>
      fetch(hook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ value1: 'Kitchen', value2: '21.5', value3: 'March 3, 2024 at 10:00AM' }),
      });
    await roundTrip('hooks.ifttt', send, {
      data: { value1: 'Kitchen', value2: '21.5', value3: 'March 3, 2024 at 10:00AM' },
    });
  });

  it('signed: a GitHub delivery, type from X-GitHub-Event, id from X-GitHub-Delivery', async () => {
    const hook = await createHook({
      preset: 'signed',
      typeHeader: 'X-GitHub-Event',
      typePrefix: 'hooks.github.',
      source: 'https://github.com/acme/shop',
      signing: { secret: 'gh-secret', header: 'X-Hub-Signature-256', prefix: 'sha256=' },
    });
    const body = JSON.stringify({ ref: 'refs/heads/main', after: 'abc123' });
    const delivery = randomUUID();
    const send = () =>
      fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'GitHub-Hookshot/5c1a2b3',
          'x-github-event': 'push',
          'x-github-delivery': delivery,
          'x-hub-signature-256': `sha256=${createHmac('sha256', 'gh-secret').update(body).digest('hex')}`,
        },
        body,
      });
    await roundTrip('hooks.github.push', send, { id: delivery, source: 'https://github.com/acme/shop' }, 202);
  });

  it('signed: a Stripe event, verified with its tolerance, type and id from the body', async () => {
    const hook = await createHook({
      preset: 'signed',
      typeField: 'type',
      typePrefix: 'hooks.stripe.',
      signing: { scheme: 'stripe', secret: 'whsec_test_stripe' },
    });
    const body = JSON.stringify({
      id: 'evt_1Nxyz',
      object: 'event',
      type: 'invoice.paid',
      data: { object: { id: 'in_1' } },
    });
    const sign = (t: number) =>
      `t=${t},v1=${createHmac('sha256', 'whsec_test_stripe').update(`${t}.${body}`).digest('hex')}`;
    const t = Math.floor(Date.now() / 1000);
    const send = () =>
      fetch(hook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': sign(t) },
        body,
      });
    await roundTrip('hooks.stripe.invoice.paid', send, { id: 'evt_1Nxyz' }, 202);
    const stale = await fetch(hook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': sign(t - 3600) },
      body,
    });
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as { detail: string }).detail).toMatch(/outside the tolerance of 300 s/);
  });

  it('signed: a Shopify webhook, base64 HMAC, id from X-Shopify-Webhook-Id', async () => {
    const hook = await createHook({
      preset: 'signed',
      typeHeader: 'X-Shopify-Topic',
      typePrefix: 'hooks.shopify.',
      signing: { secret: 'shpss', header: 'X-Shopify-Hmac-Sha256', encoding: 'base64' },
    });
    const body = JSON.stringify({ id: 820982911946154500, email: 'jon@example.com' });
    const send = () =>
      fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-shopify-topic': 'orders/create',
          'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
          'x-shopify-hmac-sha256': createHmac('sha256', 'shpss').update(body).digest('base64'),
        },
        body,
      });
    await roundTrip('hooks.shopify.orders/create', send, { id: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043' }, 202);
  });

  it('generic: a text body with an Idempotency-Key', async () => {
    const hook = await createHook({ type: 'hooks.generic' });
    const send = () =>
      fetch(hook.url, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'idempotency-key': 'k-77' },
        body: 'door opened',
      });
    await roundTrip(
      'hooks.generic',
      send,
      { id: 'k-77', datacontenttype: 'text/plain', data: 'door opened' },
      202,
    );
  });
});
