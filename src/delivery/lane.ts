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
  /** Its size in a batch body, once measured. */
  bytes?: number;
}

export class Lane implements LaneKey {
  /** Due deliveries in the order they came due. */
  readonly queue = new Fifo<Queued>();
  /**
   * Members of failed batches, by batch: a batch is retried as a whole, ahead of newer events, so
   * it goes out again with the same members and the same webhook-id.
   */
  private readonly groups = new Map<string, Queued[]>();
  private grouped = 0;
  /** Deliveries read from the store and not yet recorded: queued here or being sent. */
  readonly inFlight = new Set<string>();
  /** The last page read was full: the store may hold more that is due now. */
  more = false;
  /**
   * Counts the deliveries left to the store while the lane held others in memory (an overflow, or
   * a hand-back). A read that began before one of them must not conclude that the store is caught
   * up: its query may have missed it, and a delivery taken straight into memory next would then
   * overtake it.
   */
  leftInStore = 0;
  /** When the store's next delivery of this lane comes due (epoch ms); Infinity if none is known. */
  dueAt: number;
  /** Where the next read of the store continues, while the lane works through a backlog. */
  cursor: string | null = null;
  /**
   * Until when (epoch ms) a gate that opens with time (rate limit, breaker, batch wait) holds the
   * lane: the dispatcher does not ask its gates again before then, so held lanes cost nothing per send.
   */
  heldUntil = 0;

  constructor(
    readonly subscriptionId: string,
    readonly channel: string,
    dueAt = Date.now(),
  ) {
    this.dueAt = dueAt;
  }

  /** Deliveries held in memory. */
  get size(): number {
    return this.queue.length + this.grouped;
  }

  /** Holds a due delivery: with its batch when it is the retry of one, else in arrival order. */
  push(item: Queued): void {
    // A new delivery may fill a batch that was waiting for time: look again.
    this.heldUntil = 0;
    const batch = item.delivery.batchId;
    if (batch === null) {
      this.queue.push(item);
      return;
    }
    const group = this.groups.get(batch);
    if (group) group.push(item);
    else this.groups.set(batch, [item]);
    this.grouped++;
  }

  /** The oldest batch waiting for its retry, taken whole, with its id. */
  takeGroup(): { batchId: string; items: Queued[] } | undefined {
    for (const [batchId, items] of this.groups) {
      this.groups.delete(batchId);
      this.grouped -= items.length;
      return { batchId, items };
    }
    return undefined;
  }

  /** The next single delivery: batch retries first, then in arrival order. */
  takeOne(): Queued | undefined {
    for (const [batchId, items] of this.groups) {
      const item = items.shift()!;
      this.grouped--;
      if (items.length === 0) this.groups.delete(batchId);
      return item;
    }
    return this.queue.take();
  }

  get hasGroups(): boolean {
    return this.grouped > 0;
  }

  /** Takes out the deliveries queued (not batch retries) before `at` (epoch ms), oldest first. */
  takeQueuedBefore(at: number): Queued[] {
    const taken: Queued[] = [];
    while ((this.queue.peek()?.queuedAt ?? at) < at) taken.push(this.queue.take()!);
    return taken;
  }

  /** Everything held, emptied out (at shutdown). */
  drain(): Queued[] {
    const all = [...this.groups.values()].flat();
    this.groups.clear();
    this.grouped = 0;
    return [...all, ...this.queue.drain()];
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
