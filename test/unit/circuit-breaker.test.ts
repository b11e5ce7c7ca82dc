import { beforeEach, describe, expect, it } from 'vitest';
import type { BreakerPolicy } from '../../src/core/config.js';
import {
  type BreakerOutcome,
  Breakers,
  type BreakerTransition,
  endpointKey,
} from '../../src/delivery/circuit-breaker.js';

const policy: BreakerPolicy = {
  windowMs: 10_000,
  minRequests: 4,
  failureRatio: 0.5,
  openMs: 1_000,
  maxOpenMs: 5_000,
  halfOpenProbes: 2,
};

const A = 'https://a.example/hook';
const B = 'https://b.example/hook';

let t: number;
let transitions: BreakerTransition[];
let breakers: Breakers;

function make(overrides: Partial<BreakerPolicy> = {}): Breakers {
  return new Breakers(
    { ...policy, ...overrides },
    (tr) => transitions.push(tr),
    () => t,
  );
}

/** Sends one request through the breaker and records its outcome, as the dispatcher would. */
function send(endpoint: string, outcome: BreakerOutcome): void {
  expect(breakers.tryAcquire(endpoint)).toBe(true);
  breakers.record(endpoint, outcome);
}

function sendAll(endpoint: string, ...outcomes: BreakerOutcome[]): void {
  for (const outcome of outcomes) send(endpoint, outcome);
}

/** Opens the endpoint with minRequests failures at the current time. */
function trip(endpoint: string): void {
  sendAll(endpoint, 'failure', 'failure', 'failure', 'failure');
  expect(breakers.state(endpoint)).toBe('open');
}

function moves(): string[] {
  return transitions.map((tr) => `${tr.from}->${tr.to}`);
}

beforeEach(() => {
  t = 1_000_000;
  transitions = [];
  breakers = make();
});

describe('endpointKey', () => {
  it('drops the fragment and keeps path and query', () => {
    expect(endpointKey('https://example.com/in/hook?team=1&x=2#frag')).toBe(
      'https://example.com/in/hook?team=1&x=2',
    );
  });

  it('normalises case, default port and an empty path the WHATWG way', () => {
    expect(endpointKey('HTTPS://Example.COM:443')).toBe('https://example.com/');
    expect(endpointKey('http://example.com:80/a')).toBe(endpointKey('http://EXAMPLE.com/a'));
    expect(endpointKey('http://example.com:8080/a')).toBe('http://example.com:8080/a');
  });

  it('keeps different paths and queries apart', () => {
    expect(endpointKey('https://example.com/a')).not.toBe(endpointKey('https://example.com/b'));
    expect(endpointKey('https://example.com/a?x=1')).not.toBe(endpointKey('https://example.com/a?x=2'));
  });

  it('drops credentials, which are shown in views and events', () => {
    expect(endpointKey('https://user:secret@example.com/hook')).toBe('https://example.com/hook');
  });

  it('returns a string that is not a URL unchanged instead of throwing', () => {
    expect(endpointKey('not a url')).toBe('not a url');
  });
});

describe('an unknown endpoint', () => {
  it('is closed, ready now and absent from the list, and nothing throws', () => {
    expect(breakers.state(A)).toBe('closed');
    expect(breakers.readyAt(A)).toBe(t);
    expect(breakers.list()).toEqual([]);
    expect(() => breakers.record(A, 'failure')).not.toThrow();
    expect(breakers.tryAcquire(B)).toBe(true);
    expect(transitions).toEqual([]);
  });
});

describe('closed to open', () => {
  it('opens exactly when requests reach minRequests at the failure ratio', () => {
    sendAll(A, 'success', 'failure', 'success');
    expect(breakers.state(A)).toBe('closed');
    send(A, 'failure');
    expect(breakers.state(A)).toBe('open');
    expect(transitions).toEqual([
      {
        endpoint: A,
        from: 'closed',
        to: 'open',
        at: new Date(t),
        requests: 4,
        failures: 2,
        reopenAt: new Date(t + policy.openMs),
      },
    ]);
  });

  it('does not open below minRequests, even when every request fails', () => {
    sendAll(A, 'failure', 'failure', 'failure');
    expect(breakers.state(A)).toBe('closed');
    expect(breakers.tryAcquire(A)).toBe(true);
  });

  it('does not open while the ratio stays below failureRatio', () => {
    sendAll(A, 'success', 'success', 'failure', 'success', 'failure', 'success');
    expect(breakers.state(A)).toBe('closed');
    send(A, 'failure'); // 3 of 7
    expect(breakers.state(A)).toBe('closed');
    send(A, 'failure'); // 4 of 8
    expect(breakers.state(A)).toBe('open');
  });

  it('opens on a success that brings the count to minRequests when the ratio is already met', () => {
    sendAll(A, 'failure', 'failure', 'failure', 'success');
    expect(breakers.state(A)).toBe('open');
    expect(transitions[0]).toMatchObject({ requests: 4, failures: 3 });
  });

  it('opens at a ratio that is not exact in binary (7 of 10 at 0.7)', () => {
    breakers = make({ minRequests: 10, failureRatio: 0.7 });
    sendAll(A, 'success', 'success', 'success', 'failure', 'failure', 'failure');
    sendAll(A, 'failure', 'failure', 'failure');
    expect(breakers.state(A)).toBe('closed');
    send(A, 'failure');
    expect(breakers.state(A)).toBe('open');
  });

  it("does not count 'ignored' outcomes at all", () => {
    sendAll(A, 'failure', 'failure', 'failure');
    for (let i = 0; i < 20; i++) send(A, 'ignored');
    expect(breakers.state(A)).toBe('closed');
    expect(breakers.list()[0]).toMatchObject({ requests: 3, failures: 3 });
    send(A, 'failure');
    expect(transitions[0]).toMatchObject({ requests: 4, failures: 4 });
  });

  it('keeps endpoints apart', () => {
    trip(A);
    expect(breakers.state(B)).toBe('closed');
    expect(breakers.tryAcquire(B)).toBe(true);
    expect(breakers.readyAt(B)).toBe(t);
  });
});

describe('the sliding window', () => {
  it('still counts failures from just under a window ago', () => {
    sendAll(A, 'failure', 'failure', 'failure');
    t += policy.windowMs - 1;
    send(A, 'failure');
    expect(breakers.state(A)).toBe('open');
  });

  it('ages out failures older than the window', () => {
    sendAll(A, 'failure', 'failure', 'failure');
    t += policy.windowMs;
    send(A, 'failure');
    expect(breakers.state(A)).toBe('closed');
    expect(breakers.list()[0]).toMatchObject({ requests: 1, failures: 1 });
  });

  it('slides bucket by bucket rather than all at once', () => {
    const bucketMs = policy.windowMs / 10;
    send(A, 'failure');
    t += bucketMs * 5;
    sendAll(A, 'failure', 'failure');
    t += bucketMs * 5; // the first failure's bucket has left; the later two remain
    expect(breakers.list()[0]).toMatchObject({ requests: 2, failures: 2 });
    send(A, 'failure');
    expect(breakers.state(A)).toBe('closed');
    send(A, 'failure');
    expect(breakers.state(A)).toBe('open');
  });

  it('counts a steady stream only over the last window', () => {
    breakers = make({ minRequests: 1_000 });
    for (let i = 0; i < 3_000; i++) {
      breakers.tryAcquire(A);
      breakers.record(A, 'success');
      t += 10;
    }
    // 10 ms apart, over nine full buckets and the current one, which has only just begun.
    const requests = breakers.list()[0]?.requests ?? 0;
    expect(requests).toBeGreaterThanOrEqual(900);
    expect(requests).toBeLessThanOrEqual(1_000);
  });
});

describe('open', () => {
  it('refuses requests and is ready at the half-open time', () => {
    trip(A);
    const reopenAt = t + policy.openMs;
    expect(breakers.tryAcquire(A)).toBe(false);
    expect(breakers.readyAt(A)).toBe(reopenAt);
    t = reopenAt - 1;
    expect(breakers.tryAcquire(A)).toBe(false);
    expect(breakers.state(A)).toBe('open');
    expect(breakers.readyAt(A)).toBe(reopenAt);
  });

  it('half-opens lazily once the open period has passed', () => {
    trip(A);
    t += policy.openMs;
    expect(breakers.readyAt(A)).toBe(t);
    expect(breakers.state(A)).toBe('half-open');
    expect(transitions.at(-1)).toEqual({
      endpoint: A,
      from: 'open',
      to: 'half-open',
      at: new Date(t),
      requests: 4,
      failures: 4,
      reopenAt: null,
    });
  });

  it('drops outcomes of requests granted before it opened', () => {
    expect(breakers.tryAcquire(A)).toBe(true); // in flight while the endpoint trips
    trip(A);
    breakers.record(A, 'success');
    breakers.record(A, 'failure');
    expect(breakers.list()[0]).toMatchObject({ state: 'open', requests: 4, failures: 4 });
    expect(transitions).toHaveLength(1);
  });

  it('is listed with its reopen time', () => {
    trip(A);
    expect(breakers.list()).toEqual([
      {
        endpoint: A,
        state: 'open',
        requests: 4,
        failures: 4,
        reopenAt: new Date(t + policy.openMs).toISOString(),
      },
    ]);
  });
});

describe('half-open', () => {
  beforeEach(() => {
    trip(A);
    t += policy.openMs;
  });

  it('grants at most halfOpenProbes probes at once', () => {
    expect(breakers.tryAcquire(A)).toBe(true);
    expect(breakers.readyAt(A)).toBe(t);
    expect(breakers.tryAcquire(A)).toBe(true);
    expect(breakers.tryAcquire(A)).toBe(false);
    expect(breakers.tryAcquire(A)).toBe(false);
    expect(breakers.readyAt(A)).toBeGreaterThan(t);
    expect(breakers.readyAt(A)).toBeLessThanOrEqual(t + 1_000);
  });

  it('frees a probe slot when a probe settles', () => {
    breakers = make({ halfOpenProbes: 3 });
    trip(A);
    t += policy.openMs;
    for (let i = 0; i < 3; i++) expect(breakers.tryAcquire(A)).toBe(true);
    expect(breakers.tryAcquire(A)).toBe(false);
    breakers.record(A, 'success');
    expect(breakers.readyAt(A)).toBe(t);
    expect(breakers.tryAcquire(A)).toBe(true);
    expect(breakers.tryAcquire(A)).toBe(false);
  });

  it('closes after halfOpenProbes successful probes', () => {
    send(A, 'success');
    expect(breakers.state(A)).toBe('half-open');
    expect(breakers.list()[0]).toMatchObject({
      state: 'half-open',
      requests: 1,
      failures: 0,
      reopenAt: null,
    });
    send(A, 'success');
    expect(breakers.state(A)).toBe('closed');
    expect(transitions.at(-1)).toEqual({
      endpoint: A,
      from: 'half-open',
      to: 'closed',
      at: new Date(t),
      requests: 2,
      failures: 0,
      reopenAt: null,
    });
  });

  it('clears the window on closing', () => {
    sendAll(A, 'success', 'success');
    expect(breakers.list()[0]).toMatchObject({ state: 'closed', requests: 0, failures: 0 });
    sendAll(A, 'failure', 'failure', 'failure');
    expect(breakers.state(A)).toBe('closed');
  });

  it('reopens when a probe fails, doubling the open period up to maxOpenMs', () => {
    const periods: number[] = [];
    for (let i = 0; i < 5; i++) {
      send(A, 'failure');
      expect(breakers.state(A)).toBe('open');
      const reopenAt = breakers.readyAt(A);
      periods.push(reopenAt - t);
      expect(transitions.at(-1)).toEqual({
        endpoint: A,
        from: 'half-open',
        to: 'open',
        at: new Date(t),
        requests: 1,
        failures: 1,
        reopenAt: new Date(reopenAt),
      });
      t = reopenAt;
    }
    expect(periods).toEqual([2_000, 4_000, 5_000, 5_000, 5_000]);
  });

  it('reopens on a failure even after a successful probe', () => {
    send(A, 'success');
    send(A, 'failure');
    expect(breakers.state(A)).toBe('open');
    expect(transitions.at(-1)).toMatchObject({ from: 'half-open', to: 'open', requests: 2, failures: 1 });
  });

  it('resets the open period to openMs after closing', () => {
    send(A, 'failure');
    t = breakers.readyAt(A);
    send(A, 'failure');
    t = breakers.readyAt(A);
    sendAll(A, 'success', 'success');
    expect(breakers.state(A)).toBe('closed');
    trip(A);
    expect(breakers.readyAt(A)).toBe(t + policy.openMs);
    t += policy.openMs;
    send(A, 'failure');
    expect(breakers.readyAt(A)).toBe(t + 2 * policy.openMs);
  });

  it("treats 'ignored' as releasing a probe without counting it", () => {
    expect(breakers.tryAcquire(A)).toBe(true);
    expect(breakers.tryAcquire(A)).toBe(true);
    expect(breakers.tryAcquire(A)).toBe(false);
    breakers.record(A, 'ignored');
    expect(breakers.state(A)).toBe('half-open');
    expect(breakers.tryAcquire(A)).toBe(true);
    breakers.record(A, 'success');
    breakers.record(A, 'ignored');
    expect(breakers.state(A)).toBe('half-open');
    expect(breakers.list()[0]).toMatchObject({ requests: 1, failures: 0 });
    send(A, 'success');
    expect(breakers.state(A)).toBe('closed');
  });

  it('drops an outcome when no probe is out', () => {
    breakers.record(A, 'failure');
    breakers.record(A, 'success');
    breakers.record(A, 'success');
    expect(breakers.state(A)).toBe('half-open');
    expect(breakers.tryAcquire(A)).toBe(true);
    expect(breakers.tryAcquire(A)).toBe(true);
  });
});

describe('transitions', () => {
  it('are emitted once each over a whole outage', () => {
    trip(A);
    for (let i = 0; i < 5; i++) {
      expect(breakers.tryAcquire(A)).toBe(false);
      breakers.state(A);
      breakers.readyAt(A);
      breakers.list();
    }
    t += policy.openMs;
    for (let i = 0; i < 5; i++) breakers.state(A);
    send(A, 'failure');
    t = breakers.readyAt(A);
    breakers.list();
    sendAll(A, 'success', 'success');
    sendAll(A, 'success', 'success', 'failure');
    expect(moves()).toEqual([
      'closed->open',
      'open->half-open',
      'half-open->open',
      'open->half-open',
      'half-open->closed',
    ]);
    expect(transitions.every((tr) => tr.endpoint === A)).toBe(true);
  });

  it('see the new state when the listener calls back in', () => {
    const seen: string[] = [];
    breakers = new Breakers(
      policy,
      (tr) => seen.push(`${tr.to}:${breakers.state(tr.endpoint)}`),
      () => t,
    );
    trip(A);
    t += policy.openMs;
    breakers.state(A);
    sendAll(A, 'success', 'success');
    expect(seen).toEqual(['open:open', 'half-open:half-open', 'closed:closed']);
  });
});

describe('pruning', () => {
  const idleMs = 10 * policy.windowMs;

  it('forgets closed endpoints untouched for ten windows', () => {
    send(A, 'failure');
    send(B, 'success');
    t += idleMs - policy.windowMs;
    send(B, 'success');
    t += policy.windowMs;
    expect(breakers.list().map((v) => v.endpoint)).toEqual([B]);
    expect(breakers.state(A)).toBe('closed');
  });

  it('keeps an endpoint touched within ten windows', () => {
    send(A, 'success');
    t += idleMs - 1;
    breakers.tryAcquire(B);
    expect(breakers.list().map((v) => v.endpoint)).toEqual([A, B]);
  });

  it('keeps open and half-open endpoints however long they wait', () => {
    trip(A);
    t += 3 * idleMs;
    send(B, 'success');
    expect(breakers.list().map((v) => [v.endpoint, v.state])).toEqual([
      [A, 'half-open'],
      [B, 'closed'],
    ]);
    t += 3 * idleMs;
    send(B, 'success');
    expect(breakers.list().map((v) => v.endpoint)).toEqual([A, B]);
  });

  it('bounds the map under a stream of one-off endpoints', () => {
    for (let i = 0; i < 10_000; i++) {
      send(`https://e${i}.example/`, 'success');
      t += policy.windowMs / 10;
    }
    // One endpoint per tenth of a window, forgotten after ten windows and swept once a window.
    expect(breakers.list().length).toBeLessThanOrEqual(110);
  });
});
