/**
 * The per-subscription rate limit: a token bucket that the dispatcher asks before each send, so
 * throttled deliveries wait instead of being dropped.
 *
 * Written by hand: the limiter libraries on npm (limiter, bottleneck) schedule with their own timers
 * and promises, while the dispatcher needs a synchronous yes or no and a wait time on a clock it
 * controls.
 */

/**
 * Slack for the clock arithmetic, in ms: a caller that waits exactly `waitMs()` must get its token
 * even when the subtraction and the addition round differently. It is far too small to add up.
 */
const EPSILON_MS = 1e-6;

/**
 * A token bucket of `burst` tokens refilled at `perSecond` (fractional allowed: 0.5 is one every
 * 2 s), full at the start.
 *
 * It is kept as the time the bucket would be full again, counted as whole tokens taken since it was
 * last full: `fullAt = since + taken * interval`. Adding the interval token by token would let rounding
 * drift accumulate over millions of tokens; a product rounds once, so the long-run rate cannot creep
 * past `perSecond`.
 *
 * @example
 * const slack = new TokenBucket(1, 1); // Slack incoming webhooks: about one message a second
 * if (!slack.tryTake()) reschedule(Date.now() + slack.waitMs());
 */
export class TokenBucket {
  private readonly intervalMs: number;
  /** How far ahead of now `fullAt` may be with a token still left: burst - 1 tokens of debt. */
  private readonly toleranceMs: number;
  private since: number;
  private taken = 0;

  constructor(
    perSecond: number,
    burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(perSecond > 0)) throw new RangeError(`perSecond must be above 0, got ${perSecond}`);
    if (!(burst >= 1) || !Number.isFinite(burst))
      throw new RangeError(`burst must be 1 or more, got ${burst}`);
    this.intervalMs = 1000 / perSecond;
    this.toleranceMs = (burst - 1) * this.intervalMs;
    this.since = now();
  }

  /** Takes a token if one is available now. */
  tryTake(): boolean {
    const now = this.now();
    const fullAt = this.fullAt(now);
    if (fullAt - now > this.toleranceMs + EPSILON_MS) return false;
    this.taken++;
    return true;
  }

  /** Milliseconds until a token will be available (0 if one is now). */
  waitMs(): number {
    const now = this.now();
    const wait = this.fullAt(now) - this.toleranceMs - now;
    return wait > EPSILON_MS ? wait : 0;
  }

  /**
   * When the bucket will be full again. Once that is past, it rebases on `now`, which can only make
   * the next token later. A caller that arrives exactly on time keeps the old base instead: rebasing
   * on every token would round `since + interval` once per token, and those roundings add up.
   */
  private fullAt(now: number): number {
    const fullAt = this.since + this.taken * this.intervalMs;
    // A take that comes late restarts the schedule from now, as GCRA does: keeping the old one
    // would hand out the missed token on top of the burst (two Slack messages 1 ms apart). Timers
    // fire a little late, so the long-run rate runs 1-2 % under perSecond, never over.
    if (fullAt >= now) return fullAt;
    this.since = now;
    this.taken = 0;
    return now;
  }
}
