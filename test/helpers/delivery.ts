/**
 * What the delivery tests share beyond the hub and the sink: a config file for the hub, the full list
 * of a subscription's deliveries, and a count of requests in flight.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HubProcess, tempDataDir } from './server.js';

/** Writes `settings` as a hub config file in a fresh directory; pass the path with --config. */
export function writeConfigFile(settings: Record<string, unknown>): string {
  const path = join(tempDataDir(), 'junction.json');
  writeFileSync(path, JSON.stringify(settings, null, 2));
  return path;
}

/** A delivery as `GET /v1/subscriptions/{id}/deliveries` lists it. */
export interface ListedDelivery {
  id: string;
  status: string;
  channel: string;
  attempts: number;
  event: { id: string; type: string } | undefined;
}

/** Every delivery of a subscription, following the pages. */
export async function allDeliveries(hub: HubProcess, subscriptionId: string): Promise<ListedDelivery[]> {
  const all: ListedDelivery[] = [];
  let after: string | null = null;
  do {
    const query: string = after === null ? '' : `&after=${after}`;
    const res = await hub.fetch(`/v1/subscriptions/${subscriptionId}/deliveries?limit=1000${query}`);
    if (res.status !== 200) throw new Error(`listing deliveries answered ${res.status}: ${await res.text()}`);
    const page = (await res.json()) as { items: ListedDelivery[]; next: string | null };
    all.push(...page.items);
    after = page.next;
  } while (after !== null);
  return all;
}

/** Counts requests a sink is answering at once, and the most it ever had. */
export class InFlight {
  current = 0;
  max = 0;

  enter(): void {
    this.current++;
    this.max = Math.max(this.max, this.current);
  }

  leave(): void {
    this.current--;
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
