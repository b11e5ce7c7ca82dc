/**
 * All retry timing in one place: exponential backoff with full jitter, `Retry-After`, and the
 * retry budget (attempts and age) that ends in a dead letter.
 */
import type { DeliveryPolicy } from '../storage/ports.js';

/**
 * The delay before retry number `attempt` (1 for the first retry): a uniform draw from zero to the
 * exponential cap. Full jitter spreads a burst of failures out instead of retrying them in lockstep,
 * which is what turns one slow endpoint into a retry storm.
 */
export function backoffDelay(
  attempt: number,
  policy: Pick<DeliveryPolicy, 'initialDelayMs' | 'maxDelayMs'>,
  random = Math.random,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}

/**
 * The wait a `Retry-After` header asks for, in milliseconds: delta-seconds or an HTTP date
 * (RFC 9110 section 10.2.3). Undefined when absent or unreadable, so the caller falls back to backoff.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Every HTTP-date form starts with a day name; anything else ("1.5", "-1") is not a date, even
  // where Date.parse would read one into it.
  if (!/^[A-Za-z]{3}/.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * When to try again, or null when the budget is spent: `attemptsMade` counts the attempt that just
 * failed, and `since` is when the budget began (creation or the last redrive).
 */
export function nextAttemptTime(
  attemptsMade: number,
  since: number,
  now: number,
  policy: DeliveryPolicy,
  retryAfterMs: number | undefined,
): Date | null {
  if (attemptsMade >= policy.maxAttempts) return null;
  const delay =
    retryAfterMs === undefined
      ? backoffDelay(attemptsMade, policy)
      : Math.min(retryAfterMs, policy.maxRetryAfterMs);
  const at = now + delay;
  if (at - since > policy.maxAgeMs) return null;
  return new Date(at);
}
