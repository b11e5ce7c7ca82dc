/**
 * Where ingest puts the events it accepts. Embedded, and on PostgreSQL without a bus, the store
 * takes them with their deliveries in one transaction. With a bus, JetStream takes them: the
 * acknowledgement is JetStream's (stored, and replicated on a cluster), and a `BusRecorder` in
 * some hub process records each event and its deliveries in the store afterwards.
 */
import { createHash } from 'node:crypto';
import type { CloudEvent } from '../core/event.js';
import type { JetStreamBus } from '../storage/nats/bus.js';
import type { AppendResult, DueDelivery, EventContract, EventStore, Routed } from '../storage/ports.js';

/** The message header that carries the contract verdict of ingest to the process that records the event. */
export const CONTRACT_HEADER = 'Junction-Contract';

export interface Intake {
  /**
   * Takes events durably. Resolves with each event's result and the deliveries made at once (none
   * when another step records them).
   */
  take(
    events: CloudEvent[],
    route: (event: CloudEvent) => Routed,
    contracts: (EventContract | null)[],
  ): Promise<{ results: AppendResult[]; deliveries: DueDelivery[] }>;
  /** Events taken but not yet durable: what ingest checks before taking more. */
  backlog(): number;
}

/** Events go straight into the store, routed in the same transaction. */
export class StoreIntake implements Intake {
  constructor(private readonly store: EventStore) {}

  take(events: CloudEvent[], route: (event: CloudEvent) => Routed, contracts: (EventContract | null)[]) {
    return this.store.append(events, route, contracts);
  }

  backlog(): number {
    return this.store.backlog();
  }
}

/**
 * Events go to their channel's stream; they are routed when recorded. A producer's retry within
 * the stream's duplicate window (two minutes) is answered `duplicate` by JetStream; a later one is
 * answered `accepted`, and the recorder, finding the event stored, makes no deliveries for it.
 */
export class BusIntake implements Intake {
  private pending = 0;

  constructor(
    private readonly bus: JetStreamBus,
    private readonly channelOf: (type: string) => string,
  ) {}

  async take(
    events: CloudEvent[],
    _route: (event: CloudEvent) => Routed,
    contracts: (EventContract | null)[],
  ): Promise<{ results: AppendResult[]; deliveries: DueDelivery[] }> {
    this.pending += events.length;
    try {
      // Published together: one connection keeps them in order, and a batch waits for one round trip.
      const results = await Promise.all(
        events.map(async (event, i): Promise<AppendResult> => {
          const contract = contracts[i];
          const meta: Record<string, string> = contract
            ? { [CONTRACT_HEADER]: JSON.stringify(contract) }
            : {};
          const { duplicate } = await this.bus.publish(
            this.channelOf(event.type),
            event,
            messageId(event),
            meta,
          );
          return { source: event.source, id: event.id, status: duplicate ? 'duplicate' : 'accepted' };
        }),
      );
      return { results, deliveries: [] };
    } finally {
      this.pending -= events.length;
    }
  }

  backlog(): number {
    return this.pending;
  }
}

/**
 * The `Nats-Msg-Id` of an event: a hash of its identity, `(source, id)`, since either may hold
 * characters a header cannot.
 */
export function messageId(event: CloudEvent): string {
  return createHash('sha256').update(`${event.source}\u0000${event.id}`).digest('base64url');
}
