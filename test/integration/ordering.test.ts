/**
 * Ordering by partition key against the real hub and a real sink. A property test (fast-check)
 * draws the keys, the publish interleaving, how the events are grouped into requests, and how the
 * sink fails (500 or a dropped connection, from a seed); under retries, each key must reach the sink
 * one request at a time and in publish order. Then `onDead`: `skip` lets a key go on past a dead
 * letter, `block` holds it until the dead letter is redriven or discarded.
 *
 * Set ORDERING_SEED to replay a run (it is in every failure message) and ORDERING_RUNS to run more.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeyedAnswer, type KeyedSink, startKeyedSink } from '../helpers/keyed-sink.js';
import { publishBatch } from '../helpers/publish.js';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';

// CI replays a fixed seed so that main stays green for a known reason; a local run explores a new one.
const SEED = Number(process.env.ORDERING_SEED ?? (process.env.CI ? 20261126 : Date.now() % 2 ** 31));
const RUNS = Math.max(10, Number(process.env.ORDERING_RUNS ?? 0));
const SOURCE = '/ordering';

let hub: HubProcess;

beforeAll(async () => {
  // The breaker is kept from opening: a spell of random failures may well pass its ratio, and the
  // pause that follows would only stretch the run. Ordering does not depend on it either way.
  const dir = mkdtempSync(join(tmpdir(), 'junction-ordering-'));
  const config = join(dir, 'junction.json');
  writeFileSync(config, JSON.stringify({ breaker: { minRequests: 1_000_000 } }));
  hub = await startHub({ args: ['--config', config] });
});

afterAll(async () => {
  await hub?.stop();
});

/** One event as the test publishes it: `key` null for an event without a partition key. */
interface Planned {
  id: string;
  key: string | null;
  /** Its place among the events of its key, from 0. */
  n: number;
}

/** Publishes one event in binary mode, with its partition key in `ce-partitionkey`. */
async function publishBinary(type: string, e: Planned): Promise<void> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-id': e.id,
    'ce-source': SOURCE,
    'ce-type': type,
  };
  if (e.key !== null) headers['ce-partitionkey'] = e.key;
  const res = await hub.fetch('/v1/events', {
    method: 'POST',
    headers,
    body: JSON.stringify({ key: e.key, n: e.n }),
  });
  if (res.status !== 202) throw new Error(`binary publish answered ${res.status}: ${await res.text()}`);
}

/** The event in structured form, with `partitionkey` as an attribute. */
const structured = (type: string, e: Planned) => ({
  id: e.id,
  source: SOURCE,
  type,
  ...(e.key === null ? {} : { partitionkey: e.key }),
  data: { key: e.key, n: e.n },
});

/** Publishes `events` in order: each group waits for the previous one's 202, so seq follows the plan. */
async function publishInOrder(type: string, events: Planned[], groups: number[]): Promise<void> {
  let at = 0;
  for (let g = 0; at < events.length; g++) {
    const size = groups[g % groups.length]!;
    const group = events.slice(at, at + size);
    at += size;
    if (group.length === 1) await publishBinary(type, group[0]!);
    else
      await publishBatch(
        hub,
        group.map((e) => structured(type, e)),
      );
  }
}

async function stats(sub: string): Promise<Record<string, number>> {
  const res = await hub.fetch(`/v1/subscriptions/${sub}/stats`);
  if (res.status !== 200) throw new Error(`stats answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { deliveries: Record<string, number> }).deliveries;
}

async function lookup(id: string) {
  const res = await hub.fetch(`/v1/events/lookup?source=${SOURCE}&id=${id}`);
  if (res.status !== 200) throw new Error(`lookup of ${id} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { deliveries: { id: string; status: string }[] };
}

/**
 * What the sink saw of each key, checked against the publish order: a key's requests must name its
 * events in order, moving to the next only after a 2xx for the current one. Returns one line per
 * breach.
 */
function orderBreaches(sink: KeyedSink, planned: Planned[]): string[] {
  const breaches: string[] = [];
  const expected = new Map<string, string[]>();
  for (const e of planned) if (e.key !== null) expected.set(e.key, [...(expected.get(e.key) ?? []), e.id]);
  for (const [key, ids] of expected) {
    let next = 0;
    for (const r of sink.byKey.get(key) ?? []) {
      if (r.eventId !== ids[next]) {
        breaches.push(`key ${key}: got ${r.eventId} while ${ids[next] ?? 'nothing more'} was due`);
        break;
      }
      if (r.answer === 200) next++;
    }
  }
  return breaches;
}

describe(`ordering by partition key (seed ${SEED}, ${RUNS} runs)`, () => {
  it('delivers each key one at a time in publish order under random failures and retries', async () => {
    let run = 0;
    const failures = { status500: 0, reset: 0 };
    const scenario = fc.record({
      keys: fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9._:-]{1,24}$/), { minLength: 1, maxLength: 12 }),
      // Indexes into `keys`, taken modulo its length; a negative one is an event without a key.
      order: fc.array(fc.integer({ min: -1, max: 11 }), { minLength: 200, maxLength: 400 }),
      // Sizes of the publish requests, used in turn; a size of 1 goes out in binary mode.
      groups: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
      sinkSeed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      failPercent: fc.integer({ min: 5, max: 35 }),
      resetPercent: fc.integer({ min: 0, max: 100 }),
      maxDelayMs: fc.integer({ min: 0, max: 5 }),
    });

    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        run++;
        const type = `test.ordering.run${run}`;
        const counts = new Map<string | null, number>();
        const planned: Planned[] = s.order.map((k, i) => {
          const key = k < 0 ? null : s.keys[k % s.keys.length]!;
          const n = counts.get(key) ?? 0;
          counts.set(key, n + 1);
          return { id: `r${run}-${i}`, key, n };
        });
        const sink = await startKeyedSink({
          seed: s.sinkSeed,
          failShare: s.failPercent / 100,
          resetShare: s.resetPercent / 100,
          maxDelayMs: s.maxDelayMs,
        });
        const { id: sub } = await hub.subscribe({
          sink: sink.url,
          types: [type],
          delivery: {
            ordering: 'partition',
            initialDelayMs: 5,
            maxDelayMs: 50,
            // At a failure share of 35% the chance that one event fails 100 times running is nil.
            maxAttempts: 100,
            timeoutMs: 10_000,
          },
        });
        const context = `run ${run}, seed ${SEED}, scenario ${JSON.stringify({ ...s, order: `${s.order.length} events` })}`;
        try {
          await publishInOrder(type, planned, s.groups);
          await waitFor(
            () => planned.every((e) => sink.delivered.has(e.id)),
            45_000,
            `every event answered 2xx (${sink.delivered.size}/${planned.length}; ${context})`,
          );
          await waitFor(
            async () => (await stats(sub)).delivered === planned.length,
            10_000,
            `the hub to record every delivery (${context})`,
          );

          expect(sink.overlaps, `requests of one key in flight at once (${context})`).toEqual([]);
          expect(orderBreaches(sink, planned), `order per key (${context})`).toEqual([]);
          // The first 2xx of each key's events, in arrival order, is the publish order.
          for (const [key, requests] of sink.byKey) {
            const firsts: number[] = [];
            const seen = new Set<string>();
            for (const r of requests) {
              if (r.answer !== 200 || seen.has(r.eventId)) continue;
              seen.add(r.eventId);
              firsts.push(Number(r.eventId.split('-')[1]));
            }
            const sorted = [...firsts].sort((a, b) => a - b);
            expect(firsts, `first 2xx of key ${key} (${context})`).toEqual(sorted);
            expect(new Set(firsts).size, `key ${key} (${context})`).toBe(firsts.length);
          }
          // Every event delivered, and once: no answer was lost, so nothing had cause to repeat.
          const twice = planned.filter((e) => sink.delivered.get(e.id) !== 1).map((e) => e.id);
          expect(twice, `events not answered 2xx exactly once (${context})`).toEqual([]);
          expect(await stats(sub), context).toEqual({ delivered: planned.length });
          // The key reached the sink as sent.
          const wrongKey = sink.requests.filter((r) => {
            const e = planned[Number(r.eventId.split('-')[1])];
            return e === undefined || r.key !== e.key;
          });
          expect(wrongKey, `requests whose ce-partitionkey is not the event's (${context})`).toEqual([]);
          for (const r of sink.requests) {
            if (r.answer === 500) failures.status500++;
            if (r.answer === 'reset') failures.reset++;
          }
        } finally {
          await hub.fetch(`/v1/subscriptions/${sub}`, { method: 'DELETE' });
          await sink.close();
        }
      }),
      // Each run costs seconds of real delivery; a failure is reported at once with its seed rather
      // than shrunk over dozens more runs. Shrink locally with ORDERING_SEED and a larger timeout.
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );

    // The runs did fail and retry, in both ways, so ordering was tested under the faults it is for.
    expect(failures.status500).toBeGreaterThan(0);
    expect(failures.reset).toBeGreaterThan(0);
  }, 240_000);
});

describe('a dead letter in an ordered subscription', () => {
  /** A1 B1 A2 B2 A3 B3 A4: key A and key B interleaved; A2 is the event that will die. */
  const plan = (prefix: string): Planned[] => {
    const out: Planned[] = [];
    for (let n = 0; n < 4; n++) {
      out.push({ id: `${prefix}-A${n + 1}`, key: `${prefix}-A`, n });
      if (n < 3) out.push({ id: `${prefix}-B${n + 1}`, key: `${prefix}-B`, n });
    }
    return out;
  };

  async function setUp(prefix: string, onDead: 'skip' | 'block') {
    const sink = await startKeyedSink();
    let failing = true;
    sink.rule(({ eventId }) => (failing && eventId === `${prefix}-A2` ? 500 : undefined));
    const type = `test.ordering.${prefix}`;
    const { id: sub } = await hub.subscribe({
      sink: sink.url,
      types: [type],
      delivery: { ordering: 'partition', onDead, maxAttempts: 1, initialDelayMs: 5, maxDelayMs: 50 },
    });
    await publishBatch(
      hub,
      plan(prefix).map((e) => structured(type, e)),
    );
    const ids = (key: string) => (sink.byKey.get(`${prefix}-${key}`) ?? []).map((r) => r.eventId);
    const answers = (key: string) => (sink.byKey.get(`${prefix}-${key}`) ?? []).map((r) => r.answer);
    const heal = () => {
      failing = false;
    };
    return { sink, sub, type, ids, answers, heal };
  }

  it("'skip' lets the rest of the key go on past the dead letter", async () => {
    const { sink, ids, answers } = await setUp('skip', 'skip');
    try {
      await waitFor(() => ids('A').length === 4 && ids('B').length === 3, 10_000, 'keys A and B to finish');
      expect(ids('A')).toEqual(['skip-A1', 'skip-A2', 'skip-A3', 'skip-A4']);
      expect(answers('A')).toEqual<KeyedAnswer[]>([200, 500, 200, 200]);
      expect(ids('B')).toEqual(['skip-B1', 'skip-B2', 'skip-B3']);
      expect((await lookup('skip-A2')).deliveries[0]?.status).toBe('dead');
      expect(sink.overlaps).toEqual([]);
    } finally {
      await sink.close();
    }
  });

  /** Runs `block` up to the point where key A is held behind its dead letter; returns its delivery id. */
  async function heldBehindDeadLetter(prefix: string) {
    const ctx = await setUp(prefix, 'block');
    const { sink, sub, type, ids } = ctx;
    await waitFor(() => ids('B').length === 3, 10_000, 'key B to finish');
    await waitFor(
      async () => (await lookup(`${prefix}-A2`)).deliveries[0]?.status === 'dead',
      10_000,
      `${prefix}-A2 to be dead`,
    );
    // Events published after the dead letter: B goes on, A joins the wait.
    await publishBatch(hub, [
      structured(type, { id: `${prefix}-A5`, key: `${prefix}-A`, n: 4 }),
      structured(type, { id: `${prefix}-B4`, key: `${prefix}-B`, n: 3 }),
    ]);
    await waitFor(() => ids('B').length === 4, 10_000, 'B4');
    // Several poll intervals (100 ms) with nothing due for A: a leak would show by now.
    await new Promise((r) => setTimeout(r, 600));
    expect(ids('A')).toEqual([`${prefix}-A1`, `${prefix}-A2`]);
    expect(ids('B')).toEqual([`${prefix}-B1`, `${prefix}-B2`, `${prefix}-B3`, `${prefix}-B4`]);
    const letters = (await (await hub.fetch(`/v1/dead-letters?subscription=${sub}`)).json()) as {
      items: { id: string; event: { id: string } }[];
    };
    expect(letters.items.map((l) => l.event.id)).toEqual([`${prefix}-A2`]);
    expect(sink.overlaps).toEqual([]);
    return { ...ctx, deadId: letters.items[0]!.id };
  }

  it("'block' holds the key until the dead letter is redriven, then sends it and the rest in order", async () => {
    const { sink, ids, answers, heal, deadId } = await heldBehindDeadLetter('redrive');
    try {
      heal();
      const res = await hub.fetch('/v1/dead-letters/redrive', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ids: [deadId] }),
      });
      expect(await res.json()).toEqual({ redriven: 1, skipped: [] });
      await waitFor(() => ids('A').length === 6, 10_000, 'key A to finish after the redrive');
      expect(ids('A')).toEqual([
        'redrive-A1',
        'redrive-A2',
        'redrive-A2',
        'redrive-A3',
        'redrive-A4',
        'redrive-A5',
      ]);
      expect(answers('A')).toEqual<KeyedAnswer[]>([200, 500, 200, 200, 200, 200]);
      expect((await lookup('redrive-A2')).deliveries[0]?.status).toBe('delivered');
      expect(sink.overlaps).toEqual([]);
    } finally {
      await sink.close();
    }
  });

  it("'block' holds the key until the dead letter is discarded, then sends the rest in order", async () => {
    const { sink, ids, answers, deadId } = await heldBehindDeadLetter('discard');
    try {
      const res = await hub.fetch('/v1/dead-letters/discard', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ids: [deadId] }),
      });
      expect(await res.json()).toEqual({ discarded: 1, skipped: [] });
      await waitFor(() => ids('A').length === 5, 10_000, 'key A to finish after the discard');
      await new Promise((r) => setTimeout(r, 300));
      expect(ids('A')).toEqual(['discard-A1', 'discard-A2', 'discard-A3', 'discard-A4', 'discard-A5']);
      expect(answers('A')).toEqual<KeyedAnswer[]>([200, 500, 200, 200, 200]);
      expect((await lookup('discard-A2')).deliveries[0]?.status).toBe('discarded');
      expect(sink.overlaps).toEqual([]);
    } finally {
      await sink.close();
    }
  });
});
