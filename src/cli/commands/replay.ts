/** `junction replay`: send archived events of a time range to a subscription again, and follow the job. */
import type { Command } from 'commander';
import { type ApiRequest, addClientOptions, type ClientOptions, JunctionClient } from '../client.js';
import { CliError, InterruptedError, UsageError } from '../errors.js';
import { cell, formatCounts, formatTable, json, print } from '../format.js';
import { collect, collectJsonObject, time } from '../options.js';
import { DELIVERY_STATUS_ORDER } from './delivery.js';
import { followReplay } from './replay-progress.js';

/** A replay job as the hub returns it; `deliveries` (counts by status) only from the single-replay endpoints. */
export interface Replay {
  id: string;
  subscriptionId: string;
  from: string;
  to: string;
  types?: string[];
  filters?: unknown[];
  newWebhookIds?: boolean;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  scanned: number;
  matched: number;
  total: number;
  cursor?: number;
  error?: string | null;
  createdAt?: string;
  updatedAt?: string;
  deliveries?: Partial<Record<string, number>>;
}

/** The arguments of `replay start`, times already in RFC 3339. */
export interface ReplayStartInput {
  subscription: string;
  from: string;
  to?: string | undefined;
  types?: string[] | undefined;
  filters?: Array<Record<string, unknown>> | undefined;
  newWebhookIds?: boolean | undefined;
}

/**
 * Maps `replay start` arguments to `POST /v1/replays`. Types and filters left out make the hub use
 * the subscription's own; `to` left out means the hub's now.
 *
 * @throws UsageError when `from` is not before `to`.
 * @example
 * buildReplayRequest({ subscription: 'sub_1', from: '2026-11-26T08:00:00Z', types: ['order.created'] });
 */
export function buildReplayRequest(input: ReplayStartInput): ApiRequest {
  if (input.to !== undefined && Date.parse(input.from) >= Date.parse(input.to)) {
    throw new UsageError(`--from (${input.from}) must be before --to (${input.to}).`);
  }
  const body: Record<string, unknown> = { subscription: input.subscription, from: input.from };
  if (input.to !== undefined) body.to = input.to;
  if (input.types?.length) body.types = input.types;
  if (input.filters?.length) body.filters = input.filters;
  if (input.newWebhookIds) body.newWebhookIds = true;
  return { method: 'POST', path: '/v1/replays', body };
}

/** `GET /v1/replays/{id}`: the replay with its deliveries counted by status. */
export function getReplayRequest(id: string): ApiRequest {
  return { method: 'GET', path: `/v1/replays/${encodeURIComponent(id)}` };
}

/** `POST /v1/replays/{id}/cancel`. */
export function cancelReplayRequest(id: string): ApiRequest {
  return { method: 'POST', path: `/v1/replays/${encodeURIComponent(id)}/cancel` };
}

/** Lays out one replay as name/value lines, as `sub add` shows a subscription. */
export function formatReplay(replay: Replay): string {
  const rows: string[][] = [
    ['status', cell(replay.status)],
    ['subscription', cell(replay.subscriptionId)],
    ['from', cell(replay.from)],
    ['to', cell(replay.to)],
    ['types', replay.types?.length ? cell(replay.types.join(', '), 200) : '*'],
  ];
  if (replay.filters?.length) rows.push(['filters', cell(replay.filters, 200)]);
  rows.push(
    ['webhook-ids', replay.newWebhookIds ? 'new' : 'original'],
    ['scanned', `${replay.scanned} of ${replay.total} events`],
    ['matched', String(replay.matched)],
  );
  if (replay.deliveries) rows.push(['deliveries', formatCounts(replay.deliveries, DELIVERY_STATUS_ORDER)]);
  if (replay.error) rows.push(['error', cell(replay.error, 200)]);
  rows.push(['created', cell(replay.createdAt)], ['updated', cell(replay.updatedAt)]);
  return formatTable(['replay', replay.id], rows);
}

/** Lays out replays as a table, newest first as the hub lists them. */
export function formatReplays(replays: Replay[]): string {
  if (replays.length === 0) return 'No replays.';
  return formatTable(
    ['ID', 'STATUS', 'SUBSCRIPTION', 'FROM', 'TO', 'SCANNED', 'MATCHED'],
    replays.map((r) => [
      r.id,
      cell(r.status),
      cell(r.subscriptionId),
      cell(r.from),
      cell(r.to),
      `${r.scanned}/${r.total}`,
      String(r.matched),
    ]),
  );
}

/**
 * Prints a replay the way the commands print results, then turns an ending the user must hear
 * about into the exit code: 1 when the job failed or was cancelled, 130 when following was stopped.
 */
function report(replay: Replay, opts: { json?: boolean }, interrupted = false): void {
  print(opts.json ? json(replay) : formatReplay(replay));
  if (interrupted) {
    throw new InterruptedError(
      `stopped following; replay ${replay.id} goes on in the hub.\n` +
        `  Follow it: junction replay get ${replay.id} --wait\n` +
        `  Stop it:   junction replay cancel ${replay.id}`,
    );
  }
  if (replay.status === 'failed') throw new CliError(`replay ${replay.id} failed: ${replay.error ?? ''}`, 1);
  if (replay.status === 'cancelled') throw new CliError(`replay ${replay.id} was cancelled.`, 1);
  const dead = replay.deliveries?.dead ?? 0;
  if (replay.status === 'completed' && dead > 0) {
    process.stderr.write(
      `Note: ${dead} replayed deliveries are dead; see junction dlq list --subscription ${replay.subscriptionId}\n`,
    );
  }
}

/** Follows a replay until it is done or Ctrl-C, then reports it. */
async function followAndReport(
  client: JunctionClient,
  replay: Replay,
  opts: { json?: boolean },
): Promise<void> {
  const outcome = await followReplay(replay, () => client.send<Replay>(getReplayRequest(replay.id)));
  report(outcome.replay, opts, outcome.interrupted);
}

const TIME_HELP = `
Times are RFC 3339 (2026-11-26T08:00:00Z, 2026-11-26T09:00:00+01:00), "now", or a time ago
counted back from this machine's clock: a minus sign and amounts in s, m, h, d or w
(-30m, -1h, -2d, -1h30m). Write --from=-1h or --from -1h; both work.`;

interface StartOptions extends ClientOptions {
  subscription: string;
  from: string;
  to?: string;
  type?: string[];
  filter?: Array<Record<string, unknown>>;
  newWebhookIds?: boolean;
  wait: boolean;
  json?: boolean;
}

function registerStart(replay: Command): void {
  const command = replay
    .command('start')
    .description('Replay archived events to a subscription and follow the job (POST /v1/replays).')
    .requiredOption('--subscription <id>', 'subscription to send the events to')
    .requiredOption('--from <time>', 'start of the range, inclusive (when the hub received the event)', time)
    .option('--to <time>', 'end of the range, exclusive (default: now)', time)
    .option(
      '--type <type>',
      "replay only this event type (repeatable; default: the subscription's types)",
      collect,
    )
    .option(
      '--filter <json>',
      "CloudEvents Subscriptions filter as JSON (repeatable; default: the subscription's filters)",
      collectJsonObject,
    )
    .option('--new-webhook-ids', 'give replayed deliveries new webhook-ids instead of the original ones')
    .option('--no-wait', 'print the replay as started and return at once, without following it')
    .option('--json', 'print the final replay as JSON');
  addClientOptions(command).addHelpText(
    'after',
    `${TIME_HELP}

Unless --no-wait, a progress bar (on a terminal; otherwise a line every second or so) shows the
events scanned, then the replayed deliveries settled. Ctrl-C stops following; the replay goes on.
Replayed deliveries carry the junctionreplay extension (ce-junctionreplay header) with the replay
id, and keep their original webhook-id unless --new-webhook-ids.

Examples:
  $ junction replay start --subscription sub_01H... --from -1h
  $ junction replay start --subscription sub_01H... --from 2026-11-26T08:00:00Z --to 2026-11-26T09:00:00Z \\
      --type com.acme.order.created --new-webhook-ids
  $ junction replay start --subscription sub_01H... --from -2d --no-wait --json`,
  );
  command.action(async (opts: StartOptions) => {
    const client = new JunctionClient(opts);
    const started = await client.send<Replay>(
      buildReplayRequest({
        subscription: opts.subscription,
        from: opts.from,
        to: opts.to,
        types: opts.type,
        filters: opts.filter,
        newWebhookIds: opts.newWebhookIds,
      }),
    );
    if (opts.wait) return followAndReport(client, started, opts);
    report(started, opts);
    if (started.status === 'running') {
      process.stderr.write(`Follow it with: junction replay get ${started.id} --wait\n`);
    }
  });
}

/** Adds `junction replay start|get|list|cancel` to the program. */
export function registerReplay(program: Command): void {
  const replay = program
    .command('replay')
    .description('Send archived events again to a subscription, as a job you can follow and cancel.')
    .addHelpText(
      'after',
      `
Examples:
  $ junction replay start --subscription sub_01H... --from -1h
  $ junction replay list
  $ junction replay get rpl_01H...
  $ junction replay cancel rpl_01H...`,
    );
  registerStart(replay);

  const get = replay
    .command('get')
    .description('Show one replay with its deliveries by status (GET /v1/replays/{id}).')
    .argument('<id>', 'replay id')
    .option('--wait', 'follow the replay as "replay start" does, until it is done')
    .option('--json', 'print the replay as JSON');
  addClientOptions(get).addHelpText(
    'after',
    '\nExamples:\n  $ junction replay get rpl_01H...\n  $ junction replay get rpl_01H... --wait --json',
  );
  get.action(async (id: string, opts: ClientOptions & { wait?: boolean; json?: boolean }) => {
    const client = new JunctionClient(opts);
    const found = await client.send<Replay>(getReplayRequest(id));
    if (opts.wait) return followAndReport(client, found, opts);
    print(opts.json ? json(found) : formatReplay(found));
  });

  const list = replay
    .command('list')
    .alias('ls')
    .description('List the latest replays, newest first (GET /v1/replays).')
    .option('--json', 'print the raw JSON answer');
  addClientOptions(list).addHelpText(
    'after',
    '\nExamples:\n  $ junction replay list\n  $ junction replay list --json',
  );
  list.action(async (opts: ClientOptions & { json?: boolean }) => {
    const answer = await new JunctionClient(opts).send<Replay[] | { items?: Replay[] }>({
      method: 'GET',
      path: '/v1/replays',
    });
    if (opts.json) return print(json(answer));
    print(formatReplays(Array.isArray(answer) ? answer : (answer?.items ?? [])));
  });

  const cancel = replay
    .command('cancel')
    .description('Stop a running replay after its current page (POST /v1/replays/{id}/cancel).')
    .argument('<id>', 'replay id')
    .option('--json', 'print the replay as JSON');
  addClientOptions(cancel).addHelpText(
    'after',
    `
Deliveries the replay has already made go on; cancelling a replay that has ended changes nothing.

Example:
  $ junction replay cancel rpl_01H...`,
  );
  cancel.action(async (id: string, opts: ClientOptions & { json?: boolean }) => {
    const answer = await new JunctionClient(opts).send<Replay>(cancelReplayRequest(id));
    if (opts.json) return print(json(answer));
    print(
      answer.status === 'cancelled'
        ? `cancelled ${id}`
        : `replay ${id} had already ended (${answer.status}); nothing to cancel`,
    );
  });
}
