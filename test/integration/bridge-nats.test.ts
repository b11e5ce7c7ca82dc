/**
 * The NATS bridges against the machine's NATS server (with JetStream), both directions, with a
 * SIGKILL of the hub mid-stream. JetStream streams and subjects are the test's own; streams are
 * deleted afterwards. Core NATS has no acknowledgements, so its source is tested with requests: a
 * reply is the hub's acknowledgement, and the publisher retries what got none. Locally, without
 * NATS, the suite skips and says so; under CI=true it fails.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bridgeCounts,
  brokerSuite,
  hubWithBridges,
  Received,
  sinkSurvivesKill,
  unique,
  waitStored,
} from '../helpers/bridges.js';
import { NATS_URL } from '../helpers/nats.js';
import { waitFor } from '../helpers/server.js';

const up = await brokerSuite('NATS', NATS_URL, 4222);
const SOURCE = '/test/nats';

describe.skipIf(!up)(`NATS bridges (${new URL(NATS_URL).host})`, () => {
  let nc: NatsConnection;
  const streams: string[] = [];

  beforeAll(async () => {
    nc = await connect({ servers: NATS_URL });
  });
  afterAll(async () => {
    const jsm = await jetstreamManager(nc);
    for (const s of streams) await jsm.streams.delete(s).catch(() => {});
    await nc?.close();
  });

  /** A message: binary (ce- headers) or structured, now and then not an event. */
  function message(i: number): { data: string; headers?: ReturnType<typeof natsHeaders>; bad: boolean } {
    const id = `e-${i}`;
    if (i % 97 === 13) return { data: 'not an event', bad: true };
    if (i % 2 === 0) {
      const h = natsHeaders();
      h.set('ce-specversion', '1.0');
      h.set('ce-id', id);
      h.set('ce-source', SOURCE);
      h.set('ce-type', 'test.bridge');
      h.set('ce-subject', 'caf%C3%A9');
      h.set('ce-datacontenttype', 'application/json');
      return { data: JSON.stringify({ n: i }), headers: h, bad: false };
    }
    const h = natsHeaders();
    h.set('content-type', 'application/cloudevents+json');
    const event = { specversion: '1.0', id, source: SOURCE, type: 'test.bridge', data: { n: i } };
    return { data: JSON.stringify(event), headers: h, bad: false };
  }

  it('JetStream source: every message the stream acked is stored once, across a kill -9 of the hub', async () => {
    const stream = unique('js_src');
    streams.push(stream);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    const js = jetstream(nc);
    const bridge = {
      name: 'ledger',
      protocol: 'jetstream',
      url: NATS_URL,
      stream,
      subject: `${stream}.>`,
      prefetch: 50,
      ackWaitMs: 2_000,
    };
    const ids: string[] = [];
    const send = async (from: number, to: number) => {
      for (let i = from; i < to; i += 50) {
        const batch = Array.from({ length: Math.min(50, to - i) }, (_, k) => i + k);
        await Promise.all(
          batch.map(async (n) => {
            const m = message(n);
            await js.publish(`${stream}.events`, m.data, m.headers ? { headers: m.headers } : {});
            if (!m.bad) ids.push(`e-${n}`);
          }),
        );
      }
    };

    let hub = await hubWithBridges([bridge]);
    await send(0, 400);
    await waitStored(hub, SOURCE, ['e-40'], 10_000);
    await hub.kill();
    await send(400, 1_000);
    hub = await hubWithBridges([bridge], hub.dataDir);
    try {
      expect(await waitStored(hub, SOURCE, ids, 30_000)).toEqual([]);
      // Acks follow ingest a moment later: wait for the consumer to have none outstanding.
      await waitFor(
        async () => {
          const info = await jsm.consumers.info(stream, 'junction-ledger');
          return info.num_ack_pending + info.num_pending === 0;
        },
        10_000,
        'every message acked or terminated',
      );
      console.log(`JetStream source after the restart: ${JSON.stringify(await bridgeCounts(hub, 'ledger'))}`);
    } finally {
      await hub.stop();
    }
  }, 60_000);

  it('NATS core source: every request the hub answered 202 is stored once, across a kill -9', async () => {
    const subject = `${unique('core_src')}.events`;
    const bridge = { name: 'core', protocol: 'nats', url: NATS_URL, subject, queue: 'junction' };
    const acked = new Set<string>();
    const wanted: number[] = [];
    /** Sends requests for `numbers`; resolves with those that got no 202 (the publisher retries them). */
    const request = async (numbers: number[]): Promise<number[]> => {
      const unanswered: number[] = [];
      for (let i = 0; i < numbers.length; i += 25) {
        await Promise.all(
          numbers.slice(i, i + 25).map(async (n) => {
            const m = message(n);
            try {
              const answer = await nc.request(subject, m.data, {
                timeout: 2_000,
                ...(m.headers ? { headers: m.headers } : {}),
              });
              const body = answer.json<{ status: number }>();
              if (body.status === 202) acked.add(`e-${n}`);
              else if (body.status !== 400) unanswered.push(n);
            } catch {
              unanswered.push(n);
            }
          }),
        );
      }
      return unanswered;
    };
    for (let n = 0; n < 600; n++) if (!message(n).bad) wanted.push(n);

    let hub = await hubWithBridges([bridge]);
    const first = await request(wanted.slice(0, 250));
    await hub.kill();
    // Nobody answers while the hub is down: those go unacknowledged, and are sent again.
    const whileDown = await request(wanted.slice(250, 300));
    hub = await hubWithBridges([bridge], hub.dataDir);
    await new Promise((r) => setTimeout(r, 300));
    const retried = await request([...first, ...whileDown, ...wanted.slice(300)]);
    try {
      expect(retried).toEqual([]);
      const ids = wanted.map((n) => `e-${n}`);
      expect([...acked].sort()).toEqual([...ids].sort());
      expect(await waitStored(hub, SOURCE, ids, 10_000)).toEqual([]);
    } finally {
      await hub.stop();
    }
  }, 60_000);

  it('sink (JetStream): every event acknowledged at ingest is stored by the stream, under one webhook-id', async () => {
    const stream = unique('js_sink');
    streams.push(stream);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    const received = new Received();
    const consumer = await jetstream(nc).consumers.get(stream);
    const messages = await consumer.consume();
    void (async () => {
      for await (const m of messages) {
        received.add(m.headers?.get('ce-id') ?? '', m.headers?.get('webhook-id') ?? '');
      }
    })();
    const { acked, hub } = await sinkSurvivesKill({
      subscription: {
        sink: NATS_URL,
        protocol: 'NATS',
        protocolsettings: { subject: `${stream}.orders`, jetstream: true },
      },
      received,
      source: SOURCE,
      total: 600,
      killAt: 300,
    });
    await hub.stop();
    await messages.close();
    for (const id of acked) expect(received.byId.get(id)?.size, id).toBe(1);
    console.log(`JetStream sink: ${acked.length} acknowledged, ${received.copies} copies in the stream`);
  }, 60_000);

  it('sink (core NATS): a connected subscriber gets every acknowledged event, repeats under one webhook-id', async () => {
    const subject = `${unique('core_sink')}.orders`;
    const received = new Received();
    const sub = nc.subscribe(subject, {
      callback: (_err, m) => received.add(m.headers?.get('ce-id') ?? '', m.headers?.get('webhook-id') ?? ''),
    });
    await nc.flush();
    const { acked, hub } = await sinkSurvivesKill({
      subscription: { sink: NATS_URL, protocol: 'NATS', protocolsettings: { subject } },
      received,
      source: SOURCE,
      total: 600,
      killAt: 300,
    });
    await hub.stop();
    sub.unsubscribe();
    for (const id of acked) expect(received.byId.get(id)?.size, id).toBe(1);
    console.log(`core NATS sink: ${acked.length} acknowledged, ${received.copies} copies received`);
  }, 60_000);
});
