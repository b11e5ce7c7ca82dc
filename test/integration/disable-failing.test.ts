/**
 * A subscription whose every attempt keeps failing is disabled after `disableAfterMs`, says why,
 * and the hub publishes `dev.junction.subscription.disabled`; a success in between starts the clock
 * again. Against the real hub and real sinks, with the shortest setting the hub accepts (10 s).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeConfigFile } from '../helpers/delivery.js';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { type Sink, startSink } from '../helpers/sink.js';

const TYPE = 'com.acme.disable.tested';
const DISABLE_AFTER_MS = 10_000;
/** Retries every ~200-400 ms, so attempts keep coming past the 10 s mark. */
const delivery = {
  maxAttempts: 100,
  maxAgeMs: 600_000,
  initialDelayMs: 200,
  maxDelayMs: 400,
  disableAfterMs: DISABLE_AFTER_MS,
};

interface SubscriptionView {
  status: string;
  statusReason: string | null;
  failingSince: string | null;
}

let hub: HubProcess;
let broken: Sink;
let flaky: Sink;
let watcher: Sink;
let flakyHealthy = false;

async function view(id: string): Promise<SubscriptionView> {
  return (await (await hub.fetch(`/v1/subscriptions/${id}`)).json()) as SubscriptionView;
}

beforeAll(async () => {
  broken = await startSink((_req, res) => res.writeHead(500).end('down'));
  flaky = await startSink((_req, res) => res.writeHead(flakyHealthy ? 200 : 503).end());
  watcher = await startSink();
  // A breaker that never opens here: this test is about the subscription's clock, not the endpoint.
  const config = writeConfigFile({ breaker: { minRequests: 1_000_000 } });
  hub = await startHub({ args: ['--config', config] });
});

afterAll(async () => {
  await hub?.stop();
  await broken?.close();
  await flaky?.close();
  await watcher?.close();
});

describe('disabling a subscription that keeps failing', () => {
  it('disables it after disableAfterMs of failures, publishes the event, and refuses replays to it', async () => {
    const watch = await hub.subscribe({ sink: watcher.url, types: ['dev.junction.subscription.disabled'] });
    const sub = await hub.subscribe({ sink: `${broken.url}/secret-token`, types: [TYPE], delivery });
    const started = Date.now();
    await hub.publish({ specversion: '1.0', id: 'd-1', source: '/disable', type: TYPE, data: {} });

    await waitFor(async () => (await view(sub.id)).failingSince !== null, 5_000, 'failingSince');
    // Still active well before the deadline.
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await view(sub.id)).status).toBe('active');

    await waitFor(
      async () => (await view(sub.id)).status === 'disabled',
      15_000,
      'the subscription disabled',
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(DISABLE_AFTER_MS);
    expect((await view(sub.id)).statusReason).toMatch(/every attempt has failed since/);

    await waitFor(() => watcher.received.length > 0, 5_000, 'the disabled event');
    const event = watcher.received[0]!;
    expect(event.headers['ce-type']).toBe('dev.junction.subscription.disabled');
    expect(event.headers['ce-source']).toBe('/junction');
    const data = JSON.parse(event.body.toString()) as { subscription: string; sink: string; reason: string };
    expect(data.subscription).toBe(sub.id);
    expect(data.reason).toMatch(/every attempt has failed/);
    // The sink's path may carry a token: only its origin goes out.
    expect(data.sink).not.toContain('secret-token');
    expect(watch.id).toBeTruthy();

    const replay = await hub.fetch('/v1/replays', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subscription: sub.id, from: new Date(started - 60_000).toISOString() }),
    });
    expect(replay.status).toBe(409);
    expect(((await replay.json()) as { detail: string }).detail).toMatch(/disabled/);
  }, 40_000);

  it('starts the clock again after a success', async () => {
    const sub = await hub.subscribe({ sink: flaky.url, types: [`${TYPE}.flaky`], delivery });
    await hub.publish({ specversion: '1.0', id: 'f-1', source: '/disable', type: `${TYPE}.flaky`, data: {} });
    await waitFor(async () => (await view(sub.id)).failingSince !== null, 5_000, 'failingSince');
    flakyHealthy = true;
    await waitFor(async () => (await view(sub.id)).failingSince === null, 5_000, 'failingSince cleared');
    expect((await view(sub.id)).status).toBe('active');
  }, 20_000);
});
