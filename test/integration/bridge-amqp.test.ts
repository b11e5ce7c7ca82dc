/**
 * The AMQP 0-9-1 bridge against the machine's RabbitMQ, both directions, with a SIGKILL of the hub
 * mid-stream. Every queue and exchange is the test's own and deleted afterwards. Locally, without
 * RabbitMQ, the suite skips and says so; under CI=true it fails.
 */
import { type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AMQP_URL,
  bridgeCounts,
  brokerSuite,
  hubWithBridges,
  Received,
  sinkSurvivesKill,
  unique,
  waitStored,
} from '../helpers/bridges.js';
import { waitFor } from '../helpers/server.js';

const up = await brokerSuite('AMQP', AMQP_URL, 5672);
const SOURCE = '/test/amqp';

describe.skipIf(!up)(`AMQP bridge (${new URL(AMQP_URL).host})`, () => {
  let connection: ChannelModel;
  let channel: ConfirmChannel;
  const queues: string[] = [];
  const exchanges: string[] = [];

  beforeAll(async () => {
    connection = await connect(AMQP_URL);
    channel = await connection.createConfirmChannel();
  });
  afterAll(async () => {
    for (const q of queues) await channel.deleteQueue(q).catch(() => {});
    for (const x of exchanges) await channel.deleteExchange(x).catch(() => {});
    await connection?.close();
  });

  /** Publishes one message to the queue (alternately binary and structured; now and then not an event). */
  function publish(queue: string, i: number): 'event' | 'bad' {
    const id = `e-${i}`;
    if (i % 97 === 13) {
      channel.sendToQueue(queue, Buffer.from('not an event'), { contentType: 'text/plain' });
      return 'bad';
    }
    if (i % 2 === 0) {
      channel.sendToQueue(queue, Buffer.from(JSON.stringify({ n: i })), {
        contentType: 'application/json',
        persistent: true,
        headers: {
          cloudEvents_specversion: '1.0',
          cloudEvents_id: id,
          cloudEvents_source: SOURCE,
          'cloudEvents:type': 'test.bridge',
          cloudEvents_time: new Date(),
        },
      });
    } else {
      const event = { specversion: '1.0', id, source: SOURCE, type: 'test.bridge', data: { n: i } };
      channel.sendToQueue(queue, Buffer.from(JSON.stringify(event)), {
        contentType: 'application/cloudevents+json',
        persistent: true,
      });
    }
    return 'event';
  }

  it('source: every message the broker confirmed is stored once, across a kill -9 of the hub', async () => {
    const queue = unique('amqp_src');
    queues.push(queue, `${queue}.dead`);
    exchanges.push(`${queue}.dlx`);
    await channel.assertExchange(`${queue}.dlx`, 'fanout', { durable: false });
    await channel.assertQueue(`${queue}.dead`, { durable: false });
    await channel.bindQueue(`${queue}.dead`, `${queue}.dlx`, '');
    await channel.assertQueue(queue, { durable: true, deadLetterExchange: `${queue}.dlx` });
    const bridge = { name: 'orders', protocol: 'amqp', url: AMQP_URL, queue, prefetch: 50 };

    const total = 1_000;
    const ids: string[] = [];
    let bad = 0;
    const send = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        if (publish(queue, i) === 'event') ids.push(`e-${i}`);
        else bad += 1;
        if (i % 50 === 49) await channel.waitForConfirms();
      }
      await channel.waitForConfirms();
    };

    let hub = await hubWithBridges([bridge]);
    await send(0, 400);
    await waitStored(hub, SOURCE, ['e-40'], 10_000);
    await hub.kill();
    await send(400, total);
    hub = await hubWithBridges([bridge], hub.dataDir);
    try {
      expect(await waitStored(hub, SOURCE, ids, 30_000)).toEqual([]);
      await waitFor(
        async () => (await channel.checkQueue(`${queue}.dead`)).messageCount === bad,
        5_000,
        'dead letters',
      );
      expect((await channel.checkQueue(queue)).messageCount).toBe(0);
      const counts = await bridgeCounts(hub, 'orders');
      console.log(`AMQP source after the restart: ${JSON.stringify(counts)}`);
    } finally {
      await hub.stop();
    }
  }, 60_000);

  it('sink: every event acknowledged at ingest reaches the queue, repeats under one webhook-id', async () => {
    const exchange = unique('amqp_sink');
    const queue = `${exchange}.q`;
    exchanges.push(exchange);
    queues.push(queue);
    await channel.assertExchange(exchange, 'direct', { durable: false });
    await channel.assertQueue(queue, { durable: false });
    await channel.bindQueue(queue, exchange, 'orders');
    const received = new Received();
    const consumer = await connection.createChannel();
    await consumer.consume(
      queue,
      (msg) => {
        if (!msg) return;
        const headers = msg.properties.headers ?? {};
        expect(msg.properties.messageId).toBe(headers['webhook-id']);
        received.add(String(headers.cloudEvents_id), String(headers['webhook-id']));
      },
      { noAck: true },
    );

    const { acked, hub } = await sinkSurvivesKill({
      subscription: {
        sink: AMQP_URL,
        protocol: 'AMQP',
        protocolsettings: { exchange, routingkey: 'orders' },
      },
      received,
      source: SOURCE,
      total: 600,
      killAt: 300,
    });
    await hub.stop();
    await consumer.close();
    expect(acked.length).toBeGreaterThanOrEqual(580);
    for (const id of acked) expect(received.byId.get(id)?.size, id).toBe(1);
    console.log(`AMQP sink: ${acked.length} acknowledged, ${received.copies} copies received`);
  }, 60_000);

  it('sink: a missing exchange is a permanent failure, dead-lettered at once', async () => {
    const { startHub } = await import('../helpers/server.js');
    const hub = await startHub();
    try {
      const sub = await hub.subscribe({
        sink: AMQP_URL,
        protocol: 'AMQP',
        protocolsettings: { exchange: unique('absent'), routingkey: 'x' },
      });
      await hub.publish({ id: 'missing-1', source: SOURCE, type: 'test.bridge', data: {} });
      await waitFor(
        async () => {
          const res = await hub.fetch(`/v1/subscriptions/${sub.id}/deliveries?status=dead`);
          return ((await res.json()) as { items: unknown[] }).items.length === 1;
        },
        10_000,
        'a dead letter',
      );
      // The status is a pseudo-status (404: refused for good); the broker's words are the response.
      const found = (await (await hub.fetch(`/v1/events/lookup?source=${SOURCE}&id=missing-1`)).json()) as {
        deliveries: { attemptLog: { status: number; response: string }[] }[];
      };
      const attempt = found.deliveries[0]!.attemptLog[0]!;
      expect(attempt.status).toBe(404);
      expect(attempt.response).toContain('no exchange');
    } finally {
      await hub.stop();
    }
  });
});
