/**
 * Simulation: what the hub would do with an event, without storing or sending anything. For each
 * subscription that takes the event's type: whether it matches and, if not, the filter that
 * decided; the region policy and shadow mode; and the payload it would receive (converted to its
 * pinned version and transformed), or why it would be dead-lettered instead.
 */
import type { ConversionResult } from '../contracts/conversion.js';
import type { ChannelConfig } from '../core/config.js';
import { validateEvent } from '../core/envelope.js';
import { ValidationError } from '../core/errors.js';
import type { CloudEvent } from '../core/event.js';
import type { EventContract, StoredEvent, Subscription } from '../storage/ports.js';
import { firstFailingFilter } from './filters.js';
import { regionBlock } from './region-policy.js';

/** What to simulate: one event, or the latest `sample` stored events of a type. */
export type SimulationInput = { event: CloudEvent } | { type: string; sample: number };

/** The most stored events one simulation samples. */
export const MAX_SAMPLE = 100;

/**
 * Reads a `POST /v1/simulate` body: `{"event": {…}}` or `{"type": "…", "sample": 10}`.
 *
 * @throws ValidationError naming each bad field.
 */
export function parseSimulationInput(body: unknown): SimulationInput {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw ValidationError.field('', 'send {"event": {…}} or {"type": "…", "sample": 10}');
  }
  const b = body as Record<string, unknown>;
  if ((b.event === undefined) === (b.type === undefined)) {
    throw ValidationError.field(
      '',
      'send exactly one of event (a CloudEvent) or type (with sample, the latest events of that type)',
    );
  }
  if (b.event !== undefined) {
    const { event, errors } = validateEvent(b.event, '/event');
    if (!event)
      throw new ValidationError(
        `the event is invalid: ${errors.map((e) => `${e.pointer} ${e.message}`).join('; ')}`,
        { errors },
      );
    return { event };
  }
  if (typeof b.type !== 'string' || b.type === '')
    throw ValidationError.field('/type', 'type must be a non-empty event type');
  const sample = b.sample ?? 10;
  if (typeof sample !== 'number' || !Number.isInteger(sample) || sample < 1 || sample > MAX_SAMPLE) {
    throw ValidationError.field('/sample', `sample must be a whole number from 1 to ${MAX_SAMPLE}`);
  }
  return { type: b.type, sample };
}

/** What the hub would do for one subscription. */
export type Outcome = 'send' | 'not-matched' | 'blocked' | 'shadow' | 'dead-letter';

export interface SimulatedSubscription {
  id: string;
  mode: Subscription['delivery']['mode'];
  matched: boolean;
  /** For an event that does not match: the filter that decided (its index and the filter itself). */
  decidedBy: { index: number; filter: unknown } | null;
  outcome: Outcome;
  /** Why it is blocked or dead-lettered. */
  reason: string | null;
  /** The event as the subscription would receive it, for `send` and `shadow`. */
  payload: CloudEvent | null;
}

export interface SimulatedEvent {
  event: { source: string; id: string; type: string };
  channel: string;
  /** The schema version the event would be checked against, or why ingest would refuse it. */
  contract: EventContract | { refused: string } | null;
  subscriptions: SimulatedSubscription[];
  /** Active subscriptions that do not take the event's type, counted rather than listed. */
  otherTypes: number;
}

export interface SimulationDeps {
  /** Every active subscription. */
  subscriptions(): Subscription[];
  channelOf(type: string): ChannelConfig;
  contractOf(event: CloudEvent): Promise<EventContract | { refused: string } | null>;
  /** The event as the subscription reads it, or null when it goes out as stored. */
  prepare(sub: Subscription, event: StoredEvent): Promise<ConversionResult> | null;
}

/**
 * Simulates each event against every active subscription.
 *
 * @example
 * await simulate([{ seq: 0, event, receivedAt: new Date().toISOString() }], deps);
 */
export async function simulate(events: StoredEvent[], deps: SimulationDeps): Promise<SimulatedEvent[]> {
  const subscriptions = deps.subscriptions();
  const out: SimulatedEvent[] = [];
  for (const stored of events) {
    const { event } = stored;
    const channel = deps.channelOf(event.type);
    const contract = stored.contract === undefined ? await deps.contractOf(event) : stored.contract;
    const withContract: StoredEvent = {
      ...stored,
      contract: contract !== null && 'version' in contract ? contract : null,
    };
    const takers = subscriptions.filter((s) => s.types.length === 0 || s.types.includes(event.type));
    const listed: SimulatedSubscription[] = [];
    for (const sub of takers) listed.push(await simulateOne(sub, withContract, channel, deps));
    out.push({
      event: { source: event.source, id: event.id, type: event.type },
      channel: channel.name,
      contract,
      subscriptions: listed,
      otherTypes: subscriptions.length - takers.length,
    });
  }
  return out;
}

async function simulateOne(
  sub: Subscription,
  stored: StoredEvent,
  channel: ChannelConfig,
  deps: SimulationDeps,
): Promise<SimulatedSubscription> {
  const base = { id: sub.id, mode: sub.delivery.mode };
  const failing = firstFailingFilter(sub.filters, stored.event);
  if (failing !== -1) {
    return {
      ...base,
      matched: false,
      decidedBy: { index: failing, filter: sub.filters[failing] },
      outcome: 'not-matched',
      reason: null,
      payload: null,
    };
  }
  const block = regionBlock(stored.event, channel, sub);
  if (block) {
    return {
      ...base,
      matched: true,
      decidedBy: null,
      outcome: 'blocked',
      reason: block.reason,
      payload: null,
    };
  }
  const pending = deps.prepare(sub, stored);
  const prepared = pending ? await pending : { ok: true as const, event: stored.event, conversion: null };
  if (!prepared.ok) {
    return {
      ...base,
      matched: true,
      decidedBy: null,
      outcome: 'dead-letter',
      reason: prepared.reason,
      payload: null,
    };
  }
  return {
    ...base,
    matched: true,
    decidedBy: null,
    outcome: sub.delivery.mode === 'shadow' ? 'shadow' : 'send',
    reason: null,
    payload: prepared.event,
  };
}
