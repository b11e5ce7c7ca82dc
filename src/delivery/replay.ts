/**
 * Replays: archived events of a time range that match a filter, sent again to one subscription, as
 * a job that records its progress. Each page of events becomes deliveries in the same transaction
 * that moves the job's cursor past it, so a job resumed after a crash neither skips nor repeats an
 * event (and a unique index on (replay, event) makes a repeated page harmless regardless).
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import type { CloudEvent } from '../core/event.js';
import { newId } from '../core/ids.js';
import { isRfc3339Timestamp } from '../core/timestamp.js';
import { checkFilters, compileFilters } from '../routing/filters.js';
import type { EventStore, Filter, Replay, ReplayDelivery, Subscription } from '../storage/ports.js';
import { orderKeyOf } from '../storage/records.js';

/** Events read and turned into deliveries per transaction. */
const PAGE = 1_000;

export interface ReplayInput {
  subscriptionId: string;
  from: string;
  to: string | undefined;
  types: string[] | undefined;
  filters: Filter[] | undefined;
  newWebhookIds: boolean;
}

export interface ReplayHooks {
  subscription(id: string): Subscription | undefined;
  /** New deliveries of the subscription, in these channels, are in the store. */
  wake(subscriptionId: string, channels: Iterable<string>): void;
  /** Whether the region policies let the event go to the subscription through the channel. */
  allows(sub: Subscription, event: CloudEvent, channel: string): boolean;
}

/** Checks a `POST /v1/replays` body; throws one ValidationError naming every bad field. */
export function parseReplayInput(body: unknown): ReplayInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw ValidationError.field('', 'the body must be a JSON object: {"subscription", "from", "to"?, ...}');
  const b = body as Record<string, unknown>;
  const errors: { pointer: string; message: string }[] = [];
  const known = new Set(['subscription', 'from', 'to', 'types', 'filters', 'newWebhookIds']);
  for (const key of Object.keys(b))
    if (!known.has(key)) errors.push({ pointer: `/${key}`, message: `unknown field '${key}'` });
  if (typeof b.subscription !== 'string' || b.subscription === '')
    errors.push({
      pointer: '/subscription',
      message: 'subscription is required: the id of the subscription to replay to',
    });
  for (const field of ['from', 'to'] as const) {
    const v = b[field];
    if (v === undefined && field === 'to') continue;
    if (typeof v !== 'string' || !isRfc3339Timestamp(v))
      errors.push({
        pointer: `/${field}`,
        message: `${field} must be an RFC 3339 time such as 2026-11-26T08:00:00Z${field === 'to' ? ' (default: now)' : ''}`,
      });
  }
  if (
    typeof b.from === 'string' &&
    typeof b.to === 'string' &&
    isRfc3339Timestamp(b.from) &&
    isRfc3339Timestamp(b.to) &&
    Date.parse(b.from) >= Date.parse(b.to)
  )
    errors.push({ pointer: '/to', message: 'to must be later than from' });
  if (
    b.types !== undefined &&
    (!Array.isArray(b.types) || b.types.some((t) => typeof t !== 'string' || t === ''))
  )
    errors.push({ pointer: '/types', message: 'types must be an array of event type strings' });
  if (b.filters !== undefined) errors.push(...checkFilters(b.filters, '/filters'));
  if (b.newWebhookIds !== undefined && typeof b.newWebhookIds !== 'boolean')
    errors.push({ pointer: '/newWebhookIds', message: 'newWebhookIds must be true or false' });
  if (errors.length > 0)
    throw new ValidationError(`the replay has ${errors.length} invalid field(s)`, { errors });
  return {
    subscriptionId: b.subscription as string,
    from: b.from as string,
    to: b.to as string | undefined,
    types: b.types as string[] | undefined,
    filters: b.filters as Filter[] | undefined,
    newWebhookIds: b.newWebhookIds === true,
  };
}

export class Replayer {
  private readonly running = new Map<string, Promise<void>>();
  private readonly cancelled = new Set<string>();
  private stopped = false;

  constructor(
    private readonly store: EventStore,
    private readonly hooks: ReplayHooks,
    private readonly log: Logger,
  ) {}

  /**
   * Runs the replays left unfinished that no live process holds: at start, and, with a store
   * other processes share, every so often, so that one a dead process held is taken over.
   */
  async resume(): Promise<void> {
    for (const replay of await this.store.runningReplays()) {
      if (this.running.has(replay.id) || this.stopped) continue;
      if (await this.store.claimReplay(replay.id)) this.run(replay);
    }
  }

  async start(input: ReplayInput): Promise<Replay> {
    const sub = this.hooks.subscription(input.subscriptionId);
    if (!sub)
      throw new NotFoundError(
        `no subscription with id '${input.subscriptionId}'; list them with GET /v1/subscriptions`,
      );
    // Every delivery would be dead-lettered at once: say so instead of starting.
    if (sub.status !== 'active')
      throw new ConflictError(
        `subscription '${sub.id}' is ${sub.status}; set its status to active (PUT /v1/subscriptions/${sub.id}) before replaying to it`,
      );
    if (sub.delivery.mode === 'shadow')
      throw new ConflictError(
        `subscription '${sub.id}' is in shadow mode and receives nothing; set delivery.mode to live before replaying to it`,
      );
    const now = new Date();
    const from = new Date(input.from);
    const to = input.to ? new Date(input.to) : now;
    const replay: Replay = {
      id: newId('rpl'),
      subscriptionId: sub.id,
      from: from.toISOString(),
      to: to.toISOString(),
      types: input.types ?? sub.types,
      filters: input.filters ?? sub.filters,
      newWebhookIds: input.newWebhookIds,
      status: 'running',
      scanned: 0,
      matched: 0,
      total: await this.store.countArchived(from, to),
      cursor: 0,
      error: null,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
    await this.store.saveReplay(replay, []);
    this.run(replay);
    return replay;
  }

  async get(id: string): Promise<Replay> {
    const replay = await this.store.getReplay(id);
    if (!replay) throw new NotFoundError(`no replay with id '${id}'; list them with GET /v1/replays`);
    return replay;
  }

  async cancel(id: string): Promise<Replay> {
    const replay = await this.get(id);
    if (replay.status !== 'running') return replay;
    const job = this.running.get(id);
    if (job) {
      this.cancelled.add(id);
      await job;
    } else {
      // Another process runs it: it stops at its next page, whose claim a cancelled replay fails.
      await this.store.saveReplay({ ...replay, status: 'cancelled', updatedAt: now() }, []);
    }
    return this.get(id);
  }

  /** Stops every job after its current page; they resume at the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.running.values()]);
  }

  private run(replay: Replay): void {
    if (this.running.has(replay.id)) return;
    // The job's latest saved state, so a failure keeps the progress made before it.
    const latest = { replay };
    const job = this.loop(latest)
      .catch(async (error) => {
        this.log.error({ err: error, replay: replay.id }, 'replay failed');
        const failed = {
          ...latest.replay,
          status: 'failed' as const,
          error: String(error),
          updatedAt: now(),
        };
        await this.store.saveReplay(failed, []).catch(() => undefined);
      })
      .finally(() => this.running.delete(replay.id));
    this.running.set(replay.id, job);
  }

  private async loop(latest: { replay: Replay }): Promise<void> {
    let replay = latest.replay;
    const typeSet = new Set(replay.types);
    const matches = compileFilters(replay.filters);
    const from = new Date(replay.from);
    const to = new Date(replay.to);
    while (!this.stopped) {
      if (this.cancelled.delete(replay.id)) {
        await this.store.saveReplay({ ...replay, status: 'cancelled', updatedAt: now() }, []);
        return;
      }
      const sub = this.hooks.subscription(replay.subscriptionId);
      if (!sub) {
        await this.store.saveReplay(
          { ...replay, status: 'failed', error: 'the subscription was deleted', updatedAt: now() },
          [],
        );
        return;
      }
      // Held for this process page by page; lost only if it stalled past its lease, or was
      // cancelled through another process.
      if (!(await this.store.claimReplay(replay.id))) return;
      const page = await this.store.archived(from, to, replay.cursor, PAGE);
      const kept = replay.newWebhookIds
        ? new Map<number, string>()
        : await this.store.webhookIdsOf(
            page.map((e) => e.seq),
            sub.id,
          );
      const deliveries: ReplayDelivery[] = [];
      for (const stored of page) {
        const e = stored.event;
        if (typeSet.size > 0 && !typeSet.has(e.type)) continue;
        if (!matches(e)) continue;
        // A replay does not carry an event where its region policy would not let it go live.
        if (!this.hooks.allows(sub, e, stored.channel)) continue;
        deliveries.push({
          id: newId('dlv'),
          webhookId: replay.newWebhookIds
            ? newId('msg')
            : (kept.get(stored.seq) ?? derivedWebhookId(stored.seq, sub.id)),
          subscriptionId: sub.id,
          orderKey: orderKeyOf(sub, e),
          eventSeq: stored.seq,
          channel: stored.channel,
        });
      }
      const done = page.length < PAGE;
      replay = {
        ...replay,
        scanned: replay.scanned + page.length,
        matched: replay.matched + deliveries.length,
        cursor: page.at(-1)?.seq ?? replay.cursor,
        status: done ? 'completed' : 'running',
        updatedAt: now(),
      };
      await this.store.saveReplay(replay, deliveries);
      latest.replay = replay;
      if (deliveries.length > 0) this.hooks.wake(sub.id, new Set(deliveries.map((d) => d.channel)));
      if (done) return;
      // Let ingest and delivery have the event loop between pages.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

const now = () => new Date().toISOString();

/**
 * The webhook-id a replayed delivery gets when the event never went to the subscription before:
 * derived from the event and subscription, so replaying the same event twice gives the consumer
 * the same idempotency key. (One that did go keeps its original delivery's webhook-id.)
 */
function derivedWebhookId(eventSeq: number, subscriptionId: string): string {
  const hash = createHash('sha256').update(`${eventSeq}\n${subscriptionId}`).digest('hex');
  return `msg_replay_${hash.slice(0, 26)}`;
}
