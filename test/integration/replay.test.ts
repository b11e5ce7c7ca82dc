/**
 * Replays of archived events against the real hub and a real sink: 100,000 events published with no
 * subscription reach a new one exactly once each, marked with `junctionreplay`; replayed deliveries
 * keep their webhook-id unless asked for new ones; and a replay survives kill -9 of the hub.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { publishAll } from '../helpers/publish.js';
import { type HubProcess, startHub, tempDataDir, waitFor } from '../helpers/server.js';
import { startTallySink, type TallySink } from '../helpers/tally-sink.js';

const SOURCE = '/replay';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

interface ReplayView {
  id: string;
  subscriptionId: string;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  scanned: number;
  matched: number;
  total: number;
  error: string | null;
  deliveries: Partial<Record<string, number>>;
}

const events = (prefix: string, type: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, source: SOURCE, type, data: { i } }));

async function startReplay(hub: HubProcess, body: Record<string, unknown>): Promise<ReplayView> {
  const res = await hub.fetch('/v1/replays', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`POST /v1/replays answered ${res.status}: ${text}`);
  const replay = JSON.parse(text) as ReplayView;
  expect(res.headers.get('location')).toBe(`/v1/replays/${replay.id}`);
  return replay;
}

async function getReplay(hub: HubProcess, id: string): Promise<ReplayView> {
  const res = await hub.fetch(`/v1/replays/${id}`);
  if (res.status !== 200)
    throw new Error(`GET /v1/replays/${id} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as ReplayView;
}

/**
 * Waits until the replay has made all its deliveries and every one of them is delivered. It fails
 * when the replay stops making progress for `stallMs` (nothing more scanned or delivered), not on a
 * wall-clock budget: how fast 100,000 deliveries go depends on what else the machine runs, and
 * speed is measured in `bench/`, not here. `capMs` bounds the whole wait all the same.
 */
async function replayDone(
  hub: HubProcess,
  id: string,
  expected: number,
  stallMs = 20_000,
  capMs = 200_000,
): Promise<ReplayView> {
  const startedAt = Date.now();
  let progress = '';
  let progressAt = startedAt;
  for (;;) {
    const replay = await getReplay(hub, id);
    if (replay.status === 'failed' || replay.status === 'cancelled')
      throw new Error(`replay ended ${replay.status}: ${JSON.stringify(replay)}`);
    if (replay.status === 'completed' && replay.deliveries.delivered === expected) return replay;
    const now = Date.now();
    const mark = `${replay.status}/${replay.scanned}/${replay.deliveries.delivered ?? 0}`;
    if (mark !== progress) {
      progress = mark;
      progressAt = now;
    }
    if (now - progressAt > stallMs || now - startedAt > capMs) {
      const { status, scanned, total, deliveries } = replay;
      const why = now - progressAt > stallMs ? `no progress for ${stallMs} ms` : `not done in ${capMs} ms`;
      throw new Error(
        `replay ${id} did not deliver ${expected} events (${why}): ${JSON.stringify({ status, scanned, total, deliveries })}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Event ids of `ids` whose receipts at `sink` are not exactly one 2xx carrying `replay`. */
function notExactlyOnce(sink: TallySink, ids: string[], replay: string): string[] {
  return ids.filter((id) => {
    const receipts = sink.tally.get(id) ?? [];
    return receipts.length !== 1 || receipts[0]!.replay !== replay;
  });
}

describe('replay of archived events', () => {
  it('delivers each of 100,000 archived events exactly once to a new subscription', async () => {
    const total = 100_000;
    const hub = await startHub();
    cleanup.push(() => hub.stop());
    const sink = await startTallySink();
    cleanup.push(() => sink.close());

    const from = new Date(Date.now() - 1_000).toISOString();
    const published = events('big', 'test.replay.big', total);
    const t0 = Date.now();
    await publishAll(hub, published, 1_000, 4);
    console.info(`published ${total} events in ${Date.now() - t0} ms`);

    const { id: sub } = await hub.subscribe({ sink: sink.url, types: ['test.replay.big'] });
    const started = await startReplay(hub, { subscription: sub, from });
    expect(started).toMatchObject({ subscriptionId: sub, total, status: 'running' });
    const t1 = Date.now();
    const done = await replayDone(hub, started.id, total);
    const replayMs = Date.now() - t1;
    // Long enough for a stray repeat to show.
    await new Promise((r) => setTimeout(r, 500));

    expect(done).toMatchObject({ status: 'completed', scanned: total, matched: total, total, error: null });
    expect(done.deliveries).toEqual({ delivered: total });
    expect(sink.unnamed()).toBe(0);
    expect(sink.requests()).toBe(total);
    expect(sink.tally.size).toBe(total);
    const ids = published.map((e) => e.id);
    const wrong = notExactlyOnce(sink, ids, started.id);
    expect(
      wrong.slice(0, 10),
      `${wrong.length} events not delivered exactly once with the replay id`,
    ).toEqual([]);
    console.info(`replayed ${total} events in ${replayMs} ms`);
  }, 300_000);

  it('keeps webhook-ids across replays of the same range by default, and gives new ones on request', async () => {
    const n = 300;
    const hub = await startHub();
    cleanup.push(() => hub.stop());
    const before = await startTallySink();
    const after = await startTallySink();
    cleanup.push(
      () => before.close(),
      () => after.close(),
    );

    // One subscription saw the events when they were published; the other is created afterwards.
    const { id: original } = await hub.subscribe({ sink: before.url, types: ['test.replay.ids'] });
    const from = new Date(Date.now() - 1_000).toISOString();
    const published = events('ids', 'test.replay.ids', n);
    await publishAll(hub, published, 100, 1);
    const ids = published.map((e) => e.id);
    await waitFor(() => ids.every((id) => before.tally.has(id)), 20_000, 'the original deliveries');
    const to = new Date(Date.now() + 1_000).toISOString();
    const { id: fresh } = await hub.subscribe({ sink: after.url, types: ['test.replay.ids'] });

    const webhookIds = (sink: TallySink, replay: string) =>
      ids.map((id) => (sink.tally.get(id) ?? []).find((r) => r.replay === replay)?.webhookId);

    const first = await startReplay(hub, { subscription: fresh, from, to });
    await replayDone(hub, first.id, n);
    const second = await startReplay(hub, { subscription: fresh, from, to });
    await replayDone(hub, second.id, n);
    const renewed = await startReplay(hub, { subscription: fresh, from, to, newWebhookIds: true });
    await replayDone(hub, renewed.id, n);

    const w1 = webhookIds(after, first.id);
    const w2 = webhookIds(after, second.id);
    const w3 = webhookIds(after, renewed.id);
    expect(w1.every((w) => typeof w === 'string' && w !== '')).toBe(true);
    expect(new Set(w1).size).toBe(n);
    // The same event gets the same idempotency key from every replay that keeps webhook-ids…
    expect(w2).toEqual(w1);
    // …and a fresh one, unlike any before, from a replay that asks for new ones.
    expect(w3.every((w) => typeof w === 'string' && w !== '')).toBe(true);
    expect(new Set(w3).size).toBe(n);
    expect(w3.filter((w) => w1.includes(w))).toEqual([]);
    // Each replay sent each event exactly once, marked as a replay by its own id.
    for (const r of [first, second, renewed]) {
      expect(
        ids.filter((id) => (after.tally.get(id) ?? []).filter((x) => x.replay === r.id).length !== 1),
      ).toEqual([]);
    }

    // A replay to the subscription that had the events keeps its original webhook-ids.
    const originals = ids.map((id) => before.tally.get(id)?.[0]?.webhookId);
    expect(originals.every((w) => typeof w === 'string' && w !== '')).toBe(true);
    const again = await startReplay(hub, { subscription: original, from, to });
    await replayDone(hub, again.id, n);
    expect(webhookIds(before, again.id)).toEqual(originals);
    expect(ids.filter((id) => before.tally.get(id)?.[0]?.replay !== '')).toEqual([]);
  }, 120_000);

  it('resumes a replay after kill -9 and delivers every event, repeats only under the same webhook-id', async () => {
    const total = 20_000;
    const dataDir = tempDataDir();
    let hub = await startHub({ dataDir });
    cleanup.push(() => hub.kill());
    const sink = await startTallySink();
    cleanup.push(() => sink.close());

    const from = new Date(Date.now() - 1_000).toISOString();
    const published = events('crash', 'test.replay.crash', total);
    await publishAll(hub, published, 1_000, 4);
    const { id: sub } = await hub.subscribe({ sink: sink.url, types: ['test.replay.crash'] });
    const started = await startReplay(hub, { subscription: sub, from });

    // Kill once the job has committed a page and the sink has had some of it, or once the job is
    // done: polled without a pause, so the kill lands with the job part-way through its range (each
    // page takes a commit) or, at the least, with its deliveries part-way out.
    let seen = started;
    const deadline = Date.now() + 20_000;
    const going = () => seen.scanned >= 1_000 && (sink.requests() >= 100 || seen.status !== 'running');
    while (!going() && Date.now() < deadline) seen = await getReplay(hub, started.id);
    expect(seen.scanned).toBeGreaterThanOrEqual(1_000);
    await hub.kill();
    const deliveredBeforeKill = sink.tally.size;
    expect(deliveredBeforeKill).toBeLessThan(total);

    hub = await startHub({ dataDir });
    const done = await replayDone(hub, started.id, total);
    await new Promise((r) => setTimeout(r, 500));

    expect(done).toMatchObject({ status: 'completed', scanned: total, matched: total, total });
    expect(done.deliveries).toEqual({ delivered: total });
    const ids = published.map((e) => e.id);
    const missing = ids.filter((id) => !sink.tally.has(id));
    expect(missing.slice(0, 10), `${missing.length} events never delivered`).toEqual([]);
    // A repeat is allowed only for what was in flight at the kill, and only under the same webhook-id.
    const mixed = ids.filter((id) => new Set(sink.tally.get(id)!.map((r) => r.webhookId)).size !== 1);
    expect(mixed.slice(0, 10), `${mixed.length} events repeated under a different webhook-id`).toEqual([]);
    const unmarked = ids.filter((id) => sink.tally.get(id)!.some((r) => r.replay !== started.id));
    expect(unmarked.slice(0, 10)).toEqual([]);
    const repeats = ids.filter((id) => sink.tally.get(id)!.length > 1).length;
    // Only what the hub had in flight can repeat: a few hundred at most, never the whole range.
    expect(repeats).toBeLessThan(1_000);
    console.info(
      `killed at scanned ${seen.scanned}/${total} (${seen.status}), ${deliveredBeforeKill} delivered before; ${repeats} repeats`,
    );
  }, 300_000);
});
