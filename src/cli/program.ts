/** Builds the `junction` command tree and runs it, mapping every outcome to an exit code. */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../core/version.js';
import { registerChannels } from './commands/channels.js';
import { registerCodegen } from './commands/codegen.js';
import { registerDlq } from './commands/dlq.js';
import { registerEndpoints } from './commands/endpoints.js';
import { registerEvents } from './commands/events.js';
import { registerFilter } from './commands/filter.js';
import { registerHook } from './commands/hook.js';
import { registerMigrate } from './commands/migrate.js';
import { registerPublish } from './commands/publish.js';
import { registerReplay } from './commands/replay.js';
import { registerSchema } from './commands/schema.js';
import { registerServe } from './commands/serve.js';
import { registerSub } from './commands/sub.js';
import { registerTail } from './commands/tail.js';
import { CliError, InterruptedError, UsageError } from './errors.js';

/** Exit codes, as scripts calling `junction` can rely on them. */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/**
 * Creates the command tree. Settings made here before `.command()` (exit override, error hint)
 * are copied to every subcommand by commander.
 */
export function createProgram(): Command {
  const program = new Command('junction')
    .description('Junction: an event hub that takes CloudEvents in and delivers them reliably to webhooks.')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command]', 'Show help for a command.')
    // The program's own options (--version) are read before the command name only, so that a
    // command may have an option of the same name (`schema get --version 2`).
    .enablePositionalOptions()
    // Thrown instead of exiting so that usage errors can end with exit code 2, not commander's 1.
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');
  registerServe(program);
  registerMigrate(program);
  registerPublish(program);
  registerSub(program);
  registerSchema(program);
  registerCodegen(program);
  registerDlq(program);
  registerReplay(program);
  registerEvents(program);
  registerFilter(program);
  registerChannels(program);
  registerEndpoints(program);
  registerHook(program);
  registerTail(program);
  program.addHelpText(
    'after',
    `
Client commands talk to a running hub: --url (or JUNCTION_URL, default http://127.0.0.1:8080)
and --key (or JUNCTION_KEY) select it. Exit codes: 0 ok, 1 server or connection error, 2 usage error,
130 stopped waiting with Ctrl-C (the work goes on in the hub).

Examples:
  $ junction serve
  $ export JUNCTION_KEY=$(cat .junction/admin.key)
  $ junction sub add --sink https://example.com/hook --type com.acme.order.created
  $ junction publish -t com.acme.order.created -s /shop -d '{"orderId":"1234"}'
  $ junction events lookup --source /shop --id <id>
  $ junction replay start --subscription sub_01H... --from -1h`,
  );
  return program;
}

/**
 * Runs the CLI on `argv` (as `process.argv`) and returns the exit code. Failures are printed as
 * one readable message; a stack trace is shown only with JUNCTION_DEBUG set, since users cannot act on one.
 */
export async function run(argv: string[]): Promise<number> {
  try {
    await createProgram().parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    // Commander has already printed its message (or the help/version text) by the time it throws.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof InterruptedError) {
      process.stderr.write(`${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof CliError) {
      const hint = err instanceof UsageError ? '\n(add --help for usage)' : '';
      process.stderr.write(`error: ${err.message}${hint}\n`);
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: ${message}\n`);
    if (process.env.JUNCTION_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return EXIT.failure;
  }
}
