/** `junction migrate`: apply the PostgreSQL store's schema migrations, or list those pending. */
import { type Command, InvalidArgumentError } from 'commander';
import { UsageError } from '../errors.js';

/** The options `runMigrate` takes, as commander parsed them. */
export interface MigrateCommandOptions {
  store?: string;
  schema: string;
  dryRun?: boolean;
}

/** Rejects a --schema PostgreSQL would need quoted, before anything connects. */
function schemaName(value: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value) || value.startsWith('pg_')) {
    throw new InvalidArgumentError('Use lower-case letters, digits and _, not starting with a digit or pg_.');
  }
  return value;
}

/** Applies (or with `dryRun` lists) pending migrations, printing one line per migration. */
export async function runMigrate(opts: MigrateCommandOptions, out: (line: string) => void): Promise<void> {
  const url = opts.store;
  if (!url) {
    throw new UsageError('No store given: pass --store postgres://user@host:5432/db or set JUNCTION_STORE.');
  }
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new UsageError('The store must be a PostgreSQL address: postgres://user@host:5432/db.');
  }
  // Loaded on demand so that the other commands never load the PostgreSQL driver.
  const pg = await import('../../storage/postgres/index.js');
  const where = `schema "${opts.schema}" at ${pg.redact(url)}`;
  if (opts.dryRun) {
    const pending = await pg.pendingMigrations(url, { schema: opts.schema });
    if (pending.length === 0) return out(`${where}: up to date`);
    out(`${where}: ${pending.length} pending migration(s)`);
    for (const m of pending) out(`  ${m.label}`);
    return;
  }
  const applied = await pg.migrate(url, { schema: opts.schema, onApplied: (m) => out(`applied ${m.label}`) });
  out(applied.length === 0 ? `${where}: up to date` : `${where}: ${applied.length} migration(s) applied`);
}

/** Adds `junction migrate` to the program. */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('Create or upgrade the PostgreSQL schema that holds the hub state (distributed mode).')
    .option(
      '--store <url>',
      'PostgreSQL address, postgres://user:password@host:5432/db (default: JUNCTION_STORE)',
    )
    .option('--schema <name>', 'schema holding the hub tables, created if missing', schemaName, 'junction')
    .option('--dry-run', 'list the pending migrations without applying them')
    .addHelpText(
      'after',
      `
Migrations are applied in order, each in its own transaction; a failed one is rolled back alone and
those before it stay applied. Concurrent runs are safe: they wait for each other on an advisory lock.
The embedded (SQLite) store needs no command: it migrates itself when the hub opens it.

Exit codes: 0 applied or up to date, 1 PostgreSQL unreachable or a migration failed, 2 usage error.

Examples:
  $ junction migrate --store postgres://junction@db.internal:5432/junction --dry-run
  $ junction migrate --store postgres://junction@db.internal:5432/junction
  $ JUNCTION_STORE=postgres://127.0.0.1/test junction migrate --schema staging`,
    )
    .action(async (opts: { store?: string; schema: string; dryRun?: boolean }) => {
      await runMigrate(
        { store: opts.store ?? process.env.JUNCTION_STORE, schema: opts.schema, dryRun: opts.dryRun },
        (line) => process.stdout.write(`${line}\n`),
      );
    });
}
