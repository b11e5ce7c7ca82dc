/** The bus's subject and stream naming: escaping, buckets and the subject scheme. */
import { describe, expect, it } from 'vitest';
import { InvalidBusNameError } from '../../src/storage/nats/errors.js';
import {
  checkPlainName,
  escapeToken,
  eventSubject,
  PARTITION_BUCKETS,
  partitionBucket,
  streamName,
} from '../../src/storage/nats/names.js';

describe('escapeToken', () => {
  it('keeps plain tokens and escapes what NATS gives meaning to', () => {
    expect(escapeToken('order-created')).toBe('order-created');
    expect(escapeToken('a.b*c>d')).toBe('a%2Eb%2Ac%3Ed');
    expect(escapeToken('order created\t')).toBe('order%20created%09');
    expect(escapeToken('50%')).toBe('50%25');
    expect(escapeToken('café')).toBe('caf%C3%A9');
    expect(escapeToken('a/b\\c')).toBe('a%2Fb%5Cc');
    expect(escapeToken('')).toBe('%_');
  });

  it('never maps two values to one token', () => {
    const values = ['', '%_', '%', '%25', '.', '%2E', 'a b', 'a%20b', '_', '*', '>'];
    const tokens = values.map(escapeToken);
    expect(new Set(tokens).size).toBe(values.length);
  });

  it('yields tokens with no separator, wildcard or whitespace', () => {
    for (const value of ['a.b', 'x > y', '*', '\n', 'ü.ß']) {
      expect(escapeToken(value)).toMatch(/^[^.*>\s/\\]+$/);
    }
  });
});

describe('eventSubject', () => {
  it('puts the bucket before the type and keeps the type hierarchy', () => {
    expect(eventSubject('jx', 'orders', 'com.acme.order.created', undefined)).toBe(
      'jx.ev.orders._.com.acme.order.created',
    );
    const keyed = eventSubject('jx', 'orders.eu', 'a..b', 'customer-1');
    expect(keyed).toMatch(/^jx\.ev\.orders%2Eeu\.k\d\d\.a\.%_\.b$/);
  });

  it('buckets a key the same way every time, within range', () => {
    expect(partitionBucket('customer-42')).toBe(partitionBucket('customer-42'));
    const buckets = new Set(Array.from({ length: 200 }, (_, i) => partitionBucket(`k${i}`)));
    expect(buckets.size).toBe(PARTITION_BUCKETS);
    for (const b of buckets) expect(b).toBeLessThan(PARTITION_BUCKETS);
  });
});

describe('names', () => {
  it('prefixes stream names and refuses prefixes it cannot use as they are', () => {
    expect(streamName('jx', 'orders.eu')).toBe('jx_orders_2Eeu');
    expect(streamName('jx', 'orders_eu')).toBe('jx_orders_5Feu');
    expect(streamName('jx', 'orders-eu')).toBe('jx_orders-eu');
    expect(checkPlainName('router-1', 'durable')).toBe('router-1');
    expect(() => checkPlainName('a.b', 'prefix')).toThrow(InvalidBusNameError);
    expect(() => checkPlainName('', 'prefix')).toThrow(InvalidBusNameError);
  });
});
