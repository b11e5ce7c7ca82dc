/**
 * Picks the subscriptions an event goes to. Subscriptions are indexed by type, so the cost of
 * routing grows with the subscriptions of an event's type, not with all of them.
 */
import type { CloudEvent } from '../core/event.js';
import type { Subscription } from '../storage/ports.js';
import { compileFilters, type Predicate } from './filters.js';

interface Route {
  subscription: Subscription;
  matches: Predicate;
}

export class Router {
  private readonly byType = new Map<string, Route[]>();
  /** Subscriptions with an empty `types` list take every type. */
  private anyType: Route[] = [];

  /** Rebuilds the index from the full set of subscriptions. */
  load(subscriptions: readonly Subscription[]): void {
    this.byType.clear();
    this.anyType = [];
    for (const subscription of subscriptions) {
      if (subscription.status !== 'active') continue;
      const route = { subscription, matches: compileFilters(subscription.filters) };
      if (subscription.types.length === 0) this.anyType.push(route);
      for (const type of new Set(subscription.types)) {
        const list = this.byType.get(type);
        if (list) list.push(route);
        else this.byType.set(type, [route]);
      }
    }
  }

  /** The active subscriptions whose types and filters match the event. */
  route(event: CloudEvent): Subscription[] {
    const out: Subscription[] = [];
    for (const r of this.byType.get(event.type) ?? []) if (r.matches(event)) out.push(r.subscription);
    for (const r of this.anyType) if (r.matches(event)) out.push(r.subscription);
    return out;
  }
}
