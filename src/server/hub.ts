/**
 * The hub: the store, the router and the dispatcher wired together, with the operations the HTTP
 * routes expose. Routes stay thin; what the hub does lives here.
 */
import { createHash } from 'node:crypto';
import type { TracerProvider } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { Bridges } from '../adapters/bridges/index.js';
import { Converters } from '../contracts/conversion.js';
import { IngestCheck, type IngestWarning } from '../contracts/ingest-check.js';
import { SchemaRegistry } from '../contracts/registry.js';
import type { ChannelConfig, HubConfig } from '../core/config.js';
import {
  JunctionError,
  NotFoundError,
  OverloadedError,
  UnavailableError,
  ValidationError,
} from '../core/errors.js';
import type { CloudEvent } from '../core/event.js';
import { newId, newSecret } from '../core/ids.js';
import { Breakers, type BreakerTransition, endpointKey } from '../delivery/circuit-breaker.js';
import { Dispatcher } from '../delivery/dispatcher.js';
import { Replayer, type ReplayInput } from '../delivery/replay.js';
import { redactSink, restorePassword } from '../delivery/sinks/broker-settings.js';
import { HttpSink } from '../delivery/sinks/http.js';
import { SinkRouter } from '../delivery/sinks/router.js';
import {
  deliverableSample,
  SAMPLE_EVENTS,
  sendOnce,
  TEST_TYPE,
  type TestEventInput,
  type TestSendResult,
  testEvent,
} from '../delivery/test-send.js';
import { sharedFor } from '../observability/cached.js';
import { logIngested } from '../observability/log-fields.js';
import { Metrics } from '../observability/metrics.js';
import { type IngestSpans, type TraceCarrier, Tracing } from '../observability/tracing.js';
import { Channels } from '../routing/channels.js';
import { Preparation } from '../routing/preparation.js';
import { regionBlock } from '../routing/region-policy.js';
import { Router } from '../routing/router.js';
import { type SimulatedEvent, type SimulationInput, simulate } from '../routing/simulation.js';
import { type SubscriptionInput, withPolicyDefaults } from '../routing/subscription-input.js';
import type { JetStreamBus } from '../storage/nats/bus.js';
import type {
  AppendResult,
  Delivery,
  DeliveryStatus,
  EventStore,
  Page,
  Replay,
  Routed,
  SettledRoute,
  StoreChange,
  StoredEvent,
  Subscription,
} from '../storage/ports.js';
import { BusRecorder } from './bus-recorder.js';
import { BusIntake, type Intake, StoreIntake } from './intake.js';

/** An ingest result with what the event was taken despite (a deprecated version, say). */
export type IngestResult = AppendResult & { warnings?: IngestWarning[] };

/** What a hub may be given besides its store and config: a clock for tests, an event bus. */
export interface HubDeps {
  /** Epoch ms: the clock contract lifecycles are judged by. */
  now?: () => number;
  /** Distributed mode's event log: ingest publishes to it, and the hub records what it consumes. */
  bus?: JetStreamBus;
  /** Where spans go (docs/tracing.md); without one, nothing is traced. */
  tracerProvider?: TracerProvider;
}

/** A subscription as the API shows it: never its secrets, nor a broker sink's password. */
export type PublicSubscription = Omit<Subscription, 'secrets'>;

export function toPublic(sub: Subscription): PublicSubscription {
  const { secrets: _secrets, ...rest } = sub;
  return { ...rest, sink: redactSink(sub.sink) };
}

/**
 * Deliveries the dispatcher holds in memory, each with its event, shared among lanes: a bound on
 * memory as well as a queue. A quarter of a second of work at 4,000 deliveries/s; the rest waits
 * in the store. Halving it from 2,000 took the 200,000-event drain's peak RSS from 283 to 265 MB.
 */
const MAX_QUEUED = 1_000;
/** How often events past their channel's retention are looked for, and how many go per write. */
const SWEEP_INTERVAL_MS = 60_000;
const SWEEP_BATCH = 1_000;
/** How long one read of the backlog serves every scrape and stats poll. */
const BACKLOG_SHARED_MS = 1_000;
/** What a shadow delivery records as its reason. */
const SHADOW_REASON = 'shadow mode: recorded, not sent';
/** The source of the events the hub publishes about itself. */
const HUB_SOURCE = '/junction';

function endpointOf(sub: Subscription): string {
  return endpointKey(sub.sink);
}

/**
 * An endpoint as the hub's own events show it: anyone may subscribe to those, and many sink URLs
 * carry a token in their path (Slack's do), so only the origin and a short hash of the rest go out.
 */
function redactEndpoint(endpoint: string): string {
  const hash = createHash('sha256').update(endpoint).digest('hex').slice(0, 12);
  try {
    const url = new URL(endpoint);
    // Broker URLs (amqp:, mqtt:, nats:) have no WHATWG origin: show scheme and host instead.
    return `${url.origin === 'null' ? `${url.protocol}//${url.host}` : url.origin}/…#${hash}`;
  } catch {
    return `#${hash}`;
  }
}

export class Hub {
  private readonly subscriptions = new Map<string, Subscription>();
  private changes: Promise<unknown> = Promise.resolve();
  private readonly router = new Router();
  private readonly sink: SinkRouter;
  /** Sources on brokers (AMQP, MQTT, NATS), taking events in as `POST /v1/events` does. */
  private readonly bridges: Bridges;
  readonly channels: Channels;
  readonly breakers: Breakers;
  readonly dispatcher: Dispatcher;
  readonly replays: Replayer;
  /** Event types and their schema versions. */
  readonly registry: SchemaRegistry;
  readonly metrics = new Metrics();
  readonly tracing: Tracing;
  /** Where others reach the hub: the configured `publicUrl`, else the address it listens on. */
  publicUrl: string;
  private readonly ingestCheck: IngestCheck;
  private readonly preparation: Preparation;
  /** Subscriptions whose `failingSince` is being written, so a burst of failures writes it once. */
  private readonly healthWrites = new Set<string>();
  private sweepTimer: NodeJS.Timeout | undefined;
  /** With a shared store: looks for replays whose process died. */
  private resumeTimer: NodeJS.Timeout | undefined;
  /** Where ingest puts events: the store, or the bus. */
  private readonly intake: Intake;
  /** With a bus: records the events this process consumes from it. */
  private readonly recorder: BusRecorder | undefined;
  private unwatch: () => void = () => {};

  constructor(
    readonly store: EventStore,
    readonly config: HubConfig,
    private readonly log: Logger,
    deps: HubDeps = {},
  ) {
    const now = deps.now ?? Date.now;
    this.tracing = deps.tracerProvider ? new Tracing(deps.tracerProvider) : Tracing.off;
    this.publicUrl = config.publicUrl ?? `http://${config.host}:${config.port}`;
    this.channels = new Channels(config.channels);
    this.registry = new SchemaRegistry(store, now);
    this.ingestCheck = new IngestCheck(this.registry.cache, this.metrics, {
      unknownTypes: config.unknownTypes,
      publicUrl: () => this.publicUrl,
      now,
      isStored: (source, id) => store.hasEvent(source, id),
    });
    this.preparation = new Preparation(
      new Converters(this.registry.cache, () => this.publicUrl),
      this.metrics,
      config.maxEventBytes,
    );
    if (deps.bus) {
      this.intake = new BusIntake(deps.bus, (type) => this.channels.of(type).name);
      this.recorder = new BusRecorder(
        deps.bus,
        store,
        {
          route: (event) =>
            this.tracing.enabled ? this.tracing.route(event, () => this.routeOf(event)) : this.routeOf(event),
          recorded: (events, { results, deliveries }, routes) => {
            this.dispatcher.enqueue(deliveries);
            results.forEach((r, i) => {
              if (r.status === 'accepted') this.countSettled(routes.get(events[i]!));
            });
            this.metrics.ingested(events, results);
          },
        },
        log.child({ component: 'recorder' }),
      );
    } else {
      this.intake = new StoreIntake(store);
    }
    this.breakers = new Breakers(config.breaker, (t) => this.onBreaker(t));
    this.metrics.bind({
      backlog: sharedFor(BACKLOG_SHARED_MS, () => store.backlogByLane()),
      breakers: () => this.breakers.list().map((b) => ({ ...b, endpoint: redactEndpoint(b.endpoint) })),
      known: (type) => this.registry.cache.get(type) !== null,
    });
    this.sink = new SinkRouter(
      new HttpSink({ connectionsPerOrigin: config.connectionsPerOrigin }),
      log.child({ component: 'sink' }),
    );
    const defaultChannel = this.channels.of('');
    this.dispatcher = new Dispatcher(
      store,
      this.sink,
      this.breakers,
      {
        subscription: (id) => this.subscriptions.get(id),
        channel: (name) => this.channels.get(name) ?? defaultChannel,
        channelsOf: (sub) => this.channels.for(sub.types).map((c) => c.name),
        disable: (seen, reason) => this.disable(seen, reason, true),
        verdict: (sub, healthy, at) => this.verdict(sub, healthy, at),
        prepare: (sub, event) => this.preparation.for(sub, event),
        recorder: this.metrics,
        settles: (sub, event, channel) => {
          const block = regionBlock(
            event.event,
            this.channels.get(channel) ?? this.channels.of(event.event.type),
            sub,
          );
          if (block) {
            this.metrics.blockedDeliveries.inc({ policy: block.policy });
            return { status: 'blocked', reason: block.reason };
          }
          if (sub.delivery.mode === 'shadow') {
            this.metrics.shadowDeliveries.inc();
            return { status: 'shadow', reason: SHADOW_REASON };
          }
          return null;
        },
      },
      {
        concurrency: config.deliveryConcurrency,
        pollIntervalMs: config.pollIntervalMs,
        shared: config.store !== undefined,
        leaseMs: config.leaseMs,
        maxQueued: MAX_QUEUED,
        connectionsPerOrigin: config.connectionsPerOrigin,
        tracing: this.tracing,
      },
      log.child({ component: 'dispatcher' }),
    );
    this.replays = new Replayer(
      store,
      {
        subscription: (id) => this.subscriptions.get(id),
        wake: (id, channels) => this.dispatcher.wake(id, channels),
        allows: (sub, event, channel) =>
          regionBlock(event, this.channels.get(channel) ?? this.channels.of(event.type), sub) === null,
      },
      log.child({ component: 'replay' }),
    );
    this.bridges = new Bridges(
      config.bridges,
      {
        ingest: async (events) => (await this.ingest(events)).results,
        limits: config,
        registry: this.metrics.registry,
      },
      log.child({ component: 'bridges' }),
    );
  }

  /**
   * Reads what the hub holds in memory, subscriptions and the registry, and makes sure each
   * channel has its stream on the bus: before the server takes requests, since ingest needs both.
   */
  async load(): Promise<void> {
    this.unwatch = this.store.watch((change) => void this.reread(change));
    // Subscriptions saved by an older version lack the newer delivery settings: fill in defaults.
    for (const sub of await this.store.listSubscriptions()) {
      this.subscriptions.set(sub.id, withPolicyDefaults(sub));
    }
    this.router.load([...this.subscriptions.values()]);
    await this.registry.cache.load();
    await this.recorder?.prepare(this.channels.all(), this.config.busReplicas);
  }

  /** Starts delivering, and resumes unfinished replays; after `load`. */
  async start(): Promise<void> {
    this.dispatcher.start();
    // Bus messages are held like deliveries: another process takes over a dead one's after leaseMs.
    await this.recorder?.start(this.channels.all(), this.config.leaseMs);
    await this.replays.resume();
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
    if (this.config.store !== undefined) {
      // Replays a dead process held come free when its claim runs out: look for them as often.
      this.resumeTimer = setInterval(
        () =>
          void this.replays
            .resume()
            .catch((error) => this.log.error({ err: error }, 'looking for replays to resume failed')),
        this.config.leaseMs,
      );
      this.resumeTimer.unref();
    }
    await this.bridges.start();
  }

  /**
   * Checks events against their contracts, appends them durably with their deliveries, and hands
   * the deliveries to the dispatcher. When the store is behind by more than `maxPendingWrites`
   * events, refuses with 503 and Retry-After rather than queueing without bound. `batch` says how
   * errors locate an event: `/3/data/total` in a batch, `/data/total` otherwise.
   *
   * @returns each event's result, and the response headers a deprecated version earns.
   */
  async ingest(
    events: CloudEvent[],
    batch = false,
    traceHeaders?: TraceCarrier,
  ): Promise<{ results: IngestResult[]; headers: Record<string, string> }> {
    if (!this.tracing.enabled) return this.take(events, batch);
    const spans = this.tracing.ingest(events, traceHeaders);
    try {
      const taken = await this.take(events, batch, spans);
      spans.end(events, taken.results);
      return taken;
    } catch (error) {
      spans.fail(error);
      throw error;
    }
  }

  private async take(
    events: CloudEvent[],
    batch: boolean,
    spans?: IngestSpans,
  ): Promise<{ results: IngestResult[]; headers: Record<string, string> }> {
    // Without the store nothing taken could be routed or recorded: say so, and the producer retries.
    if (!this.store.healthy()) {
      throw new UnavailableError('the store does not answer; retry after the Retry-After delay');
    }
    const backlog = this.intake.backlog();
    if (backlog + events.length > this.config.maxPendingWrites && backlog > 0) {
      throw new OverloadedError(
        `the hub has ${backlog} events waiting to be written (maxPendingWrites ${this.config.maxPendingWrites}); retry after the Retry-After delay`,
      );
    }
    const verdict = await this.ingestCheck.check(events, batch);
    const routes = new Map<CloudEvent, Routed>();
    const { results, deliveries } = await this.intake.take(
      events,
      (event) => {
        const routed = spans ? spans.route(event, () => this.routeOf(event)) : this.routeOf(event);
        routes.set(event, routed);
        return routed;
      },
      verdict.contracts,
    );
    this.dispatcher.enqueue(deliveries);
    results.forEach((r, i) => {
      if (r.status === 'accepted') this.countSettled(routes.get(events[i]!));
    });
    this.metrics.ingested(events, results, this.recorder !== undefined);
    logIngested(this.log, events, results, (e) => routes.get(e)?.subscriptions.map((s) => s.id) ?? []);
    return {
      results: results.map((r, i) => (verdict.warnings[i] ? { ...r, warnings: verdict.warnings[i] } : r)),
      headers: verdict.headers,
    };
  }

  /**
   * What would happen to events without storing or sending anything: a given event, or the latest
   * `sample` of a type.
   */
  async simulate(input: SimulationInput): Promise<{ events: SimulatedEvent[] }> {
    const events: StoredEvent[] =
      'event' in input
        ? [{ seq: 0, event: input.event, receivedAt: new Date().toISOString() }]
        : await this.store.recentEvents(input.type, input.sample);
    return {
      events: await simulate(events, {
        subscriptions: () => [...this.subscriptions.values()].filter((s) => s.status === 'active'),
        channelOf: (type) => this.channels.of(type),
        contractOf: async (event) => {
          try {
            return (await this.ingestCheck.check([event], false, false)).contracts[0] ?? null;
          } catch (error) {
            if (error instanceof JunctionError) return { refused: error.message };
            throw error;
          }
        },
        prepare: (sub, event) => this.preparation.for(sub, event, false),
      }),
    };
  }

  /**
   * The event's channel and the subscriptions it goes to: those a region policy blocks and those
   * in shadow mode are recorded settled, with why, and never sent.
   */
  private routeOf(event: CloudEvent): Routed {
    const channel = this.channels.of(event.type);
    const live: Subscription[] = [];
    const settled: SettledRoute[] = [];
    for (const sub of this.router.route(event)) {
      const block = regionBlock(event, channel, sub);
      if (block)
        settled.push({ subscription: sub, status: 'blocked', reason: block.reason, policy: block.policy });
      else if (sub.delivery.mode === 'shadow') {
        settled.push({ subscription: sub, status: 'shadow', reason: SHADOW_REASON });
      } else live.push(sub);
    }
    return { channel: channel.name, subscriptions: live, settled };
  }

  /** Counts the blocked and shadow deliveries of an event once it is stored. */
  private countSettled(routed: Routed | undefined): void {
    for (const s of routed?.settled ?? []) {
      if (s.status === 'shadow') this.metrics.shadowDeliveries.inc();
      else this.metrics.blockedDeliveries.inc({ policy: s.policy ?? 'subscription' });
    }
  }

  /**
   * Checks that each version a subscription pins is registered.
   *
   * @throws ValidationError naming `/delivery/schemaVersion`.
   */
  private checkPins(input: SubscriptionInput): void {
    const pin = input.delivery.schemaVersion;
    if (pin === null) return;
    const pins = typeof pin === 'number' ? { [input.types[0]!]: pin } : pin;
    for (const [type, version] of Object.entries(pins)) {
      const contract = this.registry.cache.get(type);
      if (!contract?.versions.has(version)) {
        const at = typeof pin === 'number' ? '/delivery/schemaVersion' : `/delivery/schemaVersion/${type}`;
        throw ValidationError.field(
          at,
          contract
            ? `'${type}' has no version ${version} (the latest is ${contract.latest.version}); pin a registered version`
            : `'${type}' has no schema in the registry; register one before pinning a version`,
        );
      }
    }
  }

  channelList(): ChannelConfig[] {
    return this.channels.all();
  }

  startReplay(input: ReplayInput): Promise<Replay> {
    this.getSubscription(input.subscriptionId);
    return this.replays.start(input);
  }

  /** A replay with how its deliveries stand. */
  async getReplay(id: string) {
    const replay = await this.replays.get(id);
    return { ...replay, deliveries: await this.store.replayDeliveryCounts(id) };
  }

  listReplays(): Promise<Replay[]> {
    return this.store.listReplays(100);
  }

  cancelReplay(id: string): Promise<Replay> {
    return this.replays.cancel(id);
  }

  /** A subscription's deliveries by status, with its endpoint's breaker. */
  async subscriptionStats(id: string) {
    const sub = this.getSubscription(id);
    const view = this.breakers.list().find((b) => b.endpoint === endpointOf(sub));
    return {
      deliveries: await this.store.deliveryCounts(id),
      breaker: view ?? { endpoint: endpointOf(sub), state: 'closed' },
      failingSince: sub.failingSince,
    };
  }

  /** Sends one test event through the subscription's sink path, once; nothing is stored or retried. */
  async sendTest(id: string, input: TestEventInput): Promise<TestSendResult> {
    const sub = this.getSubscription(id);
    const type = input.type ?? sub.types[0] ?? TEST_TYPE;
    const recent = input.data === undefined ? await this.store.recentEvents(type, SAMPLE_EVENTS) : [];
    const latest = deliverableSample(recent, sub, this.channels.of(type));
    const event = testEvent(type, input, latest, this.exampleData(type));
    return sendOnce({ sink: this.sink, prepare: (s, e) => this.preparation.for(s, e, false) }, sub, event);
  }

  createSubscription(input: SubscriptionInput): Promise<{ subscription: Subscription; secret: string }> {
    return this.serially(() => this.create(input));
  }

  private async create(input: SubscriptionInput): Promise<{ subscription: Subscription; secret: string }> {
    this.checkPins(input);
    const now = new Date().toISOString();
    const secret = newSecret();
    const subscription: Subscription = {
      id: newId('sub'),
      status: input.status ?? 'active',
      statusReason: null,
      types: input.types,
      filters: input.filters,
      sink: input.sink,
      protocol: input.protocol,
      protocolsettings: input.protocolsettings,
      delivery: input.delivery,
      ...(input.origin ? { origin: input.origin } : {}),
      secrets: [secret],
      failingSince: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.saveSubscription(subscription);
    this.remember(subscription);
    return { subscription, secret };
  }

  replaceSubscription(id: string, input: SubscriptionInput): Promise<Subscription> {
    return this.serially(() => this.replace(id, input));
  }

  private async replace(id: string, input: SubscriptionInput): Promise<Subscription> {
    const current = this.getSubscription(id);
    this.checkPins(input);
    const status = input.status ?? current.status;
    const subscription: Subscription = {
      ...current,
      ...input,
      sink: restorePassword(input.sink, current.sink),
      status,
      statusReason: status === 'active' ? null : current.statusReason,
      updatedAt: new Date().toISOString(),
    };
    await this.store.saveSubscription(subscription);
    this.remember(subscription);
    // Re-enabled, or taking other types: its deliveries may be due again, in any of its lanes.
    this.dispatcher.wake(subscription.id);
    return subscription;
  }

  deleteSubscription(id: string): Promise<Subscription> {
    return this.serially(async () => {
      const current = this.getSubscription(id);
      this.metrics.subscriptionDeleted(id, (await this.store.deleteSubscription(id)) ?? 0);
      this.subscriptions.delete(id);
      this.router.load([...this.subscriptions.values()]);
      return current;
    });
  }

  /** Whether the type is known: registered in the schema registry, or stored at least once. */
  async knowsType(type: string): Promise<boolean> {
    if (this.registry.cache.get(type) !== null) return true;
    if (await this.store.getEventType(type)) return true;
    return (await this.store.recentEvents(type, 1)).length > 0;
  }

  /** The latest stored events of a type, newest first. */
  recentEvents(type: string, limit: number): Promise<StoredEvent[]> {
    return this.store.recentEvents(type, limit);
  }

  /** The first of the latest schema's `examples` for the type, or undefined. */
  exampleData(type: string): unknown {
    const schema = this.registry.cache.get(type)?.latest.schema as { examples?: unknown } | undefined;
    return Array.isArray(schema?.examples) ? schema.examples[0] : undefined;
  }

  getSubscription(id: string): Subscription {
    const sub = this.subscriptions.get(id);
    if (!sub)
      throw new NotFoundError(`no subscription with id '${id}'; list them with GET /v1/subscriptions`);
    return sub;
  }

  listSubscriptions(): Subscription[] {
    return [...this.subscriptions.values()];
  }

  async lookupEvent(source: string, id: string) {
    const found = await this.store.lookupEvent(source, id);
    if (!found) throw new NotFoundError(`no event with source '${source}' and id '${id}'`);
    return {
      event: found.event.event,
      seq: found.event.seq,
      receivedAt: found.event.receivedAt,
      contract: found.event.contract ?? null,
      deliveries: found.deliveries,
    };
  }

  async listDeliveries(
    subscriptionId: string,
    status: DeliveryStatus | undefined,
    limit: number,
    after: string | undefined,
  ) {
    this.getSubscription(subscriptionId);
    return this.withEvents(await this.store.listDeliveries(subscriptionId, status, limit, after));
  }

  async listDeadLetters(subscriptionId: string | undefined, limit: number, after: string | undefined) {
    return this.withEvents(await this.store.listDeadLetters(subscriptionId, limit, after));
  }

  async redrive(selector: { ids: string[] } | { subscriptionId: string }): Promise<Delivery[]> {
    if ('subscriptionId' in selector) this.getSubscription(selector.subscriptionId);
    const moved = await this.store.redrive(selector);
    this.wakeFor(moved);
    return moved;
  }

  /** Tells the dispatcher which lanes have deliveries due again. */
  private wakeFor(deliveries: Delivery[]): void {
    const lanes = new Map<string, Set<string>>();
    for (const d of deliveries) {
      const channels = lanes.get(d.subscriptionId) ?? new Set<string>();
      channels.add(d.channel);
      lanes.set(d.subscriptionId, channels);
    }
    for (const [id, channels] of lanes) this.dispatcher.wake(id, channels);
  }

  /** Gives up on dead letters for good; with `onDead: "block"` that lets their key move on. */
  async discard(selector: { ids: string[] } | { subscriptionId: string }): Promise<Delivery[]> {
    if ('subscriptionId' in selector) this.getSubscription(selector.subscriptionId);
    const gone = await this.store.discard(selector);
    this.wakeFor(gone);
    return gone;
  }

  /**
   * Drains: waits for attempts in flight, then closes connections and the store. Sends still
   * waiting on a slow sink halfway through the grace period are aborted, so that they are recorded
   * as retries before the process has to exit, rather than left unrecorded and sent again.
   */
  async stop(): Promise<void> {
    const abort = setTimeout(
      () => this.sink.abortAll('the hub is shutting down'),
      this.config.shutdownGraceMs / 2,
    );
    abort.unref();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.resumeTimer) clearInterval(this.resumeTimer);
    this.unwatch();
    try {
      // First, while the store is open: what the bridges are ingesting is stored and acknowledged.
      await this.bridges.stop();
      await this.recorder?.stop();
      await this.replays.stop();
      await this.dispatcher.stop();
    } finally {
      clearTimeout(abort);
    }
    await this.sink.close();
    await this.store.close();
  }

  /**
   * Disables a subscription after a 410 (`gone`) or a long run of failures, unless it was deleted
   * or changed since `seen`, the version the attempt was sent with: a 410 from an old URL must not
   * disable the new one. A REST hook whose target answered 410 is removed instead: its tool has
   * forgotten it, and would subscribe anew rather than re-enable it.
   */
  private disable(seen: Subscription, reason: string, gone = false): Promise<void> {
    return this.serially(async () => {
      const sub = this.subscriptions.get(seen.id);
      // Compared by version, not identity: recording failingSince makes a new object, not a new version.
      if (!sub || sub.updatedAt !== seen.updatedAt || sub.status === 'disabled') return;
      if (gone && sub.origin === 'rest-hook') {
        this.log.warn({ subscription: sub.id, reason }, 'REST hook removed: its target is gone');
        this.metrics.subscriptionDeleted(sub.id, (await this.store.deleteSubscription(sub.id)) ?? 0);
        this.subscriptions.delete(sub.id);
        this.router.load([...this.subscriptions.values()]);
        this.publishOwn('dev.junction.subscription.removed', {
          subscription: sub.id,
          sink: redactEndpoint(endpointKey(sub.sink)),
          reason,
        });
        return;
      }
      this.log.warn({ subscription: sub.id, reason }, 'subscription disabled');
      const disabled: Subscription = {
        ...sub,
        status: 'disabled',
        statusReason: reason,
        updatedAt: new Date().toISOString(),
      };
      await this.store.saveSubscription(disabled);
      this.remember(disabled);
      this.publishOwn('dev.junction.subscription.disabled', {
        subscription: sub.id,
        sink: redactEndpoint(endpointKey(sub.sink)),
        reason,
      });
    });
  }

  /**
   * Keeps `failingSince`: set at the first failure after a success, cleared by a success, and once
   * every attempt has failed for `disableAfterMs`, the subscription is disabled. Written only when it
   * changes, so a failing subscription costs no write per attempt.
   */
  private verdict(sub: Subscription, healthy: boolean, at: Date): void {
    const current = this.subscriptions.get(sub.id);
    if (current?.status !== 'active' || this.healthWrites.has(sub.id)) return;
    if (healthy) {
      if (current.failingSince !== null) this.writeHealth(current, null);
      return;
    }
    if (current.failingSince === null) {
      this.writeHealth(current, at.toISOString());
      return;
    }
    const since = Date.parse(current.failingSince);
    if (at.getTime() - since >= current.delivery.disableAfterMs) {
      this.healthWrites.add(sub.id);
      void this.disable(
        current,
        `every attempt has failed since ${current.failingSince} (disableAfterMs ${current.delivery.disableAfterMs})`,
      )
        .catch((error) => this.log.error({ err: error, subscription: sub.id }, 'could not disable'))
        .finally(() => this.healthWrites.delete(sub.id));
    }
  }

  private writeHealth(seen: Subscription, failingSince: string | null): void {
    this.healthWrites.add(seen.id);
    void this.serially(async () => {
      const sub = this.subscriptions.get(seen.id);
      if (sub !== seen) return;
      const updated = { ...sub, failingSince };
      await this.store.saveSubscription(updated);
      this.remember(updated);
    })
      .catch((error) => this.log.error({ err: error, subscription: seen.id }, 'could not record health'))
      .finally(() => this.healthWrites.delete(seen.id));
  }

  private onBreaker(t: BreakerTransition): void {
    const data = {
      endpoint: redactEndpoint(t.endpoint),
      subscriptions: [...this.subscriptions.values()]
        .filter((sub) => endpointOf(sub) === t.endpoint)
        .map((sub) => sub.id),
      requests: t.requests,
      failures: t.failures,
      reopenAt: t.reopenAt?.toISOString() ?? null,
    };
    if (t.from === 'closed' && t.to === 'open') {
      this.log.warn(data, 'endpoint breaker opened');
      this.publishOwn('dev.junction.endpoint.opened', data);
    } else if (t.to === 'closed') {
      this.log.info(data, 'endpoint breaker closed');
      this.publishOwn('dev.junction.endpoint.closed', data);
    } else if (t.to === 'open') {
      this.log.info(data, 'endpoint breaker reopened after a failed probe');
    }
  }

  /** Publishes one of the hub's own events, routed and delivered like any other. */
  private publishOwn(type: string, data: Record<string, unknown>): void {
    const event: CloudEvent = {
      specversion: '1.0',
      id: newId('evt'),
      source: HUB_SOURCE,
      type,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data,
    };
    this.store
      .append([event], (e) => this.routeOf(e))
      .then(({ deliveries }) => this.dispatcher.enqueue(deliveries))
      .catch((error) => this.log.error({ err: error, type }, 'could not publish a hub event'));
  }

  /** Deletes events past their channel's retention that have nothing left to deliver or redrive. */
  private async sweep(): Promise<void> {
    try {
      for (const channel of this.channels.all()) {
        const before = new Date(Date.now() - channel.retentionMs);
        while ((await this.store.sweep(channel.name, before, SWEEP_BATCH)) === SWEEP_BATCH) {
          // More to delete: go on, one write at a time, so ingest is never held up for long.
        }
      }
    } catch (error) {
      this.log.error({ err: error }, 'sweeping expired events failed');
    }
  }

  /**
   * Runs subscription changes one at a time, each saved before it is applied in memory, so that a
   * 410 racing a DELETE or PUT cannot leave memory and the store disagreeing.
   */
  private serially<T>(change: () => Promise<T>): Promise<T> {
    const run = this.changes.then(change, change);
    this.changes = run.catch(() => undefined);
    return run;
  }

  /**
   * Reads again what another process changed in the store: a subscription (saved, disabled or
   * deleted), or a type's contract. Subscription changes queue behind this process's own.
   */
  private async reread(change: StoreChange): Promise<void> {
    try {
      if (change.kind === 'contract') {
        await this.registry.cache.refresh(change.type);
        return;
      }
      await this.serially(async () => {
        const sub = await this.store.getSubscription(change.id);
        if (sub) {
          this.remember(withPolicyDefaults(sub));
          this.dispatcher.wake(sub.id);
        } else if (this.subscriptions.delete(change.id)) {
          this.router.load([...this.subscriptions.values()]);
        }
      });
    } catch (error) {
      this.log.error({ err: error, change }, 'could not read a change made by another process');
    }
  }

  private remember(sub: Subscription): void {
    const before = this.subscriptions.get(sub.id);
    this.subscriptions.set(sub.id, sub);
    // A health write (failingSince) keeps everything routing reads: the index stays as it is.
    const same =
      before !== undefined &&
      before.status === sub.status &&
      before.types === sub.types &&
      before.filters === sub.filters &&
      before.delivery === sub.delivery;
    if (!same) this.router.load([...this.subscriptions.values()]);
  }

  private async withEvents(page: Page<Delivery>) {
    const events = await this.store.eventSummaries(page.items.map((d) => d.eventSeq));
    return { items: page.items.map((d) => ({ ...d, event: events.get(d.eventSeq) })), next: page.next };
  }
}
