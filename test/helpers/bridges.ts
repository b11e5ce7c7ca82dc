/**
 * The two scenarios every protocol bridge is tested with against its real broker, each with a
 * SIGKILL of the hub mid-stream and a restart on the same data directory:
 *
 * - source: the broker acknowledged every message to its publisher; each must end up stored, once
 *   by (source, id);
 * - sink: the hub acknowledged every event at ingest; each must reach the broker's consumer at
 *   least once, repeats under the same webhook-id.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canConnect } from './nats.js';
import { type HubProcess, startHub, tempDataDir, waitFor } from './server.js';

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const MQTT_URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';

/**
 * Whether the broker at `url` answers. Locally a missing broker skips the suite with a message;
 * under CI=true the suite runs, and fails.
 */
export async function brokerSuite(what: string, url: string, defaultPort: number): Promise<boolean> {
  const parsed = new URL(url);
  const up = await canConnect(parsed.hostname, Number(parsed.port || defaultPort));
  if (!up && process.env.CI !== 'true') {
    console.warn(`${what} bridge tests skipped: nothing answers at ${parsed.host}; under CI=true this fails`);
    return false;
  }
  return true;
}

/** A name no other test run uses: for queues, topics, subjects and streams. */
export function unique(label: string): string {
  return `jt_${label}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Starts a hub whose config file holds `bridges`, on `dataDir` (a new one when not given). */
export async function hubWithBridges(bridges: unknown[], dataDir = tempDataDir()): Promise<HubProcess> {
  const config = join(dataDir, 'junction.json');
  writeFileSync(config, JSON.stringify({ bridges }));
  return startHub({ dataDir, args: ['--config', config] });
}

/** The ids of `ids` the hub has stored under `source`. */
export async function storedIds(
  hub: HubProcess,
  source: string,
  ids: Iterable<string>,
): Promise<Set<string>> {
  const found = new Set<string>();
  const list = [...ids];
  for (let i = 0; i < list.length; i += 50) {
    await Promise.all(
      list.slice(i, i + 50).map(async (id) => {
        const res = await hub.fetch(
          `/v1/events/lookup?source=${encodeURIComponent(source)}&id=${encodeURIComponent(id)}`,
        );
        if (res.status === 200) found.add(id);
        await res.body?.cancel();
      }),
    );
  }
  return found;
}

/** Waits until every id in `ids` is stored; resolves with those still missing when time runs out. */
export async function waitStored(
  hub: HubProcess,
  source: string,
  ids: string[],
  timeoutMs: number,
): Promise<string[]> {
  let missing = ids;
  const deadline = Date.now() + timeoutMs;
  while (missing.length > 0 && Date.now() < deadline) {
    const found = await storedIds(hub, source, missing);
    missing = missing.filter((id) => !found.has(id));
    if (missing.length > 0) await new Promise((r) => setTimeout(r, 250));
  }
  return missing;
}

/** A bridge's message counts by outcome, from the hub's metrics. */
export async function bridgeCounts(hub: HubProcess, bridge: string): Promise<Record<string, number>> {
  const text = await (await hub.fetch('/metrics')).text();
  const counts: Record<string, number> = {};
  const line = new RegExp(
    `^junction_bridge_messages_total\\{bridge="${bridge}",outcome="(\\w+)"\\} (\\d+)`,
    'gm',
  );
  for (const m of text.matchAll(line)) counts[m[1]!] = Number(m[2]);
  return counts;
}

/** What a broker consumer saw: each event id with the webhook-ids it came under. */
export class Received {
  readonly byId = new Map<string, Set<string>>();
  copies = 0;

  add(id: string, webhookId: string): void {
    this.copies += 1;
    const seen = this.byId.get(id) ?? new Set<string>();
    seen.add(webhookId);
    this.byId.set(id, seen);
  }
}

/**
 * The sink scenario: publishes `total` events to a hub delivering to the broker, SIGKILLs it once
 * `killAt` were acknowledged, restarts it on the same data directory, publishes the rest, and
 * waits for every acknowledged event to reach `received`.
 *
 * @returns the ids acknowledged at ingest, and the hub still running (the caller stops it).
 */
export async function sinkSurvivesKill(options: {
  subscription: Record<string, unknown>;
  received: Received;
  source: string;
  total: number;
  killAt: number;
}): Promise<{ acked: string[]; hub: HubProcess }> {
  const { received, source, total, killAt } = options;
  let hub = await startHub();
  const sub = await hub.subscribe({
    types: ['test.bridge'],
    ...options.subscription,
    delivery: { initialDelayMs: 100, maxDelayMs: 1_000, timeoutMs: 3_000 },
  });
  const acked: string[] = [];
  const publish = async (target: HubProcess, from: number, to: number) => {
    // Ten at a time, so deliveries are in flight when the kill comes.
    for (let i = from; i < to; i += 10) {
      const batch = Array.from({ length: Math.min(10, to - i) }, (_, k) => `e-${i + k}`);
      const ok = await Promise.all(
        batch.map((id) =>
          target
            .publish({ id, source, type: 'test.bridge', data: { id } })
            .then(() => true)
            .catch(() => false),
        ),
      );
      batch.forEach((id, k) => {
        if (ok[k]) acked.push(id);
      });
    }
  };
  await publish(hub, 0, killAt);
  // Mid-stream: some delivered, some still in flight or due.
  await waitFor(() => received.byId.size >= killAt / 4, 15_000, 'the first deliveries');
  await hub.kill();
  hub = await startHub({ dataDir: hub.dataDir });
  const shown = (await (await hub.fetch(`/v1/subscriptions/${sub.id}`)).json()) as { sink: string };
  if (shown.sink.includes('guest:guest')) throw new Error(`the sink's password is shown: ${shown.sink}`);
  await publish(hub, killAt, total);
  await waitFor(
    () => acked.every((id) => received.byId.has(id)),
    30_000,
    `every acknowledged event at the broker (${received.byId.size} of ${acked.length})`,
  ).catch(async (error) => {
    await hub.kill();
    throw error;
  });
  return { acked, hub };
}
