/**
 * The in-process dispatcher. Work is scheduled by lane (one subscription, one channel): each lane
 * holds a page of due deliveries in memory and reads the next page from the store when it runs
 * low, so a backlog of any size costs a bounded amount of memory. A lane sends while every gate
 * lets it: the hub-wide and channel concurrency budgets, the subscription's rate limit and
 * concurrency, and the circuit breaker of its endpoint. A closed gate holds the lane without
 * spending an attempt; the lane is looked at again when the gate should open.
 *
 * New deliveries are handed over straight from ingest once durable, so the fast path never waits
 * for a read of the store; retries, deliveries held back by ordering, and anything left over after
 * a restart are read from the store. A delivery is in its lane's `inFlight` from the moment it is
 * queued until its attempt is recorded, so no read can pick it twice.
 */
import type { Logger } from 'pino';
import type { ConversionResult } from '../contracts/conversion.js';
import type { ChannelConfig } from '../core/config.js';
import type { CloudEvent } from '../core/event.js';
import { encodeBatch, encodeEvent } from '../core/http-binding.js';
import { deliveryFields } from '../observability/log-fields.js';
import type { DeliveryRecorder } from '../observability/metrics.js';
import type { Tracing } from '../observability/tracing.js';
import type {
  AttemptResult,
  BatchPolicy,
  Conversion,
  DueDelivery,
  EventStore,
  RateLimit,
  StoredEvent,
  Subscription,
} from '../storage/ports.js';
import { asSent, batchReadyAt, batchWebhookId, takeBatch } from './batching.js';
import { type BreakerOutcome, type Breakers, endpointKey } from './circuit-breaker.js';
import { Lane, type Queued } from './lane.js';
import { decideOutcome } from './outcome.js';
import { SharedTokenBucket, TokenBucket } from './rate-limit.js';
import { signedRequest } from './signing.js';
import type { HttpSendResult } from './sinks/http.js';
import type { DeliverySink } from './sinks/router.js';

export interface DispatcherOptions {
  /** Attempts in flight at once, across all subscriptions. */
  concurrency: number;
  /** How often to look at the store when nothing else wakes the dispatcher. */
  pollIntervalMs: number;
  /**
   * Other processes share the store: deliveries they recorded, or left behind when they died, come
   * due without this process hearing of it, so it looks for lanes with work every poll interval.
   */
  shared?: boolean;
  /**
   * With `shared`: how long the store leases what this process reads. A delivery queued for over
   * half of it goes back to the store unsent, so that the rest of the lease covers its attempt
   * (leaseMs is meant to exceed twice the longest timeout) and no other process sends it too.
   */
  leaseMs?: number;
  /** Deliveries held in memory at most, shared among lanes; the rest wait in the store. */
  maxQueued: number;
  /**
   * The sink's connections per origin. Sends to one origin are held to this many, because one that
   * waited inside the connection pool would spend its timeout there and be charged an attempt (or
   * be recorded as timed out after the sink had answered it).
   */
  connectionsPerOrigin: number;
  /** Spans for each attempt, whose context the request carries instead of the event's. */
  tracing?: Tracing;
}

export interface DispatcherHooks {
  subscription(id: string): Subscription | undefined;
  /** The channel by name; the default channel for a name no longer configured. */
  channel(name: string): ChannelConfig;
  /** The names of the channels the subscription's types may fall in. */
  channelsOf(sub: Subscription): string[];
  /** Disables the subscription, unless it changed since `seen`, the version the attempt used. */
  disable(seen: Subscription, reason: string): Promise<void>;
  /** What an attempt said about the subscription's sink: for disabling one that keeps failing. */
  verdict(sub: Subscription, healthy: boolean, at: Date): void;
  /**
   * The event as the subscription reads it (converted to its pinned schema version, transformed), or why it
   * cannot be; null when it goes out as stored, which is decided without waiting.
   */
  prepare(sub: Subscription, event: StoredEvent): Promise<ConversionResult> | null;
  /**
   * A policy that settles the delivery instead of sending it: a region policy that blocks the
   * event now, or shadow mode. Checked at every send, so a redrive, or a subscription changed after
   * its deliveries were made, cannot send what ingest would not have.
   */
  settles(
    sub: Subscription,
    event: StoredEvent,
    channel: string,
  ): { status: 'blocked' | 'shadow'; reason: string } | null;
  /** Told of attempts, dead letters and rate-limit deferrals: the metrics. */
  recorder?: DeliveryRecorder;
}

/** A subscription's own limits, with the requests it has in flight. */
interface SubscriptionGate {
  limit: RateLimit | null;
  bucket: TokenBucket | SharedTokenBucket | null;
  active: number;
}

/** Endpoint and origin by subscription version: parsing the sink URL on every send shows at high rates. */
const targets = new WeakMap<Subscription, { endpoint: string; origin: string }>();

function targetOf(sub: Subscription): { endpoint: string; origin: string } {
  let target = targets.get(sub);
  if (target === undefined) {
    const url = new URL(sub.sink);
    // A broker URL (amqp:, mqtt:, nats:) has no origin in WHATWG terms ("null"): use its host.
    const origin = url.origin === 'null' ? `${url.protocol}//${url.host}` : url.origin;
    target = { endpoint: endpointKey(sub.sink), origin };
    targets.set(sub, target);
  }
  return target;
}

function endpointOf(sub: Subscription): string {
  return targetOf(sub).endpoint;
}
/** How long a delivery whose attempt could not be recorded is kept from being sent again. */
const UNRECORDED_HOLD_MS = 30_000;
/** The fewest deliveries a lane may hold in memory, however many lanes share `maxQueued`. */
const MIN_LANE_QUEUE = 16;
/** W3C Trace Context: only well-formed values are forwarded as HTTP headers. */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const TRACESTATE = /^[\x20-\x7e]{0,512}$/;

export class Dispatcher {
  private readonly lanes = new Map<string, Lane>();
  /** Lanes with deliveries queued in memory. */
  private readonly working = new Set<Lane>();
  private readonly gates = new Map<string, SubscriptionGate>();
  private readonly channelActive = new Map<string, number>();
  private readonly originActive = new Map<string, number>();
  /** HTTP exchanges under way: bounded by `concurrency`. */
  private active = 0;
  /** Attempts begun and not yet recorded: what a drain waits for. */
  private unsettled = 0;
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires next (epoch ms). */
  private timerAt = Number.POSITIVE_INFINITY;
  private tickQueued = false;
  private ticking = false;
  /** With a shared store: when to look for lanes other processes gave work to (epoch ms). */
  private nextDiscovery = 0;
  private tickAgain = false;
  private running = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: EventStore,
    private readonly sink: DeliverySink,
    private readonly breakers: Breakers,
    private readonly hooks: DispatcherHooks,
    private readonly options: DispatcherOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.running = true;
    this.discoverLanes();
    this.tick();
  }

  /** Takes deliveries that ingest just made durable. */
  enqueue(deliveries: DueDelivery[]): void {
    if (!this.running) return;
    const now = Date.now();
    let read = false;
    for (const d of deliveries) {
      const lane = this.lane(d.delivery.subscriptionId, d.delivery.channel);
      // An ordered delivery may have to wait for an earlier one of its key, which only the store
      // knows about (it may be retrying); a full lane leaves the rest to its next read.
      if (d.delivery.orderKey !== null || lane.more || lane.size >= this.laneCapacity(lane)) {
        // Once one overflows, later ones follow it through the store, so none overtakes it.
        if (d.delivery.orderKey === null) {
          lane.more = true;
          lane.leftInStore++;
        }
        lane.dueBy(now);
        read = true;
        continue;
      }
      if (lane.inFlight.has(d.delivery.id)) continue;
      lane.inFlight.add(d.delivery.id);
      lane.push({ ...d, queuedAt: now });
      this.working.add(lane);
    }
    if (read) this.soon();
    this.pump();
  }

  /**
   * Looks at the store now, from the start of each lane: for the lanes of `subscriptionId` in
   * `channels` (after a redrive or a replay page), or of anything when no subscription is named.
   */
  wake(subscriptionId?: string, channels: Iterable<string> = []): void {
    if (!this.running) return;
    if (subscriptionId === undefined) this.discoverLanes();
    else {
      const now = Date.now();
      for (const channel of channels) this.lane(subscriptionId, channel);
      this.restartLanes(subscriptionId, now);
      // Lanes the caller did not name, found in the store; they start from the beginning too.
      this.store
        .channelsWithWork(subscriptionId)
        .then((found) => {
          for (const channel of found) this.lane(subscriptionId, channel).dueBy(now);
          this.soon();
        })
        .catch((error) =>
          this.log.error({ err: error, subscription: subscriptionId }, 'listing lanes failed'),
        );
    }
    this.soon();
  }

  /** Reads the subscription's lanes again from their start, and asks their gates again. */
  private restartLanes(subscriptionId: string, now: number): void {
    for (const lane of this.lanes.values()) {
      if (lane.subscriptionId !== subscriptionId) continue;
      lane.cursor = null;
      // The subscription may have changed (disabled, a new limit): ask its gates again.
      lane.heldUntil = 0;
      lane.dueBy(now);
    }
  }

  /** Stops taking work and waits for attempts in flight to finish and be recorded. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    // Queued but unsent deliveries stay due in the store; dropping them from memory loses nothing.
    for (const lane of this.lanes.values()) {
      for (const d of lane.drain()) lane.inFlight.delete(d.delivery.id);
    }
    this.working.clear();
    if (this.unsettled > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Deliveries queued in memory, across lanes: for tests and metrics. */
  get queued(): number {
    let n = 0;
    for (const lane of this.working) n += lane.size;
    return n;
  }

  private lane(subscriptionId: string, channel: string): Lane {
    const key = Lane.key(subscriptionId, channel);
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = new Lane(subscriptionId, channel, Number.POSITIVE_INFINITY);
      this.lanes.set(key, lane);
    }
    return lane;
  }

  /** Finds every lane with work in the store: at start, and when told something changed there. */
  private discoverLanes(): void {
    const now = Date.now();
    this.store
      .lanes()
      .then((found) => {
        for (const l of found) this.lane(l.subscriptionId, l.channel).dueBy(now);
        this.soon();
      })
      .catch((error) => this.log.error({ err: error }, 'listing lanes with due deliveries failed'));
  }

  /** How many deliveries a lane may hold: a fair share of `maxQueued`, and room for a full batch. */
  private laneCapacity(lane: Lane): number {
    const share = Math.max(MIN_LANE_QUEUE, Math.floor(this.options.maxQueued / Math.max(1, this.lanes.size)));
    const batch = this.batchPolicy(lane);
    return batch ? Math.max(share, batch.maxEvents) : share;
  }

  /** Runs a tick on the next turn of the event loop, once however often it is asked for. */
  private soon(): void {
    if (this.tickQueued || !this.running) return;
    this.tickQueued = true;
    setImmediate(() => {
      this.tickQueued = false;
      this.tick();
    });
  }

  /** Asks for a tick at `at` (epoch ms) at the latest. */
  private alarm(at: number): void {
    if (!this.running || at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    // Rounded up: a timer that fires a fraction of a millisecond early would find the gate closed.
    this.timer = setTimeout(() => this.tick(), Math.max(0, Math.ceil(at - Date.now())));
    this.timer.unref();
  }

  /**
   * Reads the store for lanes that need it, sends what the gates allow, and sets the next alarm.
   * One tick runs at a time; one asked for meanwhile runs when it ends.
   */
  private tick(): void {
    if (!this.running) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    this.tickNow()
      .catch((error) => this.log.error({ err: error }, 'dispatcher tick failed'))
      .finally(() => {
        this.ticking = false;
        if (this.tickAgain) {
          this.tickAgain = false;
          this.soon();
        }
      });
  }

  private async tickNow(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    // With storage down no attempt could be recorded, and each would be sent again: wait it out.
    if (this.store.healthy() || (await this.store.ping())) {
      if (this.options.shared && now >= this.nextDiscovery) {
        this.nextDiscovery = now + this.options.pollIntervalMs;
        try {
          for (const l of await this.store.lanes()) this.lane(l.subscriptionId, l.channel).dueBy(now);
        } catch (error) {
          this.log.error({ err: error }, 'listing lanes with due deliveries failed');
        }
      }
      const reads: Promise<void>[] = [];
      for (const lane of this.lanes.values()) {
        if (lane.wantsFetch(now)) reads.push(this.fetch(lane, now));
        else if (lane.dueAt !== Number.POSITIVE_INFINITY) this.alarm(lane.dueAt);
      }
      await Promise.all(reads);
      for (const lane of this.lanes.values()) this.forgetIfIdle(lane);
      this.pump();
    }
    this.alarm(now + this.options.pollIntervalMs);
  }

  /** Reads a page of the lane's due deliveries into memory, if it has room and may send. */
  private async fetch(lane: Lane, now: number): Promise<void> {
    const sub = this.hooks.subscription(lane.subscriptionId);
    // An open breaker would only hold what is read: leave it in the store until it half-opens.
    if (sub?.status === 'active') {
      const endpoint = endpointOf(sub);
      if (this.breakers.state(endpoint) === 'open') {
        this.alarm(this.breakers.readyAt(endpoint));
        return;
      }
    }
    // Read in pages of at least half the lane, not a row or two after every send.
    const capacity = this.laneCapacity(lane);
    if (lane.size > capacity / 2) return;
    const room = capacity - lane.size;
    try {
      const from = lane.cursor;
      const leftBefore = lane.leftInStore;
      const page = await this.store.dueInLanePage(lane, new Date(now), room, lane.inFlight, from);
      for (const d of page.items) {
        // Handed over by ingest while the store was being read.
        if (lane.inFlight.has(d.delivery.id)) continue;
        lane.inFlight.add(d.delivery.id);
        lane.push({ ...d, queuedAt: now });
      }
      if (lane.size > 0) this.working.add(lane);
      // Past the end after starting midway: start once more from the beginning, where a delivery
      // may have come due behind the cursor. Past the end from the beginning: the lane is caught up.
      lane.cursor = page.exhausted ? null : page.cursor;
      lane.more = !page.exhausted || from !== null || lane.leftInStore !== leftBefore;
      if (!lane.more) {
        lane.dueAt =
          (await this.store.nextDueInLane(lane, new Date(now)))?.getTime() ?? Number.POSITIVE_INFINITY;
        if (lane.dueAt !== Number.POSITIVE_INFINITY) this.alarm(lane.dueAt);
      }
    } catch (error) {
      this.log.error({ err: error, subscription: lane.subscriptionId }, 'reading due deliveries failed');
    }
  }

  /**
   * Drops a lane whose subscription is gone and that holds nothing. A lane of a live subscription
   * is kept even when idle: it may hold deliveries that ordering keeps waiting, which come due
   * without a write that would tell the dispatcher.
   */
  private forgetIfIdle(lane: Lane): void {
    if (lane.size > 0 || lane.inFlight.size > 0) return;
    if (this.hooks.subscription(lane.subscriptionId)) return;
    this.lanes.delete(Lane.key(lane.subscriptionId, lane.channel));
    this.gates.delete(lane.subscriptionId);
  }

  /** Sends from lanes in turn, one request each per round, while slots and gates allow. */
  private pump(): void {
    let progressed = true;
    while (progressed && this.running && this.active < this.options.concurrency) {
      progressed = false;
      const now = Date.now();
      for (const lane of [...this.working]) {
        if (this.active >= this.options.concurrency) break;
        if (lane.size === 0) {
          this.working.delete(lane);
          continue;
        }
        if (lane.heldUntil > now) {
          this.alarm(lane.heldUntil);
          continue;
        }
        if (this.trySend(lane)) progressed = true;
      }
    }
  }

  private batchPolicy(lane: Lane): BatchPolicy | null {
    const sub = this.hooks.subscription(lane.subscriptionId);
    if (sub?.delivery.batch) return sub.delivery.batch;
    // A batch channel batches for every subscription that can take a batch: the webhook format is
    // one plain JSON object per request, so those subscriptions get one event at a time.
    const channel = this.hooks.channel(lane.channel);
    return channel.mode === 'batch' && sub?.delivery.format !== 'webhook' ? channel.batch : null;
  }

  /**
   * The subscription's gate. One object per subscription for its lifetime, so that a request in
   * flight when the subscription is replaced releases the count it took; only a changed limit
   * starts a new bucket.
   */
  private gate(sub: Subscription): SubscriptionGate {
    let gate = this.gates.get(sub.id);
    if (!gate) {
      gate = { limit: null, bucket: null, active: 0 };
      this.gates.set(sub.id, gate);
    }
    const limit = sub.delivery.rateLimit;
    if (gate.limit !== limit) {
      const same =
        gate.limit !== null &&
        limit !== null &&
        gate.limit.perSecond === limit.perSecond &&
        gate.limit.burst === limit.burst;
      if (!same) gate.bucket = limit ? this.bucket(sub.id, limit) : null;
      gate.limit = limit;
    }
    return gate;
  }

  /**
   * A rate limit's bucket: in memory, or in the store when other processes share it, since each
   * would otherwise send at the full rate. A grant from the store frees the subscription's lanes.
   */
  private bucket(subscriptionId: string, limit: RateLimit): TokenBucket | SharedTokenBucket {
    if (!this.options.shared) return new TokenBucket(limit.perSecond, limit.burst);
    return new SharedTokenBucket(
      subscriptionId,
      limit.perSecond,
      limit.burst,
      (key, perSecond, burst, n) => this.store.takeTokens(key, perSecond, burst, n),
      () => {
        if (!this.running) return;
        for (const lane of this.lanes.values()) {
          if (lane.subscriptionId === subscriptionId) lane.heldUntil = 0;
        }
        this.pump();
      },
    );
  }

  /** Sends the lane's next request if every gate allows; false if one held it back. */
  private trySend(lane: Lane): boolean {
    const now = Date.now();
    const sub = this.hooks.subscription(lane.subscriptionId);
    if (sub?.status !== 'active') {
      const d = lane.takeOne()!;
      this.settle(lane, [d], async () => {
        await this.deadForSubscription(d, sub);
        // The next delivery of its key may now be due, in this or another of the lanes.
        if (d.delivery.orderKey !== null) this.wake(d.delivery.subscriptionId);
      });
      return true;
    }
    if (this.options.shared && this.options.leaseMs !== undefined) {
      this.dropStale(lane, now - this.options.leaseMs / 2);
      if (lane.size === 0) return false;
    }
    const channel = this.hooks.channel(lane.channel);
    if ((this.channelActive.get(channel.name) ?? 0) >= channel.concurrency) return false;
    const gate = this.gate(sub);
    if (gate.limit?.concurrency != null && gate.active >= gate.limit.concurrency) return false;
    const { origin } = targetOf(sub);
    if ((this.originActive.get(origin) ?? 0) >= this.options.connectionsPerOrigin) return false;
    if (gate.bucket) {
      const wait = gate.bucket.waitMs();
      if (wait > 0) {
        this.hooks.recorder?.throttled(sub.id);
        lane.heldUntil = now + wait;
        this.alarm(lane.heldUntil);
        return false;
      }
    }
    const batch = this.batchPolicy(lane);
    if (batch) {
      const readyAt = lane.hasGroups ? 0 : batchReadyAt(lane.queue, batch, lane.more);
      if (readyAt > now) {
        lane.heldUntil = readyAt;
        this.alarm(readyAt);
        return false;
      }
    }
    const endpoint = endpointOf(sub);
    if (!this.breakers.tryAcquire(endpoint)) {
      lane.heldUntil = this.breakers.readyAt(endpoint);
      this.alarm(lane.heldUntil);
      return false;
    }
    gate.bucket?.tryTake();
    // A batch that failed goes out again as it was, before anything newer.
    const retry = batch ? lane.takeGroup() : undefined;
    const items = retry?.items ?? (batch ? takeBatch(lane.queue, batch) : [lane.takeOne()!]);

    this.active++;
    gate.active++;
    this.channelActive.set(channel.name, (this.channelActive.get(channel.name) ?? 0) + 1);
    this.originActive.set(origin, (this.originActive.get(origin) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.active--;
      gate.active--;
      this.channelActive.set(channel.name, (this.channelActive.get(channel.name) ?? 1) - 1);
      const left = (this.originActive.get(origin) ?? 1) - 1;
      if (left === 0) this.originActive.delete(origin);
      else this.originActive.set(origin, left);
      this.pump();
    };
    this.settle(
      lane,
      items,
      () => this.attempt(lane, sub, endpoint, items, batch !== null, release),
      release,
    );
    return true;
  }

  /**
   * Hands back to the store what was queued before `before`: its lease could run out during the
   * attempt (a slow rate limit, an open breaker held it in memory). The lane reads it again, leasing it anew,
   * unless another process has taken it meanwhile.
   */
  private dropStale(lane: Lane, before: number): void {
    const stale = lane.takeQueuedBefore(before);
    if (stale.length === 0) return;
    for (const d of stale) lane.inFlight.delete(d.delivery.id);
    lane.cursor = null;
    lane.more = true;
    lane.leftInStore++;
    lane.dueBy(Date.now());
    this.soon();
  }

  /**
   * Runs an attempt and keeps the books: the deliveries leave `inFlight` once it is recorded, or
   * are held for a while if recording failed, and a drain learns when the last attempt is done.
   */
  private settle(lane: Lane, items: Queued[], run: () => Promise<void>, release?: () => void): void {
    this.unsettled++;
    let recorded = true;
    run()
      .catch((error) => {
        recorded = false;
        this.log.error(
          { err: error, deliveries: items.map((d) => d.delivery.id) },
          'could not record an attempt',
        );
      })
      .finally(() => {
        release?.();
        for (const d of items) {
          // An attempt whose record failed (storage trouble) would be read as due at once and sent
          // again and again; it stays held for a while instead.
          if (recorded) lane.inFlight.delete(d.delivery.id);
          else setTimeout(() => lane.inFlight.delete(d.delivery.id), UNRECORDED_HOLD_MS).unref();
        }
        if (!recorded) lane.dueBy(Date.now() + UNRECORDED_HOLD_MS);
        this.unsettled--;
        if (this.unsettled === 0 && !this.running) for (const w of this.idleWaiters.splice(0)) w();
        // Running low while more is due in the store: read it now, not at the next poll.
        if (this.running && lane.size < this.laneCapacity(lane) / 2 && lane.wantsFetch(Date.now())) {
          this.soon();
        }
      });
  }

  private async deadForSubscription({ delivery }: Queued, sub: Subscription | undefined): Promise<void> {
    const reason = sub ? `subscription is ${sub.status}` : 'subscription deleted';
    await this.store.recordAttempt(delivery.id, {
      kind: 'dead',
      attempt: {
        n: delivery.attempts + 1,
        at: new Date().toISOString(),
        status: null,
        outcome: 'dead',
        latencyMs: 0,
        error: reason,
        response: null,
      },
      reason,
    });
    this.hooks.recorder?.deadWithoutSending(delivery.subscriptionId);
  }

  /**
   * Each delivery's event as the subscription reads it. One that cannot be converted to its pinned
   * version, or transformed, is dead-lettered here with the reason, never sent as it is; the rest
   * go on.
   */
  private async converted(
    sub: Subscription,
    items: Queued[],
  ): Promise<{ items: Queued[]; events: CloudEvent[]; conversions: (Conversion | null)[] }> {
    const out: { items: Queued[]; events: CloudEvent[]; conversions: (Conversion | null)[] } = {
      items: [],
      events: [],
      conversions: [],
    };
    for (const d of items) {
      const settled = this.hooks.settles(sub, d.event, d.delivery.channel);
      if (settled) {
        await this.store.recordAttempt(d.delivery.id, {
          kind: 'settled',
          status: settled.status,
          reason: settled.reason,
          attempt: {
            n: d.delivery.attempts + 1,
            at: new Date().toISOString(),
            status: null,
            outcome: settled.status,
            latencyMs: 0,
            error: settled.reason,
            response: null,
          },
        });
        continue;
      }
      let result: ConversionResult | null;
      try {
        const pending = this.hooks.prepare(sub, d.event);
        result = pending ? await pending : null;
      } catch (error) {
        result = { ok: false, reason: `the conversion failed: ${(error as Error).message ?? String(error)}` };
      }
      if (result && !result.ok) {
        this.log.info(
          { ...deliveryFields(sub.id, d), delivery: d.delivery.id, reason: result.reason },
          'not converted',
        );
        await this.store.recordAttempt(d.delivery.id, {
          kind: 'dead',
          attempt: {
            n: d.delivery.attempts + 1,
            at: new Date().toISOString(),
            status: null,
            outcome: 'dead',
            latencyMs: 0,
            error: result.reason,
            response: null,
          },
          reason: result.reason,
          holdKey: sub.delivery.ordering === 'partition' && sub.delivery.onDead === 'block',
        });
        this.hooks.recorder?.deadWithoutSending(sub.id);
        continue;
      }
      out.items.push(d);
      out.events.push(asSent(result ? result.event : d.event.event, d.delivery.replayId));
      out.conversions.push(result?.conversion ?? null);
    }
    return out;
  }

  /** Sends one request (one delivery, or a batch), calls `release` once the exchange is over, records. */
  private async attempt(
    lane: Lane,
    sub: Subscription,
    endpoint: string,
    queued: Queued[],
    batched: boolean,
    release: () => void,
  ): Promise<void> {
    let prepared: Awaited<ReturnType<Dispatcher['converted']>> | undefined;
    try {
      prepared = await this.converted(sub, queued);
    } finally {
      if (!prepared || prepared.items.length < queued.length) {
        // A delivery dead-lettered here may have held the next one of its key back.
        if (queued.some((d) => d.delivery.orderKey !== null)) this.wake(sub.id, this.hooks.channelsOf(sub));
      }
      if (!prepared || prepared.items.length === 0) {
        // Nothing is sent: the breaker's slot (a half-open probe, perhaps) goes back unused.
        this.breakers.record(endpoint, 'ignored');
        release();
      }
    }
    const { items, events, conversions } = prepared;
    if (items.length === 0) return;
    const at = new Date();
    const first = items[0]!;
    const message = batched
      ? encodeBatch(events)
      : encodeEvent(events[0]!, sub.delivery.format, new Date(first.event.receivedAt));
    // Derived from the members, so a retried batch keeps its id exactly when it keeps its members.
    const webhookId = batched
      ? batchWebhookId(items.map((d) => d.delivery.webhookId))
      : first.delivery.webhookId;
    const request = signedRequest(sub, message, webhookId, at);
    const { headers } = request;
    const { traceparent, tracestate } = first.event.event;
    if (!batched && typeof traceparent === 'string' && TRACEPARENT.test(traceparent)) {
      headers.traceparent = traceparent;
      if (typeof tracestate === 'string' && TRACESTATE.test(tracestate)) headers.tracestate = tracestate;
    }
    const span = this.options.tracing?.enabled
      ? this.options.tracing.deliver(
          sub,
          // The stored events: a transform may have dropped their trace context from what is sent.
          items.map((d) => d.event.event),
          first.delivery.attempts + 1,
          { delivery: first.delivery.id, webhook: webhookId },
          headers,
        )
      : undefined;

    const sent = await this.sink.send(request);
    // The breaker hears first, so a failure that opens it frees no slot for one more request.
    this.breakers.record(endpoint, breakerOutcome(sent));
    release();
    if (!sent.ok && sent.aborted) {
      // Shutdown cut the send short: it says nothing about the sink, so it spends no attempt. The
      // deliveries stay due and go out again, with the same webhook-id, after the next start.
      this.log.info({ subscription: sub.id, webhookId }, 'send aborted by shutdown; left due');
      span?.end('aborted', sent);
      return;
    }

    const results = items.map((d) => decideOutcome(d.delivery, sub.delivery, sent, at));
    // A batch is retried as a whole: its members share the first one's retry time, so they come
    // due together and travel together again.
    const retryAt = results.find((r) => r.kind === 'retry')?.nextAttemptAt;
    const shared = results.map((r, i): AttemptResult => {
      const conversion = conversions[i] ? { conversion: conversions[i] } : {};
      if (r.kind === 'retry' && retryAt)
        return { ...r, nextAttemptAt: retryAt, ...(batched ? { batchId: webhookId } : {}), ...conversion };
      if (r.kind === 'dead' && sub.delivery.ordering === 'partition' && sub.delivery.onDead === 'block')
        return { ...r, holdKey: true, ...conversion };
      return { ...r, ...conversion };
    });
    const verdict = shared[0]!;
    span?.end(verdict.kind, sent);
    // Built only for a line that is written: this runs on every attempt, and `delivered` is debug.
    const scope = () => ({ ...deliveryFields(sub.id, first), webhookId, events: items.length });
    if (verdict.kind !== 'delivered')
      this.log.info({ ...scope(), outcome: verdict.kind, error: verdict.attempt.error }, 'attempt failed');
    else if (this.log.isLevelEnabled('debug'))
      this.log.debug({ ...scope(), status: verdict.attempt.status }, 'delivered');
    // Only what the sink itself did counts towards disabling a subscription that keeps failing.
    if (verdict.kind === 'disable') await this.hooks.disable(sub, verdict.reason);
    else if (!(!sent.ok && sent.refused)) this.hooks.verdict(sub, verdict.kind === 'delivered', at);
    await Promise.all(items.map((d, i) => this.store.recordAttempt(d.delivery.id, shared[i]!)));
    this.hooks.recorder?.attempted(sub.id, items, shared, sent);

    const now = Date.now();
    if (retryAt) lane.dueBy(retryAt.getTime());
    // The next event of a partition key comes due when this one settles, perhaps behind a lane's
    // cursor, and perhaps in another channel the subscription takes: read all its lanes afresh.
    if (items.some((d) => d.delivery.orderKey !== null)) this.wake(sub.id, this.hooks.channelsOf(sub));
    if (lane.dueAt <= now) this.soon();
    else this.alarm(lane.dueAt);
  }
}

/**
 * What a send says about the endpoint's health. A 4xx (429 included) comes from a working server
 * that refuses this request, so it neither opens nor closes the breaker; nor does a send refused
 * before it left or cut short by shutdown.
 */
function breakerOutcome(sent: HttpSendResult): BreakerOutcome {
  if (!sent.ok) return sent.refused || sent.aborted ? 'ignored' : 'failure';
  if (sent.status >= 500) return 'failure';
  if (sent.status >= 400) return 'ignored';
  return 'success';
}
