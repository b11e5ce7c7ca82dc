/** `junction dlq`: inspect, redrive and discard dead-lettered deliveries. */
import type { Command } from 'commander';
import { type ApiRequest, addClientOptions, type ClientOptions, JunctionClient } from '../client.js';
import { UsageError } from '../errors.js';
import { cell, formatTable, json, print } from '../format.js';
import { collect, integer } from '../options.js';
import type { Delivery } from './delivery.js';

/** One page of `GET /v1/dead-letters`. */
export interface DeadLetterPage {
  items: Delivery[];
  next: string | null;
}

/**
 * Maps `dlq list` arguments to `GET /v1/dead-letters`.
 *
 * @example
 * buildDeadLetterListRequest({ subscription: 'sub_1', limit: 20 });
 */
export function buildDeadLetterListRequest(input: {
  subscription?: string | undefined;
  limit?: number | undefined;
  after?: string | undefined;
}): ApiRequest {
  return {
    method: 'GET',
    path: '/v1/dead-letters',
    query: { subscription: input.subscription, limit: input.limit, after: input.after },
  };
}

/** Which dead letters an action is for: by delivery ids or by subscription. */
export interface DeadLetterSelection {
  ids?: string[] | undefined;
  subscription?: string | undefined;
}

/**
 * Maps the arguments of a dead-letter action to `POST /v1/dead-letters/{action}`: by delivery ids or
 * by subscription, never both, so a typo cannot touch more than intended.
 *
 * @throws UsageError unless exactly one of `ids` and `subscription` is given.
 */
function buildActionRequest(action: 'redrive' | 'discard', input: DeadLetterSelection): ApiRequest {
  const hasIds = (input.ids?.length ?? 0) > 0;
  if (hasIds === (input.subscription !== undefined)) {
    throw new UsageError('Pass either --id (one or more) or --subscription, not both and not neither.');
  }
  return {
    method: 'POST',
    path: `/v1/dead-letters/${action}`,
    body: hasIds ? { ids: input.ids } : { subscription: input.subscription },
  };
}

/**
 * Maps `dlq redrive` arguments to `POST /v1/dead-letters/redrive`.
 *
 * @throws UsageError unless exactly one of `ids` and `subscription` is given.
 * @example
 * buildRedriveRequest({ ids: ['dlv_1', 'dlv_2'] });
 */
export function buildRedriveRequest(input: DeadLetterSelection): ApiRequest {
  return buildActionRequest('redrive', input);
}

/**
 * Maps `dlq discard` arguments to `POST /v1/dead-letters/discard`.
 *
 * @throws UsageError unless exactly one of `ids` and `subscription` is given.
 * @example
 * buildDiscardRequest({ subscription: 'sub_1' });
 */
export function buildDiscardRequest(input: DeadLetterSelection): ApiRequest {
  return buildActionRequest('discard', input);
}

/** What a dead-letter action answers: how many it moved, the ids it skipped, and whether more remain. */
interface ActionAnswer {
  redriven?: number;
  discarded?: number;
  skipped?: string[];
  more?: boolean;
}

/** Prints an action's answer: the count, then the skipped ids and a note that more remain, if so. */
function printActionAnswer(verb: 'redriven' | 'discarded', answer: ActionAnswer | undefined): void {
  print(`${verb} ${answer?.[verb] ?? 0}`);
  const skipped = answer?.skipped ?? [];
  if (skipped.length > 0) print(`skipped (unknown, or not dead) ${skipped.join(' ')}`);
  if (answer?.more) print('more dead letters remain: run the same command again');
}

/** Lays out dead letters as a table, one row per delivery. */
export function formatDeadLetters(page: DeadLetterPage): string {
  if (page.items.length === 0) return 'No dead letters.';
  const table = formatTable(
    ['ID', 'SUBSCRIPTION', 'EVENT', 'ATTEMPTS', 'UPDATED', 'LAST ERROR'],
    page.items.map((d) => [
      d.id,
      cell(d.subscriptionId),
      d.event
        ? cell(`${d.event.type ?? '?'} ${d.event.source ?? '?'} ${d.event.id ?? '?'}`, 70)
        : cell(d.eventSeq),
      cell(d.attempts),
      cell(d.updatedAt),
      cell(d.lastError),
    ]),
  );
  return page.next ? `${table}\n\nMore: pass --after ${page.next}` : table;
}

interface ListOptions extends ClientOptions {
  subscription?: string;
  limit?: number;
  after?: string;
  json?: boolean;
}

/** Adds `junction dlq list|redrive|discard` to the program. */
export function registerDlq(program: Command): void {
  const dlq = program
    .command('dlq')
    .description(
      'Inspect, redrive and discard dead letters: deliveries that ran out of attempts or failed permanently.',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ junction dlq list --subscription sub_01H...
  $ junction dlq redrive --id dlv_1 --id dlv_2
  $ junction dlq redrive --subscription sub_01H...
  $ junction dlq discard --id dlv_3`,
    );

  const list = dlq
    .command('list')
    .alias('ls')
    .description('List dead letters (GET /v1/dead-letters).')
    .option('--subscription <id>', 'only dead letters of this subscription')
    .option('--limit <n>', 'at most this many, 1 to 1000 (default: 100)', integer({ min: 1, max: 1000 }))
    .option('--after <cursor>', 'continue after the "next" cursor of a previous page')
    .option('--json', 'print the raw JSON answer');
  addClientOptions(list).addHelpText(
    'after',
    '\nExamples:\n  $ junction dlq list\n  $ junction dlq list --subscription sub_01H... --limit 20 --json',
  );
  list.action(async (opts: ListOptions) => {
    const page = await new JunctionClient(opts).send<DeadLetterPage>(buildDeadLetterListRequest(opts));
    print(opts.json ? json(page) : formatDeadLetters({ items: page?.items ?? [], next: page?.next ?? null }));
  });

  const redrive = dlq
    .command('redrive')
    .description('Deliver dead letters again, keeping their webhook-id (POST /v1/dead-letters/redrive).')
    .option('--id <id>', 'dead-lettered delivery id (repeatable)', collect)
    .option('--subscription <id>', 'redrive every dead letter of this subscription');
  addClientOptions(redrive).addHelpText(
    'after',
    `
Pass either --id (one or more) or --subscription.

Examples:
  $ junction dlq redrive --id dlv_1 --id dlv_2
  $ junction dlq redrive --subscription sub_01H...`,
  );
  redrive.action(async (opts: ClientOptions & { id?: string[]; subscription?: string }) => {
    const request = buildRedriveRequest({ ids: opts.id, subscription: opts.subscription });
    printActionAnswer('redriven', await new JunctionClient(opts).send<ActionAnswer>(request));
  });

  const discard = dlq
    .command('discard')
    .description('Drop dead letters for good (POST /v1/dead-letters/discard).')
    .option('--id <id>', 'dead-lettered delivery id (repeatable)', collect)
    .option('--subscription <id>', 'discard every dead letter of this subscription');
  addClientOptions(discard).addHelpText(
    'after',
    `
Pass either --id (one or more) or --subscription. A discarded delivery is never sent again; under
onDead "block" it lets the later events of its partition key go on.

Examples:
  $ junction dlq discard --id dlv_1 --id dlv_2
  $ junction dlq discard --subscription sub_01H...`,
  );
  discard.action(async (opts: ClientOptions & { id?: string[]; subscription?: string }) => {
    const request = buildDiscardRequest({ ids: opts.id, subscription: opts.subscription });
    printActionAnswer('discarded', await new JunctionClient(opts).send<ActionAnswer>(request));
  });
}
