/** `junction codegen`: TypeScript types for the event data of a hub's registered schemas. */
import { writeFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import type { CodegenType } from '../../contracts/codegen.js';
import { addClientOptions, type ClientOptions, JunctionClient } from '../client.js';
import { CliError } from '../errors.js';
import { print } from '../format.js';
import { collect } from '../options.js';
import type { EventTypeSummary } from './schema.js';

/** The languages `--lang` accepts. */
const LANGUAGES = ['ts'];

interface CodegenOptions extends ClientOptions {
  lang: string;
  out: string;
  type?: string[];
  allVersions?: boolean;
}

interface VersionAnswer {
  version: number;
  schema: unknown;
}

function schemaPath(type: string): string {
  return `/v1/schemas/${encodeURIComponent(type)}`;
}

/**
 * Reads from the hub the types to generate: every registered type with a version, or those named,
 * each with its latest version or all of them.
 *
 * @throws CliError when a named type is not registered or has no version yet.
 */
export async function fetchTypes(
  client: JunctionClient,
  only: string[] | undefined,
  allVersions: boolean,
): Promise<CodegenType[]> {
  const listed = (await client.send<EventTypeSummary[]>({ method: 'GET', path: '/v1/schemas' })) ?? [];
  const byType = new Map(listed.map((t) => [t.type, t]));
  let selected: EventTypeSummary[];
  if (only === undefined) {
    selected = listed.filter((t) => typeof t.latestVersion === 'number');
  } else {
    selected = [...new Set(only)].map((type) => {
      const found = byType.get(type);
      if (!found) throw new CliError(`no event type '${type}' in the registry; see junction schema list`, 1);
      if (typeof found.latestVersion !== 'number') {
        throw new CliError(`event type '${type}' has no schema version yet`, 1);
      }
      return found;
    });
  }
  const out: CodegenType[] = [];
  for (const t of selected) {
    const versions = allVersions
      ? await client.send<VersionAnswer[]>({ method: 'GET', path: `${schemaPath(t.type)}/versions` })
      : [
          await client.send<VersionAnswer>({
            method: 'GET',
            path: `${schemaPath(t.type)}/versions/${t.latestVersion}`,
          }),
        ];
    const description = typeof t.description === 'string' ? t.description : null;
    out.push({
      type: t.type,
      description,
      versions: versions.map((v) => ({ version: v.version, schema: v.schema })),
    });
  }
  return out;
}

/** Adds `junction codegen` to the program. */
export function registerCodegen(program: Command): void {
  const command = program
    .command('codegen')
    .description('Write TypeScript types for the data of every registered event type.')
    .addOption(new Option('--lang <language>', 'the language to write').choices(LANGUAGES).default('ts'))
    .option('-o, --out <file>', 'write to this file; - for stdout', '-')
    .option('-t, --type <type>', 'only this event type (repeatable); default: every registered type', collect)
    .option('--all-versions', "a type for every version, not only each type's latest");
  addClientOptions(command).addHelpText(
    'after',
    `
Reads the registry of a running hub (GET /v1/schemas and each type's versions) and writes one
declaration per type and version, named after the type: com.acme.order.created version 2 becomes
ComAcmeOrderCreatedV2, and ComAcmeOrderCreated is an alias of the latest version. JunctionEvents
maps each type name to its latest data type. The file says it is generated: commit it, and run the
command again when a schema changes. Schema references are resolved within each schema only;
nothing is fetched.

Examples:
  $ junction codegen --out src/events.generated.ts
  $ junction codegen --type com.acme.order.created --all-versions > order-events.ts

  import type { JunctionEvents } from './events.generated.js';
  function handle(data: JunctionEvents['com.acme.order.created']) { ... }`,
  );
  command.action(async (opts: CodegenOptions) => {
    // Loaded here, not at start-up: the generator and its formatter would slow every other command.
    const { CodegenError, generateTypes } = await import('../../contracts/codegen.js');
    const types = await fetchTypes(new JunctionClient(opts), opts.type, opts.allVersions ?? false);
    let source: string;
    try {
      source = await generateTypes(types);
    } catch (error) {
      if (error instanceof CodegenError) throw new CliError(error.message, 1, { cause: error });
      throw error;
    }
    if (opts.out === '-') {
      process.stdout.write(source);
      return;
    }
    try {
      await writeFile(opts.out, source);
    } catch (error) {
      throw new CliError(`cannot write ${opts.out}: ${(error as Error).message}`, 1);
    }
    const versions = types.reduce((n, t) => n + t.versions.length, 0);
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    print(
      `wrote ${plural(types.length, 'event type')} (${plural(versions, 'schema version')}) to ${opts.out}`,
    );
  });
}
