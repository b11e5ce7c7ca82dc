/**
 * Every setting of the hub and its default, parsed and checked once at start-up.
 */
import type { DeliveryPolicy } from '../storage/ports.js';

export interface HubConfig {
  port: number;
  host: string;
  dataDir: string;
  /** The bootstrap admin key from `JUNCTION_ADMIN_KEY`; generated and kept in the data dir otherwise. */
  adminKey: string | undefined;
  maxEventBytes: number;
  maxBatchBytes: number;
  maxBatchEvents: number;
  /** Attempts in flight at once across all subscriptions. */
  deliveryConcurrency: number;
  /** Keep-alive connections per sink origin. */
  connectionsPerOrigin: number;
  pollIntervalMs: number;
  /** How long SIGTERM waits for requests and attempts in flight before closing anyway. */
  shutdownGraceMs: number;
  logLevel: string;
}

export const DEFAULTS: HubConfig = {
  port: 8080,
  host: '127.0.0.1',
  dataDir: './.junction',
  adminKey: undefined,
  maxEventBytes: 1024 * 1024,
  maxBatchBytes: 10 * 1024 * 1024,
  maxBatchEvents: 1000,
  deliveryConcurrency: 256,
  connectionsPerOrigin: 64,
  pollIntervalMs: 500,
  shutdownGraceMs: 20_000,
  logLevel: 'info',
};

/**
 * A subscription's delivery policy when it names none. About a day of retries, as the anchors
 * (Svix, Convoy, Outpost) give: 12 attempts, backoff from 5 s to an hour, full jitter.
 */
export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  format: 'binary',
  timeoutMs: 15_000,
  maxAttempts: 12,
  maxAgeMs: 24 * 60 * 60 * 1000,
  initialDelayMs: 5_000,
  maxDelayMs: 60 * 60 * 1000,
  maxRetryAfterMs: 60 * 60 * 1000,
};

/** Bounds for delivery settings, so a typo cannot make a subscription retry forever or never wait. */
export const DELIVERY_BOUNDS: Record<Exclude<keyof DeliveryPolicy, 'format'>, [number, number]> = {
  timeoutMs: [100, 120_000],
  maxAttempts: [1, 100],
  maxAgeMs: [1_000, 30 * 24 * 60 * 60 * 1000],
  initialDelayMs: [0, 24 * 60 * 60 * 1000],
  maxDelayMs: [0, 7 * 24 * 60 * 60 * 1000],
  maxRetryAfterMs: [0, 7 * 24 * 60 * 60 * 1000],
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function positiveInt(name: string, value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) {
    throw new ConfigError(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Merges options over environment variables over defaults, and checks each. */
export function parseConfig(
  options: Partial<Record<keyof HubConfig, unknown>>,
  env = process.env,
): HubConfig {
  const pick = (key: keyof HubConfig, envName: string) => options[key] ?? env[envName] ?? DEFAULTS[key];
  const port = Number(pick('port', 'JUNCTION_PORT'));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`port must be 0-65535, got ${port}`);
  const config: HubConfig = {
    port,
    host: String(pick('host', 'JUNCTION_HOST')),
    dataDir: String(pick('dataDir', 'JUNCTION_DATA')),
    adminKey: (options.adminKey as string | undefined) ?? env.JUNCTION_ADMIN_KEY ?? undefined,
    maxEventBytes: positiveInt('maxEventBytes', pick('maxEventBytes', 'JUNCTION_MAX_EVENT_BYTES')),
    maxBatchBytes: positiveInt('maxBatchBytes', pick('maxBatchBytes', 'JUNCTION_MAX_BATCH_BYTES')),
    maxBatchEvents: positiveInt('maxBatchEvents', pick('maxBatchEvents', 'JUNCTION_MAX_BATCH_EVENTS')),
    deliveryConcurrency: positiveInt(
      'deliveryConcurrency',
      pick('deliveryConcurrency', 'JUNCTION_DELIVERY_CONCURRENCY'),
    ),
    connectionsPerOrigin: positiveInt(
      'connectionsPerOrigin',
      pick('connectionsPerOrigin', 'JUNCTION_CONNECTIONS_PER_ORIGIN'),
    ),
    pollIntervalMs: positiveInt('pollIntervalMs', pick('pollIntervalMs', 'JUNCTION_POLL_INTERVAL_MS')),
    shutdownGraceMs: positiveInt('shutdownGraceMs', pick('shutdownGraceMs', 'JUNCTION_SHUTDOWN_GRACE_MS')),
    logLevel: String(pick('logLevel', 'JUNCTION_LOG_LEVEL')),
  };
  if (config.adminKey === '') config.adminKey = undefined;
  if (config.maxEventBytes > config.maxBatchBytes) {
    throw new ConfigError('maxEventBytes cannot exceed maxBatchBytes');
  }
  return config;
}
