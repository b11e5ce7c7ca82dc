/**
 * `junction schema set|deprecate|converter`: a contract's settings, its versions' lifecycle, and
 * the converters that let subscriptions stay on a version.
 */
import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { COMPATIBILITY_MODES } from '../../contracts/compatibility.js';
import { isRfc3339Timestamp } from '../../core/timestamp.js';
import { addClientOptions, type ClientOptions, JunctionClient } from '../client.js';
import { UsageError } from '../errors.js';
import { cell, formatTable, json, print } from '../format.js';
import { integer } from '../options.js';

const schemaPath = (type: string) => `/v1/schemas/${encodeURIComponent(type)}`;

/** The type settings `schema add` and `schema set` take as options. */
export interface TypeSettingOptions {
  compatibility?: string;
  optionalFriendly?: boolean;
  owner?: string;
  description?: string;
  channel?: string;
}

/** The settings given as options, as the request body names them; those left out stay out. */
export function typeSettingsBody(opts: TypeSettingOptions): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const key of ['compatibility', 'optionalFriendly', 'owner', 'description', 'channel'] as const) {
    if (opts[key] !== undefined) body[key] = opts[key];
  }
  return body;
}

/** A converter as the hub answers it. */
export interface ConverterAnswer {
  from: number;
  to: number;
  expression: string;
  createdAt?: string;
  createdBy?: string;
}

/** Lays out converters as a table of from, to and expression. */
export function formatConverters(type: string, converters: ConverterAnswer[]): string {
  if (converters.length === 0) return `No converters for ${type}.`;
  return formatTable(
    ['FROM', 'TO', 'EXPRESSION'],
    converters.map((c) => [String(c.from), String(c.to), cell(c.expression.replace(/\s+/g, ' '), 80)]),
  );
}

/** A sunset time: RFC 3339 with a zone, as the hub takes it. */
function sunsetTime(value: string): string {
  if (!isRfc3339Timestamp(value)) {
    throw new InvalidArgumentError('Expected an RFC 3339 time with a zone, such as 2027-03-31T00:00:00Z.');
  }
  return value;
}

interface SetOptions extends ClientOptions, TypeSettingOptions {
  validation?: string;
  afterSunset?: string;
  json?: boolean;
}

function registerSet(schema: Command): void {
  const command = schema
    .command('set')
    .description("Change a registered type's settings (PATCH /v1/schemas/{type}).")
    .argument('<type>', 'event type')
    .addOption(
      new Option('--validation <mode>', 'what ingest does with events that do not match').choices([
        'enforce',
        'warn',
        'off',
      ]),
    )
    .addOption(
      new Option('--after-sunset <what>', 'what ingest does with a version past its sunset').choices([
        'refuse',
        'accept',
      ]),
    )
    .addOption(
      new Option('--compatibility <mode>', 'compatibility mode for new versions').choices(
        COMPATIBILITY_MODES,
      ),
    )
    .option('--optional-friendly', 'count adding an optional property to an open model as compatible')
    .option('--no-optional-friendly', 'count it as breaking (the strict reading)')
    .option('--owner <owner>', 'who answers for the contract')
    .option('--description <text>', 'what an event of the type means')
    .option('--channel <name>', 'the channel its events travel in (informational)')
    .option('--json', 'print the settings as JSON');
  addClientOptions(command).addHelpText(
    'after',
    `
Examples:
  $ junction schema set com.acme.order.created --validation warn
  $ junction schema set com.acme.order.created --validation enforce --owner orders-team`,
  );
  command.action(async (type: string, opts: SetOptions) => {
    const body: Record<string, unknown> = typeSettingsBody(opts);
    if (opts.validation !== undefined) body.validation = opts.validation;
    if (opts.afterSunset !== undefined) body.afterSunset = opts.afterSunset;
    if (Object.keys(body).length === 0)
      throw new UsageError('Give at least one setting to change; see --help.');
    const answer = await new JunctionClient(opts).send({ method: 'PATCH', path: schemaPath(type), body });
    print(opts.json ? json(answer) : `updated ${type}: ${Object.keys(body).join(', ')}`);
  });
}

function registerDeprecate(schema: Command): void {
  const command = schema
    .command('deprecate')
    .description('Deprecate a version, with an optional sunset (PATCH /v1/schemas/{type}/versions/{n}).')
    .argument('<type>', 'event type')
    .argument('<version>', 'version number', integer({ min: 1 }))
    .option('--sunset <time>', 'when the version stops being accepted (RFC 3339)', sunsetTime)
    .option('--undo', 'take the deprecation back: the version is active again')
    .option('--json', 'print the version as JSON');
  addClientOptions(command).addHelpText(
    'after',
    `
Publishing a deprecated version still succeeds, with Deprecation and Sunset response headers;
after the sunset it is refused (unless the type's afterSunset is accept).

Examples:
  $ junction schema deprecate com.acme.order.created 1 --sunset 2027-03-31T00:00:00Z
  $ junction schema deprecate com.acme.order.created 1 --undo`,
  );
  command.action(
    async (
      type: string,
      version: number,
      opts: ClientOptions & { sunset?: string; undo?: boolean; json?: boolean },
    ) => {
      if (opts.undo && opts.sunset !== undefined)
        throw new UsageError('--undo and --sunset cannot go together.');
      const body = opts.undo
        ? { deprecated: false }
        : { deprecated: true, ...(opts.sunset === undefined ? {} : { sunset: opts.sunset }) };
      const answer = await new JunctionClient(opts).send<{ state: string; sunsetAt: string | null }>({
        method: 'PATCH',
        path: `${schemaPath(type)}/versions/${version}`,
        body,
      });
      if (opts.json) print(json(answer));
      else
        print(
          `${type} version ${version}: ${answer.state}${answer.sunsetAt ? `, sunset ${answer.sunsetAt}` : ''}`,
        );
    },
  );
}

async function readExpression(opts: { expression?: string; file?: string }): Promise<string> {
  if ((opts.expression === undefined) === (opts.file === undefined)) {
    throw new UsageError('Give the JSONata expression with --expression or --file (one of them).');
  }
  if (opts.expression !== undefined) return opts.expression;
  try {
    return await readFile(opts.file!, 'utf8');
  } catch (err) {
    throw new UsageError(`Cannot read the expression file ${opts.file}: ${(err as Error).message}`);
  }
}

function registerConverter(schema: Command): void {
  const converter = schema
    .command('converter')
    .description('Manage the JSONata converters between adjacent versions of a type.')
    .addHelpText(
      'after',
      `
A subscription pinned to a version (delivery.schemaVersion) receives events of other versions
converted through these, chained version by version.

Examples:
  $ junction schema converter add com.acme.customer.registered 1 2 \\
      --expression '{ "name": { "first": firstName, "last": lastName } }'
  $ junction schema converter list com.acme.customer.registered
  $ junction schema converter rm com.acme.customer.registered 1 2`,
    );

  const add = converter
    .command('add')
    .description('Register (or replace) the converter from one version to the next or previous one.')
    .argument('<type>', 'event type')
    .argument('<from>', 'version the data is in', integer({ min: 1 }))
    .argument('<to>', 'adjacent version to convert it to', integer({ min: 1 }))
    .option('--expression <jsonata>', "JSONata that takes the event's data and returns it in <to>")
    .option('--file <path>', 'read the expression from a file')
    .option('--json', 'print the converter as JSON');
  addClientOptions(add);
  add.action(
    async (
      type: string,
      from: number,
      to: number,
      opts: ClientOptions & { expression?: string; file?: string; json?: boolean },
    ) => {
      const expression = await readExpression(opts);
      const answer = await new JunctionClient(opts).send<ConverterAnswer>({
        method: 'POST',
        path: `${schemaPath(type)}/converters`,
        body: { from, to, expression },
      });
      print(opts.json ? json(answer) : `registered the converter of ${type} from version ${from} to ${to}`);
    },
  );

  const list = converter
    .command('list')
    .alias('ls')
    .description("List a type's converters.")
    .argument('<type>', 'event type')
    .option('--json', 'print the raw JSON answer');
  addClientOptions(list);
  list.action(async (type: string, opts: ClientOptions & { json?: boolean }) => {
    const answer = await new JunctionClient(opts).send<ConverterAnswer[]>({
      method: 'GET',
      path: `${schemaPath(type)}/converters`,
    });
    print(opts.json ? json(answer) : formatConverters(type, answer ?? []));
  });

  const rm = converter
    .command('rm')
    .alias('delete')
    .description('Remove a converter.')
    .argument('<type>', 'event type')
    .argument('<from>', 'version it converts from', integer({ min: 1 }))
    .argument('<to>', 'version it converts to', integer({ min: 1 }));
  addClientOptions(rm);
  rm.action(async (type: string, from: number, to: number, opts: ClientOptions) => {
    await new JunctionClient(opts).send({
      method: 'DELETE',
      path: `${schemaPath(type)}/converters/${from}/${to}`,
    });
    print(`removed the converter of ${type} from version ${from} to ${to}`);
  });
}

/** Adds `set`, `deprecate` and `converter` to `junction schema`. */
export function registerSchemaLifecycle(schema: Command): void {
  registerSet(schema);
  registerDeprecate(schema);
  registerConverter(schema);
}
