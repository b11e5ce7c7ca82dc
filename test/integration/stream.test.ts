/**
 * GET /v1/events/stream against the real hub process: filters, resuming with Last-Event-ID,
 * no gap and no repeat across the replay/live boundary while events pour in, a slow consumer
 * closed with `overflow` and caught up from the store, auth, bad input, the stream cap, cursors
 * the log cannot place, clients that leave before their stream starts, and a shutdown that does
 * not wait on open streams.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/storage/postgres/index.js';
import { canConnect, NATS_URL, uniquePrefix } from '../helpers/nats.js';
import {
  dropSchemas,
  POSTGRES_URL,
  postgresReachable,
  testClient,
  uniqueSchema,
} from '../helpers/postgres.js';
import { publishBatch } from '../helpers/publish.js';
import { type HubProcess, startHub, TEST_KEY } from '../helpers/server.js';
import { openStream, type SseConnection } from '../helpers/sse-client.js';

let hub: HubProcess;
const auth = { authorization: `Bearer ${TEST_KEY}` };
let counter = 0;

function stream(path: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  return openStream(hub.url, path, { ...auth, ...headers });
}

/** Events with fresh ids, to publish in one batch. */
function events(n: number, fields: Record<string, unknown> = {}): Record<string, unknown>[] {
  return Array.from({ length: n }, () => ({
    id: `e${++counter}`,
    source: '/test',
    type: 'com.acme.stream',
    data: { n: counter },
    ...fields,
  }));
}

function ids(conn: SseConnection): string[] {
  return conn.messages
    .filter((m) => m.event === 'cloudevent')
    .map((m) => (JSON.parse(m.data) as { id: string }).id);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const required = process.env.CI === 'true';
const pgReachable = await postgresReachable();
if (!pgReachable && !required) {
  console.warn(
    `PostgreSQL stream test skipped: PostgreSQL (${POSTGRES_URL}) does not answer; under CI=true this fails`,
  );
}
const nats = new URL(NATS_URL);
const distributed =
  (await postgresReachable()) && (await canConnect(nats.hostname, Number(nats.port || 4222)));
if (!distributed && !required) {
  console.warn(
    `distributed stream test skipped: PostgreSQL (${POSTGRES_URL}) or NATS (${NATS_URL}) does not answer; under CI=true this fails`,
  );
}

beforeAll(async () => {
  hub = await startHub();
});

afterAll(async () => {
  await hub?.stop();
});

describe('GET /v1/events/stream', () => {
  it('streams each durable event as an SSE message with its sequence number as id', async () => {
    const conn = await stream('/v1/events/stream');
    expect(conn.status).toBe(200);
    expect(conn.headers['content-type']).toMatch(/^text\/event-stream/);
    const batch = events(3, { subject: 'orders/1' });
    await publishBatch(hub, batch);
    await conn.waitForEvents(3);
    const messages = conn.messages.filter((m) => m.event === 'cloudevent');
    expect(messages.map((m) => JSON.parse(m.data))).toEqual(
      batch.map((e) => expect.objectContaining({ ...e, specversion: '1.0' })),
    );
    // Each id is the event's sequence number, as GET /v1/events/lookup shows it.
    const lookup = await hub.fetch(`/v1/events/lookup?source=/test&id=${batch[1]!.id}`);
    expect(String(((await lookup.json()) as { seq: number }).seq)).toBe(messages[1]!.id);
    conn.drop();
  });

  it('filters by type (repeated and comma list), source, subject prefix and CESQL', async () => {
    const streams = {
      all: await stream('/v1/events/stream'),
      types: await stream('/v1/events/stream?type=t.a,t.b&type=t.c'),
      source: await stream('/v1/events/stream?source=%2Fother'),
      subject: await stream('/v1/events/stream?subject=orders%2Feu%2F'),
      sql: await stream(`/v1/events/stream?sql=${encodeURIComponent("type = 't.b' AND region = 'eu'")}`),
      combined: await stream('/v1/events/stream?type=t.a&subject=orders%2F'),
    };
    const batch = [
      { id: 'f1', source: '/test', type: 't.a', subject: 'orders/eu/1' },
      { id: 'f2', source: '/other', type: 't.b', subject: 'orders/us/2', region: 'eu' },
      { id: 'f3', source: '/test', type: 't.c', subject: 'carts/eu/3', region: 'us' },
      { id: 'f4', source: '/other', type: 't.d', subject: 'orders/eu/4', region: 'eu' },
      { id: 'f5', source: '/test', type: 't.b', region: 'eu' },
      { id: 'f6', source: '/test', type: 't.a', subject: 'carts/1' },
    ];
    await publishBatch(hub, batch);
    const expected = {
      all: ['f1', 'f2', 'f3', 'f4', 'f5', 'f6'],
      types: ['f1', 'f2', 'f3', 'f5', 'f6'],
      source: ['f2', 'f4'],
      subject: ['f1', 'f4'],
      sql: ['f2', 'f5'],
      combined: ['f1'],
    };
    for (const [name, conn] of Object.entries(streams)) {
      await conn.waitForEvents(expected[name as keyof typeof expected].length);
    }
    // A moment more for any event a filter wrongly let through.
    await sleep(300);
    for (const [name, conn] of Object.entries(streams)) {
      expect(ids(conn), name).toEqual(expected[name as keyof typeof expected]);
      conn.drop();
    }
  });

  it('resumes after Last-Event-ID (or ?after=) with exactly the events missed, then goes on live', async () => {
    const first = await stream('/v1/events/stream?type=com.acme.resume');
    const before = events(5, { type: 'com.acme.resume' });
    await publishBatch(hub, before);
    await first.waitForEvents(5);
    const last = first.messages.at(-1)!.id;
    first.drop();
    const missed = events(4, { type: 'com.acme.resume' });
    await publishBatch(hub, missed);
    // Events of other types in between: the cursor skips them without showing them.
    await publishBatch(hub, events(3));
    const resumed = await stream('/v1/events/stream?type=com.acme.resume', { 'last-event-id': last });
    await resumed.waitForEvents(4);
    const live = events(2, { type: 'com.acme.resume' });
    await publishBatch(hub, live);
    await resumed.waitForEvents(6);
    await sleep(200);
    expect(ids(resumed)).toEqual([...missed, ...live].map((e) => e.id));
    resumed.drop();

    const viaQuery = await stream(`/v1/events/stream?type=com.acme.resume&after=${last}`);
    await viaQuery.waitForEvents(6);
    expect(ids(viaQuery)).toEqual([...missed, ...live].map((e) => e.id));
    viaQuery.drop();
  });

  it('has no gap and no repeat between replay and live while events are being published', async () => {
    const type = 'com.acme.boundary';
    const batches = Array.from({ length: 40 }, () => events(50, { type }));
    let published = 0;
    const publishing = (async () => {
      // Four publishers at once, so appends interleave as they do under load.
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < batches.length) {
            const batch = batches[next++]!;
            await publishBatch(hub, batch);
            published += batch.length;
          }
        }),
      );
    })();
    while (published < 400) await sleep(5);
    // From the start of the log: part replay, part live.
    const replaying = await stream(`/v1/events/stream?type=${type}&after=0`);
    while (published < 1_000) await sleep(5);
    // From now: a suffix of the log, whatever was in flight when it opened.
    const fromNow = await stream(`/v1/events/stream?type=${type}`);
    await publishing;
    await replaying.waitForEvents(2_000, 30_000);
    await sleep(300);
    const seqs = replaying.seqs();
    expect(seqs).toHaveLength(2_000);
    expect(new Set(ids(replaying))).toEqual(new Set(batches.flat().map((e) => e.id)));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
    // The later stream shows exactly what the first showed from its first event on.
    const suffix = fromNow.seqs();
    expect(suffix.length).toBeGreaterThan(0);
    expect(suffix.length).toBeLessThan(2_000);
    expect(suffix).toEqual(seqs.slice(seqs.indexOf(suffix[0]!)));
    replaying.drop();
    fromNow.drop();
  });

  it('closes a client that stops reading with an overflow message; resuming from it loses nothing', async () => {
    const type = 'com.acme.overflow';
    const slow = await stream(`/v1/events/stream?type=${type}`);
    slow.pause();
    // 24 MiB: far more than the hub's 1 MiB stream buffer and what the sockets of both ends hold
    // for a client that does not read (about 4 MiB, measured here).
    const padding = 'x'.repeat(8 * 1024);
    const all: Record<string, unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      const batch = events(100, { type, data: { padding } });
      all.push(...batch);
      await publishBatch(hub, batch);
    }
    // The hub gives a full buffer 5 s to drain before it gives up on the client.
    await sleep(6_500);
    slow.resume();
    await slow.done;
    const lastMessage = slow.messages.at(-1)!;
    expect(lastMessage.event).toBe('overflow');
    const shown = ids(slow);
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThan(all.length);
    const { lastEventId } = JSON.parse(lastMessage.data) as { lastEventId: string };
    expect(lastEventId).toBe(String(slow.seqs().at(-1)));

    const caughtUp = await stream(`/v1/events/stream?type=${type}`, { 'last-event-id': lastEventId });
    await caughtUp.waitForEvents(all.length - shown.length, 30_000);
    await sleep(200);
    expect([...shown, ...ids(caughtUp)]).toEqual(all.map((e) => e.id));
    caughtUp.drop();
  }, 60_000);

  it('refuses requests without a valid API key', async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer wrong' }];
    for (const headers of attempts) {
      const conn = await openStream(hub.url, '/v1/events/stream', headers);
      expect(conn.status).toBe(401);
      expect(conn.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('answers bad filters and cursors with problem+json naming the parameter', async () => {
    const cases: [string, Record<string, string>, string][] = [
      [`/v1/events/stream?sql=${encodeURIComponent("subject LIKE 'orders/%' AND")}`, {}, '/sql'],
      [`/v1/events/stream?sql=${encodeURIComponent('nosuchfn(type)')}`, {}, '/sql'],
      ['/v1/events/stream?after=abc', {}, '/after'],
      ['/v1/events/stream?after=-1', {}, '/after'],
      ['/v1/events/stream', { 'last-event-id': '12x' }, '/Last-Event-ID'],
      ['/v1/events/stream?type=a,,b', {}, '/type'],
      ['/v1/events/stream?source=a&source=b', {}, '/source'],
      ['/v1/events/stream?subject=', {}, '/subject'],
    ];
    for (const [path, headers, pointer] of cases) {
      const conn = await stream(path, headers);
      await conn.done;
      expect(conn.status, path).toBe(400);
      expect(conn.headers['content-type']).toMatch(/^application\/problem\+json/);
      const problem = JSON.parse(conn.text()) as { errors: { pointer: string }[] };
      expect(
        problem.errors.map((e) => e.pointer),
        path,
      ).toContain(pointer);
    }
  });

  it('serves at most 100 streams at once and refuses one more with 503', async () => {
    // A hub of its own, so that no stream of another test counts.
    const own = await startHub();
    const stream = (path: string) => openStream(own.url, path, auth);
    const open = await Promise.all(Array.from({ length: 100 }, () => stream('/v1/events/stream')));
    expect(open.map((c) => c.status)).toEqual(Array(100).fill(200));
    const refused = await stream('/v1/events/stream');
    await refused.done;
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBeDefined();
    expect((JSON.parse(refused.text()) as { detail: string }).detail).toMatch(/100 event streams/);
    // A client that leaves frees its place.
    open[0]!.drop();
    await sleep(200);
    const admitted = await stream('/v1/events/stream');
    expect(admitted.status).toBe(200);
    for (const c of [...open.slice(1), admitted]) c.drop();
    await own.stop();
  });
});

describe('cursors the log cannot place, and clients that leave early', () => {
  it("starts a cursor past the log's end at its end, and it stalls no other stream", async () => {
    const own = await startHub();
    const conns: SseConnection[] = [];
    try {
      await publishBatch(own, events(3));
      // From another data directory, or made up: the hub never numbered an event this high.
      conns.push(await openStream(own.url, '/v1/events/stream', { ...auth, 'last-event-id': '999999999' }));
      conns.push(await openStream(own.url, '/v1/events/stream?after=999999999', auth));
      conns.push(await openStream(own.url, '/v1/events/stream', auth));
      // Every stream waiting at the end of the log before the event comes.
      await sleep(300);
      const fresh = events(1);
      await publishBatch(own, fresh);
      for (const conn of conns) await conn.waitForEvents(1, 3_000);
      await sleep(200);
      for (const conn of conns) expect(ids(conn)).toEqual([fresh[0]!.id]);
    } finally {
      for (const conn of conns) conn.drop();
      await own.stop();
    }
  });

  it('resumes after a swept event at the first event numbered above it, past a full page of older ones', async () => {
    const own = await startHub();
    const conns: SseConnection[] = [];
    try {
      // More older events than one page of the store (100), each filtered out by the cursor.
      const all = events(150);
      await publishBatch(own, all);
      const lookup = await own.fetch(`/v1/events/lookup?source=/test&id=${all[119]!.id}`);
      const swept = ((await lookup.json()) as { seq: number }).seq;
      // What a sweep does to one event with nothing left to deliver, done to the hub's own file.
      const db = new Database(join(own.dataDir, 'junction.db'));
      try {
        db.pragma('busy_timeout = 5000');
        expect(db.prepare('DELETE FROM events WHERE seq = ?').run(swept).changes).toBe(1);
      } finally {
        db.close();
      }
      conns.push(await openStream(own.url, `/v1/events/stream?after=${swept}`, auth));
      conns.push(await openStream(own.url, '/v1/events/stream', auth));
      const [resumed, healthy] = conns as [SseConnection, SseConnection];
      await resumed.waitForEvents(30, 3_000);
      await sleep(200);
      const fresh = events(1);
      await publishBatch(own, fresh);
      await resumed.waitForEvents(31, 3_000);
      await healthy.waitForEvents(1, 3_000);
      expect(ids(resumed)).toEqual([...all.slice(120), ...fresh].map((e) => e.id));
      expect(ids(healthy)).toEqual([fresh[0]!.id]);
    } finally {
      for (const conn of conns) conn.drop();
      await own.stop();
    }
  });
});

describe('shutdown with open streams', () => {
  it('a hub with an open stream and a dropped one stops in under a second', async () => {
    const own = await startHub();
    const open = await openStream(own.url, '/v1/events/stream', auth);
    const dropped = await openStream(own.url, '/v1/events/stream?after=0', auth);
    await publishBatch(own, events(5));
    await open.waitForEvents(5);
    await dropped.waitForEvents(5);
    dropped.drop();
    const started = performance.now();
    const code = await own.stop();
    const took = performance.now() - started;
    expect(code).toBe(0);
    expect(took).toBeLessThan(1_000);
    await open.done;
    expect(open.ended).toBe(true);
  });
});

describe.skipIf(!pgReachable && !required)('a stream on a PostgreSQL store', () => {
  it('frees the place of a client that leaves while its cursor is placed', async () => {
    const schema = uniqueSchema('streamleave');
    await migrate(POSTGRES_URL, { schema });
    const own = await startHub({ args: ['--store', POSTGRES_URL, '--schema', schema] });
    const sql = testClient();
    try {
      await publishBatch(own, events(1));
      const { port } = new URL(own.url);
      const request =
        'GET /v1/events/stream?after=1 HTTP/1.1\r\nhost: 127.0.0.1\r\n' +
        `authorization: Bearer ${TEST_KEY}\r\n\r\n`;
      // Each client sends its request and resets the connection a moment later, while the hub
      // waits on PostgreSQL to place its cursor: more of them than the hub has places.
      for (let round = 0; round < 6; round++) {
        await Promise.all(
          Array.from(
            { length: 50 },
            (_, i) =>
              new Promise<void>((resolve) => {
                const socket = connect(Number(port), '127.0.0.1');
                socket.on('error', () => {});
                socket.on('close', () => resolve());
                socket.write(request, () => setTimeout(() => socket.resetAndDestroy(), i % 5));
              }),
          ),
        );
      }
      await sleep(500);
      // Every one of the 100 places is free again.
      const open = await Promise.all(
        Array.from({ length: 100 }, () => openStream(own.url, '/v1/events/stream', auth)),
      );
      const statuses = open.map((c) => c.status);
      for (const c of open) c.drop();
      expect(statuses).toEqual(Array(100).fill(200));
    } finally {
      await own.stop();
      await dropSchemas(sql, [schema]);
      await sql.end();
    }
  }, 30_000);
});

describe.skipIf(!distributed && !required)(
  'a stream in distributed mode (PostgreSQL + NATS JetStream)',
  () => {
    it('shows the events ingested through every process, each once, and resumes across them', async () => {
      const schema = uniqueSchema('stream');
      await migrate(POSTGRES_URL, { schema });
      const args = [
        '--store',
        POSTGRES_URL,
        '--schema',
        schema,
        '--bus',
        NATS_URL,
        '--bus-prefix',
        uniquePrefix('stream'),
      ];
      const a = await startHub({ args });
      const b = await startHub({ args });
      const sql = testClient();
      try {
        const conn = await openStream(a.url, '/v1/events/stream', auth);
        const toA = Array.from({ length: 10 }, () => events(20));
        const toB = Array.from({ length: 10 }, () => events(20));
        await Promise.all([
          (async () => {
            for (const batch of toA) await publishBatch(a, batch);
          })(),
          (async () => {
            for (const batch of toB) await publishBatch(b, batch);
          })(),
        ]);
        await conn.waitForEvents(400, 30_000);
        await sleep(1_500);
        const seen = ids(conn);
        expect(seen).toHaveLength(400);
        expect(new Set(seen)).toEqual(new Set([...toA, ...toB].flat().map((e) => e.id)));
        const last = conn.messages.at(-1)!.id;
        conn.drop();

        const missed = events(30);
        await publishBatch(b, missed);
        const resumed = await openStream(a.url, '/v1/events/stream', { ...auth, 'last-event-id': last });
        await resumed.waitForEvents(30, 15_000);
        await sleep(1_500);
        // The processes record what they take from the bus in parallel: receipt order is theirs.
        expect(ids(resumed)).toHaveLength(30);
        expect(new Set(ids(resumed))).toEqual(new Set(missed.map((e) => e.id)));
        resumed.drop();
      } finally {
        await a.stop();
        await b.stop();
        await dropSchemas(sql, [schema]);
        await sql.end();
      }
    }, 60_000);
  },
);
