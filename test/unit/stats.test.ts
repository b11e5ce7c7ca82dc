import { describe, expect, it } from 'vitest';
import { percentile, RESERVOIR_SIZE, RollingStats } from '../../src/observability/stats.js';

/** A clock the test moves by hand, starting on a bucket boundary. */
function clock(start = Date.parse('2026-01-01T00:00:00.000Z')) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

describe('percentile', () => {
  it('is the nearest rank of the sorted samples, null for none', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([7], 50)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 99)).toBe(40);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
  });
});

describe('RollingStats', () => {
  it('gives one point per 5 s bucket of the window, oldest first, zeros for quiet ones', () => {
    const c = clock();
    const stats = new RollingStats(c.now);
    stats.count('ingested', 3);
    c.advance(5_000);
    c.advance(5_000);
    stats.count('failed');
    stats.count('dead');
    c.advance(2_500);
    const series = stats.series(15);
    expect(series.map((p) => p.at)).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:05.000Z',
      '2026-01-01T00:00:10.000Z',
    ]);
    expect(series.map((p) => [p.ingested, p.delivered, p.failed, p.dead])).toEqual([
      [3, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 1, 1],
    ]);
    expect(series.every((p) => p.p50Ms === null && p.p99Ms === null)).toBe(true);
  });

  it('rounds a window up to whole buckets, and never gives more than the hour it keeps', () => {
    const stats = new RollingStats(clock().now);
    expect(stats.series(5)).toHaveLength(1);
    expect(stats.series(6)).toHaveLength(2);
    expect(stats.series(600)).toHaveLength(120);
    expect(stats.series(3600)).toHaveLength(720);
    expect(stats.series(100_000)).toHaveLength(720);
  });

  it('drops buckets that fell out of the ring, but keeps the totals since start', () => {
    const c = clock();
    const stats = new RollingStats(c.now);
    stats.count('ingested', 5);
    stats.delivered(12);
    // An hour later the slot of the first bucket comes round again: it must not show old counts.
    c.advance(3_600_000);
    stats.count('ingested', 1);
    const series = stats.series(3600);
    expect(series.reduce((n, p) => n + p.ingested, 0)).toBe(1);
    expect(series.at(-1)).toMatchObject({ ingested: 1, delivered: 0, p50Ms: null });
    expect(stats.totals()).toEqual({ ingested: 6, delivered: 1, failed: 0, dead: 0 });
  });

  it('takes percentiles of the bucket latencies, exactly while they fit the reservoir', () => {
    const c = clock();
    const stats = new RollingStats(c.now);
    for (const ms of [40, 10, 30, 20]) stats.delivered(ms);
    c.advance(5_000);
    for (let i = 1; i <= 200; i++) stats.delivered(i);
    const [first, second] = stats.series(10);
    expect(first).toMatchObject({ delivered: 4, p50Ms: 20, p99Ms: 40 });
    expect(second).toMatchObject({ delivered: 200, p50Ms: 100, p99Ms: 198 });
  });

  it('keeps a fixed-size uniform sample past the reservoir, counting every delivery', () => {
    let seed = 1;
    // A small LCG: the reservoir's draws are repeatable.
    const random = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    const stats = new RollingStats(clock().now, random);
    const n = RESERVOIR_SIZE * 20;
    for (let i = 1; i <= n; i++) stats.delivered(i);
    const [point] = stats.series(5);
    expect(point!.delivered).toBe(n);
    // A uniform sample of 1..n: its median near n/2 and its 99th percentile near the top.
    expect(Math.abs(point!.p50Ms! - n / 2)).toBeLessThan(n * 0.08);
    expect(point!.p99Ms!).toBeGreaterThan(n * 0.95);
  });

  it('ignores counts of zero or less', () => {
    const stats = new RollingStats(clock().now);
    stats.count('ingested', 0);
    stats.count('ingested', -2);
    expect(stats.totals().ingested).toBe(0);
  });
});
