/**
 * Prometheus metrics (prom-client), in a registry of the hub's own rather than the library's global
 * one, so two hubs in one process (as in tests) count apart. Labels are bounded: an event type
 * appears only once it is registered (others count as `other`), a reason or outcome comes from a
 * fixed list, and subscriptions and endpoints are made by operators; never an event or delivery id.
 *
 * The recording methods (`ingested`, `rejected`, `attempted`, ...) are what the hub and the
 * dispatcher call where things happen; each feeds both the counters and the rolling window behind
 * `GET /v1/stats`, so the two never disagree about what was counted.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CloudEvent } from '../core/event.js';
import type { BreakerState } from '../delivery/circuit-breaker.js';
import type { HttpSendResult } from '../delivery/sinks/http.js';
import type { AppendResult, AttemptResult, LaneBacklog } from '../storage/ports.js';
import { type LatencyItem, latencyStart, rejectReason, sendOutcome, statusClass } from './metric-labels.js';
import { RollingStats } from './stats.js';

/** What the scrape-time gauges read, and what tells a registered type from any other. */
export interface MetricSources {
  backlog(): Promise<LaneBacklog[]>;
  /** Every endpoint the breakers know, as it may be shown (redacted). */
  breakers(): { endpoint: string; state: BreakerState }[];
  /** Whether the type has a schema in the registry: only those are a `type` label of their own. */
  known(type: string): boolean;
}

/** A lane's backlog as metrics and `GET /v1/stats` show it, with its oldest age as of now. */
export interface LaneFigures {
  subscription: string;
  channel: string;
  pending: number;
  oldestPendingAgeSeconds: number | null;
}

/** What the dispatcher tells about the deliveries it works on. */
export interface DeliveryRecorder {
  /** A request was sent (one delivery, or a batch) and its outcome recorded durably. */
  attempted(
    subscriptionId: string,
    items: readonly LatencyItem[],
    results: readonly AttemptResult[],
    sent: HttpSendResult,
  ): void;
  /** A delivery was dead-lettered without being sent (its conversion failed, its subscription is gone). */
  deadWithoutSending(subscriptionId: string): void;
  /** A lane was held back by its subscription's rate limit. */
  throttled(subscriptionId: string): void;
}

/**
 * How long the series of a deleted subscription outlive it: a few scrape intervals, so that its last
 * counts (the dead letters its deletion made among them) reach Prometheus before they go.
 */
export const RETIRED_SERIES_TTL_MS = 5 * 60_000;

const BREAKER_VALUES: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** Seconds from receipt to delivery: fast local sinks up to a day of retries. */
const LATENCY_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400,
];

export class Metrics implements DeliveryRecorder {
  readonly registry = new Registry();
  /** The rolling window behind `GET /v1/stats`. */
  readonly stats = new RollingStats();
  private sources: MetricSources | undefined;
  /** Subscriptions deleted whose series are not removed yet. */
  private readonly deleted = new Set<string>();

  /** Events whose data did not match their type's schema, by what ingest did with them. */
  readonly schemaViolations = new Counter({
    name: 'junction_events_schema_violations_total',
    help: 'Events whose data did not match their schema version; outcome is refused (enforce) or accepted (warn).',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });

  /** Events published in a deprecated version, or refused past its sunset. */
  readonly deprecatedPublished = new Counter({
    name: 'junction_events_deprecated_version_total',
    help: 'Events published in a deprecated schema version; outcome is accepted, or refused past the sunset.',
    labelNames: ['type', 'version', 'outcome'] as const,
    registers: [this.registry],
  });

  /** Events of types with no schema, refused under `unknownTypes: refuse`. */
  readonly unknownTypesRefused = new Counter({
    name: 'junction_events_unknown_type_refused_total',
    help: 'Events refused because their type has no schema in the registry (unknownTypes: refuse).',
    registers: [this.registry],
  });

  /** Conversions to a subscription's pinned version, by outcome. */
  readonly conversions = new Counter({
    name: 'junction_deliveries_converted_total',
    help: "Events converted to a subscription's pinned schema version; outcome is converted or failed (dead-lettered).",
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });

  /** Deliveries a region policy blocked, by the policy (channel or subscription) that did. */
  readonly blockedDeliveries = new Counter({
    name: 'junction_deliveries_blocked_total',
    help: 'Deliveries recorded as blocked by a region policy, never sent; policy is channel or subscription.',
    labelNames: ['policy'] as const,
    registers: [this.registry],
  });

  /** Deliveries recorded for subscriptions in shadow mode. */
  readonly shadowDeliveries = new Counter({
    name: 'junction_deliveries_shadow_total',
    help: 'Deliveries recorded for subscriptions in shadow mode: what they would have received, not sent.',
    registers: [this.registry],
  });

  readonly eventsIngested = new Counter({
    name: 'junction_events_ingested_total',
    help: 'Events accepted and stored durably, by type (types without a registered schema count as "other").',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly eventsRejected = new Counter({
    name: 'junction_events_rejected_total',
    help: 'Publish requests to POST /v1/events refused, by reason; a batch is refused whole and counts once.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly eventsDuplicate = new Counter({
    name: 'junction_events_duplicate_total',
    help: 'Events acknowledged as duplicates of a (source, id) already stored, and not delivered again.',
    registers: [this.registry],
  });

  readonly deliveryLatency = new Histogram({
    name: 'junction_delivery_latency_seconds',
    help: 'End-to-end latency of delivered deliveries: from the event being received to the delivery being recorded delivered, retries included.',
    labelNames: ['subscription'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly attempts = new Counter({
    name: 'junction_delivery_attempts_total',
    help: 'Delivery attempts sent (one per delivery, a batch member each), by outcome (delivered, failed, timeout, error, refused) and status class (2xx to 5xx, or none).',
    labelNames: ['outcome', 'status_class'] as const,
    registers: [this.registry],
  });

  readonly deadLetters = new Counter({
    name: 'junction_dead_letters_total',
    help: 'Deliveries dead-lettered (attempts or age spent, a permanent failure, a 410, a failed conversion, the subscription deleted), by subscription.',
    labelNames: ['subscription'] as const,
    registers: [this.registry],
  });

  readonly throttledDeliveries = new Counter({
    name: 'junction_deliveries_throttled_total',
    help: "Times a delivery was deferred by its subscription's rate limit, by subscription.",
    labelNames: ['subscription'] as const,
    registers: [this.registry],
  });

  // Both backlog gauges collect from one read of the store per scrape: prom-client collects the
  // metrics of a scrape concurrently, so the second joins the read the first started.
  readonly backlogPending: Gauge<'subscription' | 'channel'> = new Gauge({
    name: 'junction_backlog_pending_deliveries',
    help: 'Deliveries still to attempt (pending or retrying), by subscription and channel, read from the store at scrape time.',
    labelNames: ['subscription', 'channel'] as const,
    registers: [this.registry],
    collect: async () => {
      const lanes = await this.scrapeBacklog();
      this.backlogPending.reset();
      for (const l of lanes)
        this.backlogPending.set({ subscription: l.subscription, channel: l.channel }, l.pending);
    },
  });

  readonly backlogOldestAge: Gauge<'subscription' | 'channel'> = new Gauge({
    name: 'junction_backlog_oldest_pending_age_seconds',
    help: 'Age of the oldest delivery still to attempt, by subscription and channel, read at scrape time.',
    labelNames: ['subscription', 'channel'] as const,
    registers: [this.registry],
    collect: async () => {
      const lanes = await this.scrapeBacklog();
      this.backlogOldestAge.reset();
      for (const l of lanes) {
        if (l.oldestPendingAgeSeconds === null) continue;
        this.backlogOldestAge.set(
          { subscription: l.subscription, channel: l.channel },
          l.oldestPendingAgeSeconds,
        );
      }
    },
  });
  /** The backlog read under way for the current scrape, if one is. */
  private backlogRead: ReturnType<Metrics['tryBacklog']> | null = null;

  readonly breakerState: Gauge<'endpoint'> = new Gauge({
    name: 'junction_endpoint_breaker_state',
    help: 'Circuit breaker state per endpoint (origin and a hash of the rest of the URL): 0 closed, 1 half-open, 2 open.',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
    collect: () => {
      this.breakerState.reset();
      for (const b of this.sources?.breakers() ?? []) {
        this.breakerState.set({ endpoint: b.endpoint }, BREAKER_VALUES[b.state]);
      }
    },
  });

  /** @param retiredSeriesTtlMs how long the series of a deleted subscription are kept. */
  constructor(private readonly retiredSeriesTtlMs = RETIRED_SERIES_TTL_MS) {
    collectDefaultMetrics({ register: this.registry, prefix: 'junction_' });
  }

  /** Gives the scrape-time gauges what to read; once, when the hub is built. */
  bind(sources: MetricSources): void {
    this.sources = sources;
  }

  /** The store's backlog by lane, with ages in seconds as of now. */
  async backlog(): Promise<LaneFigures[]> {
    const now = Date.now();
    return ((await this.sources?.backlog()) ?? []).map((l) => ({
      subscription: l.subscriptionId,
      channel: l.channel,
      pending: l.pending,
      oldestPendingAgeSeconds: l.pending > 0 ? Math.max(0, (now - Date.parse(l.oldestAt)) / 1000) : null,
    }));
  }

  /**
   * Events an ingest took (accepted or duplicate), once they are durable. With `duplicatesOnly`,
   * what JetStream acknowledged: its duplicates are counted, and its `accepted` left to the
   * recorder, which alone knows whether the store took the event or already held it.
   */
  ingested(events: readonly CloudEvent[], results: readonly AppendResult[], duplicatesOnly = false): void {
    let accepted = 0;
    results.forEach((r, i) => {
      if (r.status === 'duplicate') {
        this.eventsDuplicate.inc();
        return;
      }
      if (duplicatesOnly) return;
      accepted++;
      const type = events[i]?.type ?? '';
      this.eventsIngested.inc({ type: this.sources?.known(type) ? type : 'other' });
    });
    this.stats.count('ingested', accepted);
  }

  /** A publish request refused with `error`. */
  rejected(error: unknown): void {
    this.eventsRejected.inc({ reason: rejectReason(error) });
  }

  attempted(
    subscriptionId: string,
    items: readonly LatencyItem[],
    results: readonly AttemptResult[],
    sent: HttpSendResult,
  ): void {
    const labels = { outcome: sendOutcome(sent), status_class: statusClass(sent) };
    const now = Date.now();
    results.forEach((r, i) => {
      this.attempts.inc(labels);
      if (r.kind === 'delivered') {
        const item = items[i];
        const ms = item ? Math.max(0, now - latencyStart(item)) : 0;
        this.deliveryLatency.observe({ subscription: subscriptionId }, ms / 1000);
        this.stats.delivered(ms);
        return;
      }
      this.stats.count('failed');
      if (r.kind === 'dead' || r.kind === 'disable') this.countDeadAttempt(subscriptionId);
    });
  }

  deadWithoutSending(subscriptionId: string): void {
    this.countDeadAttempt(subscriptionId);
  }

  throttled(subscriptionId: string): void {
    this.throttledDeliveries.inc({ subscription: subscriptionId });
  }

  /**
   * A subscription was deleted, and `deadLettered` of its deliveries with it. Its series go after
   * a while: REST hooks come and go often, and series kept for every subscription ever made would
   * grow without bound.
   */
  subscriptionDeleted(subscriptionId: string, deadLettered: number): void {
    if (deadLettered > 0) this.countDead(subscriptionId, deadLettered);
    this.deleted.add(subscriptionId);
    setTimeout(() => {
      this.deleted.delete(subscriptionId);
      const labels = { subscription: subscriptionId };
      this.deliveryLatency.remove(labels);
      this.deadLetters.remove(labels);
      this.throttledDeliveries.remove(labels);
    }, this.retiredSeriesTtlMs).unref();
  }

  /**
   * A delivery the dispatcher dead-lettered. The deletion of its subscription counted every delivery
   * it had still to attempt, those in flight among them (a REST hook's delivery answered 410, say),
   * so those are not counted twice.
   */
  private countDeadAttempt(subscriptionId: string): void {
    if (!this.deleted.has(subscriptionId)) this.countDead(subscriptionId);
  }

  private countDead(subscriptionId: string, n = 1): void {
    this.deadLetters.inc({ subscription: subscriptionId }, n);
    this.stats.count('dead', n);
  }

  /**
   * The backlog for a scrape. A store that does not answer leaves the backlog gauges empty rather
   * than failing the scrape: the other metrics are what an operator needs most just then.
   */
  private async scrapeBacklog(): Promise<LaneFigures[]> {
    const read = await this.tryBacklog();
    return 'error' in read ? [] : read.lanes;
  }

  /**
   * The backlog, or why the store could not say. One read serves the callers of the moment: the
   * two backlog gauges of a scrape, and a `GET /v1/stats` alongside.
   */
  tryBacklog(): Promise<{ lanes: LaneFigures[] } | { error: string }> {
    if (this.backlogRead === null) {
      this.backlogRead = this.backlog()
        .then((lanes) => ({ lanes }))
        .catch((error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }))
        .finally(() => {
          this.backlogRead = null;
        });
    }
    return this.backlogRead;
  }
}
