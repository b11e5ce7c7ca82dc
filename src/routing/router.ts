/**
 * Picks the subscriptions an event goes to. The work is done by the matcher index
 * (matcher-index.ts), so the cost of routing grows with the candidates an event's type and
 * attributes select, not with the number of subscriptions.
 */
import type { CloudEvent } from '../core/event.js';
import type { Subscription } from '../storage/ports.js';
import { type Explanation, MatcherIndex } from './matcher-index.js';

export class Router {
  private index = new MatcherIndex([]);

  /** Rebuilds the index from the full set of subscriptions; only active ones are routed to. */
  load(subscriptions: readonly Subscription[]): void {
    this.index = new MatcherIndex(subscriptions.filter((s) => s.status === 'active'));
  }

  /**
   * The active subscriptions whose types and filters match the event: those listing its type, in
   * the order loaded, then those with `types: []`, in the order loaded.
   */
  route(event: CloudEvent): Subscription[] {
    return this.index.match(event);
  }

  /** The candidates the index considered for the event and each one's verdict (for simulation). */
  explain(event: CloudEvent): Explanation[] {
    return this.index.explain(event);
  }
}
