/**
 * What a user can get wrong about bridges: the `bridges` setting of the config file, and a broker
 * subscription's sink, protocol and protocolsettings. Each problem names where it is.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/core/config.js';
import { ValidationError } from '../../src/core/errors.js';
import { redactSink, restorePassword } from '../../src/delivery/sinks/broker-settings.js';
import { parseSubscriptionInput } from '../../src/routing/subscription-input.js';

function withBridges(bridges: unknown) {
  const path = join(mkdtempSync(join(tmpdir(), 'junction-bridges-')), 'junction.json');
  writeFileSync(path, JSON.stringify({ bridges }));
  return parseConfig({ config: path }, {});
}

function problems(bridges: unknown): string[] {
  try {
    withBridges(bridges);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.replace(/ \(in .*\)$/, ''));
    throw error;
  }
  return [];
}

function pointers(body: Record<string, unknown>): string[] {
  try {
    parseSubscriptionInput(body);
  } catch (error) {
    if (error instanceof ValidationError) return error.errors!.map((e) => e.pointer);
    throw error;
  }
  return [];
}

describe('bridges setting', () => {
  it('reads each protocol with its defaults', () => {
    const config = withBridges([
      { name: 'orders', protocol: 'amqp', url: 'amqp://guest:guest@localhost', queue: 'orders' },
      { name: 'sensors', protocol: 'mqtt', url: 'mqtt://localhost:1883', topics: ['plant/#'] },
      { name: 'core', protocol: 'nats', url: 'nats://localhost:4222', subject: 'orders.>' },
      { name: 'ledger', protocol: 'jetstream', url: 'nats://localhost:4222', stream: 'LEDGER' },
    ]);
    expect(config.bridges).toEqual([
      {
        name: 'orders',
        protocol: 'amqp',
        url: 'amqp://guest:guest@localhost',
        queue: 'orders',
        prefetch: 64,
      },
      {
        name: 'sensors',
        protocol: 'mqtt',
        url: 'mqtt://localhost:1883',
        topics: ['plant/#'],
        qos: 1,
        version: 5,
        clientId: 'junction-sensors',
        sessionExpirySeconds: 604_800,
        prefetch: 64,
      },
      {
        name: 'core',
        protocol: 'nats',
        url: 'nats://localhost:4222',
        subject: 'orders.>',
        queue: undefined,
        prefetch: 64,
      },
      {
        name: 'ledger',
        protocol: 'jetstream',
        url: 'nats://localhost:4222',
        stream: 'LEDGER',
        durable: 'junction-ledger',
        subject: undefined,
        ackWaitMs: 30_000,
        prefetch: 64,
      },
    ]);
    expect(parseConfig({}, {}).bridges).toEqual([]);
  });

  it('names the bridge and the key of every problem, and never shows a password', () => {
    expect(problems({})).toEqual([expect.stringMatching(/^bridges must be a list of broker sources/)]);
    expect(problems([{ name: 'x', protocol: 'kafka', url: 'kafka://h' }])).toEqual([
      'bridges[0].protocol must be one of amqp, mqtt, nats, jetstream, got "kafka"',
    ]);
    expect(
      problems([
        { name: 'a', protocol: 'amqp', url: 'http://u:secret@h', queue: '', prefetch: 0, topics: [] },
        { name: 'a', protocol: 'mqtt', url: 'mqtt://h', topics: [], qos: 3, version: 4 },
        { name: 'B', protocol: 'nats', url: 'nats://h', subject: 'a..b' },
        { name: 'js', protocol: 'jetstream', url: 'nats://h', stream: 'a.b', ackWaitMs: 10 },
      ]),
    ).toEqual([
      'bridges[0].topics is not a setting of amqp bridges; use name, protocol, url, prefetch, queue',
      'bridges[0].url must be a URL starting amqp:// or amqps://, got "http://u:***@h/"',
      'bridges[0].prefetch must be an integer from 1 to 65535, got 0',
      'bridges[0].queue must name an existing queue (1 to 255 characters), got ""',
      "bridges[1].name 'a' is used by another bridge; names are unique",
      'bridges[1].topics must be a non-empty list of topic filters such as ["orders/#"], got []',
      'bridges[1].qos must be 0, 1 or 2 (1 is at-least-once; 0 may lose messages), got 3',
      'bridges[1].version must be 3 (MQTT 3.1.1) or 5, got 4',
      `bridges[2].name must be 1 to 63 lower-case letters, digits, '.', '_' or '-', got "B"`,
      'bridges[2].subject must be a NATS subject such as "orders.>" (no spaces or empty tokens), got "a..b"',
      `bridges[3].stream must name an existing JetStream stream (no spaces, '.', '*', '>'), got "a.b"`,
      'bridges[3].ackWaitMs must be an integer from 1000 to 3600000, got 10',
    ]);
  });
});

describe('broker subscriptions', () => {
  it('takes AMQP, MQTT (as MQTT5), MQTT3 and NATS with their settings and defaults', () => {
    const amqp = parseSubscriptionInput({
      sink: 'amqp://app:pw@rabbit:5672/vh',
      protocol: 'AMQP',
      protocolsettings: { exchange: 'orders', routingkey: 'created' },
    });
    expect(amqp.protocol).toBe('AMQP');
    expect(amqp.protocolsettings).toEqual({
      exchange: 'orders',
      routingkey: 'created',
      persistent: true,
      mandatory: true,
    });
    const mqtt = parseSubscriptionInput({
      sink: 'mqtt://b:1883',
      protocol: 'MQTT',
      protocolsettings: { topicname: 'o' },
    });
    expect(mqtt.protocol).toBe('MQTT5');
    expect(mqtt.protocolsettings).toEqual({ topicname: 'o', qos: 1, retain: false });
    const mqtt3 = parseSubscriptionInput({
      sink: 'mqtt://b',
      protocol: 'MQTT3',
      protocolsettings: { topicname: 'o' },
    });
    expect(mqtt3.delivery.format).toBe('structured');
    const nats = parseSubscriptionInput({
      sink: 'nats://n:4222',
      protocol: 'NATS',
      protocolsettings: { subject: 'orders.created', jetstream: true },
    });
    expect(nats.protocolsettings).toEqual({ subject: 'orders.created', jetstream: true });
  });

  it('refuses a sink of another scheme, missing or unknown settings, batches, and binary on MQTT 3.1.1', () => {
    expect(pointers({ sink: 'https://x', protocol: 'AMQP', protocolsettings: { exchange: 'x' } })).toEqual([
      '/sink',
    ]);
    expect(pointers({ sink: 'amqp://x', protocol: 'AMQP' })).toEqual(['/protocolsettings/routingkey']);
    expect(
      pointers({ sink: 'amqp://x', protocol: 'AMQP', protocolsettings: { exchange: 'a b', topicname: 't' } }),
    ).toEqual(['/protocolsettings/topicname', '/protocolsettings/exchange']);
    expect(
      pointers({ sink: 'mqtt://x', protocol: 'MQTT5', protocolsettings: { topicname: 'a/#', qos: 5 } }),
    ).toEqual(['/protocolsettings/topicname', '/protocolsettings/qos']);
    expect(
      pointers({
        sink: 'mqtt://x',
        protocol: 'MQTT5',
        protocolsettings: { topicname: 't', userproperties: { id: 'x', 'webhook-id': 'y', ok: 1 } },
      }),
    ).toEqual([
      '/protocolsettings/userproperties/id',
      '/protocolsettings/userproperties/webhook-id',
      '/protocolsettings/userproperties/ok',
    ]);
    expect(
      pointers({ sink: 'mqtt://x', protocol: 'MQTT3', protocolsettings: { topicname: 't', expiry: 5 } }),
    ).toEqual(['/protocolsettings/expiry']);
    expect(
      pointers({
        sink: 'mqtt://x',
        protocol: 'MQTT3',
        protocolsettings: { topicname: 't' },
        delivery: { format: 'binary' },
      }),
    ).toEqual(['/delivery/format']);
    expect(pointers({ sink: 'nats://x', protocol: 'NATS', protocolsettings: { subject: 'a.*' } })).toEqual([
      '/protocolsettings/subject',
    ]);
    expect(
      pointers({
        sink: 'nats://x',
        protocol: 'NATS',
        protocolsettings: { subject: 'a' },
        delivery: { batch: {} },
      }),
    ).toEqual(['/delivery/batch']);
    expect(pointers({ sink: 'https://u:p@x/hook' })).toEqual(['/sink']);
  });

  it('hides a sink password, and keeps the stored one when *** comes back', () => {
    expect(redactSink('amqp://app:s3cret@mq:5672/vh')).toBe('amqp://app:***@mq:5672/vh');
    expect(redactSink('https://x/hook')).toBe('https://x/hook');
    expect(restorePassword('amqp://app:***@mq:5672/vh2', 'amqp://app:s3cret@mq:5672/vh')).toBe(
      'amqp://app:s3cret@mq:5672/vh2',
    );
    expect(restorePassword('amqp://other:***@mq/vh', 'amqp://app:s3cret@mq/vh')).toBe(
      'amqp://other:***@mq/vh',
    );
    expect(restorePassword('amqp://app:new@mq/vh', 'amqp://app:s3cret@mq/vh')).toBe('amqp://app:new@mq/vh');
  });
});
