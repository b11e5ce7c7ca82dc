/** `junction schema`: register, show, list, check and diff event type schemas in the registry. */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { COMPATIBILITY_MODES } from '../../contracts/compatibility.js';
import { addClientOptions, type ClientOptions, JunctionClient } from '../client.js';
import { CliError, UsageError } from '../errors.js';
import { cell, formatTable, json, print } from '../format.js';
import { integer } from '../options.js';
import { breakingChangeLine, registerDiff } from './schema-diff.js';
import { registerSchemaLifecycle, type TypeSettingOptions, typeSettingsBody } from './schema-lifecycle.js';

/** An event type as `GET /v1/schemas` lists it; the server sends more. */
export interface EventTypeSummary {
  type: string;
  latestVersion?: number | null;
  compatibility?: string;
  owner?: string | null;
  [field: string]: unknown;
}

/** The answer of `POST /v1/schemas/{type}/check`. */
export interface CheckAnswer {
  compatible: boolean;
  changes: { pointer: string; kind: string; message: string }[];
}

/**
 * Reads a JSON Schema from a file (`-` for stdin).
 *
 * @throws UsageError when the file cannot be read or is not JSON.
 */
export async function readSchemaFile(file: string): Promise<unknown> {
  let text: string;
  try {
    if (file === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      text = Buffer.concat(chunks).toString('utf8');
    } else {
      text = await readFile(file, 'utf8');
    }
  } catch (err) {
    throw new UsageError(`Cannot read the schema file ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`The schema file ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Lays out event types as a table of type, latest version, mode and owner. */
export function formatEventTypes(types: EventTypeSummary[]): string {
  if (types.length === 0) return 'No event types registered.';
  return formatTable(
    ['TYPE', 'LATEST', 'COMPATIBILITY', 'OWNER'],
    types.map((t) => [cell(t.type, 100), cell(t.latestVersion), cell(t.compatibility), cell(t.owner)]),
  );
}

/** Lays out a check's verdict: one line, then one line per breaking change. */
export function formatCheck(type: string, answer: CheckAnswer): string {
  if (answer.compatible) return `compatible with ${type}`;
  return [`incompatible with ${type}:`, ...answer.changes.map(breakingChangeLine)].join('\n');
}

function schemaPath(type: string): string {
  return `/v1/schemas/${encodeURIComponent(type)}`;
}

interface AddOptions extends ClientOptions, TypeSettingOptions {
  json?: boolean;
}

function registerAdd(schema: Command): void {
  const command = schema
    .command('add')
    .description("Register a JSON Schema as the type's next version (POST /v1/schemas/{type}).")
    .argument('<type>', 'event type, such as com.acme.order.created')
    .argument('<file>', 'JSON Schema (draft 2020-12) file, or - for stdin')
    .addOption(
      new Option('--compatibility <mode>', "set the type's compatibility mode").choices(COMPATIBILITY_MODES),
    )
    .option('--optional-friendly', 'count adding an optional property to an open model as compatible')
    .option('--owner <owner>', 'who answers for the contract')
    .option('--description <text>', 'what an event of the type means')
    .option('--channel <name>', 'the channel its events travel in (informational)')
    .option('--json', 'print the registered version as JSON');
  addClientOptions(command).addHelpText(
    'after',
    `
A version that would break consumers under the type's mode (BACKWARD unless set) is refused, and
each breaking change is printed with its JSON pointer.

Examples:
  $ junction schema add com.acme.order.created order.schema.json --owner orders-team
  $ junction schema add com.acme.order.created order.schema.json --compatibility FULL`,
  );
  command.action(async (type: string, file: string, opts: AddOptions) => {
    const body: Record<string, unknown> = { schema: await readSchemaFile(file), ...typeSettingsBody(opts) };
    const created = await new JunctionClient(opts).send<{ type: string; version: number }>({
      method: 'POST',
      path: schemaPath(type),
      body,
    });
    print(opts.json ? json(created) : `registered ${created.type} version ${created.version}`);
  });
}

/** Adds `junction schema add|get|list|check|diff` to the program. */
export function registerSchema(program: Command): void {
  const schema = program
    .command('schema')
    .description('Manage event type contracts: versioned JSON Schemas with compatibility rules.')
    .addHelpText(
      'after',
      `
Examples:
  $ junction schema add com.acme.order.created order.schema.json
  $ junction schema check com.acme.order.created order-v2.schema.json
  $ junction schema get com.acme.order.created --version 1
  $ junction schema diff com.acme.order.created 1 2
  $ junction schema list`,
    );
  registerAdd(schema);
  registerSchemaLifecycle(schema);

  const get = schema
    .command('get')
    .description('Show a type with its latest schema, or one version (GET /v1/schemas/{type}).')
    .argument('<type>', 'event type')
    .option('--version <n>', 'show this version instead of the latest', integer({ min: 1 }));
  addClientOptions(get).addHelpText(
    'after',
    '\nExamples:\n  $ junction schema get com.acme.order.created\n  $ junction schema get com.acme.order.created --version 2',
  );
  get.action(async (type: string, opts: ClientOptions & { version?: number }) => {
    const path =
      opts.version === undefined ? schemaPath(type) : `${schemaPath(type)}/versions/${opts.version}`;
    print(json(await new JunctionClient(opts).send({ method: 'GET', path })));
  });

  const list = schema
    .command('list')
    .alias('ls')
    .description('List registered event types (GET /v1/schemas).')
    .option('--json', 'print the raw JSON answer');
  addClientOptions(list).addHelpText('after', '\nExample:\n  $ junction schema list');
  list.action(async (opts: ClientOptions & { json?: boolean }) => {
    const answer = await new JunctionClient(opts).send<EventTypeSummary[]>({
      method: 'GET',
      path: '/v1/schemas',
    });
    print(opts.json ? json(answer) : formatEventTypes(answer ?? []));
  });

  const check = schema
    .command('check')
    .description('Check a schema against the registered versions without registering it.')
    .argument('<type>', 'event type')
    .argument('<file>', 'JSON Schema file, or - for stdin')
    .addOption(
      new Option('--compatibility <mode>', "check under this mode instead of the type's").choices(
        COMPATIBILITY_MODES,
      ),
    )
    .option('--json', 'print the raw JSON answer');
  addClientOptions(check).addHelpText(
    'after',
    `
Exits with 1 when the schema is incompatible, so it can gate a pipeline.

Example:
  $ junction schema check com.acme.order.created order-v2.schema.json`,
  );
  check.action(
    async (type: string, file: string, opts: ClientOptions & { compatibility?: string; json?: boolean }) => {
      const body: Record<string, unknown> = { schema: await readSchemaFile(file) };
      if (opts.compatibility !== undefined) body.compatibility = opts.compatibility;
      const answer = await new JunctionClient(opts).send<CheckAnswer>({
        method: 'POST',
        path: `${schemaPath(type)}/check`,
        body,
      });
      print(opts.json ? json(answer) : formatCheck(type, answer));
      if (!answer.compatible) throw new CliError(`the schema is not compatible with ${type}`, 1);
    },
  );

  registerDiff(schema);
}
