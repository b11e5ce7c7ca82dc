/**
 * The live figures behind the dashboard's overview charts: a rolling window of 5-second buckets in
 * memory, fed from the same recording points as the Prometheus metrics. Per process: with several
 * `junction serve` processes each answers for its own work.
 *
 * Written by hand: prom-client's counters and histograms hold totals since start, not a window of
 * recent buckets with their own percentiles, and a ring of a few hundred small objects is all this
 * needs.
 */

/** Seconds per bucket. */
export const STATS_INTERVAL_SECONDS = 5;
/** The longest window asked for, in seconds; the ring holds that much. */
export const MAX_STATS_WINDOW_SECONDS = 3600;
export const DEFAULT_STATS_WINDOW_SECONDS = 600;
/**
 * Latency samples kept per bucket. Past this a bucket keeps a uniform random sample (reservoir
 * sampling, Vitter's algorithm R), so memory stays fixed at any rate; below it, percentiles are exact.
 */
export const RESERVOIR_SIZE = 512;

const INTERVAL_MS = STATS_INTERVAL_SECONDS * 1000;
const SLOTS = MAX_STATS_WINDOW_SECONDS / STATS_INTERVAL_SECONDS;

export interface StatsCounts {
  ingested: number;
  delivered: number;
  failed: number;
  dead: number;
}

export interface StatsPoint extends StatsCounts {
  /** ISO-8601 start of the bucket. */
  at: string;
  /** Received-to-delivered latency of the bucket's deliveries, in ms; null when none was delivered. */
  p50Ms: number | null;
  p99Ms: number | null;
}

interface Bucket extends StatsCounts {
  /** Epoch ms of the bucket's start; -1 for a slot never used. */
  start: number;
  samples: number[];
  /** Latencies offered to the bucket, kept or not: the reservoir's denominator. */
  seen: number;
}

const zero = (): StatsCounts => ({ ingested: 0, delivered: 0, failed: 0, dead: 0 });

/**
 * The nearest-rank percentile (`p` in 0..100) of ascending `sorted`; null when it is empty.
 *
 * @example
 * percentile([10, 20, 30, 40], 50) // 20
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export class RollingStats {
  private readonly ring: Bucket[] = Array.from({ length: SLOTS }, () => ({
    start: -1,
    ...zero(),
    samples: [],
    seen: 0,
  }));
  private readonly all: StatsCounts = zero();

  /**
   * @param now epoch ms, the clock buckets are cut by (a test's own, or `Date.now`).
   * @param random in [0, 1), what the reservoir draws with.
   */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** Counts `n` of one kind in the current bucket and in the totals. */
  count(kind: keyof StatsCounts, n = 1): void {
    if (n <= 0) return;
    this.bucket()[kind] += n;
    this.all[kind] += n;
  }

  /** Counts a delivery with its received-to-delivered latency. */
  delivered(latencyMs: number): void {
    const b = this.bucket();
    b.delivered++;
    this.all.delivered++;
    b.seen++;
    if (b.samples.length < RESERVOIR_SIZE) b.samples.push(latencyMs);
    else {
      const j = Math.floor(this.random() * b.seen);
      if (j < RESERVOIR_SIZE) b.samples[j] = latencyMs;
    }
  }

  /** Counts since the process started. */
  totals(): StatsCounts {
    return { ...this.all };
  }

  /**
   * One point per bucket of the last `windowSeconds` (rounded up to whole buckets), oldest first,
   * the current (partial) bucket last; quiet buckets are zeros.
   */
  series(windowSeconds: number): StatsPoint[] {
    const count = Math.min(SLOTS, Math.max(1, Math.ceil(windowSeconds / STATS_INTERVAL_SECONDS)));
    const current = Math.floor(this.now() / INTERVAL_MS) * INTERVAL_MS;
    const points: StatsPoint[] = [];
    for (let i = count - 1; i >= 0; i--) {
      const start = current - i * INTERVAL_MS;
      const b = this.ring[this.slot(start)]!;
      const at = new Date(start).toISOString();
      if (b.start !== start) {
        points.push({ at, ...zero(), p50Ms: null, p99Ms: null });
        continue;
      }
      const sorted = [...b.samples].sort((x, y) => x - y);
      points.push({
        at,
        ingested: b.ingested,
        delivered: b.delivered,
        failed: b.failed,
        dead: b.dead,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
      });
    }
    return points;
  }

  private slot(start: number): number {
    return Math.floor(start / INTERVAL_MS) % SLOTS;
  }

  /** The bucket of the current interval, cleared first if it last held an older one. */
  private bucket(): Bucket {
    const start = Math.floor(this.now() / INTERVAL_MS) * INTERVAL_MS;
    const b = this.ring[this.slot(start)]!;
    if (b.start !== start) {
      b.start = start;
      b.ingested = 0;
      b.delivered = 0;
      b.failed = 0;
      b.dead = 0;
      b.samples = [];
      b.seen = 0;
    }
    return b;
  }
}
