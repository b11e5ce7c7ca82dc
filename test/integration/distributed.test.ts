/**
 * Distributed mode end to end: real `junction serve` processes on the machine's PostgreSQL
 * (database `test`, a schema per test) and NATS JetStream (a stream prefix per test), delivering
 * to a real HTTP sink. Processes are killed with SIGKILL, NATS is restarted (a server of the
 * test's own), a node of a three-node cluster is killed, and PostgreSQL is cut off (through a proxy the test controls, since other tests
 * share the server). Every acknowledged event must be delivered, repeats only under the same
 * webhook-id. Locally, without PostgreSQL or NATS, the suite skips and says so; under CI=true it
 * fails.
 */

import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { streamName } from '../../src/storage/nats/index.js';
import { migrate } from '../../src/storage/postgres/index.js';
import { canConnect, freePort, NATS_URL, OwnNatsServer, uniquePrefix } from '../helpers/nats.js';
import { NatsCluster } from '../helpers/nats-cluster.js';
import {
  dropSchemas,
  POSTGRES_URL,
  postgresReachable,
  testClient,
  uniqueSchema,
} from '../helpers/postgres.js';
import { type HubProcess, startHub, waitFor } from '../helpers/server.js';
import { startTallySink, type TallySink } from '../helpers/tally-sink.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const required = process.env.CI === 'true';
const nats = new URL(NATS_URL);
const reachable = (await postgresReachable()) && (await canConnect(nats.hostname, Number(nats.port || 4222)));
if (!reachable && !required) {
  console.warn(
    `distributed tests skipped: PostgreSQL (${POSTGRES_URL}) or NATS (${NATS_URL}) does not answer; under CI=true this fails`,
  );
}

const TYPE = 'test.distributed';
/** Short, so that a killed process's deliveries and bus messages are taken over within the test. */
const LEASE_MS = 3_000;

describe.skipIf(!reachable && !required)('distributed mode (PostgreSQL + NATS JetStream)', () => {
  const sql = testClient();
  const schemas: string[] = [];
  const cleanup: (() => Promise<unknown>)[] = [];

  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  });
  afterAll(async () => {
    await dropSchemas(sql, schemas);
    await sql.end();
  });

  /** A migrated schema and a stream prefix of the test's own, as `serve` arguments. */
  async function backends(label: string, store = POSTGRES_URL, bus: string | null = NATS_URL) {
    const schema = uniqueSchema(label);
    schemas.push(schema);
    await migrate(POSTGRES_URL, { schema });
    const args = ['--store', store, '--schema', schema];
    if (bus !== null) args.push('--bus', bus, '--bus-prefix', uniquePrefix(label));
    return args;
  }

  async function hub(args: string[]): Promise<HubProcess> {
    const started = await startHub({ args, env: { JUNCTION_LEASE_MS: String(LEASE_MS) } });
    cleanup.push(() => started.kill());
    return started;
  }

  async function sink(): Promise<TallySink> {
    const started = await startTallySink();
    cleanup.push(() => started.close());
    return started;
  }

  /** Publishes a batch; resolves with the ids the hub acknowledged (none when it refused or died). */
  async function publishBatch(
    target: HubProcess,
    ids: string[],
  ): Promise<{ acked: string[]; status: number }> {
    const body = JSON.stringify(
      ids.map((id) => ({ specversion: '1.0', id, source: '/dist', type: TYPE, data: { id } })),
    );
    try {
      const res = await target.fetch('/v1/events', {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents-batch+json' },
        body,
      });
      await res.text();
      return { acked: res.status === 202 ? ids : [], status: res.status };
    } catch {
      return { acked: [], status: 0 };
    }
  }

  /** Every acked id received at least once, each under one webhook-id only. */
  async function expectDelivered(at: TallySink, acked: Set<string>, timeoutMs: number) {
    await waitFor(
      () => [...acked].every((id) => at.tally.has(id)),
      timeoutMs,
      `${acked.size} acknowledged events at the sink`,
    ).catch((error) => {
      const missing = [...acked].filter((id) => !at.tally.has(id));
      throw new Error(`${(error as Error).message}; ${missing.length} missing, e.g. ${missing.slice(0, 5)}`);
    });
    const mixed = [...acked].filter((id) => new Set(at.tally.get(id)!.map((r) => r.webhookId)).size !== 1);
    expect(mixed.slice(0, 10), `${mixed.length} events repeated under another webhook-id`).toEqual([]);
  }

  /**
   * Publishes batches of 10 to `target` from `publishers` loops until `stop`, keeping what was
   * acknowledged and every status answered; a refused batch is retried as a new one after a pause.
   */
  function load(target: HubProcess, label: string, publishers: number) {
    const acked = new Set<string>();
    const statuses = new Set<number>();
    let n = 0;
    let done = false;
    const publisher = async () => {
      while (!done) {
        const ids = Array.from({ length: 10 }, () => `${label}-${n++}`);
        const { acked: got, status } = await publishBatch(target, ids);
        statuses.add(status);
        for (const x of got) acked.add(x);
        if (status !== 202) await new Promise((r) => setTimeout(r, 50));
      }
    };
    const running = Promise.all(Array.from({ length: publishers }, publisher));
    return {
      acked,
      statuses,
      async stop() {
        done = true;
        await running;
      },
    };
  }

  it('refuses to start on a schema with pending migrations, saying what to run', async () => {
    const schema = uniqueSchema('pending');
    schemas.push(schema);
    await expect(startHub({ args: ['--store', POSTGRES_URL, '--schema', schema] })).rejects.toThrow(
      /junction migrate/,
    );
  });

  it('shares subscriptions between processes, and delivers what either takes once', async () => {
    const args = await backends('share');
    const a = await hub(args);
    const b = await hub(args);
    const at = await sink();
    const { id } = await a.subscribe({ sink: at.url, types: [TYPE] });
    // B learns of the subscription from PostgreSQL's notification, not by asking.
    await waitFor(
      async () => (await b.fetch(`/v1/subscriptions/${id}`)).status === 200,
      10_000,
      'B to see it',
    );

    const ids = Array.from({ length: 200 }, (_, i) => `share-${i}`);
    expect((await publishBatch(a, ids.slice(0, 100))).status).toBe(202);
    expect((await publishBatch(b, ids.slice(100))).status).toBe(202);
    await expectDelivered(at, new Set(ids), 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(at.requests()).toBe(200);

    // A retry within the duplicate window is answered as a duplicate, by either process.
    const again = await b.fetch('/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: 'share-0', source: '/dist', type: TYPE, data: {} }),
    });
    expect(await again.json()).toMatchObject({ events: [{ id: 'share-0', status: 'duplicate' }] });
    const looked = await b.fetch('/v1/events/lookup?source=/dist&id=share-150');
    expect(looked.status).toBe(200);
    expect(((await looked.json()) as { deliveries: unknown[] }).deliveries).toMatchObject([
      { status: 'delivered', subscriptionId: id },
    ]);
  }, 60_000);

  it('sends a delivery held in memory past half its lease from one process only', async () => {
    const args = await backends('stale');
    const a = await hub(args);
    const b = await hub(args);
    const at = await sink();
    // 20 requests a second: what A records at once waits in its memory for seconds, longer than
    // the 3 s lease B would take it over after.
    const { id } = await a.subscribe({
      sink: at.url,
      types: [TYPE],
      delivery: { rateLimit: { perSecond: 20, burst: 20 } },
    });
    await waitFor(
      async () => (await b.fetch(`/v1/subscriptions/${id}`)).status === 200,
      10_000,
      'B to see it',
    );
    const ids = Array.from({ length: 200 }, (_, i) => `stale-${i}`);
    expect((await publishBatch(a, ids)).status).toBe(202);
    await expectDelivered(at, new Set(ids), 60_000);
    await new Promise((r) => setTimeout(r, 1_000));
    const repeated = ids.filter((x) => at.tally.get(x)!.length > 1);
    expect(repeated.slice(0, 10), `${repeated.length} events sent more than once`).toEqual([]);
  }, 90_000);

  it("holds a subscription's rate limit across processes, not per process", async () => {
    // Without a bus: each process records and sends what it ingests, so both have work at once.
    const args = await backends('sharedlimit', POSTGRES_URL, null);
    const a = await hub(args);
    const b = await hub(args);
    const at = await sink();
    const { id } = await a.subscribe({
      sink: at.url,
      types: [TYPE],
      delivery: { rateLimit: { perSecond: 10, burst: 2 } },
    });
    await waitFor(
      async () => (await b.fetch(`/v1/subscriptions/${id}`)).status === 200,
      10_000,
      'B to see it',
    );
    const ids = Array.from({ length: 40 }, (_, i) => `limit-${i}`);
    const [first, second] = await Promise.all([
      publishBatch(a, ids.slice(0, 20)),
      publishBatch(b, ids.slice(20)),
    ]);
    expect([first.status, second.status]).toEqual([202, 202]);
    await expectDelivered(at, new Set(ids), 30_000);
    const times = ids.map((x) => at.tally.get(x)![0]!.at).sort((p, q) => p - q);
    // 40 requests at 10 a second after a burst of 2 take 3.8 s; each process at the full rate
    // would take half that. A little slack for timers.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(3_400);
    // No second holds more than the rate and the burst.
    const busiest = Math.max(...times.map((t0) => times.filter((t) => t >= t0 && t < t0 + 1_000).length));
    expect(busiest).toBeLessThanOrEqual(12);
  }, 60_000);

  it('delivers every acknowledged event when one of two processes is killed under load', async () => {
    const args = await backends('kill');
    const a = await hub(args);
    const b = await hub(args);
    const at = await sink();
    const { id } = await a.subscribe({ sink: at.url, types: [TYPE] });
    await waitFor(
      async () => (await b.fetch(`/v1/subscriptions/${id}`)).status === 200,
      10_000,
      'B to see it',
    );

    const acked = new Set<string>();
    let n = 0;
    let killed = false;
    const publisher = async (target: () => HubProcess) => {
      while (n < 4_000) {
        const ids = Array.from({ length: 20 }, () => `kill-${n++}`);
        for (const one of (await publishBatch(target(), ids)).acked) acked.add(one);
        if (!killed && acked.size >= 1_500) {
          killed = true;
          await a.kill();
        }
      }
    };
    // Two publishers on each process; those on A move to B once A is gone, as a load balancer would.
    const onA = () => (killed ? b : a);
    await Promise.all([publisher(onA), publisher(onA), publisher(() => b), publisher(() => b)]);
    expect(killed).toBe(true);
    expect(acked.size).toBeGreaterThan(3_000);
    await expectDelivered(at, acked, 90_000);
  }, 150_000);

  it('finishes a replay whose process was killed, in the surviving process', async () => {
    const args = await backends('replay');
    const a = await hub(args);
    const b = await hub(args);
    const from = new Date(Date.now() - 1_000).toISOString();
    const ids = Array.from({ length: 20_000 }, (_, i) => `rpl-${i}`);
    for (let i = 0; i < ids.length; i += 500) {
      expect((await publishBatch(a, ids.slice(i, i + 500))).status).toBe(202);
    }
    // Recorded behind the acknowledgement: wait until the store holds every event.
    const stored = async (id: string) =>
      (await b.fetch(`/v1/events/lookup?source=/dist&id=${id}`)).status === 200;
    await waitFor(
      async () => (await stored(ids.at(-1)!)) && (await stored(ids[0]!)),
      30_000,
      'the events recorded',
    );
    await new Promise((r) => setTimeout(r, 1_000));
    const at = await sink();
    const { id: subscription } = await a.subscribe({ sink: at.url, types: [TYPE] });
    await waitFor(
      async () => (await b.fetch(`/v1/subscriptions/${subscription}`)).status === 200,
      10_000,
      'B',
    );
    const res = await a.fetch('/v1/replays', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subscription, from }),
    });
    expect(res.status).toBe(202);
    const { id: replay, total } = (await res.json()) as { id: string; total: number };
    expect(total).toBe(ids.length);
    await waitFor(async () => at.tally.size >= 100, 20_000, 'the replay under way');
    const atKill = (await (await a.fetch(`/v1/replays/${replay}`)).json()) as {
      status: string;
      scanned: number;
    };
    await a.kill();
    expect(atKill.status).toBe('running');

    const view = async () =>
      (await (await b.fetch(`/v1/replays/${replay}`)).json()) as {
        status: string;
        scanned: number;
        deliveries: Record<string, number>;
      };
    // B takes the job over once A's claim runs out (LEASE_MS), and finishes it.
    await waitFor(async () => (await view()).status === 'completed', 60_000, 'B to finish the replay');
    expect((await view()).scanned).toBe(ids.length);
    await expectDelivered(at, new Set(ids), 60_000);
  }, 150_000);

  it('reconnects to a restarted NATS server and loses nothing acknowledged', async () => {
    const own = new OwnNatsServer(await freePort());
    cleanup.push(() => own.dispose());
    await own.start();
    const one = await hub(await backends('natsrestart', POSTGRES_URL, own.url));
    const at = await sink();
    await one.subscribe({ sink: at.url, types: [TYPE] });

    const { acked, statuses, stop } = load(one, 'nats', 2);
    await waitFor(() => acked.size >= 500, 20_000, '500 events before the restart');
    await own.kill();
    await new Promise((r) => setTimeout(r, 1_000));
    await own.start();
    const after = acked.size;
    await waitFor(() => acked.size >= after + 500, 30_000, '500 more events after the restart');
    await stop();
    // While NATS was down the hub refused with 503, never 500.
    expect([...statuses].filter((s) => s !== 202 && s !== 503)).toEqual([]);
    await expectDelivered(at, acked, 60_000);
  }, 120_000);

  it('loses nothing acknowledged when the stream leader of a three-node NATS cluster is killed under load', async () => {
    const cluster = await NatsCluster.start();
    cleanup.push(() => cluster.stop());
    const args = [
      ...(await backends('cluster', POSTGRES_URL, cluster.urls.join(','))),
      '--bus-replicas',
      '3',
    ];
    const one = await hub(args);
    const at = await sink();
    await one.subscribe({ sink: at.url, types: [TYPE] });
    const prefix = args[args.indexOf('--bus-prefix') + 1]!;

    const { acked, statuses, stop } = load(one, 'cluster', 3);
    await waitFor(() => acked.size >= 500, 30_000, '500 events before the kill');
    const nc = await connect({ servers: cluster.urls });
    cleanup.push(() => nc.close());
    const info = await (await jetstreamManager(nc)).streams.info(streamName(prefix, 'default'));
    expect(info.config.num_replicas).toBe(3);
    await cluster.kill(cluster.nodeNamed(info.cluster!.leader!).index);
    const after = acked.size;
    // A new leader is elected within seconds, up to 20 s on a busy machine; ingest answers 503 meanwhile.
    await waitFor(() => acked.size >= after + 500, 60_000, '500 more events after the kill');
    await stop();
    expect([...statuses].filter((s) => s !== 202 && s !== 503)).toEqual([]);
    await expectDelivered(at, acked, 60_000);
  }, 150_000);

  it('answers 503 while PostgreSQL is unreachable, and recovers by itself when it returns', async () => {
    const pg = new URL(POSTGRES_URL);
    const proxy = await startTcpProxy(pg.hostname || '127.0.0.1', Number(pg.port || 5432));
    cleanup.push(() => proxy.close());
    const through = new URL(POSTGRES_URL);
    through.port = String(proxy.port);
    const one = await hub(await backends('pgcut', through.toString()));
    const at = await sink();
    await one.subscribe({ sink: at.url, types: [TYPE] });
    const acked = new Set<string>();
    for (const x of (await publishBatch(one, ['pg-0', 'pg-1'])).acked) acked.add(x);
    expect(acked.size).toBe(2);

    await proxy.cut();
    let refused: Response | undefined;
    await waitFor(
      async () => {
        const res = await one.fetch('/v1/events', {
          method: 'POST',
          headers: { 'content-type': 'application/cloudevents+json' },
          body: JSON.stringify({ specversion: '1.0', id: 'pg-cut', source: '/dist', type: TYPE }),
        });
        if (res.status === 202) acked.add('pg-cut');
        if (res.status !== 503) return false;
        refused = res;
        return true;
      },
      20_000,
      'ingest to answer 503',
    );
    expect(refused!.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused!.headers.get('content-type')).toMatch(/problem\+json/);
    expect((await one.fetch('/readyz')).status).toBe(503);

    await proxy.mend();
    await waitFor(
      async () => (await publishBatch(one, ['pg-back'])).status === 202,
      30_000,
      'ingest to recover',
    );
    acked.add('pg-back');
    expect((await one.fetch('/readyz')).status).toBe(200);
    await expectDelivered(at, acked, 30_000);
  }, 90_000);
});
