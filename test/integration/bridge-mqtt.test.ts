/**
 * The MQTT bridge against the machine's Mosquitto, both directions, with a SIGKILL of the hub
 * mid-stream. Topics and client ids are the test's own; the bridge's persistent session is removed
 * afterwards. Locally, without Mosquitto, the suite skips and says so; under CI=true it fails.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bridgeCounts,
  brokerSuite,
  hubWithBridges,
  MQTT_URL,
  Received,
  sinkSurvivesKill,
  unique,
  waitStored,
} from '../helpers/bridges.js';

const up = await brokerSuite('MQTT', MQTT_URL, 1883);
const SOURCE = '/test/mqtt';

describe.skipIf(!up)(`MQTT bridge (${new URL(MQTT_URL).host})`, () => {
  let publisher: MqttClient;
  const sessions: string[] = [];

  beforeAll(async () => {
    publisher = await connectAsync(MQTT_URL, { protocolVersion: 5, clientId: unique('pub') });
  });
  afterAll(async () => {
    await publisher?.endAsync();
    // A clean start with the bridge's client id, then a disconnect, ends its persistent session.
    for (const clientId of sessions) {
      const client = await connectAsync(MQTT_URL, { protocolVersion: 5, clientId, clean: true });
      await client.endAsync();
    }
  });

  /** Publishes one message at QoS 1: binary (user properties) or structured, now and then not an event. */
  async function publish(topic: string, i: number): Promise<'event' | 'bad'> {
    const id = `e-${i}`;
    if (i % 97 === 13) {
      await publisher.publishAsync(topic, 'not an event', { qos: 1 });
      return 'bad';
    }
    if (i % 2 === 0) {
      await publisher.publishAsync(topic, JSON.stringify({ n: i }), {
        qos: 1,
        properties: {
          contentType: 'application/json',
          userProperties: { specversion: '1.0', id, source: SOURCE, type: 'test.bridge', note: 'x' },
        },
      });
    } else {
      const event = { specversion: '1.0', id, source: SOURCE, type: 'test.bridge', data: { n: i } };
      await publisher.publishAsync(topic, JSON.stringify(event), { qos: 1 });
    }
    return 'event';
  }

  it('source: every message the broker acknowledged is stored once, across a kill -9 of the hub', async () => {
    const base = unique('mqtt_src');
    const clientId = `${base}_bridge`;
    sessions.push(clientId);
    const bridge = { name: 'sensors', protocol: 'mqtt', url: MQTT_URL, topics: [`${base}/#`], clientId };
    const total = 800;
    const ids: string[] = [];
    const send = async (from: number, to: number) => {
      const sent = await Promise.all(
        Array.from({ length: to - from }, (_, k) => publish(`${base}/events`, from + k)),
      );
      sent.forEach((kind, k) => {
        if (kind === 'event') ids.push(`e-${from + k}`);
      });
    };

    let hub = await hubWithBridges([bridge]);
    // The bridge subscribes once connected: wait for it, or the session would not hold the messages.
    await new Promise((r) => setTimeout(r, 500));
    await send(0, 300);
    await waitStored(hub, SOURCE, ['e-30'], 10_000);
    await hub.kill();
    await send(300, total);
    hub = await hubWithBridges([bridge], hub.dataDir);
    try {
      expect(await waitStored(hub, SOURCE, ids, 30_000)).toEqual([]);
      console.log(`MQTT source after the restart: ${JSON.stringify(await bridgeCounts(hub, 'sensors'))}`);
    } finally {
      await hub.stop();
    }
  }, 60_000);

  it('sink (MQTT 5): every event acknowledged at ingest is published, repeats under one webhook-id', async () => {
    const topic = `${unique('mqtt_sink')}/orders`;
    const received = new Received();
    const consumer = await connectAsync(MQTT_URL, { protocolVersion: 5, clientId: unique('sub') });
    consumer.on('message', (_topic, _payload, packet) => {
      const props = packet.properties?.userProperties ?? {};
      expect(props['x-team']).toBe('crm');
      received.add(String(props.id), String(props['webhook-id']));
    });
    await consumer.subscribeAsync(topic, { qos: 1 });

    const { acked, hub } = await sinkSurvivesKill({
      subscription: {
        sink: MQTT_URL,
        protocol: 'MQTT',
        protocolsettings: { topicname: topic, qos: 1, userproperties: { 'x-team': 'crm' } },
      },
      received,
      source: SOURCE,
      total: 600,
      killAt: 300,
    });
    await hub.stop();
    await consumer.endAsync();
    expect(acked.length).toBeGreaterThanOrEqual(580);
    for (const id of acked) expect(received.byId.get(id)?.size, id).toBe(1);
    console.log(`MQTT sink: ${acked.length} acknowledged, ${received.copies} copies received`);
  }, 60_000);

  it('sink (MQTT 3.1.1): events go as structured JSON, the only mode 3.1.1 can carry', async () => {
    const topic = `${unique('mqtt3_sink')}/orders`;
    const seen: Record<string, unknown>[] = [];
    const consumer = await connectAsync(MQTT_URL, { protocolVersion: 4, clientId: unique('sub3') });
    consumer.on('message', (_topic, payload) => seen.push(JSON.parse(payload.toString())));
    await consumer.subscribeAsync(topic, { qos: 1 });
    const { startHub, waitFor } = await import('../helpers/server.js');
    const hub = await startHub();
    try {
      const sub = await hub.subscribe({
        sink: MQTT_URL,
        protocol: 'MQTT3',
        protocolsettings: { topicname: topic },
      });
      const shown = (await (await hub.fetch(`/v1/subscriptions/${sub.id}`)).json()) as {
        delivery: { format: string };
      };
      expect(shown.delivery.format).toBe('structured');
      await hub.publish({ id: 'v3-1', source: SOURCE, type: 'test.bridge', data: { ok: true } });
      await waitFor(() => seen.length === 1, 10_000, 'the MQTT 3.1.1 message');
      expect(seen[0]).toMatchObject({ specversion: '1.0', id: 'v3-1', source: SOURCE, data: { ok: true } });
    } finally {
      await hub.stop();
      await consumer.endAsync();
    }
  });
});
