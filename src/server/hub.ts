/**
 * The hub: the store, the router and the dispatcher wired together, with the operations the HTTP
 * routes expose. Routes stay thin; what the hub does lives here.
 */
import type { Logger } from 'pino';
import type { HubConfig } from '../core/config.js';
import { NotFoundError } from '../core/errors.js';
import type { CloudEvent } from '../core/event.js';
import { newId, newSecret } from '../core/ids.js';
import { Dispatcher } from '../delivery/dispatcher.js';
import { HttpSink } from '../delivery/sinks/http.js';
import { Router } from '../routing/router.js';
import type { SubscriptionInput } from '../routing/subscription-input.js';
import type {
  AppendResult,
  Delivery,
  DeliveryStatus,
  EventStore,
  Page,
  Subscription,
} from '../storage/ports.js';

/** A subscription as the API shows it: never its secrets. */
export type PublicSubscription = Omit<Subscription, 'secrets'>;

export function toPublic(sub: Subscription): PublicSubscription {
  const { secrets: _secrets, ...rest } = sub;
  return rest;
}

/**
 * Deliveries the dispatcher holds in memory, each with its event: a bound on memory as well as a
 * queue. A third of a second of work at the measured sustained rate; the rest waits in the store.
 */
const MAX_QUEUED = 2_000;

export class Hub {
  private readonly subscriptions = new Map<string, Subscription>();
  private changes: Promise<unknown> = Promise.resolve();
  private readonly router = new Router();
  private readonly sink: HttpSink;
  readonly dispatcher: Dispatcher;

  constructor(
    readonly store: EventStore,
    readonly config: HubConfig,
    private readonly log: Logger,
  ) {
    for (const sub of store.listSubscriptions()) this.subscriptions.set(sub.id, sub);
    this.router.load([...this.subscriptions.values()]);
    this.sink = new HttpSink({ connectionsPerOrigin: config.connectionsPerOrigin });
    this.dispatcher = new Dispatcher(
      store,
      this.sink,
      {
        subscription: (id) => this.subscriptions.get(id),
        disable: (seen, reason) => this.disable(seen, reason),
      },
      {
        concurrency: config.deliveryConcurrency,
        pollIntervalMs: config.pollIntervalMs,
        maxQueued: MAX_QUEUED,
      },
      log.child({ component: 'dispatcher' }),
    );
  }

  start(): void {
    this.dispatcher.start();
  }

  /** Appends events durably, with their deliveries, and hands the deliveries to the dispatcher. */
  async ingest(events: CloudEvent[]): Promise<AppendResult[]> {
    const { results, deliveries } = await this.store.append(events, (event) => this.router.route(event));
    this.dispatcher.enqueue(deliveries);
    return results;
  }

  createSubscription(input: SubscriptionInput): Promise<{ subscription: Subscription; secret: string }> {
    return this.serially(() => this.create(input));
  }

  private async create(input: SubscriptionInput): Promise<{ subscription: Subscription; secret: string }> {
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
      secrets: [secret],
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
    const status = input.status ?? current.status;
    const subscription: Subscription = {
      ...current,
      ...input,
      status,
      statusReason: status === 'active' ? null : current.statusReason,
      updatedAt: new Date().toISOString(),
    };
    await this.store.saveSubscription(subscription);
    this.remember(subscription);
    return subscription;
  }

  deleteSubscription(id: string): Promise<Subscription> {
    return this.serially(async () => {
      const current = this.getSubscription(id);
      await this.store.deleteSubscription(id);
      this.subscriptions.delete(id);
      this.router.load([...this.subscriptions.values()]);
      return current;
    });
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

  lookupEvent(source: string, id: string) {
    const found = this.store.lookupEvent(source, id);
    if (!found) throw new NotFoundError(`no event with source '${source}' and id '${id}'`);
    return {
      event: found.event.event,
      seq: found.event.seq,
      receivedAt: found.event.receivedAt,
      deliveries: found.deliveries,
    };
  }

  listDeliveries(
    subscriptionId: string,
    status: DeliveryStatus | undefined,
    limit: number,
    after: string | undefined,
  ) {
    this.getSubscription(subscriptionId);
    return this.withEvents(this.store.listDeliveries(subscriptionId, status, limit, after));
  }

  listDeadLetters(subscriptionId: string | undefined, limit: number, after: string | undefined) {
    return this.withEvents(this.store.listDeadLetters(subscriptionId, limit, after));
  }

  async redrive(selector: { ids: string[] } | { subscriptionId: string }): Promise<Delivery[]> {
    if ('subscriptionId' in selector) this.getSubscription(selector.subscriptionId);
    const moved = await this.store.redrive(selector);
    if (moved.length > 0) this.dispatcher.wake();
    return moved;
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
    try {
      await this.dispatcher.stop();
    } finally {
      clearTimeout(abort);
    }
    await this.sink.close();
    await this.store.close();
  }

  /**
   * Disables a subscription after a 410, unless it was deleted or changed since `seen`, the
   * version the attempt was sent with: a 410 from an old URL must not disable the new one.
   */
  private disable(seen: Subscription, reason: string): Promise<void> {
    return this.serially(async () => {
      const sub = this.subscriptions.get(seen.id);
      if (sub !== seen || sub.status === 'disabled') return;
      this.log.warn({ subscription: sub.id, reason }, 'subscription disabled');
      const disabled: Subscription = {
        ...sub,
        status: 'disabled',
        statusReason: reason,
        updatedAt: new Date().toISOString(),
      };
      await this.store.saveSubscription(disabled);
      this.remember(disabled);
    });
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

  private remember(sub: Subscription): void {
    this.subscriptions.set(sub.id, sub);
    this.router.load([...this.subscriptions.values()]);
  }

  private withEvents(page: Page<Delivery>) {
    const events = this.store.eventSummaries(page.items.map((d) => d.eventSeq));
    return { items: page.items.map((d) => ({ ...d, event: events.get(d.eventSeq) })), next: page.next };
  }
}
