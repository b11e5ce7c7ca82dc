/**
 * Distributed ingest: acknowledged events per second through Junction on PostgreSQL + NATS
 * JetStream, beside raw JetStream acknowledged publishes of the same events from this process, in
 * one run. A Junction 202 means JetStream stored the event (the same acknowledgement the raw
 * publish waits for), after the hub authenticated, parsed and checked it; the recorder then writes
 * it to PostgreSQL behind the acknowledgement, and this bench waits for that too and reports it.
 *
 *   npm run bench:distributed                       # 10 s per round, batches of 1 and 50
 *   node bench/distributed.mjs --seconds 5 --concurrency 32
 *
 * Both sides keep `concurrency` requests in flight: HTTP requests of `batch` events for Junction
 * (autocannon), `batch` pipelined publishes each for raw JetStream. A third figure, the same
 * requests to a bare HTTP server that only answers 202, shows how much of the gap is HTTP itself:
 * the raw publishes pay no HTTP at all. Needs PostgreSQL (POSTGRES_URL, default
 * postgres://postgres@127.0.0.1:5432/test) and NATS (NATS_URL, default nats://127.0.0.1:4222); each
 * run uses a schema and a stream prefix of its own and removes them afterwards.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { migrate } from '../dist/storage/postgres/index.js';
import { eventTemplate } from './event.mjs';
import { ADMIN_KEY, forkHelper, killChildren, machine, round, setting, startJunction } from './lib.mjs';

const SECONDS = setting('seconds', 'DIST_SECONDS', 10);
const WARMUP = setting('warmup', 'DIST_WARMUP_SECONDS', 2);
const CONCURRENCY = setting('concurrency', 'DIST_CONCURRENCY', 32);
const BATCHES = (process.env.DIST_BATCHES ?? '1,50').split(',').map(Number);
const TARGET_RATIO = 0.6;
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const TYPE = 'com.acme.order.created';
const RUN = `b${Date.now().toString(36)}`;
const makeBody = eventTemplate({ source: '/bench/distributed', type: TYPE });

/** Runs `worker` on `CONCURRENCY` loops for the warm-up and then `SECONDS`; returns events/s. */
async function closedLoop(worker) {
  let counting = false;
  let events = 0;
  let stop = false;
  let failures = 0;
  const loops = Array.from({ length: CONCURRENCY }, async (_, loop) => {
    for (let i = 0; !stop; i++) {
      try {
        const n = await worker(`${loop}-${i}`);
        if (counting) events += n;
      } catch (error) {
        failures++;
        if (failures === 1) console.error(`  first failure: ${error.message}`);
      }
    }
  });
  await new Promise((r) => setTimeout(r, WARMUP * 1000));
  counting = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  counting = false;
  const seconds = (performance.now() - started) / 1000;
  stop = true;
  await Promise.all(loops);
  return { rate: events / seconds, failures };
}

async function rawJetStream(batch) {
  const nc = await connect({ servers: NATS_URL, name: 'bench raw' });
  const jsm = await jetstreamManager(nc);
  const stream = `${RUN}_raw${batch}`;
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], duplicate_window: 120_000_000_000 });
  const js = jetstream(nc);
  const encoder = new TextEncoder();
  const result = await closedLoop(async (key) => {
    const acks = [];
    for (let j = 0; j < batch; j++) {
      const id = `raw-${batch}-${key}-${j}`;
      acks.push(js.publish(`${stream}.${TYPE}`, encoder.encode(makeBody(id)), { msgID: id }));
    }
    await Promise.all(acks);
    return batch;
  });
  await jsm.streams.delete(stream);
  await nc.close();
  return result;
}

/**
 * Junction's side: autocannon, as bench:ingest drives it; a `fetch` loop in this process could not
 * issue more than ~1,600 requests/s and measured itself rather than the hub.
 */
async function junction(hub, batch, path = '/v1/events') {
  let n = 0;
  const run = (seconds) =>
    autocannon({
      url: `${hub.url}${path}`,
      connections: CONCURRENCY,
      duration: seconds,
      timeout: 10,
      headers: {
        authorization: `Bearer ${ADMIN_KEY}`,
        'content-type': batch === 1 ? 'application/cloudevents+json' : 'application/cloudevents-batch+json',
      },
      requests: [
        {
          method: 'POST',
          setupRequest(req) {
            const bodies = Array.from({ length: batch }, () => makeBody(`hub-${batch}-${n++}`));
            req.body = batch === 1 ? bodies[0] : `[${bodies.join(',')}]`;
            return req;
          },
        },
      ],
    });
  await run(WARMUP);
  const result = await run(SECONDS);
  const failures = result.non2xx + result.errors + result.timeouts;
  return { rate: (result['2xx'] * batch) / SECONDS, failures };
}

async function main() {
  console.log(`bench:distributed on ${machine()}`);
  console.log(
    `${SECONDS} s per round after ${WARMUP} s warm-up, ${CONCURRENCY} in flight, ~1 KiB events, PostgreSQL ${POSTGRES_URL}, NATS ${NATS_URL}`,
  );
  const schema = `bench_${RUN}`;
  await migrate(POSTGRES_URL, { schema });
  const sql = postgres(POSTGRES_URL, { max: 1, onnotice: () => {} });
  const hub = await startJunction({
    args: ['--store', POSTGRES_URL, '--schema', schema, '--bus', NATS_URL, '--bus-prefix', RUN],
  });
  const rows = [];
  try {
    for (const batch of BATCHES) {
      const raw = await rawJetStream(batch);
      const hubRun = await junction(hub, batch);
      // What HTTP alone allows on this machine: a bare server that reads the body and answers 202.
      const bare = await forkHelper('helpers/baseline-server.mjs', [], { waitForUrl: true });
      const ceiling = await junction(bare, batch, '/');
      await bare.stop();
      rows.push({ batch, raw, hub: hubRun });
      console.log(
        `  batch ${String(batch).padStart(3)}: raw JetStream ${round(raw.rate)} ev/s, Junction ${round(hubRun.rate)} ev/s, ratio ${round(hubRun.rate / raw.rate, 2)}; HTTP alone (a bare server answering 202) ${round(ceiling.rate)} ev/s${
          raw.failures + hubRun.failures > 0
            ? ` (failures: raw ${raw.failures}, Junction ${hubRun.failures})`
            : ''
        }`,
      );
    }
    // How far PostgreSQL recording is behind the acknowledgements, once the load stops.
    const started = performance.now();
    const accepted = async () =>
      Number((await sql`SELECT count(*)::int AS n FROM ${sql(schema)}.events`)[0].n);
    let recorded = await accepted();
    for (let last = -1; recorded !== last; ) {
      last = recorded;
      await new Promise((r) => setTimeout(r, 1_000));
      recorded = await accepted();
    }
    console.log(
      `  recorded in PostgreSQL: ${recorded} events; the recorder caught up ${round((performance.now() - started) / 1000, 1)} s after the load stopped`,
    );
  } finally {
    await hub.stop();
    await sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`;
    await sql.end();
    const nc = await connect({ servers: NATS_URL });
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) if (name.startsWith(RUN)) await jsm.streams.delete(name);
    await nc.close();
    hub.cleanup();
  }
  const best = Math.max(...rows.map((r) => r.hub.rate / r.raw.rate));
  console.log(
    `ratio Junction / raw JetStream: ${rows.map((r) => `${round(r.hub.rate / r.raw.rate, 2)} (batch ${r.batch})`).join(', ')}; target ≥ ${TARGET_RATIO}: ${best >= TARGET_RATIO ? 'met' : 'missed'}`,
  );
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(killChildren);
