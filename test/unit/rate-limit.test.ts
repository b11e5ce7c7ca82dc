import { beforeEach, describe, expect, it } from 'vitest';
import { SharedTokenBucket, TokenBucket } from '../../src/delivery/rate-limit.js';
import { takeFromBucket } from '../../src/storage/records.js';

let t: number;
const clock = () => t;

beforeEach(() => {
  t = 5_000;
});

/** Takes every token available now and returns how many there were. */
function drain(bucket: TokenBucket): number {
  let n = 0;
  while (bucket.tryTake()) n++;
  return n;
}

/** Polls the bucket every `stepMs` for `durationMs`, taking whatever it allows; returns the count. */
function poll(bucket: TokenBucket, durationMs: number, stepMs: number): number {
  const end = t + durationMs;
  let taken = drain(bucket);
  while (t < end) {
    t = Math.min(end, t + stepMs);
    taken += drain(bucket);
  }
  return taken;
}

describe('TokenBucket', () => {
  it('starts full: burst tokens at once, then none', () => {
    const bucket = new TokenBucket(10, 5, clock);
    expect(drain(bucket)).toBe(5);
    expect(bucket.tryTake()).toBe(false);
  });

  it('holds the steady rate within 1% over 10 s after the burst', () => {
    for (const [perSecond, burst] of [
      [50, 10],
      [1, 1],
      [3, 2],
      [7.3, 4],
      [333.3, 20],
    ] as const) {
      t = 5_000;
      const bucket = new TokenBucket(perSecond, burst, clock);
      const taken = poll(bucket, 10_000, 1);
      const rate = (taken - burst) / 10;
      expect(Math.abs(rate - perSecond) / perSecond, `${perSecond}/s`).toBeLessThanOrEqual(0.01);
    }
  });

  it('delivers burst plus exactly the refill over 10 s at a whole rate', () => {
    const bucket = new TokenBucket(50, 10, clock);
    expect(poll(bucket, 10_000, 1)).toBe(10 + 500);
  });

  it('never lets the long-run rate exceed perSecond when the caller waits exactly waitMs', () => {
    for (const perSecond of [3, 7.3, 1000 / 3, 0.7, 999.9]) {
      t = 5_000;
      const start = t;
      const bucket = new TokenBucket(perSecond, 1, clock);
      let taken = 0;
      let refused = 0;
      for (let i = 0; i < 100_000; i++) {
        t += bucket.waitMs();
        if (bucket.tryTake()) taken++;
        else refused++;
      }
      expect(refused, `${perSecond}/s`).toBe(0);
      // One token at the start, then one per interval: the clock must have advanced at least that far.
      const minElapsedMs = ((taken - 1) * 1000) / perSecond;
      expect(t - start, `${perSecond}/s`).toBeGreaterThanOrEqual(minElapsedMs - 1e-6);
      expect(t - start, `${perSecond}/s`).toBeLessThanOrEqual(minElapsedMs + 1e-3);
    }
  });

  it('supports fractional rates: 0.5/s is one token every 2 s', () => {
    const bucket = new TokenBucket(0.5, 1, clock);
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.waitMs()).toBe(2_000);
    t += 1_999;
    expect(bucket.tryTake()).toBe(false);
    expect(bucket.waitMs()).toBeCloseTo(1, 9);
    t += 1;
    expect(bucket.tryTake()).toBe(true);
    expect(poll(bucket, 60_000, 10)).toBe(30);
  });

  it('refills fractional rates with a larger burst', () => {
    const bucket = new TokenBucket(0.25, 3, clock);
    expect(drain(bucket)).toBe(3);
    expect(bucket.waitMs()).toBe(4_000);
    t += 8_000;
    expect(drain(bucket)).toBe(2);
    expect(bucket.waitMs()).toBe(4_000);
  });

  it('reports the exact wait, counting down as time passes', () => {
    const bucket = new TokenBucket(4, 1, clock);
    expect(bucket.waitMs()).toBe(0);
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.waitMs()).toBe(250);
    t += 100;
    expect(bucket.waitMs()).toBe(150);
    expect(bucket.tryTake()).toBe(false);
    t += 149;
    expect(bucket.waitMs()).toBe(1);
    expect(bucket.tryTake()).toBe(false);
    t += 1;
    expect(bucket.waitMs()).toBe(0);
    expect(bucket.tryTake()).toBe(true);
  });

  it('does not take a token when asked how long to wait', () => {
    const bucket = new TokenBucket(1, 2, clock);
    for (let i = 0; i < 10; i++) expect(bucket.waitMs()).toBe(0);
    expect(drain(bucket)).toBe(2);
    for (let i = 0; i < 10; i++) expect(bucket.waitMs()).toBe(1_000);
  });

  it('refills partly: tokens accrue between takes', () => {
    const bucket = new TokenBucket(10, 5, clock);
    drain(bucket);
    t += 250; // two and a half tokens
    expect(drain(bucket)).toBe(2);
    expect(bucket.waitMs()).toBeCloseTo(50, 9);
  });

  it('never holds more than burst tokens, however long it idles', () => {
    const bucket = new TokenBucket(100, 3, clock);
    drain(bucket);
    t += 3_600_000;
    expect(drain(bucket)).toBe(3);
    expect(bucket.waitMs()).toBeCloseTo(10, 9);
  });

  it('keeps a steady stream of requests to the rate when polled faster than it refills', () => {
    const bucket = new TokenBucket(1, 1, clock);
    const takenAt: number[] = [];
    for (let i = 0; i <= 5_000; i += 7) {
      t = 5_000 + i;
      if (bucket.tryTake()) takenAt.push(i);
    }
    expect(takenAt).toEqual([0, 1_001, 2_002, 3_003, 4_004]);
  });

  it('restarts its schedule after a late take: burst 1 gives no second token 1 ms later', () => {
    const bucket = new TokenBucket(1, 1, clock);
    expect(bucket.tryTake()).toBe(true);
    // 999 ms late for the token due at +1000.
    t += 1_999;
    expect(bucket.tryTake()).toBe(true);
    t += 1;
    expect(bucket.tryTake()).toBe(false);
    expect(bucket.waitMs()).toBe(999);
  });

  it('never gives more than burst tokens within a millisecond after a late take', () => {
    const bucket = new TokenBucket(10, 5, clock);
    expect(drain(bucket)).toBe(5);
    // The bucket was full again at +500; the caller comes 99 ms after that, then once more 1 ms on.
    t += 599;
    const late = drain(bucket);
    t += 1;
    const next = drain(bucket);
    expect(late).toBe(5);
    expect(late + next).toBe(5);
  });

  it('uses performance.now by default', () => {
    const bucket = new TokenBucket(0.001, 1);
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
    expect(bucket.waitMs()).toBeGreaterThan(990_000);
  });

  it('rejects a rate or burst it cannot honour', () => {
    for (const perSecond of [0, -1, Number.NaN]) {
      expect(() => new TokenBucket(perSecond, 1, clock)).toThrow(RangeError);
    }
    for (const burst of [0, 0.5, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new TokenBucket(1, burst, clock)).toThrow(RangeError);
    }
  });
});

describe('takeFromBucket (the store side of a shared limit)', () => {
  it('grants the burst at once, then one token per interval, with the wait between', () => {
    let tat: number | undefined;
    const take = (now: number, n: number) => {
      const r = takeFromBucket(tat, now, 4, 2, n);
      tat = r.tat;
      return [r.granted, r.waitMs];
    };
    expect(take(1_000, 5)).toEqual([2, 0]);
    expect(take(1_000, 1)).toEqual([0, 250]);
    expect(take(1_100, 1)).toEqual([0, 150]);
    expect(take(1_250, 3)).toEqual([1, 0]);
    // Idle for long, the bucket is full again, never fuller.
    expect(take(60_000, 9)).toEqual([2, 0]);
  });

  it('holds any sequence of takes to the burst plus the rate', () => {
    let tat: number | undefined;
    let granted = 0;
    let now = 0;
    for (let i = 0; i < 10_000; i++) {
      now += (i * 7919) % 13; // irregular steps, 0 to 12 ms
      const r = takeFromBucket(tat, now, 50, 5, 1 + (i % 4));
      tat = r.tat;
      granted += r.granted;
    }
    expect(granted).toBeLessThanOrEqual(5 + Math.ceil((now / 1000) * 50));
    expect(granted).toBeGreaterThanOrEqual(Math.floor((now / 1000) * 50));
  });
});

describe('SharedTokenBucket', () => {
  /** A store that answers when told, recording what it was asked for. */
  function fakeStore() {
    const asked: number[] = [];
    const answers: ((grant: { granted: number; waitMs: number }) => void)[] = [];
    const take = (_key: string, _perSecond: number, _burst: number, n: number) => {
      asked.push(n);
      return new Promise<{ granted: number; waitMs: number }>((resolve) => answers.push(resolve));
    };
    return { asked, answers, take };
  }
  const settle = () => new Promise((r) => setTimeout(r, 0));

  it('holds while it asks the store, then sends what was granted and asks again', async () => {
    const store = fakeStore();
    let grants = 0;
    const bucket = new SharedTokenBucket('sub_1', 100, 10, store.take, () => grants++, clock);
    expect(bucket.waitMs()).toBeGreaterThan(0);
    expect(bucket.tryTake()).toBe(false);
    expect(store.asked).toEqual([2]); // a fiftieth of a second at 100/s; one request at a time
    store.answers[0]!({ granted: 2, waitMs: 0 });
    await settle();
    expect(grants).toBe(1);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, false]);
    expect(store.asked).toEqual([2, 2]);
  });

  it('waits as long as the store says when nothing was granted', async () => {
    const store = fakeStore();
    const bucket = new SharedTokenBucket('sub_1', 1, 1, store.take, () => {}, clock);
    bucket.waitMs();
    store.answers[0]!({ granted: 0, waitMs: 700 });
    await settle();
    expect(bucket.waitMs()).toBe(700);
    t += 699;
    expect(bucket.waitMs()).toBe(1);
    expect(store.asked).toHaveLength(1);
    t += 1;
    bucket.waitMs();
    expect(store.asked).toHaveLength(2);
  });

  it('drops granted tokens not used soon, so they cannot add to a later burst', async () => {
    const store = fakeStore();
    const bucket = new SharedTokenBucket('sub_1', 500, 20, store.take, () => {}, clock);
    bucket.waitMs();
    store.answers[0]!({ granted: 10, waitMs: 0 });
    await settle();
    expect(bucket.tryTake()).toBe(true);
    t += 1_000;
    expect(bucket.tryTake()).toBe(false);
    expect(store.asked).toHaveLength(2);
  });

  it('waits a second after the store failed, then asks again', async () => {
    let calls = 0;
    const bucket = new SharedTokenBucket(
      'sub_1',
      1,
      1,
      async () => {
        calls++;
        throw new Error('store unavailable');
      },
      () => {},
      clock,
    );
    bucket.waitMs();
    await settle();
    expect(bucket.waitMs()).toBe(1_000);
    t += 1_000;
    bucket.waitMs();
    expect(calls).toBe(2);
  });
});
