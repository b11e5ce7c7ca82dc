/** `junction sub`: create, list, show, delete subscriptions and show their delivery stats. */
import { type Command, Option } from 'commander';
import { PRESET_NAMES } from '../../adapters/presets.js';
import { type ApiRequest, addClientOptions, type ClientOptions, JunctionClient } from '../client.js';
import { UsageError } from '../errors.js';
import { cell, formatCounts, formatTable, json, print } from '../format.js';
import { collect, collectJsonObject, collectKeyValue, integer } from '../options.js';
import { DELIVERY_STATUS_ORDER } from './delivery.js';
import { type Breaker, formatBreakerState } from './endpoints.js';

/** The subscription fields the CLI shows; the server sends more. */
export interface Subscription {
  id: string;
  status?: string;
  secret?: string;
  types?: string[];
  sink?: string;
  [field: string]: unknown;
}

/** The arguments of `sub add`, already parsed. */
export interface SubscriptionInput {
  sink: string;
  types?: string[] | undefined;
  filters?: Array<Record<string, unknown>> | undefined;
  format?: 'binary' | 'structured' | 'webhook' | undefined;
  headers?: Array<[string, string]> | undefined;
  maxAttempts?: number | undefined;
  timeoutMs?: number | undefined;
  schemaVersion?: number | undefined;
  preset?: string | undefined;
}

/**
 * Maps `sub add` arguments to `POST /v1/subscriptions`. Anything not given is left out so the
 * server's defaults apply; they are named in one place there, not repeated here.
 *
 * @throws UsageError when the sink is not an http(s) URL.
 * @example
 * buildSubscriptionRequest({ sink: 'https://crm.example.com/hooks', types: ['order.created'] });
 */
export function buildSubscriptionRequest(input: SubscriptionInput): ApiRequest {
  let sink: URL;
  try {
    sink = new URL(input.sink);
  } catch {
    throw new UsageError(`--sink ${JSON.stringify(input.sink)} is not an absolute URL.`);
  }
  if (sink.protocol !== 'http:' && sink.protocol !== 'https:') {
    throw new UsageError(`--sink must be an http or https URL, not ${JSON.stringify(input.sink)}.`);
  }
  const body: Record<string, unknown> = { sink: input.sink, protocol: 'HTTP' };
  if (input.types?.length) body.types = input.types;
  if (input.filters?.length) body.filters = input.filters;
  if (input.headers?.length) body.protocolsettings = { headers: Object.fromEntries(input.headers) };
  const delivery: Record<string, unknown> = {};
  if (input.format !== undefined) delivery.format = input.format;
  if (input.maxAttempts !== undefined) delivery.maxAttempts = input.maxAttempts;
  if (input.timeoutMs !== undefined) delivery.timeoutMs = input.timeoutMs;
  if (input.schemaVersion !== undefined) delivery.schemaVersion = input.schemaVersion;
  if (input.preset !== undefined) delivery.preset = input.preset === 'none' ? null : input.preset;
  if (Object.keys(delivery).length > 0) body.delivery = delivery;
  return { method: 'POST', path: '/v1/subscriptions', body };
}

/** Lays out subscriptions as a table of id, status, types and sink. */
export function formatSubscriptions(subscriptions: Subscription[]): string {
  if (subscriptions.length === 0) return 'No subscriptions.';
  return formatTable(
    ['ID', 'STATUS', 'TYPES', 'SINK'],
    subscriptions.map((s) => [
      s.id,
      cell(s.status),
      s.types?.length ? cell(s.types.join(','), 50) : '*',
      cell(s.sink, 200),
    ]),
  );
}

/** The answer of `GET /v1/subscriptions/{id}/stats`. */
export interface SubscriptionStats {
  deliveries?: Partial<Record<string, number>>;
  breaker?: Breaker;
  failingSince?: string | null;
}

/** Lays out a subscription's stats as name/value lines. */
export function formatStats(id: string, stats: SubscriptionStats): string {
  return formatTable(
    ['subscription', id],
    [
      ['deliveries', formatCounts(stats.deliveries, DELIVERY_STATUS_ORDER)],
      ['endpoint', cell(stats.breaker?.endpoint, 200)],
      ['breaker', stats.breaker ? formatBreakerState(stats.breaker) : '-'],
      ['failing since', cell(stats.failingSince)],
    ],
  );
}

function subscriptionPath(id: string): string {
  return `/v1/subscriptions/${encodeURIComponent(id)}`;
}

interface AddOptions extends ClientOptions {
  sink: string;
  type?: string[];
  filter?: Array<Record<string, unknown>>;
  format?: SubscriptionInput['format'];
  header?: Array<[string, string]>;
  maxAttempts?: number;
  timeoutMs?: number;
  schemaVersion?: number;
  preset?: string;
  json?: boolean;
}

function registerAdd(sub: Command): void {
  const command = sub
    .command('add')
    .description('Create a subscription (POST /v1/subscriptions).')
    .requiredOption('--sink <url>', 'HTTP(S) URL the events are delivered to')
    .option('--type <type>', 'deliver only this event type (repeatable; default: all types)', collect)
    .option(
      '--filter <json>',
      'CloudEvents Subscriptions filter as JSON (repeatable, all must match)',
      collectJsonObject,
    )
    .addOption(
      new Option('--format <format>', 'payload format of deliveries').choices([
        'binary',
        'structured',
        'webhook',
      ]),
    )
    .option('--header <key=value>', 'extra HTTP header sent with each delivery (repeatable)', collectKeyValue)
    .option('--max-attempts <n>', 'attempts before a delivery is dead-lettered', integer({ min: 1 }))
    .option('--timeout-ms <n>', 'time to wait for the sink to answer, in milliseconds', integer({ min: 1 }))
    .option(
      '--schema-version <n>',
      'receive events converted to this schema version of the (one) --type',
      integer({ min: 1 }),
    )
    .addOption(
      new Option(
        '--preset <name>',
        "a no-code tool's delivery settings (default: recognised from the sink's host; none for no preset)",
      ).choices([...PRESET_NAMES, 'none']),
    )
    .option('--json', 'print the created subscription as JSON');
  addClientOptions(command).addHelpText(
    'after',
    `
The answer includes the signing secret (whsec_...). It is shown only once: store it where the
receiver can verify the webhook-signature header.

Examples:
  $ junction sub add --sink https://crm.example.com/hooks/orders --type com.acme.order.created
  $ junction sub add --sink https://hooks.zapier.com/hooks/catch/1/abc \\
      --filter '{"prefix":{"subject":"orders/"}}' --header x-team=crm --max-attempts 5
  $ junction sub add --sink https://n8n.internal.example/webhook/orders --preset n8n`,
  );
  command.action(async (opts: AddOptions) => {
    const request = buildSubscriptionRequest({
      sink: opts.sink,
      types: opts.type,
      filters: opts.filter,
      format: opts.format,
      headers: opts.header,
      maxAttempts: opts.maxAttempts,
      timeoutMs: opts.timeoutMs,
      schemaVersion: opts.schemaVersion,
      preset: opts.preset,
    });
    const created = await new JunctionClient(opts).send<Subscription>(request);
    if (opts.json) print(json(created));
    else {
      print(
        formatTable(
          ['created', created.id],
          [
            ['status', cell(created.status)],
            ['types', created.types?.length ? created.types.join(', ') : '*'],
            ['sink', cell(created.sink, 200)],
            ['secret', cell(created.secret, 200)],
          ],
        ),
      );
    }
    if (created.secret) {
      process.stderr.write('Note: the secret is shown only this once; store it now to verify deliveries.\n');
    }
  });
}

/** Adds `junction sub add|list|get|stats|rm` to the program. */
export function registerSub(program: Command): void {
  const sub = program
    .command('sub')
    .description('Manage subscriptions: where events go and how they are delivered.')
    .addHelpText(
      'after',
      `
Examples:
  $ junction sub add --sink https://crm.example.com/hooks --type com.acme.order.created
  $ junction sub list
  $ junction sub get sub_01H...
  $ junction sub stats sub_01H...
  $ junction sub rm sub_01H...`,
    );
  registerAdd(sub);

  const list = sub
    .command('list')
    .alias('ls')
    .description('List subscriptions (GET /v1/subscriptions).')
    .option('--json', 'print the raw JSON answer');
  addClientOptions(list).addHelpText(
    'after',
    '\nExamples:\n  $ junction sub list\n  $ junction sub list --json',
  );
  list.action(async (opts: ClientOptions & { json?: boolean }) => {
    const answer = await new JunctionClient(opts).send<Subscription[] | { items?: Subscription[] }>({
      method: 'GET',
      path: '/v1/subscriptions',
    });
    if (opts.json) return print(json(answer));
    print(formatSubscriptions(Array.isArray(answer) ? answer : (answer?.items ?? [])));
  });

  const get = sub
    .command('get')
    .description('Show one subscription as JSON (GET /v1/subscriptions/{id}).')
    .argument('<id>', 'subscription id');
  addClientOptions(get).addHelpText('after', '\nExample:\n  $ junction sub get sub_01H...');
  get.action(async (id: string, opts: ClientOptions) => {
    print(json(await new JunctionClient(opts).send({ method: 'GET', path: subscriptionPath(id) })));
  });

  const stats = sub
    .command('stats')
    .description(
      "Show a subscription's deliveries by status and its endpoint's circuit breaker (GET /v1/subscriptions/{id}/stats).",
    )
    .argument('<id>', 'subscription id')
    .option('--json', 'print the raw JSON answer');
  addClientOptions(stats).addHelpText(
    'after',
    `
"failing since" is when every attempt began to fail; the hub disables a subscription that fails
for longer than its delivery.disableAfterMs.

Examples:
  $ junction sub stats sub_01H...
  $ junction sub stats sub_01H... --json`,
  );
  stats.action(async (id: string, opts: ClientOptions & { json?: boolean }) => {
    const answer = await new JunctionClient(opts).send<SubscriptionStats>({
      method: 'GET',
      path: `${subscriptionPath(id)}/stats`,
    });
    print(opts.json ? json(answer) : formatStats(id, answer ?? {}));
  });

  const rm = sub
    .command('rm')
    .alias('delete')
    .description('Delete a subscription (DELETE /v1/subscriptions/{id}).')
    .argument('<id>', 'subscription id');
  addClientOptions(rm).addHelpText('after', '\nExample:\n  $ junction sub rm sub_01H...');
  rm.action(async (id: string, opts: ClientOptions) => {
    await new JunctionClient(opts).send({ method: 'DELETE', path: subscriptionPath(id) });
    print(`deleted ${id}`);
  });
}
