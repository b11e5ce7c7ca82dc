/**
 * The AMQP, MQTT and NATS bindings, both directions: a delivery encoded for HTTP by the dispatcher,
 * written by a binding, then read back by the same binding, is the event it started as.
 */
import { describe, expect, it } from 'vitest';
import { amqpToMessage, messageToAmqp } from '../../src/adapters/bridges/amqp-binding.js';
import { fromHttpForm, readEvents } from '../../src/adapters/bridges/message.js';
import { messageToMqtt, mqttToMessage } from '../../src/adapters/bridges/mqtt-binding.js';
import { messageToNats, natsToMessage } from '../../src/adapters/bridges/nats-binding.js';
import { MalformedRequestError, UnsupportedMediaTypeError, ValidationError } from '../../src/core/errors.js';
import type { CloudEvent } from '../../src/core/event.js';
import { DEFAULT_INGEST_LIMITS, encodeEvent } from '../../src/core/http-binding.js';

const EVENT: CloudEvent = {
  specversion: '1.0',
  id: 'e-1',
  source: '/shop',
  type: 'com.acme.order.created',
  subject: 'café 50%',
  time: '2026-01-02T03:04:05Z',
  datacontenttype: 'application/json',
  partitionkey: 'p-7',
  data: { total: 42 },
};
const META = { 'webhook-id': 'msg_1', 'webhook-timestamp': '1767323045', 'webhook-signature': 'v1,abc' };

/** A delivery as the dispatcher hands it to a sink. */
function outbound(format: 'binary' | 'structured', event = EVENT) {
  const encoded = encodeEvent(event, format, new Date());
  return fromHttpForm({ ...encoded.headers, ...META, 'user-agent': 'Junction/x' }, encoded.body);
}

const read = (message: Parameters<typeof readEvents>[0]) => readEvents(message, DEFAULT_INGEST_LIMITS);

describe('fromHttpForm', () => {
  it('takes attributes from ce- headers (decoded), the content type, and only the hub metadata', () => {
    const message = outbound('binary');
    expect(message.attributes.subject).toBe('café 50%');
    expect(message.attributes.datacontenttype).toBeUndefined();
    expect(message.contentType).toBe('application/json');
    expect(message.meta).toEqual(META);
  });
});

describe('AMQP binding', () => {
  it('writes binary mode as cloudEvents_ headers, with the webhook-id as message_id', () => {
    const p = messageToAmqp(outbound('binary'));
    expect(p.headers).toMatchObject({
      cloudEvents_id: 'e-1',
      cloudEvents_subject: 'café 50%',
      cloudEvents_partitionkey: 'p-7',
      'webhook-id': 'msg_1',
    });
    expect(p.contentType).toBe('application/json');
    expect(p.messageId).toBe('msg_1');
    expect(p.timestamp).toBe(1767323045);
    expect(read(amqpToMessage({ contentType: p.contentType, headers: p.headers }, p.content))).toEqual([
      EVENT,
    ]);
  });

  it('reads the cloudEvents: prefix and typed values as canonical strings', () => {
    const [event] = read(
      amqpToMessage(
        {
          contentType: 'text/plain',
          headers: {
            'cloudEvents:specversion': '1.0',
            'cloudEvents:id': 'x',
            cloudEvents_source: '/s',
            cloudEvents_type: 't',
            cloudEvents_time: new Date('2026-01-02T03:04:05Z'),
            cloudEvents_sequence: 7,
            'x-app': 'ignored',
          },
        },
        Buffer.from('hello'),
      ),
    );
    expect(event).toMatchObject({ id: 'x', time: '2026-01-02T03:04:05.000Z', sequence: '7', data: 'hello' });
    expect(event).not.toHaveProperty('x-app');
  });

  it('reads structured mode, and a body without properties as structured', () => {
    const p = messageToAmqp(outbound('structured'));
    expect(p.headers).not.toHaveProperty('cloudEvents_id');
    expect(read(amqpToMessage({ contentType: p.contentType }, p.content))).toEqual([EVENT]);
    expect(read(amqpToMessage({}, Buffer.from(JSON.stringify(EVENT))))).toEqual([EVENT]);
  });

  it('refuses what is not a CloudEvent with the HTTP binding’s typed errors', () => {
    expect(() => read(amqpToMessage({ contentType: 'text/plain' }, Buffer.from('x')))).toThrow(
      UnsupportedMediaTypeError,
    );
    expect(() => read(amqpToMessage({ headers: { cloudEvents_id: '1' } }, Buffer.from('{}')))).toThrow(
      ValidationError,
    );
  });
});

describe('MQTT binding', () => {
  it('writes MQTT 5 binary mode as user properties without a prefix, and reads it back', () => {
    const { payload, properties } = messageToMqtt(outbound('binary'), 5, { 'x-team': 'crm' });
    expect(properties?.contentType).toBe('application/json');
    expect(properties?.userProperties).toMatchObject({
      id: 'e-1',
      subject: 'café 50%',
      'webhook-id': 'msg_1',
      'x-team': 'crm',
    });
    expect(read(mqttToMessage(properties, payload))).toEqual([EVENT]);
  });

  it('never lets a subscription user property replace an attribute or the hub metadata', () => {
    const { properties } = messageToMqtt(outbound('binary'), 5, { 'webhook-id': 'forged' });
    expect(properties?.userProperties?.['webhook-id']).toBe('msg_1');
  });

  it('carries only the payload on MQTT 3.1.1, which is read as structured', () => {
    const { payload, properties } = messageToMqtt(outbound('structured'), 3);
    expect(properties).toBeUndefined();
    expect(read(mqttToMessage(undefined, payload))).toEqual([EVENT]);
    expect(() => messageToMqtt(outbound('binary'), 3)).toThrow(/binary-mode/);
  });

  it('reads user properties as attributes only with a specversion, and refuses a repeated one', () => {
    const app = mqttToMessage({ userProperties: { id: 'x' } }, Buffer.from(JSON.stringify(EVENT)));
    expect(app.attributes).toEqual({});
    expect(() =>
      mqttToMessage({ userProperties: { specversion: '1.0', id: ['a', 'b'] } }, Buffer.alloc(0)),
    ).toThrow(MalformedRequestError);
  });
});

describe('NATS binding', () => {
  it('writes binary mode as percent-encoded ce- headers with ce-datacontenttype, and reads it back', () => {
    const { headers, payload } = messageToNats(outbound('binary'));
    const byName = Object.fromEntries(headers);
    expect(byName['ce-subject']).toBe('caf%C3%A9%2050%25');
    expect(byName['ce-datacontenttype']).toBe('application/json');
    expect(byName).not.toHaveProperty('content-type');
    expect(byName['webhook-id']).toBe('msg_1');
    const list = headers.map(([k, v]): [string, string[]] => [k, [v]]);
    expect(read(natsToMessage(list, payload))).toEqual([EVENT]);
  });

  it('writes structured mode with a Content-Type, and reads a message without headers as structured', () => {
    const { headers, payload } = messageToNats(outbound('structured'));
    expect(Object.fromEntries(headers)['content-type']).toMatch(/^application\/cloudevents\+json/);
    expect(read(natsToMessage(undefined, payload))).toEqual([EVENT]);
  });

  it('reads header names in any case, and quoted values', () => {
    const message = natsToMessage(
      [
        ['CE-SpecVersion', ['1.0']],
        ['Ce-Id', ['"a \\"b\\""']],
        ['ce-source', ['/s']],
        ['ce-type', ['t']],
      ],
      Buffer.from('{}'),
    );
    expect(read(message)[0]).toMatchObject({ id: 'a "b"' });
  });

  it('refuses a repeated header and bad percent-encoding', () => {
    expect(() => natsToMessage([['ce-id', ['1', '2']]], Buffer.alloc(0))).toThrow(MalformedRequestError);
    expect(() => natsToMessage([['ce-id', ['%C0%A0']]], Buffer.alloc(0))).toThrow(MalformedRequestError);
  });
});
