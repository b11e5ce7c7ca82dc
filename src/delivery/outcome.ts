/**
 * What an attempt's result means for the delivery: delivered, retried (when), dead, or the
 * subscription disabled. The rules are those of `DESIGN.md`.
 */
import type { Attempt, AttemptResult, Delivery, DeliveryPolicy } from '../storage/ports.js';
import { nextAttemptTime, parseRetryAfter } from './backoff.js';
import type { HttpSendResult } from './sinks/http.js';

export function decideOutcome(
  delivery: Pick<Delivery, 'attempts' | 'budgetAttempts' | 'budgetSince'>,
  policy: DeliveryPolicy,
  sent: HttpSendResult,
  at: Date,
): AttemptResult {
  const now = at.getTime();
  const base = {
    n: delivery.attempts + 1,
    at: at.toISOString(),
    latencyMs: Math.round(sent.latencyMs * 100) / 100,
  };
  const retryOrDead = (
    attempt: Omit<Attempt, 'outcome'>,
    retryAfterMs: number | undefined,
  ): AttemptResult => {
    const next = nextAttemptTime(
      delivery.budgetAttempts + 1,
      Date.parse(delivery.budgetSince),
      now,
      policy,
      retryAfterMs,
    );
    if (next) return { kind: 'retry', attempt: { ...attempt, outcome: 'retry' }, nextAttemptAt: next };
    const spent =
      delivery.budgetAttempts + 1 >= policy.maxAttempts
        ? `gave up after ${policy.maxAttempts} attempts`
        : `gave up: the next retry would pass maxAgeMs (${policy.maxAgeMs} ms)`;
    const last = attempt.error ?? `HTTP ${attempt.status}`;
    return { kind: 'dead', attempt: { ...attempt, outcome: 'dead' }, reason: `${spent}; last: ${last}` };
  };

  if (!sent.ok && sent.refused) {
    return {
      kind: 'dead',
      attempt: { ...base, status: null, outcome: 'dead', error: sent.error, response: null },
      reason: `the request could not be sent as it is (${sent.error}); fix the subscription's headers, then redrive`,
    };
  }
  if (!sent.ok) return retryOrDead({ ...base, status: null, error: sent.error, response: null }, undefined);

  const attempt = { ...base, status: sent.status, error: null, response: sent.excerpt };
  const s = sent.status;
  if (s >= 200 && s < 300) return { kind: 'delivered', attempt: { ...attempt, outcome: 'delivered' } };
  if (s === 410) {
    return {
      kind: 'disable',
      attempt: { ...attempt, outcome: 'disabled', error: 'HTTP 410: the sink is gone' },
      reason: 'the sink answered 410 Gone',
    };
  }
  if (s === 429 || s === 503) {
    const header = sent.headers['retry-after'];
    const retryAfter = parseRetryAfter(Array.isArray(header) ? header[0] : header, now);
    return retryOrDead({ ...attempt, error: `HTTP ${s}` }, retryAfter);
  }
  // undici does not follow redirects, and a delivery should not: the signed request was meant for
  // this URL. Retrying would only meet the same redirect, so the answer is permanent.
  if (s >= 300 && s < 400) {
    const header = sent.headers.location;
    const location = Array.isArray(header) ? header[0] : header;
    return {
      kind: 'dead',
      attempt: { ...attempt, outcome: 'dead', error: `HTTP ${s}` },
      reason: location
        ? `HTTP ${s}: the sink redirected to ${location}; point the subscription at the new URL and redrive`
        : `HTTP ${s}: the sink answered with a redirect; point the subscription at the new URL and redrive`,
    };
  }
  if (s >= 400 && s < 500 && !policy.retryOn.includes(s)) {
    return {
      kind: 'dead',
      attempt: { ...attempt, outcome: 'dead', error: `HTTP ${s}` },
      reason: `HTTP ${s} is permanent: fix the request or the sink, then redrive`,
    };
  }
  return retryOrDead({ ...attempt, error: `HTTP ${s}` }, undefined);
}
