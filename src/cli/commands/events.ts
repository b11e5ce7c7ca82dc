/** `junction events lookup`: one event, where it went and every attempt to get it there. */
import type { Command } from 'commander';
import type { CloudEvent } from '../../core/event.js';
import { type ApiRequest, addClientOptions, type ClientOptions, JunctionClient } from '../client.js';
import { cell, json, print } from '../format.js';
import type { Attempt, Delivery } from './delivery.js';

/** The answer of `GET /v1/events/lookup`. */
export interface EventLookup {
  event: CloudEvent;
  receivedAt?: string;
  seq?: number;
  deliveries?: Delivery[];
}

/** Maps `events lookup` arguments to `GET /v1/events/lookup`. */
export function buildLookupRequest(input: { source: string; id: string }): ApiRequest {
  return { method: 'GET', path: '/v1/events/lookup', query: { source: input.source, id: input.id } };
}

function formatAttempt(attempt: Attempt): string {
  const parts = [
    `#${attempt.n ?? '?'}`,
    cell(attempt.at),
    attempt.status === null || attempt.status === undefined ? 'no response' : `HTTP ${attempt.status}`,
    cell(attempt.outcome),
  ];
  if (typeof attempt.latencyMs === 'number') parts.push(`${attempt.latencyMs}ms`);
  if (attempt.error) parts.push(cell(attempt.error, 120));
  else if (attempt.response !== undefined && attempt.response !== null && attempt.response !== '') {
    parts.push(`response: ${cell(attempt.response, 120)}`);
  }
  return `    ${parts.join('  ')}`;
}

/** Formats a lookup for reading: the event, then each delivery with its attempts in order. */
export function formatLookup(lookup: EventLookup): string {
  const { event } = lookup;
  const lines = [
    `Event ${event.type}  source=${event.source}  id=${event.id}`,
    `Received ${cell(lookup.receivedAt)}  seq ${cell(lookup.seq)}`,
    json(event),
    '',
  ];
  const deliveries = lookup.deliveries ?? [];
  if (deliveries.length === 0) lines.push('No deliveries: no subscription matched this event.');
  else lines.push(`Deliveries (${deliveries.length}):`);
  for (const d of deliveries) {
    lines.push(
      `  ${d.id}  subscription ${cell(d.subscriptionId)}  ${cell(d.status)}  attempts ${cell(d.attempts)}` +
        `  webhook-id ${cell(d.webhookId)}`,
    );
    if (d.nextAttemptAt) lines.push(`    next attempt at ${d.nextAttemptAt}`);
    if (!d.attemptLog?.length) lines.push('    (no attempts yet)');
    for (const attempt of d.attemptLog ?? []) lines.push(formatAttempt(attempt));
  }
  return lines.join('\n');
}

/** Adds `junction events lookup` to the program. */
export function registerEvents(program: Command): void {
  const events = program.command('events').description('Inspect published events and their deliveries.');
  const lookup = events
    .command('lookup')
    .description('Show an event, its deliveries and every attempt (GET /v1/events/lookup).')
    .requiredOption('-s, --source <source>', 'event source')
    .requiredOption('--id <id>', 'event id')
    .option('--json', 'print the raw JSON answer');
  addClientOptions(lookup).addHelpText(
    'after',
    `
Examples:
  $ junction events lookup --source /shop --id order-1234
  $ junction events lookup --source /shop --id order-1234 --json`,
  );
  events.addHelpText('after', '\nExample:\n  $ junction events lookup --source /shop --id order-1234');
  lookup.action(async (opts: ClientOptions & { source: string; id: string; json?: boolean }) => {
    const answer = await new JunctionClient(opts).send<EventLookup>(buildLookupRequest(opts));
    print(opts.json ? json(answer) : formatLookup(answer));
  });
}
