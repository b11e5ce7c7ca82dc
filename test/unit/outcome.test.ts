import { describe, expect, it } from 'vitest';
import { DEFAULT_DELIVERY_POLICY } from '../../src/core/config.js';
import { decideOutcome } from '../../src/delivery/outcome.js';
import type { HttpSendResult } from '../../src/delivery/sinks/http.js';
import type { DeliveryPolicy } from '../../src/storage/ports.js';

const policy: DeliveryPolicy = {
  ...DEFAULT_DELIVERY_POLICY,
  maxAttempts: 4,
  maxAgeMs: 60 * 60_000,
  initialDelayMs: 1_000,
  maxDelayMs: 60_000,
  maxRetryAfterMs: 10 * 60_000,
};

const at = new Date('2024-05-01T12:00:00.000Z');
const now = at.getTime();

const fresh = { attempts: 0, budgetAttempts: 0, budgetSince: at.toISOString() };

function response(
  status: number,
  headers: Record<string, string | string[] | undefined> = {},
  excerpt = '',
): HttpSendResult {
  return { ok: true, status, headers, excerpt, latencyMs: 12.3456 };
}

function failure(error: string, timedOut = false): HttpSendResult {
  return { ok: false, error, timedOut, latencyMs: 15_000.004 };
}

describe('decideOutcome', () => {
  it('2xx is delivered, with the attempt recorded', () => {
    for (const status of [200, 201, 202, 204, 299]) {
      const result = decideOutcome(fresh, policy, response(status, {}, 'thanks'), at);
      expect(result).toEqual({
        kind: 'delivered',
        attempt: {
          n: 1,
          at: at.toISOString(),
          status,
          outcome: 'delivered',
          latencyMs: 12.35,
          error: null,
          response: 'thanks',
        },
      });
    }
  });

  it('numbers the attempt attempts + 1, independent of the budget', () => {
    const d = { attempts: 7, budgetAttempts: 0, budgetSince: at.toISOString() };
    expect(decideOutcome(d, policy, response(200), at).attempt.n).toBe(8);
    expect(decideOutcome(d, policy, response(500), at).attempt.n).toBe(8);
    expect(decideOutcome(d, policy, failure('ECONNREFUSED'), at).attempt.n).toBe(8);
  });

  it('a request the sink refused before sending is dead at once: sending it again cannot help', () => {
    const refused: HttpSendResult = {
      ok: false,
      error: "header 'x' has a bad value",
      timedOut: false,
      latencyMs: 0,
      refused: true,
    };
    const result = decideOutcome(fresh, policy, refused, at);
    expect(result.kind).toBe('dead');
    expect(result.attempt).toMatchObject({ n: 1, status: null, outcome: 'dead' });
    expect(result.kind === 'dead' && result.reason).toMatch(/bad value\); fix the subscription's headers/);
  });

  it('410 disables the subscription', () => {
    const result = decideOutcome(fresh, policy, response(410, {}, 'gone'), at);
    expect(result.kind).toBe('disable');
    if (result.kind !== 'disable') return;
    expect(result.reason).toMatch(/410/);
    expect(result.attempt).toMatchObject({ status: 410, outcome: 'disabled', response: 'gone' });
    expect(result.attempt.error).toMatch(/410/);
  });

  it('other 4xx are dead at once, even with budget left', () => {
    for (const status of [400, 401, 403, 404, 409, 413, 422, 499]) {
      const result = decideOutcome(
        fresh,
        policy,
        response(status, { 'retry-after': '5' }, '{"error":"bad"}'),
        at,
      );
      expect(result.kind, String(status)).toBe('dead');
      if (result.kind !== 'dead') continue;
      expect(result.reason).toContain(`HTTP ${status}`);
      expect(result.attempt).toMatchObject({
        status,
        outcome: 'dead',
        error: `HTTP ${status}`,
        response: '{"error":"bad"}',
      });
    }
  });

  it('retries the 4xx statuses a subscription lists in retryOn, and only those', () => {
    const n8n = { ...policy, retryOn: [404] };
    const retried = decideOutcome(fresh, n8n, response(404, {}, 'webhook not registered'), at);
    expect(retried.kind).toBe('retry');
    expect(retried.attempt).toMatchObject({ status: 404, outcome: 'retry', error: 'HTTP 404' });
    expect(decideOutcome(fresh, n8n, response(400), at).kind).toBe('dead');
    const spent = { attempts: 3, budgetAttempts: 3, budgetSince: at.toISOString() };
    const dead = decideOutcome(spent, n8n, response(404), at);
    expect(dead.kind).toBe('dead');
    if (dead.kind === 'dead') expect(dead.reason).toMatch(/gave up after 4 attempts; last: HTTP 404/);
  });

  it('3xx is dead at once, naming the Location to point the subscription at', () => {
    for (const status of [301, 302, 303, 307, 308]) {
      const result = decideOutcome(
        fresh,
        policy,
        response(status, { location: 'https://new.example.com/hooks' }, 'moved'),
        at,
      );
      expect(result.kind, String(status)).toBe('dead');
      if (result.kind !== 'dead') continue;
      expect(result.reason).toBe(
        `HTTP ${status}: the sink redirected to https://new.example.com/hooks; point the subscription at the new URL and redrive`,
      );
      expect(result.attempt).toMatchObject({
        n: 1,
        status,
        outcome: 'dead',
        error: `HTTP ${status}`,
        response: 'moved',
      });
    }
  });

  it('3xx without a Location is dead too, and takes the first of several', () => {
    const bare = decideOutcome(fresh, policy, response(302), at);
    expect(bare.kind).toBe('dead');
    if (bare.kind === 'dead') expect(bare.reason).toMatch(/^HTTP 302: the sink answered with a redirect/);

    const many = decideOutcome(fresh, policy, response(301, { location: ['/a', '/b'] }), at);
    if (many.kind !== 'dead') throw new Error(`expected dead, got ${many.kind}`);
    expect(many.reason).toMatch(/redirected to \/a;/);
  });

  it('5xx is retried with backoff while the budget lasts', () => {
    for (const status of [500, 502, 504, 599]) {
      const result = decideOutcome(fresh, policy, response(status, {}, 'oops'), at);
      expect(result.kind).toBe('retry');
      if (result.kind !== 'retry') continue;
      const delay = result.nextAttemptAt.getTime() - now;
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(policy.initialDelayMs);
      expect(result.attempt).toMatchObject({
        n: 1,
        status,
        outcome: 'retry',
        error: `HTTP ${status}`,
        response: 'oops',
      });
    }
  });

  it('backoff grows with the budget attempts already made', () => {
    const d = { attempts: 2, budgetAttempts: 2, budgetSince: at.toISOString() };
    for (let i = 0; i < 200; i++) {
      const result = decideOutcome(d, policy, response(500), at);
      if (result.kind !== 'retry') throw new Error(`expected retry, got ${result.kind}`);
      expect(result.nextAttemptAt.getTime() - now).toBeLessThan(4 * policy.initialDelayMs);
    }
  });

  it('5xx is dead when the attempt budget is spent', () => {
    const d = { attempts: 3, budgetAttempts: 3, budgetSince: at.toISOString() };
    const result = decideOutcome(d, policy, response(500, {}, 'still down'), at);
    expect(result.kind).toBe('dead');
    if (result.kind !== 'dead') return;
    expect(result.reason).toMatch(/gave up after 4 attempts/);
    expect(result.reason).toMatch(/HTTP 500/);
    expect(result.attempt).toMatchObject({ n: 4, status: 500, outcome: 'dead', response: 'still down' });
  });

  it('counts the budget, not total attempts, after a redrive', () => {
    const d = { attempts: 10, budgetAttempts: 1, budgetSince: at.toISOString() };
    const result = decideOutcome(d, policy, response(500), at);
    expect(result.kind).toBe('retry');
    expect(result.attempt.n).toBe(11);
  });

  it('5xx is dead when the next retry would pass maxAgeMs', () => {
    const d = {
      attempts: 1,
      budgetAttempts: 1,
      budgetSince: new Date(now - policy.maxAgeMs - 1).toISOString(),
    };
    const result = decideOutcome(d, policy, response(503), at);
    expect(result.kind).toBe('dead');
    if (result.kind !== 'dead') return;
    expect(result.reason).toMatch(/maxAgeMs/);
    expect(result.reason).toMatch(/HTTP 503/);
  });

  it.each([429, 503])('%i honours Retry-After in seconds and as an HTTP date', (status) => {
    const seconds = decideOutcome(fresh, policy, response(status, { 'retry-after': '120' }), at);
    expect(seconds.kind).toBe('retry');
    if (seconds.kind === 'retry') expect(seconds.nextAttemptAt.getTime()).toBe(now + 120_000);
    expect(seconds.attempt).toMatchObject({ status, outcome: 'retry', error: `HTTP ${status}` });

    const date = decideOutcome(
      fresh,
      policy,
      response(status, { 'retry-after': 'Wed, 01 May 2024 12:05:00 GMT' }),
      at,
    );
    if (date.kind !== 'retry') throw new Error(`expected retry, got ${date.kind}`);
    expect(date.nextAttemptAt.getTime()).toBe(now + 5 * 60_000);

    const list = decideOutcome(fresh, policy, response(status, { 'retry-after': ['30', '90'] }), at);
    if (list.kind !== 'retry') throw new Error(`expected retry, got ${list.kind}`);
    expect(list.nextAttemptAt.getTime()).toBe(now + 30_000);
  });

  it.each([429, 503])('%i caps Retry-After at maxRetryAfterMs', (status) => {
    const result = decideOutcome(fresh, policy, response(status, { 'retry-after': '86400' }), at);
    if (result.kind !== 'retry') throw new Error(`expected retry, got ${result.kind}`);
    expect(result.nextAttemptAt.getTime()).toBe(now + policy.maxRetryAfterMs);
  });

  it.each([429, 503])('%i without a readable Retry-After falls back to backoff', (status) => {
    for (const headers of [{}, { 'retry-after': 'later' }]) {
      const result = decideOutcome(fresh, policy, response(status, headers), at);
      if (result.kind !== 'retry') throw new Error(`expected retry, got ${result.kind}`);
      const delay = result.nextAttemptAt.getTime() - now;
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(policy.initialDelayMs);
    }
  });

  it.each([429, 503])('%i is dead when the budget is spent, Retry-After or not', (status) => {
    const spent = { attempts: 3, budgetAttempts: 3, budgetSince: at.toISOString() };
    const result = decideOutcome(spent, policy, response(status, { 'retry-after': '1' }), at);
    expect(result.kind).toBe('dead');
    if (result.kind === 'dead')
      expect(result.reason).toMatch(new RegExp(`gave up after 4 attempts; last: HTTP ${status}`));

    const old = {
      attempts: 1,
      budgetAttempts: 1,
      budgetSince: new Date(now - policy.maxAgeMs + 60_000).toISOString(),
    };
    const late = decideOutcome(old, policy, response(status, { 'retry-after': '120' }), at);
    expect(late.kind).toBe('dead');
    if (late.kind === 'dead') expect(late.reason).toMatch(/maxAgeMs/);
  });

  it('connection errors and timeouts are retried, with no status or response', () => {
    for (const sent of [
      failure('connect ECONNREFUSED 127.0.0.1:9'),
      failure('no response within 15000 ms', true),
    ]) {
      const result = decideOutcome(fresh, policy, sent, at);
      expect(result.kind).toBe('retry');
      if (result.kind !== 'retry') continue;
      expect(result.attempt).toEqual({
        n: 1,
        at: at.toISOString(),
        status: null,
        outcome: 'retry',
        latencyMs: 15_000,
        error: sent.ok ? null : sent.error,
        response: null,
      });
      expect(result.nextAttemptAt.getTime()).toBeGreaterThanOrEqual(now);
    }
  });

  it('connection errors are dead when the budget is spent, naming the error', () => {
    const d = { attempts: 3, budgetAttempts: 3, budgetSince: at.toISOString() };
    const result = decideOutcome(d, policy, failure('no response within 15000 ms', true), at);
    expect(result.kind).toBe('dead');
    if (result.kind !== 'dead') return;
    expect(result.reason).toBe('gave up after 4 attempts; last: no response within 15000 ms');
    expect(result.attempt).toMatchObject({
      status: null,
      outcome: 'dead',
      error: 'no response within 15000 ms',
    });
  });

  it('keeps the response excerpt on every outcome that had a response', () => {
    const excerpt = 'x'.repeat(1024);
    for (const status of [200, 301, 410, 404, 429, 500]) {
      expect(decideOutcome(fresh, policy, response(status, {}, excerpt), at).attempt.response).toBe(excerpt);
    }
  });
});
