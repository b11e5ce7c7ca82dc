/**
 * `junction serve`: opens the embedded store, starts the dispatcher and the HTTP server, and drains
 * on SIGTERM or SIGINT: stop accepting, finish requests and attempts in flight, close the store.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { type HubConfig, parseConfig } from '../core/config.js';
import { loadAdminKey } from '../governance/admin-key.js';
import { tracerProviderFromEnv } from '../observability/otel-env.js';
import type { JetStreamBus } from '../storage/nats/bus.js';
import type { EventStore } from '../storage/ports.js';
import { openSqliteStore } from '../storage/sqlite/store.js';
import { buildApp } from './app.js';
import { Hub, type HubDeps } from './hub.js';

export interface ServeOptions {
  port?: number;
  host?: string;
  data?: string;
  maxEventBytes?: number;
  maxBatchBytes?: number;
  maxBatchEvents?: number;
  deliveryConcurrency?: number;
  /** A JSON config file; flags and environment variables win over it. */
  config?: string;
  store?: string;
  schema?: string;
  bus?: string;
  busPrefix?: string;
  busReplicas?: number;
}

export interface RunningHub {
  url: string;
  config: HubConfig;
  stop(): Promise<void>;
}

/** Starts a hub in this process; resolves once it listens. */
export async function startHub(config: HubConfig, deps: HubDeps = {}): Promise<RunningHub> {
  const logger = pino({ level: config.logLevel, base: { service: 'junction' } });
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const admin = loadAdminKey(dataDir, config.adminKey);
  if (admin.generated) {
    process.stderr.write(
      `\nJunction generated an admin API key. It is shown only this once and kept in ${dataDir}/admin.key:\n\n    ${admin.key}\n\n`,
    );
  }
  // Made here, and so shut down here; an injected provider is the caller's to shut down.
  const otel = deps.tracerProvider ? undefined : tracerProviderFromEnv();
  const { store, bus } = await openBackends(config, dataDir, logger);
  const hub = new Hub(store, config, logger, { ...deps, bus, tracerProvider: deps.tracerProvider ?? otel });
  try {
    await hub.load();
  } catch (error) {
    await bus?.close({ force: true });
    await store.close();
    await otel?.shutdown();
    throw error;
  }
  const app = buildApp({ hub, adminKey: admin.key, logger });
  await app.listen({ port: config.port, host: config.host });
  await hub.start();
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  hub.publicUrl = config.publicUrl ?? url;
  logger.info({ url, data: dataDir }, 'junction listening');

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      try {
        await app.close();
        await hub.stop();
        await bus?.close();
      } finally {
        // Flushes the spans still buffered, so the last attempts before a drain (or a failed stop)
        // are exported too.
        await otel?.shutdown();
      }
    })();
    return stopping;
  };
  return { url, config, stop };
}

/**
 * The store and bus the config names: the embedded SQLite file by default; PostgreSQL (whose
 * migrations must be applied: a server with pending ones refuses to start) and, with `bus`, NATS
 * JetStream in distributed mode.
 */
async function openBackends(
  config: HubConfig,
  dataDir: string,
  logger: Logger,
): Promise<{ store: EventStore; bus: JetStreamBus | undefined }> {
  if (config.store === undefined) return { store: await openSqliteStore(dataDir), bus: undefined };
  // Loaded only in distributed mode, so the embedded hub never loads the PostgreSQL or NATS clients.
  const { openPostgresStore } = await import('../storage/postgres/index.js');
  const owner = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const store = await openPostgresStore({
    url: config.store,
    schema: config.storeSchema,
    owner,
    leaseMs: config.leaseMs,
  });
  if (config.bus === undefined) return { store, bus: undefined };
  try {
    const { JetStreamBus } = await import('../storage/nats/bus.js');
    const bus = await JetStreamBus.connect({
      servers: config.bus.split(',').map((url) => url.trim()),
      prefix: config.busPrefix,
      name: `junction ${owner}`,
    });
    bus.onStatus((state) => logger.info({ state }, 'event bus'));
    return { store, bus };
  } catch (error) {
    await store.close();
    throw error;
  }
}

export async function runServe(options: ServeOptions): Promise<void> {
  const config = parseConfig({
    port: options.port,
    host: options.host,
    dataDir: options.data,
    maxEventBytes: options.maxEventBytes,
    maxBatchBytes: options.maxBatchBytes,
    maxBatchEvents: options.maxBatchEvents,
    deliveryConcurrency: options.deliveryConcurrency,
    config: options.config,
    store: options.store,
    storeSchema: options.schema,
    bus: options.bus,
    busPrefix: options.busPrefix,
    busReplicas: options.busReplicas,
  });
  const running = await startHub(config);
  // Tests and scripts read this line to find the port when it was 0.
  process.stdout.write(`junction listening on ${running.url}\n`);
  const onSignal = (signal: string) => {
    process.stderr.write(`junction: ${signal}: draining\n`);
    const force = setTimeout(() => {
      process.stderr.write('junction: drain took too long; exiting\n');
      process.exit(1);
    }, config.shutdownGraceMs);
    force.unref();
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`junction: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
}
