/**
 * Outbound presets against the real hub and a real HTTP sink standing in for each tool (a local
 * URL with the preset named, since the tools' own hosts are not reachable from tests).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type HubProcess, startHub } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

const TYPE = 'com.acme.order.created';

describe('outbound presets', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  });
  async function setup(): Promise<{ hub: HubProcess; sink: Sink }> {
    const hub = await startHub();
    cleanup.push(() => hub.stop());
    const sink = await startSink();
    cleanup.push(() => sink.close());
    return { hub, sink };
  }
  const order = (id: string, data: unknown) => ({
    specversion: '1.0',
    id,
    source: '/shop',
    type: TYPE,
    subject: `orders/${id}`,
    data,
  });
  async function waitFor(check: () => boolean, ms: number, what: string) {
    const until = Date.now() + ms;
    while (!check()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('slack: a {text} message built from the event, one a second', async () => {
    const { hub, sink } = await setup();
    await hub.subscribe({ sink: sink.url, types: [TYPE], delivery: { preset: 'slack' } });
    for (let i = 1; i <= 3; i++) await hub.publish(order(`o-${i}`, { total: i }));
    await waitFor(() => sink.received.length === 3, 15_000, 'three messages');
    const first = JSON.parse(sink.received[0]!.body.toString());
    expect(first).toEqual({ text: `*${TYPE}* orders/o-1\n\`\`\`{"total":1}\`\`\`` });
    expect(sink.received[0]!.headers['content-type']).toMatch(/^application\/json/);
    const gaps = sink.received.slice(1).map((r, i) => r.at - sink.received[i]!.at);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(900);
  }, 30_000);

  it('slack: a transform of its own builds blocks instead', async () => {
    const { hub, sink } = await setup();
    const transform =
      '{"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Order total " & $string(total)}}]}';
    await hub.subscribe({ sink: sink.url, types: [TYPE], delivery: { preset: 'slack', transform } });
    await hub.publish(order('o-9', { total: 9 }));
    await waitFor(() => sink.received.length === 1, 10_000, 'the message');
    expect(JSON.parse(sink.received[0]!.body.toString())).toEqual({
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Order total 9' } }],
    });
  }, 30_000);

  it('n8n: a 404 while the workflow is inactive is retried, then delivered in the webhook shape', async () => {
    const { hub, sink } = await setup();
    sink.respond((_req, res, index) =>
      index < 2
        ? res.writeHead(404).end('{"message":"The requested webhook is not registered"}')
        : res.writeHead(200).end('{}'),
    );
    const { id } = await hub.subscribe({
      sink: sink.url,
      types: [TYPE],
      delivery: { preset: 'n8n', initialDelayMs: 100, maxDelayMs: 200 },
    });
    await hub.publish(order('o-n8n', { total: 5 }));
    await waitFor(() => sink.received.length === 3, 15_000, 'two 404s and a success');
    expect(JSON.parse(sink.received[2]!.body.toString())).toMatchObject({
      id: 'o-n8n',
      type: TYPE,
      subject: 'orders/o-n8n',
      data: { total: 5 },
    });
    const page = (await (await hub.fetch(`/v1/subscriptions/${id}/deliveries`)).json()) as {
      items: { status: string; attempts: number }[];
    };
    expect(page.items).toMatchObject([{ status: 'delivered', attempts: 3 }]);
  }, 30_000);

  it('zapier: recognised by its host, a flat webhook object with a 30 s timeout', async () => {
    const { hub } = await setup();
    const res = await hub.fetch('/v1/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sink: 'https://hooks.zapier.com/hooks/catch/123/abc/', types: [TYPE] }),
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { delivery: unknown }).delivery).toMatchObject({
      preset: 'zapier',
      format: 'webhook',
      timeoutMs: 30_000,
      rateLimit: { perSecond: 50, burst: 100 },
    });
  });
});
