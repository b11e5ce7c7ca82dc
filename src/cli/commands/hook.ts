/** `junction hook`: create, list, show, delete inbound hooks and rotate their URL secrets. */
import { type Command, Option } from 'commander';
import { HOOK_PRESETS } from '../../storage/ports.js';
import { type ApiRequest, addClientOptions, type ClientOptions, JunctionClient } from '../client.js';
import { UsageError } from '../errors.js';
import { cell, formatTable, json, print } from '../format.js';
import { integer } from '../options.js';

/** The hook fields the CLI shows; the server sends more. */
export interface Hook {
  id: string;
  name?: string | null;
  preset?: string;
  status?: string;
  type?: string | null;
  typeField?: string | null;
  typeHeader?: string | null;
  url?: string;
  secret?: string;
  [field: string]: unknown;
}

/** The presets the server takes; the server checks again, this only gives a clear usage error. */
export const PRESET_CHOICES: string[] = [...HOOK_PRESETS];

/** The arguments of `hook create`, already parsed. */
export interface HookCreateInput {
  preset?: string | undefined;
  name?: string | undefined;
  type?: string | undefined;
  typeField?: string | undefined;
  typeHeader?: string | undefined;
  typePrefix?: string | undefined;
  source?: string | undefined;
  subjectField?: string | undefined;
  partitionKeyField?: string | undefined;
  idField?: string | undefined;
  idHeader?: string | undefined;
  mapping?: string | undefined;
  /** The whole `signing` object as JSON. */
  signing?: string | undefined;
  macSecret?: string | undefined;
  maxBodyBytes?: number | undefined;
}

/** The fields `hook create` sends as they are; commander's options object holds others too. */
const FIELDS = [
  'preset',
  'name',
  'type',
  'typeField',
  'typeHeader',
  'typePrefix',
  'source',
  'subjectField',
  'partitionKeyField',
  'idField',
  'idHeader',
  'mapping',
  'macSecret',
  'maxBodyBytes',
] as const satisfies readonly (keyof HookCreateInput)[];

/**
 * Maps `hook create` arguments to `POST /v1/hooks`. What is not given is left out, so the server's
 * defaults (and the preset's) apply.
 *
 * @throws UsageError when --signing is not a JSON object.
 * @example
 * buildHookRequest({ preset: 'zapier', type: 'com.acme.lead.created', idField: 'lead.id' });
 */
export function buildHookRequest(input: HookCreateInput): ApiRequest {
  const { signing } = input;
  const body: Record<string, unknown> = {};
  for (const key of FIELDS) if (input[key] !== undefined) body[key] = input[key];
  if (signing !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(signing);
    } catch {
      throw new UsageError(
        '--signing must be a JSON object such as {"secret":"…","header":"X-Hub-Signature-256"}.',
      );
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new UsageError('--signing must be a JSON object.');
    }
    body.signing = parsed;
  }
  return { method: 'POST', path: '/v1/hooks', body };
}

/** Lays out hooks as a table of id, preset, status, type and name. */
export function formatHooks(hooks: Hook[]): string {
  if (hooks.length === 0) return 'No hooks.';
  return formatTable(
    ['ID', 'PRESET', 'STATUS', 'TYPE', 'NAME'],
    hooks.map((h) => [
      h.id,
      cell(h.preset),
      cell(h.status),
      cell(
        h.type ?? (h.typeField ? `field ${h.typeField}` : h.typeHeader ? `header ${h.typeHeader}` : null),
        50,
      ),
      cell(h.name, 40),
    ]),
  );
}

const hookPath = (id: string) => `/v1/hooks/${encodeURIComponent(id)}`;

function registerCreate(hook: Command): void {
  const command = hook
    .command('create')
    .description('Create an inbound hook (POST /v1/hooks) and print the URL to paste into the tool.')
    .addOption(
      new Option('--preset <preset>', 'the tool that sends to it').choices(PRESET_CHOICES).default('generic'),
    )
    .option('--name <name>', 'a name to recognise it by')
    .option('--type <type>', 'the event type (or the fallback for --type-field/--type-header)')
    .option('--type-field <path>', 'read the type from this body field (order.kind or /order/kind)')
    .option('--type-header <name>', 'read the type from this header (X-GitHub-Event)')
    .option('--type-prefix <prefix>', 'put before a type read from the request (com.github.)')
    .option('--source <uri>', "the events' source (default /hooks/<id>)")
    .option('--subject-field <path>', 'the subject from this body field')
    .option('--partition-key-field <path>', 'the partition key from this body field')
    .option('--id-field <path>', 'the event id from this body field (else a header, else a body hash)')
    .option('--id-header <name>', 'the event id from this header')
    .option('--mapping <jsonata>', 'a JSONata expression that makes the data from the body')
    .option('--signing <json>', 'signing for the signed preset, as JSON: {"secret","header","prefix",…}')
    .option('--mac-secret <base64>', "airtable: the webhook's macSecretBase64")
    .option('--max-body-bytes <n>', 'the largest body taken', integer({ min: 1024 }))
    .option('--json', 'print the created hook as JSON');
  addClientOptions(command).addHelpText(
    'after',
    `
The answer includes the URL with the hook's secret in it. It is shown only once: paste it into the
tool now (or rotate the secret later for a new one).

Examples:
  $ junction hook create --preset zapier --type com.acme.lead.created --subject-field lead.email
  $ junction hook create --preset make --type com.acme.order.created --id-field order.id
  $ junction hook create --preset signed --type-header X-GitHub-Event --type-prefix com.github. \\
      --signing '{"secret":"…","header":"X-Hub-Signature-256","prefix":"sha256="}'`,
  );
  command.action(async (opts: ClientOptions & HookCreateInput & { json?: boolean }) => {
    const created = await new JunctionClient(opts).send<Hook>(buildHookRequest(opts));
    if (opts.json) print(json(created));
    else {
      print(
        formatTable(
          ['created', created.id],
          [
            ['preset', cell(created.preset)],
            ['type', cell(created.type ?? created.typeField ?? created.typeHeader)],
            ['url', cell(created.url, 500)],
          ],
        ),
      );
    }
    process.stderr.write(
      'Note: the URL carries the secret and is shown only this once; paste it into the tool now.\n',
    );
  });
}

/** Adds `junction hook create|list|get|delete|rotate` to the program. */
export function registerHook(program: Command): void {
  const hook = program
    .command('hook')
    .description('Manage inbound hooks: URLs no-code tools post to, mapped to CloudEvents.')
    .addHelpText(
      'after',
      `
Examples:
  $ junction hook create --preset zapier --type com.acme.lead.created
  $ junction hook list
  $ junction hook get hook_01H...
  $ junction hook rotate hook_01H... --grace-seconds 3600
  $ junction hook delete hook_01H...`,
    );
  registerCreate(hook);

  const list = hook
    .command('list')
    .alias('ls')
    .description('List hooks (GET /v1/hooks).')
    .option('--json', 'print the raw JSON answer');
  addClientOptions(list).addHelpText(
    'after',
    '\nExamples:\n  $ junction hook list\n  $ junction hook list --json',
  );
  list.action(async (opts: ClientOptions & { json?: boolean }) => {
    const answer = await new JunctionClient(opts).send<Hook[]>({ method: 'GET', path: '/v1/hooks' });
    print(opts.json ? json(answer) : formatHooks(answer ?? []));
  });

  const get = hook
    .command('get')
    .description('Show one hook as JSON (GET /v1/hooks/{id}).')
    .argument('<id>', 'hook id');
  addClientOptions(get).addHelpText('after', '\nExample:\n  $ junction hook get hook_01H...');
  get.action(async (id: string, opts: ClientOptions) => {
    print(json(await new JunctionClient(opts).send({ method: 'GET', path: hookPath(id) })));
  });

  const rm = hook
    .command('delete')
    .alias('rm')
    .description('Delete a hook (DELETE /v1/hooks/{id}).')
    .argument('<id>', 'hook id');
  addClientOptions(rm).addHelpText('after', '\nExample:\n  $ junction hook delete hook_01H...');
  rm.action(async (id: string, opts: ClientOptions) => {
    await new JunctionClient(opts).send({ method: 'DELETE', path: hookPath(id) });
    print(`deleted ${id}`);
  });

  const rotate = hook
    .command('rotate')
    .description('Give a hook a new URL secret (POST /v1/hooks/{id}/rotate) and print the new URL.')
    .argument('<id>', 'hook id')
    .option(
      '--grace-seconds <n>',
      'how long the previous secret keeps working (default 0: it stops now)',
      integer({ min: 0 }),
    )
    .option('--json', 'print the raw JSON answer');
  addClientOptions(rotate).addHelpText(
    'after',
    `
With a grace period, requests with the old URL are taken until it ends, so the URL can be changed
in the tool without losing a request in between.

Example:
  $ junction hook rotate hook_01H... --grace-seconds 3600`,
  );
  rotate.action(async (id: string, opts: ClientOptions & { graceSeconds?: number; json?: boolean }) => {
    const answer = await new JunctionClient(opts).send<{
      url: string;
      previousSecretExpiresAt: string | null;
    }>({
      method: 'POST',
      path: `${hookPath(id)}/rotate`,
      body: opts.graceSeconds === undefined ? {} : { graceSeconds: opts.graceSeconds },
    });
    if (opts.json) return print(json(answer));
    print(
      formatTable(
        ['rotated', id],
        [
          ['url', cell(answer.url, 500)],
          ['old secret until', cell(answer.previousSecretExpiresAt ?? 'stopped now')],
        ],
      ),
    );
  });
}
