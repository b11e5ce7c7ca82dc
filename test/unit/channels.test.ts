import { describe, expect, it } from 'vitest';
import { type ChannelConfig, DEFAULT_CHANNEL, parseConfig } from '../../src/core/config.js';
import { Channels } from '../../src/routing/channels.js';

const channel = (name: string, types: string[]): ChannelConfig => ({
  ...DEFAULT_CHANNEL,
  name,
  types,
  concurrency: 64,
});

const channels = new Channels([
  DEFAULT_CHANNEL,
  channel('orders', ['com.acme.order.*', 'com.acme.refund.issued']),
  channel('order-audit', ['com.acme.order.audit.*']),
  channel('special', ['com.acme.order.created']),
  channel('telemetry', ['telemetry.*']),
]);

describe('Channels.of', () => {
  it('takes an exact name over any prefix', () => {
    expect(channels.of('com.acme.order.created').name).toBe('special');
    expect(channels.of('com.acme.refund.issued').name).toBe('orders');
  });

  it('takes the longest matching prefix', () => {
    expect(channels.of('com.acme.order.cancelled').name).toBe('orders');
    expect(channels.of('com.acme.order.audit.logged').name).toBe('order-audit');
    expect(channels.of('telemetry.cpu').name).toBe('telemetry');
  });

  it('matches a prefix as written, so the prefix itself without the dot does not match', () => {
    expect(channels.of('com.acme.order.').name).toBe('orders');
    expect(channels.of('com.acme.order').name).toBe('default');
    expect(channels.of('telemetry').name).toBe('default');
  });

  it('puts every other type in default, the empty string included', () => {
    for (const type of ['inventory.adjusted', '', 'com.acme.refund.issued.v2', 'COM.ACME.ORDER.X']) {
      expect(channels.of(type).name, type).toBe('default');
    }
  });

  it('answers the same from its cache, and keeps answering past the cache bound', () => {
    const fresh = new Channels([DEFAULT_CHANNEL, channel('orders', ['o.*'])]);
    const first = fresh.of('o.created');
    expect(fresh.of('o.created')).toBe(first);
    for (let i = 0; i < 25_000; i++) fresh.of(`other.${i}`);
    expect(fresh.of('o.created').name).toBe('orders');
    expect(fresh.of('other.1').name).toBe('default');
  });
});

describe('Channels: get, all and for', () => {
  it('gets a channel by name', () => {
    expect(channels.get('orders')?.types).toEqual(['com.acme.order.*', 'com.acme.refund.issued']);
    expect(channels.get('default')).toBe(DEFAULT_CHANNEL);
    expect(channels.get('nope')).toBeUndefined();
  });

  it('lists every channel in the order given', () => {
    expect(channels.all().map((c) => c.name)).toEqual([
      'default',
      'orders',
      'order-audit',
      'special',
      'telemetry',
    ]);
  });

  it('adds default when it is missing', () => {
    const only = new Channels([channel('orders', ['o.*'])]);
    expect(only.all().map((c) => c.name)).toEqual(['orders', 'default']);
    expect(only.of('x').name).toBe('default');
    expect(new Channels([]).all()).toEqual([DEFAULT_CHANNEL]);
  });

  it('gives every channel to a subscription to every type', () => {
    expect(channels.for([])).toEqual(channels.all());
  });

  it('gives the channels of the types, once each, in the order of all()', () => {
    expect(
      channels
        .for(['telemetry.cpu', 'com.acme.order.created', 'com.acme.order.x', 'com.acme.order.y'])
        .map((c) => c.name),
    ).toEqual(['orders', 'special', 'telemetry']);
    expect(channels.for(['inventory.adjusted']).map((c) => c.name)).toEqual(['default']);
  });

  it('works on what parseConfig returns', () => {
    const config = parseConfig(
      {
        channels: { orders: { types: ['com.acme.order.*'], concurrency: 8 }, default: { concurrency: 100 } },
      },
      {},
    );
    const parsed = new Channels(config.channels);
    expect(parsed.of('com.acme.order.created')).toMatchObject({ name: 'orders', concurrency: 8 });
    expect(parsed.of('x')).toMatchObject({ name: 'default', concurrency: 100 });
  });
});
