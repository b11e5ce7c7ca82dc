/**
 * One circuit breaker per sink endpoint, shared by every subscription that delivers to it, so a dead
 * endpoint costs each subscription no attempts while it is open.
 *
 * Written by hand: the breaker libraries on npm (opossum, cockatiel) wrap a function call and keep
 * their own timers, while the dispatcher needs a synchronous gate per URL that it can ask "may a
 * request start?" and "when?", on a clock it controls, with memory bounded per endpoint.
 */
import type { BreakerPolicy } from '../core/config.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * What a granted request came to. `ignored` is for a result that says nothing about the endpoint's
 * health: a send aborted by shutdown, or a 4xx or 429 from an endpoint that is up but refuses.
 */
export type BreakerOutcome = 'success' | 'failure' | 'ignored';

export interface BreakerTransition {
  endpoint: string;
  from: BreakerState;
  to: BreakerState;
  at: Date;
  /**
   * The requests behind the change: the window's for closed to open, the settled probes for a change
   * out of half-open, and those that opened it for open to half-open.
   */
  requests: number;
  /** The failures among `requests`. */
  failures: number;
  /** When it half-opens, for a transition to open; null otherwise. */
  reopenAt: Date | null;
}

export interface BreakerView {
  endpoint: string;
  state: BreakerState;
  /** Closed: requests in the window. Open: those that opened it. Half-open: probes settled so far. */
  requests: number;
  failures: number;
  /** ISO time at which an open breaker half-opens; null in the other states. */
  reopenAt: string | null;
}

/**
 * The buckets a window is cut into. Ten keeps memory fixed per endpoint while the window slides in
 * steps of a tenth: at any moment it covers between 90% and 100% of `windowMs`.
 */
const BUCKETS = 10;
/** A closed endpoint untouched for this many windows is forgotten; it comes back closed and empty. */
const PRUNE_AFTER_WINDOWS = 10;
/** How soon to ask again when every half-open probe is out: a probe settles on no clock of ours. */
const PROBE_POLL_MS = 100;

/**
 * The key breakers are shared by: the WHATWG URL without its fragment, which normalises case, default
 * port and percent-encoding, so `HTTPS://Example.com:443/hook` and `https://example.com/hook` share
 * one breaker. Credentials are dropped because the key is shown in views and published in endpoint
 * events, and they do not make a different server. A string that is not a URL is its own key, so a
 * bad sink URL never stops the dispatcher.
 *
 * @example
 * endpointKey('https://user:pw@Hooks.example.com:443/in?team=1#x'); // 'https://hooks.example.com/in?team=1'
 */
export function endpointKey(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  parsed.hash = '';
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}

/** Request and failure counts over the last window, in fixed time buckets. */
class SlidingWindow {
  private readonly ids = new Array<number>(BUCKETS).fill(Number.NEGATIVE_INFINITY);
  private readonly requests = new Array<number>(BUCKETS).fill(0);
  private readonly failures = new Array<number>(BUCKETS).fill(0);

  constructor(private readonly bucketMs: number) {}

  add(now: number, failed: boolean): void {
    const id = Math.floor(now / this.bucketMs);
    const i = ((id % BUCKETS) + BUCKETS) % BUCKETS;
    if (this.ids[i] !== id) {
      this.ids[i] = id;
      this.requests[i] = 0;
      this.failures[i] = 0;
    }
    this.requests[i] = (this.requests[i] ?? 0) + 1;
    if (failed) this.failures[i] = (this.failures[i] ?? 0) + 1;
  }

  totals(now: number): { requests: number; failures: number } {
    const oldest = Math.floor(now / this.bucketMs) - BUCKETS + 1;
    let requests = 0;
    let failures = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if ((this.ids[i] ?? Number.NEGATIVE_INFINITY) < oldest) continue;
      requests += this.requests[i] ?? 0;
      failures += this.failures[i] ?? 0;
    }
    return { requests, failures };
  }

  clear(): void {
    this.ids.fill(Number.NEGATIVE_INFINITY);
  }
}

interface Endpoint {
  state: BreakerState;
  window: SlidingWindow;
  /** While open or half-open, the counts a view shows (see BreakerView); unused when closed. */
  requests: number;
  failures: number;
  openPeriodMs: number;
  reopenAt: number;
  /** Probes granted while half-open and not yet recorded. */
  probesOut: number;
  touchedAt: number;
}

/**
 * The breakers of all endpoints. Pure: no timers and no I/O; time comes from `now`, and open to
 * half-open happens lazily when the endpoint is next looked at. `onTransition` is called synchronously
 * once the state has changed, so it may call back in.
 *
 * Outcomes cannot be matched to the grant they answer, so one recorded while open, or while half-open
 * with no probe out, is taken for a request granted before the breaker opened and is dropped.
 *
 * @example
 * const breakers = new Breakers(config.breaker, (t) => log.info(t, 'breaker'));
 * const key = endpointKey(subscription.sink.url);
 * if (breakers.tryAcquire(key)) {
 *   const sent = await send();
 *   breakers.record(key, sent.ok ? 'success' : 'failure');
 * } else {
 *   reschedule(breakers.readyAt(key)); // spends no attempt
 * }
 */
export class Breakers {
  private readonly endpoints = new Map<string, Endpoint>();
  private nextSweepAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly policy: BreakerPolicy,
    private readonly onTransition: (t: BreakerTransition) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * May a request to the endpoint start now? Closed: yes. Open: no. Half-open: yes while fewer than
   * `halfOpenProbes` granted probes are out; a granted probe is out until `record`.
   */
  tryAcquire(endpoint: string): boolean {
    const now = this.now();
    const e = this.touch(endpoint, now);
    if (e.state === 'closed') return true;
    if (e.state === 'open') return false;
    if (e.probesOut >= this.policy.halfOpenProbes) return false;
    e.probesOut++;
    return true;
  }

  /**
   * Epoch ms at which `tryAcquire` may next say yes: now when closed or when a probe slot is free,
   * the half-open time when open, and a short poll ahead when every probe is out.
   */
  readyAt(endpoint: string): number {
    const now = this.now();
    const e = this.endpoints.get(endpoint);
    if (!e) return now;
    this.advance(endpoint, e, now);
    if (e.state === 'open') return e.reopenAt;
    if (e.state === 'half-open' && e.probesOut >= this.policy.halfOpenProbes) return now + PROBE_POLL_MS;
    return now;
  }

  /** The outcome of a request that `tryAcquire` granted. `ignored` only frees a half-open probe slot. */
  record(endpoint: string, outcome: BreakerOutcome): void {
    const now = this.now();
    const e = this.touch(endpoint, now);
    if (e.state === 'open') return;
    if (e.state === 'closed') {
      if (outcome === 'ignored') return;
      e.window.add(now, outcome === 'failure');
      const { requests, failures } = e.window.totals(now);
      if (requests >= this.policy.minRequests && failures / requests >= this.policy.failureRatio) {
        this.trip(endpoint, e, now, this.policy.openMs, requests, failures);
      }
      return;
    }
    if (e.probesOut === 0) return;
    e.probesOut--;
    if (outcome === 'ignored') return;
    e.requests++;
    if (outcome === 'failure') {
      e.failures++;
      const period = Math.min(e.openPeriodMs * 2, this.policy.maxOpenMs);
      this.trip(endpoint, e, now, period, e.requests, e.failures);
    } else if (e.requests >= this.policy.halfOpenProbes) {
      this.close(endpoint, e, now);
    }
  }

  /** The endpoint's state now; `closed` for one never seen. */
  state(endpoint: string): BreakerState {
    const e = this.endpoints.get(endpoint);
    if (!e) return 'closed';
    this.advance(endpoint, e, this.now());
    return e.state;
  }

  /** Every endpoint the breakers remember, as of now. */
  list(): BreakerView[] {
    const now = this.now();
    this.sweep(now);
    const views: BreakerView[] = [];
    for (const [endpoint, e] of this.endpoints) {
      this.advance(endpoint, e, now);
      const counts =
        e.state === 'closed' ? e.window.totals(now) : { requests: e.requests, failures: e.failures };
      const reopenAt = e.state === 'open' ? new Date(e.reopenAt).toISOString() : null;
      views.push({ endpoint, state: e.state, ...counts, reopenAt });
    }
    return views;
  }

  /** The endpoint's entry, created closed if unknown, brought up to date and marked as used. */
  private touch(endpoint: string, now: number): Endpoint {
    this.sweep(now);
    let e = this.endpoints.get(endpoint);
    if (!e) {
      e = {
        state: 'closed',
        window: new SlidingWindow(this.policy.windowMs / BUCKETS),
        requests: 0,
        failures: 0,
        openPeriodMs: this.policy.openMs,
        reopenAt: 0,
        probesOut: 0,
        touchedAt: now,
      };
      this.endpoints.set(endpoint, e);
    }
    e.touchedAt = now;
    this.advance(endpoint, e, now);
    return e;
  }

  /** Half-opens an open endpoint whose open period has passed. */
  private advance(endpoint: string, e: Endpoint, now: number): void {
    if (e.state !== 'open' || now < e.reopenAt) return;
    const { requests, failures } = e;
    e.state = 'half-open';
    e.requests = 0;
    e.failures = 0;
    e.probesOut = 0;
    this.emit(endpoint, 'open', e.state, now, requests, failures, null);
  }

  private trip(
    endpoint: string,
    e: Endpoint,
    now: number,
    periodMs: number,
    requests: number,
    failures: number,
  ): void {
    const from = e.state;
    e.state = 'open';
    e.openPeriodMs = periodMs;
    e.reopenAt = now + periodMs;
    e.requests = requests;
    e.failures = failures;
    e.probesOut = 0;
    this.emit(endpoint, from, e.state, now, requests, failures, new Date(e.reopenAt));
  }

  private close(endpoint: string, e: Endpoint, now: number): void {
    const { requests, failures } = e;
    e.state = 'closed';
    e.openPeriodMs = this.policy.openMs;
    e.requests = 0;
    e.failures = 0;
    // Failures from before the outage would otherwise count against the healed endpoint.
    e.window.clear();
    this.emit(endpoint, 'half-open', e.state, now, requests, failures, null);
  }

  private emit(
    endpoint: string,
    from: BreakerState,
    to: BreakerState,
    now: number,
    requests: number,
    failures: number,
    reopenAt: Date | null,
  ): void {
    this.onTransition({ endpoint, from, to, at: new Date(now), requests, failures, reopenAt });
  }

  /** Forgets long-idle closed endpoints, at most once a window, so the map tracks live sinks only. */
  private sweep(now: number): void {
    if (now < this.nextSweepAt) return;
    this.nextSweepAt = now + this.policy.windowMs;
    const idleMs = PRUNE_AFTER_WINDOWS * this.policy.windowMs;
    for (const [endpoint, e] of this.endpoints) {
      if (e.state === 'closed' && now - e.touchedAt >= idleMs) this.endpoints.delete(endpoint);
    }
  }
}
