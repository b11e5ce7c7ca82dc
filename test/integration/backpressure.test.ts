/**
 * Backpressure at ingest against the real hub: with a tiny `maxPendingWrites`, a flood of concurrent
 * batches gets some 503 answers with `Retry-After` and an `overloaded` problem, never a 500; every
 * event acknowledged with 202 is stored, every refused one is not, and a publisher that honours
 * Retry-After gets everything in and delivered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_TYPE } from '../helpers/publish.js';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { startTallySink, type TallySink } from '../helpers/tally-sink.js';

const SOURCE = '/backpressure';
const MAX_PENDING_WRITES = 50;
const BATCH = 20;

let hub: HubProcess;
let sink: TallySink;

beforeAll(async () => {
  sink = await startTallySink();
  hub = await startHub({ env: { JUNCTION_MAX_PENDING_WRITES: String(MAX_PENDING_WRITES) } });
});

afterAll(async () => {
  await hub?.stop();
  await sink?.close();
});

interface Answer {
  status: number;
  retryAfter: string | null;
  contentType: string | null;
  body: string;
}

/** Posts one batch of events with these ids; network errors are answers too (status 0). */
async function post(type: string, ids: string[]): Promise<Answer> {
  try {
    const res = await hub.fetch('/v1/events', {
      method: 'POST',
      headers: { 'content-type': BATCH_TYPE },
      body: JSON.stringify(ids.map((id) => ({ specversion: '1.0', id, source: SOURCE, type, data: { id } }))),
    });
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      contentType: res.headers.get('content-type'),
      body: await res.text(),
    };
  } catch (error) {
    return { status: 0, retryAfter: null, contentType: null, body: String(error) };
  }
}

/** Ids split into batches, for `workers` concurrent publishers. */
function batches(prefix: string, workers: number, perWorker: number): string[][][] {
  return Array.from({ length: workers }, (_, w) =>
    Array.from({ length: perWorker }, (_, b) =>
      Array.from({ length: BATCH }, (_, i) => `${prefix}-w${w}-b${b}-${i}`),
    ),
  );
}

/** Looks up each id, a few at a time; returns the HTTP status per id. */
async function lookupAll(ids: string[]): Promise<Map<string, number>> {
  const statuses = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      const res = await hub.fetch(`/v1/events/lookup?source=${SOURCE}&id=${id}`);
      await res.body?.cancel();
      statuses.set(id, res.status);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return statuses;
}

describe('ingest under a write backlog', () => {
  it('refuses with 503, Retry-After and an overloaded problem, never 500, and keeps all it acknowledged', async () => {
    const plan = batches('flood', 32, 12);
    const acked: string[] = [];
    const refused: string[] = [];
    const answers: Answer[] = [];
    await Promise.all(
      plan.map(async (worker) => {
        for (const ids of worker) {
          const answer = await post('test.backpressure.flood', ids);
          answers.push(answer);
          if (answer.status === 202) acked.push(...ids);
          else if (answer.status === 503) refused.push(...ids);
        }
      }),
    );

    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    const summary = JSON.stringify(Object.fromEntries(byStatus));
    console.info(`answers by status: ${summary}`);
    // Only 202 and 503: no 500, no dropped connection, nothing else.
    expect(
      [...byStatus.keys()].filter((s) => s !== 202 && s !== 503),
      summary,
    ).toEqual([]);
    expect(byStatus.get(503) ?? 0, summary).toBeGreaterThan(0);
    expect(byStatus.get(202) ?? 0, summary).toBeGreaterThan(0);

    for (const a of answers.filter((x) => x.status === 503)) {
      expect(a.retryAfter).toMatch(/^[1-9]\d*$/);
      expect(a.contentType).toMatch(/^application\/problem\+json/);
      const problem = JSON.parse(a.body) as { type: string; status: number; detail: string };
      expect(problem.type).toMatch(/\/overloaded$/);
      expect(problem.status).toBe(503);
      expect(problem.detail).toMatch(/maxPendingWrites/);
    }
    for (const a of answers.filter((x) => x.status === 202)) {
      const body = JSON.parse(a.body) as { events: { status: string }[] };
      expect(body.events.every((e) => e.status === 'accepted')).toBe(true);
    }

    // Every acknowledged event is stored; a refused batch left nothing behind.
    const stored = await lookupAll(acked);
    const lost = acked.filter((id) => stored.get(id) !== 200);
    expect(lost.slice(0, 10), `${lost.length} of ${acked.length} acknowledged events not found`).toEqual([]);
    const leftovers = await lookupAll(refused);
    const kept = refused.filter((id) => leftovers.get(id) !== 404);
    expect(kept.slice(0, 10), `${kept.length} of ${refused.length} refused events stored anyway`).toEqual([]);
  });

  it('lets a publisher that honours Retry-After get every event in, each delivered once', async () => {
    const type = 'test.backpressure.polite';
    await hub.subscribe({ sink: sink.url, types: [type] });
    const plan = batches('polite', 16, 4);
    let refusals = 0;
    await Promise.all(
      plan.map(async (worker) => {
        for (const ids of worker) {
          for (let tries = 1; ; tries++) {
            const answer = await post(type, ids);
            if (answer.status === 202) break;
            expect(answer.status, answer.body).toBe(503);
            expect(tries, 'attempts at one batch').toBeLessThan(30);
            refusals++;
            await new Promise((r) => setTimeout(r, Number(answer.retryAfter) * 1000));
          }
        }
      }),
    );
    expect(refusals).toBeGreaterThan(0);
    console.info(`${refusals} refusals before every batch got in`);

    const ids = plan.flat(2);
    await waitFor(() => ids.every((id) => sink.tally.has(id)), 30_000, 'every event delivered');
    await new Promise((r) => setTimeout(r, 300));
    const repeated = ids.filter((id) => sink.tally.get(id)!.length !== 1);
    expect(repeated.slice(0, 10), `${repeated.length} events delivered more than once`).toEqual([]);
  });
});
