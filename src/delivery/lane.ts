/**
 * A lane: the deliveries of one subscription from one channel, the unit the dispatcher schedules.
 * A lane holds at most a page of due deliveries in memory; the rest wait in the store and are read
 * when the page runs low, so a backlog of millions costs no memory.
 */
import type { DueDelivery, Lane as LaneKey } from '../storage/ports.js';

/** A FIFO with O(1) take: Array.prototype.shift is linear, and a queue may hold thousands. */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  /** The item `i` places behind the head. */
  at(i: number): T | undefined {
    return this.items[this.head + i];
  }

  push(item: T): void {
    this.items.push(item);
  }

  take(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  drain(): T[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return rest;
  }
}

/** A due delivery held in memory, with when it got there (batches wait from then). */
export interface Queued extends DueDelivery {
  queuedAt: number;
}

export class Lane implements LaneKey {
  readonly queue = new Fifo<Queued>();
  /** Deliveries read from the store and not yet recorded: queued here or being sent. */
  readonly inFlight = new Set<string>();
  /** The last page read was full: the store may hold more that is due now. */
  more = false;
  /** When the store's next delivery of this lane comes due (epoch ms); Infinity if none is known. */
  dueAt: number;
  /** Where the next read of the store continues, while the lane works through a backlog. */
  cursor: string | null = null;

  constructor(
    readonly subscriptionId: string,
    readonly channel: string,
    dueAt = Date.now(),
  ) {
    this.dueAt = dueAt;
  }

  static key(subscriptionId: string, channel: string): string {
    return `${subscriptionId}\u0000${channel}`;
  }

  /** Whether the store may have due deliveries of this lane that are not in memory. */
  wantsFetch(now: number): boolean {
    return this.more || this.dueAt <= now;
  }

  /** Asks for a read of the store at `at` at the latest. */
  dueBy(at: number): void {
    if (at < this.dueAt) this.dueAt = at;
  }
}
