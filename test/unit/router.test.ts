import { describe, expect, it } from 'vitest';
import { DEFAULT_DELIVERY_POLICY } from '../../src/core/config.js';
import type { CloudEvent } from '../../src/core/event.js';
import { Router } from '../../src/routing/router.js';
import type { Subscription } from '../../src/storage/ports.js';

function sub(id: string, types: string[], extra: Partial<Subscription> = {}): Subscription {
  return {
    id,
    status: 'active',
    statusReason: null,
    types,
    filters: [],
    sink: `https://example.com/${id}`,
    protocol: 'HTTP',
    protocolsettings: {},
    delivery: { ...DEFAULT_DELIVERY_POLICY },
    secrets: ['whsec_AAAA'],
    failingSince: null,
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    ...extra,
  };
}

function event(type: string, extra: Record<string, unknown> = {}): CloudEvent {
  return { specversion: '1.0', id: 'e1', source: '/s', type, ...extra };
}

const ids = (subs: Subscription[]) => subs.map((s) => s.id).sort();

describe('Router', () => {
  it('routes nothing before load and with no subscriptions', () => {
    const router = new Router();
    expect(router.route(event('a'))).toEqual([]);
    router.load([]);
    expect(router.route(event('a'))).toEqual([]);
  });

  it('indexes subscriptions by type', () => {
    const router = new Router();
    router.load([sub('s1', ['a']), sub('s2', ['b']), sub('s3', ['a', 'c'])]);
    expect(ids(router.route(event('a')))).toEqual(['s1', 's3']);
    expect(ids(router.route(event('b')))).toEqual(['s2']);
    expect(ids(router.route(event('c')))).toEqual(['s3']);
    expect(router.route(event('d'))).toEqual([]);
    // Types are matched exactly, not by prefix or case-insensitively.
    expect(router.route(event('A'))).toEqual([]);
    expect(router.route(event('a.b'))).toEqual([]);
  });

  it('returns the subscription objects it was loaded with', () => {
    const s1 = sub('s1', ['a']);
    const router = new Router();
    router.load([s1]);
    expect(router.route(event('a'))[0]).toBe(s1);
  });

  it('an empty types list takes every type', () => {
    const router = new Router();
    router.load([sub('all', []), sub('s1', ['a'])]);
    expect(ids(router.route(event('a')))).toEqual(['all', 's1']);
    expect(ids(router.route(event('zzz')))).toEqual(['all']);
  });

  it('applies each subscription filters after the type index', () => {
    const router = new Router();
    router.load([
      sub('eu', ['a'], { filters: [{ exact: { dataregion: 'eu' } }] }),
      sub('orders', [], { filters: [{ prefix: { subject: 'orders/' } }] }),
      sub('plain', ['a']),
    ]);
    expect(ids(router.route(event('a', { dataregion: 'eu', subject: 'orders/1' })))).toEqual([
      'eu',
      'orders',
      'plain',
    ]);
    expect(ids(router.route(event('a', { dataregion: 'us' })))).toEqual(['plain']);
    expect(ids(router.route(event('b', { subject: 'orders/9' })))).toEqual(['orders']);
  });

  it('skips disabled subscriptions, typed or not', () => {
    const router = new Router();
    router.load([
      sub('on', ['a']),
      sub('off', ['a'], { status: 'disabled', statusReason: 'the sink answered 410 Gone' }),
      sub('off-all', [], { status: 'disabled' }),
    ]);
    expect(ids(router.route(event('a')))).toEqual(['on']);
    expect(router.route(event('b'))).toEqual([]);
  });

  it('load replaces the whole index', () => {
    const router = new Router();
    router.load([sub('s1', ['a']), sub('all', [])]);
    expect(ids(router.route(event('a')))).toEqual(['all', 's1']);

    router.load([sub('s2', ['b'])]);
    expect(router.route(event('a'))).toEqual([]);
    expect(ids(router.route(event('b')))).toEqual(['s2']);

    // A subscription changed from active to disabled disappears on reload, and back again.
    router.load([sub('s2', ['b'], { status: 'disabled' })]);
    expect(router.route(event('b'))).toEqual([]);
    router.load([sub('s2', ['b'], { types: ['c'] })]);
    expect(router.route(event('b'))).toEqual([]);
    expect(ids(router.route(event('c')))).toEqual(['s2']);
  });

  it('routes each matching subscription once', () => {
    const router = new Router();
    router.load([sub('s1', ['a', 'b']), sub('s2', [])]);
    expect(router.route(event('a'))).toHaveLength(2);
    expect(router.route(event('b'))).toHaveLength(2);
  });
});
