/** `junction endpoints`: the circuit breaker of each sink endpoint the hub has sent to. */
import type { Command } from 'commander';
import { addClientOptions, type ClientOptions, JunctionClient } from '../client.js';
import { cell, formatTable, json, print } from '../format.js';

/** One endpoint's circuit breaker, as `GET /v1/endpoints` and subscription stats return it. */
export interface Breaker {
  endpoint: string;
  state: string;
  requests?: number;
  failures?: number;
  reopenAt?: string | null;
}

/**
 * Describes a breaker's state in one line: `closed (12 requests, 1 failed)` or
 * `open until 2026-11-26T08:00:30.000Z (20 requests, 15 failed)`.
 */
export function formatBreakerState(breaker: Breaker): string {
  const until = breaker.state === 'open' && breaker.reopenAt ? ` until ${breaker.reopenAt}` : '';
  const counts =
    breaker.requests === undefined ? '' : ` (${breaker.requests} requests, ${breaker.failures ?? 0} failed)`;
  return `${breaker.state}${until}${counts}`;
}

/** Lays out breakers as a table, one row per endpoint. */
export function formatBreakers(breakers: Breaker[]): string {
  if (breakers.length === 0) return 'No endpoints yet: the hub has not sent to any.';
  return formatTable(
    ['ENDPOINT', 'STATE', 'REQUESTS', 'FAILURES', 'HALF-OPENS AT'],
    breakers.map((b) => [
      cell(b.endpoint, 200),
      cell(b.state),
      cell(b.requests),
      cell(b.failures),
      cell(b.reopenAt),
    ]),
  );
}

/** Adds `junction endpoints` to the program. */
export function registerEndpoints(program: Command): void {
  const command = program
    .command('endpoints')
    .description('List sink endpoints with the state of their circuit breakers (GET /v1/endpoints).')
    .option('--json', 'print the raw JSON answer');
  addClientOptions(command).addHelpText(
    'after',
    `
An endpoint is a sink URL without its credentials, shared by every subscription that sends to it.
REQUESTS and FAILURES count the breaker's window while closed, the requests that opened it while open,
and the probes settled so far while half-open.

Examples:
  $ junction endpoints
  $ junction endpoints --json`,
  );
  command.action(async (opts: ClientOptions & { json?: boolean }) => {
    const answer = await new JunctionClient(opts).send<Breaker[]>({ method: 'GET', path: '/v1/endpoints' });
    print(opts.json ? json(answer) : formatBreakers(Array.isArray(answer) ? answer : []));
  });
}
