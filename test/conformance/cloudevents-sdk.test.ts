/**
 * Independent clients check us: the `cloudevents` SDK publishes in all three HTTP modes and parses
 * every delivery back, and the `standardwebhooks` package verifies every signature.
 */
import { CloudEvent, HTTP } from 'cloudevents';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

let hub: HubProcess;
let sink: Sink;
const secrets: Record<string, string> = {};

async function subscribe(format: string): Promise<void> {
  const res = await hub.fetch('/v1/subscriptions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      sink: `${sink.url}/${format}`,
      types: ['com.acme.order.created'],
      delivery: { format },
    }),
  });
  expect(res.status).toBe(201);
  const sub = (await res.json()) as { id: string; secret: string };
  expect(sub.secret).toMatch(/^whsec_/);
  secrets[format] = sub.secret;
}

function sdkEvent(id: string): CloudEvent<Record<string, unknown>> {
  return new CloudEvent({
    specversion: '1.0',
    id,
    source: '/shop/orders',
    type: 'com.acme.order.created',
    subject: 'orders/42',
    time: '2026-01-02T03:04:05.678Z',
    datacontenttype: 'application/json',
    partitionkey: 'order-42',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    data: { orderId: 42, total: 99.5, customer: 'Zoë Ångström' },
  });
}

async function publish(headers: Record<string, string>, body: string): Promise<void> {
  const res = await hub.fetch('/v1/events', { method: 'POST', headers, body });
  expect(res.status).toBe(202);
}

beforeAll(async () => {
  sink = await startSink();
  hub = await startHub();
  for (const format of ['binary', 'structured', 'webhook']) await subscribe(format);
});

afterAll(async () => {
  await hub?.stop();
  await sink?.close();
});

describe('the cloudevents SDK as producer and consumer', () => {
  it('publishes in binary, structured and batch modes and reads every delivery back', async () => {
    const binary = HTTP.binary(sdkEvent('sdk-binary'));
    await publish(binary.headers as Record<string, string>, binary.body as string);
    const structured = HTTP.structured(sdkEvent('sdk-structured'));
    await publish(structured.headers as Record<string, string>, structured.body as string);
    const batch = [sdkEvent('sdk-batch-1'), sdkEvent('sdk-batch-2')];
    await publish({ 'content-type': 'application/cloudevents-batch+json' }, JSON.stringify(batch));

    const ids = ['sdk-binary', 'sdk-structured', 'sdk-batch-1', 'sdk-batch-2'];
    await waitFor(() => sink.received.length >= ids.length * 3, 10_000, 'all deliveries');
    expect(sink.received).toHaveLength(ids.length * 3);

    for (const req of sink.received) {
      const format = req.path.split('/').pop()!;
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));

      // Standard Webhooks: the signature verifies with the subscription's secret.
      const wh = new Webhook(secrets[format]!);
      expect(() => wh.verify(req.body, headers)).not.toThrow();
      expect(headers['webhook-id']).toMatch(/^msg_/);
      expect(headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');

      if (format === 'webhook') {
        const payload = JSON.parse(req.body.toString()) as Record<string, unknown>;
        expect(ids).toContain(payload.id);
        expect(payload).toMatchObject({
          type: 'com.acme.order.created',
          source: '/shop/orders',
          subject: 'orders/42',
          timestamp: '2026-01-02T03:04:05.678Z',
          data: { orderId: 42, total: 99.5, customer: 'Zoë Ångström' },
        });
        continue;
      }
      const event = HTTP.toEvent({ headers, body: req.body.toString() }) as CloudEvent<
        Record<string, unknown>
      >;
      expect(ids).toContain(event.id);
      const original = sdkEvent(event.id);
      expect(event.source).toBe(original.source);
      expect(event.type).toBe(original.type);
      expect(event.subject).toBe(original.subject);
      expect(new Date(event.time!).toISOString()).toBe(original.time);
      expect(event.partitionkey).toBe('order-42');
      expect(event.data).toEqual(original.data);
      if (format === 'binary') expect(headers['ce-id']).toBe(event.id);
      else expect(headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    }
  });

  it('answers a second publish of the same (source, id) as a duplicate and delivers nothing new', async () => {
    const before = sink.received.length;
    const again = HTTP.structured(sdkEvent('sdk-structured'));
    const res = await hub.fetch('/v1/events', {
      method: 'POST',
      headers: again.headers as Record<string, string>,
      body: again.body as string,
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      events: [{ source: '/shop/orders', id: 'sdk-structured', status: 'duplicate' }],
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.received.length).toBe(before);
  });
});
