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

/** What a shared bucket asks its store for: `EventStore.takeTokens`. */
export type TakeTokens = (
  key: string,
  perSecond: number,
  burst: number,
  n: number,
) => Promise<{ granted: number; waitMs: number }>;

/** How long a lane waits while its gate asks the store, before it looks again by itself. */
const ASKING_HOLD_MS = 50;
/** How long granted tokens stay usable: saved up longer, they would add a burst to another process's. */
const GRANT_TTL_MS = 100;
/** How long to wait before asking again when the store could not answer. */
const FAILED_HOLD_MS = 1_000;

/**
 * A rate limit shared by every process on one store, with TokenBucket's face (`waitMs`,
 * `tryTake`), so the dispatcher's gate reads the same. The bucket lives in the store; this side
 * holds the tokens it was last granted, asked for a fiftieth of a second's worth at a time (at
 * least one, at most the burst), one request at once. `waitMs` starts the request when the hand is
 * empty and answers a short hold meanwhile; `onGrant` tells the dispatcher when the answer came.
 * Without it, two processes would each send at the full rate.
 *
 * @example
 * const bucket = new SharedTokenBucket('sub_1', 1, 1, (...a) => store.takeTokens(...a), () => pump())
 */
export class SharedTokenBucket {
  private tokens = 0;
  private grantedAt = 0;
  private asking = false;
  private notBefore = 0;

  constructor(
    private readonly key: string,
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly take: TakeTokens,
    private readonly onGrant: () => void,
    private readonly now: () => number = () => Date.now(),
  ) {}

  tryTake(): boolean {
    if (this.waitMs() > 0) return false;
    this.tokens--;
    return true;
  }

  /** 0 with a token in hand; otherwise how long to hold, asking the store if no one is. */
  waitMs(): number {
    const now = this.now();
    if (this.tokens > 0 && now - this.grantedAt > GRANT_TTL_MS) this.tokens = 0;
    if (this.tokens > 0) return 0;
    if (!this.asking && now >= this.notBefore) this.ask();
    return this.asking ? ASKING_HOLD_MS : Math.max(1, this.notBefore - now);
  }

  private ask(): void {
    this.asking = true;
    const n = Math.max(1, Math.min(Math.floor(this.burst), Math.floor(this.perSecond / 50)));
    this.take(this.key, this.perSecond, this.burst, n)
      .then(
        ({ granted, waitMs }) => {
          this.tokens = granted;
          this.grantedAt = this.now();
          this.notBefore = granted > 0 ? 0 : this.grantedAt + waitMs;
        },
        () => {
          this.notBefore = this.now() + FAILED_HOLD_MS;
        },
      )
      .finally(() => {
        this.asking = false;
        this.onGrant();
      });
  }
}
