/** `junction serve`: run the hub in this process. */
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { integer } from '../options.js';

/** The options `runServe` takes; anything left out gets the server's own default. */
export interface ServeOptions {
  port?: number;
  host?: string;
  data?: string;
  maxEventBytes?: number;
  maxBatchBytes?: number;
  maxBatchEvents?: number;
  deliveryConcurrency?: number;
  /** The path of a JSON config file (`JUNCTION_CONFIG`); flags and environment variables win over it. */
  config?: string;
  /** Distributed mode: a PostgreSQL URL for the state, NATS URLs for the event log. */
  store?: string;
  schema?: string;
  bus?: string;
  busPrefix?: string;
  busReplicas?: number;
}

/**
 * Keeps only the options the user gave. Defaults are not set here: the server names every default
 * in one place, and repeating them would let the two drift apart.
 */
export function toServeOptions(opts: Record<string, unknown>): ServeOptions {
  const keys = [
    'port',
    'host',
    'data',
    'maxEventBytes',
    'maxBatchBytes',
    'maxBatchEvents',
    'deliveryConcurrency',
    'config',
    'store',
    'schema',
    'bus',
    'busPrefix',
    'busReplicas',
  ] as const;
  const result: Record<string, unknown> = {};
  for (const key of keys) if (opts[key] !== undefined) result[key] = opts[key];
  return result as ServeOptions;
}

/** Adds `junction serve` to the program. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the Junction hub: the HTTP API and the delivery of events to subscriptions.')
    .option('-p, --port <port>', 'TCP port to listen on (default: 8080)', integer({ min: 0, max: 65535 }))
    .option('--host <host>', 'address to bind (default: 127.0.0.1; 0.0.0.0 for all interfaces)')
    .option('--data <dir>', 'directory for the embedded SQLite store and admin key (default: ./.junction)')
    .option('--max-event-bytes <n>', 'largest accepted event, in bytes', integer({ min: 1 }))
    .option('--max-batch-bytes <n>', 'largest accepted batch request, in bytes', integer({ min: 1 }))
    .option('--max-batch-events <n>', 'most events accepted in one batch', integer({ min: 1 }))
    .option(
      '--delivery-concurrency <n>',
      'deliveries in flight at once across all sinks',
      integer({ min: 1 }),
    )
    .option(
      '--store <url>',
      'distributed mode: PostgreSQL URL for the state, e.g. postgres://junction@db:5432/junction (JUNCTION_STORE); run `junction migrate` first',
    )
    .option(
      '--schema <name>',
      'PostgreSQL schema holding the hub tables (default: junction; JUNCTION_STORE_SCHEMA)',
    )
    .option(
      '--bus <urls>',
      'distributed mode: NATS JetStream URLs, comma-separated, e.g. nats://127.0.0.1:4222 (JUNCTION_BUS); needs --store',
    )
    .option(
      '--bus-prefix <name>',
      'names the hub streams and consumers (default: junction; JUNCTION_BUS_PREFIX)',
    )
    .option(
      '--bus-replicas <n>',
      'copies JetStream keeps of each stream: 3 on a three-node cluster (default: 1)',
      integer({ min: 1, max: 5 }),
    )
    .option(
      '--config <file>',
      'JSON file of settings, channels and breaker (default: JUNCTION_CONFIG); flags and environment variables override it',
    )
    .addHelpText(
      'after',
      `
On first start, without JUNCTION_ADMIN_KEY set, an admin key is generated, printed once and kept
in <data>/admin.key (mode 0600).

Each setting comes from its flag, else its environment variable, else the config file, else its
default. The config file holds any setting by name, plus channels and breaker:
  {"deliveryConcurrency": 128, "channels": {"orders": {"types": ["com.acme.order.*"], "concurrency": 32}}}

Examples:
  $ junction serve
  $ junction serve --port 9000 --host 0.0.0.0 --data /var/lib/junction
  $ JUNCTION_ADMIN_KEY=change-me junction serve --delivery-concurrency 64
  $ junction serve --config ./junction.json

Distributed mode: any number of processes with the same --store, --schema, --bus and
JUNCTION_ADMIN_KEY share the work; each needs the same channels in its config.
  $ junction migrate --store postgres://junction@db/junction
  $ JUNCTION_ADMIN_KEY=change-me junction serve --store postgres://junction@db/junction --bus nats://nats:4222`,
    )
    .action(async (opts: Record<string, unknown>) => {
      // Loaded on demand so that client commands start fast and never load the server's
      // dependencies (Fastify, the native SQLite driver).
      const { runServe } = await import('../../server/serve.js').catch((err: unknown) => {
        if ((err as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
        throw new CliError(
          `The server could not be loaded (${(err as Error).message}). Run \`npm install && npm run build\`.`,
          1,
        );
      });
      await runServe(toServeOptions(opts));
    });
}
