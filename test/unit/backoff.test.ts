import { describe, expect, it } from 'vitest';
import { DEFAULT_DELIVERY_POLICY } from '../../src/core/config.js';
import { backoffDelay, nextAttemptTime, parseRetryAfter } from '../../src/delivery/backoff.js';
import type { DeliveryPolicy } from '../../src/storage/ports.js';

const policy: DeliveryPolicy = {
  ...DEFAULT_DELIVERY_POLICY,
  maxAttempts: 5,
  maxAgeMs: 60_000,
  initialDelayMs: 1_000,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 30_000,
};

/** The largest value Math.random can return. */
const ALMOST_ONE = 1 - Number.EPSILON;

describe('backoffDelay', () => {
  it('draws uniformly from zero to the exponential cap (full jitter)', () => {
    const caps = [1_000, 2_000, 4_000, 8_000];
    caps.forEach((cap, i) => {
      const attempt = i + 1;
      expect(backoffDelay(attempt, policy, () => 0)).toBe(0);
      expect(backoffDelay(attempt, policy, () => 0.5)).toBe(cap / 2);
      expect(backoffDelay(attempt, policy, () => 0.25)).toBe(cap / 4);
      expect(backoffDelay(attempt, policy, () => ALMOST_ONE)).toBe(cap - 1);
    });
  });

  it('never exceeds maxDelayMs, however many attempts', () => {
    for (const attempt of [5, 6, 10, 50, 100]) {
      expect(backoffDelay(attempt, policy, () => ALMOST_ONE)).toBe(policy.maxDelayMs - 1);
      expect(backoffDelay(attempt, policy, () => 0.5)).toBe(policy.maxDelayMs / 2);
    }
  });

  it('treats attempt 0 or less like the first retry', () => {
    expect(backoffDelay(0, policy, () => 0.5)).toBe(500);
    expect(backoffDelay(-3, policy, () => 0.5)).toBe(500);
  });

  it('returns whole milliseconds', () => {
    expect(backoffDelay(1, policy, () => 0.123456)).toBe(123);
    expect(Number.isInteger(backoffDelay(3, policy, () => Math.random()))).toBe(true);
  });

  it('is zero when there is no delay to draw from', () => {
    expect(backoffDelay(3, { initialDelayMs: 0, maxDelayMs: 10_000 }, () => 0.9)).toBe(0);
    expect(backoffDelay(3, { initialDelayMs: 1_000, maxDelayMs: 0 }, () => 0.9)).toBe(0);
  });

  it('stays within bounds with the real random source', () => {
    for (let i = 0; i < 2_000; i++) {
      const attempt = 1 + (i % 8);
      const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
      const d = backoffDelay(attempt, policy);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(cap);
    }
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2024-05-01T12:00:00.000Z');

  it('is undefined when the header is absent', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('1', now)).toBe(1_000);
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 30 ', now)).toBe(30_000);
    expect(parseRetryAfter('007', now)).toBe(7_000);
  });

  it('reads an HTTP date, relative to now', () => {
    expect(parseRetryAfter('Wed, 01 May 2024 12:00:45 GMT', now)).toBe(45_000);
    expect(parseRetryAfter('Wed, 01 May 2024 13:00:00 GMT', now)).toBe(3_600_000);
  });

  it('a date in the past means no wait', () => {
    expect(parseRetryAfter('Wed, 01 May 2024 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:00 GMT', now)).toBe(0);
  });

  it('is undefined for garbage', () => {
    for (const garbage of ['', '   ', 'soon', 'tomorrow', '12abc', '1e3', '0x10', 'Infinity', 'NaN']) {
      expect(parseRetryAfter(garbage, now), JSON.stringify(garbage)).toBeUndefined();
    }
  });

  it('is undefined for numbers that are not delta-seconds, instead of reading them as dates', () => {
    // RFC 9110 allows only 1*DIGIT or an HTTP-date. Date.parse reads "1.5" and "-1" as dates in 2001,
    // which would make a sink that sent a fractional or negative value be retried at once.
    for (const bad of ['1.5', '-1', '3.0', '+5']) {
      expect(parseRetryAfter(bad, now), JSON.stringify(bad)).toBeUndefined();
    }
  });
});

describe('nextAttemptTime', () => {
  const now = Date.parse('2024-05-01T12:00:00.000Z');

  it('schedules a retry within the backoff cap for the attempts made', () => {
    for (let made = 1; made < policy.maxAttempts; made++) {
      const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (made - 1));
      const next = nextAttemptTime(made, now, now, policy, undefined);
      expect(next).toBeInstanceOf(Date);
      const delay = next!.getTime() - now;
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(cap);
    }
  });

  it('gives up once maxAttempts attempts were made', () => {
    expect(nextAttemptTime(policy.maxAttempts - 1, now, now, policy, undefined)).not.toBeNull();
    expect(nextAttemptTime(policy.maxAttempts, now, now, policy, undefined)).toBeNull();
    expect(nextAttemptTime(policy.maxAttempts + 3, now, now, policy, undefined)).toBeNull();
    expect(nextAttemptTime(1, now, now, { ...policy, maxAttempts: 1 }, 0)).toBeNull();
  });

  it('uses Retry-After instead of backoff, capped by maxRetryAfterMs', () => {
    expect(nextAttemptTime(1, now, now, policy, 7_000)!.getTime()).toBe(now + 7_000);
    expect(nextAttemptTime(1, now, now, policy, 0)!.getTime()).toBe(now);
    // Larger than the backoff cap is fine, as long as it fits maxRetryAfterMs.
    expect(nextAttemptTime(1, now, now, policy, 25_000)!.getTime()).toBe(now + 25_000);
    expect(nextAttemptTime(1, now, now, policy, 10 * 60_000)!.getTime()).toBe(now + policy.maxRetryAfterMs);
  });

  it('gives up when the next attempt would pass maxAgeMs since the budget began', () => {
    const since = now - 50_000;
    expect(nextAttemptTime(1, since, now, policy, 10_000)!.getTime()).toBe(now + 10_000);
    expect(nextAttemptTime(1, since, now, policy, 10_001)).toBeNull();
    expect(nextAttemptTime(1, now - 60_001, now, policy, 0)).toBeNull();
    // With backoff, once the age is spent any delay is too late.
    expect(nextAttemptTime(1, now - 61_000, now, policy, undefined)).toBeNull();
  });

  it('measures age from since, so a recent budget start allows a retry', () => {
    const created = now - 10 * 60_000;
    expect(nextAttemptTime(1, created, now, policy, 1_000)).toBeNull();
    expect(nextAttemptTime(1, now - 1_000, now, policy, 1_000)!.getTime()).toBe(now + 1_000);
  });
});
