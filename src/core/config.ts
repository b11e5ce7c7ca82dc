/**
 * Every setting of the hub and its default, parsed and checked once at start-up.
 */
import { readFileSync } from 'node:fs';
import { type BridgeConfig, parseBridges } from '../adapters/bridges/config.js';
import type { BatchPolicy, DeliveryPolicy, RateLimit } from '../storage/ports.js';

/**
 * A lane for one category of events: its own backlog, concurrency budget and retention, so a flood
 * on one channel cannot delay another.
 */
export interface ChannelConfig {
  name: string;
  /** Event types in the channel: exact names, or prefixes ending in `*` (`com.acme.order.*`). */
  types: string[];
  /** `stream` pushes events as they come; `batch` sends them in batches (`batch` below). */
  mode: 'stream' | 'batch';
  /** Attempts of this channel in flight at once. */
  concurrency: number;
  /**
   * How long events are kept for replay, from when they were received. An event with deliveries
   * still pending, retrying or dead is kept until they settle, whatever its age.
   */
  retentionMs: number;
  /** The batch limits of a `batch` channel, for subscriptions that set none; null for `stream`. */
  batch: BatchPolicy | null;
  /**
   * The data regions (`dataregion`) whose events the channel may deliver; null for any. An event of
   * another region is recorded as `blocked` for every subscription, never sent.
   */
  allowedRegions: string[] | null;
}

/** The circuit breaker of every sink endpoint (one per URL, shared by its subscriptions). */
export interface BreakerPolicy {
  /** The sliding window over which the failure ratio is measured. */
  windowMs: number;
  /** Requests in the window before the breaker may open. */
  minRequests: number;
  /** Share of failed requests in the window (0–1) that opens the breaker. */
  failureRatio: number;
  /** How long it stays open before half-opening; doubles after each failed probe, up to maxOpenMs. */
  openMs: number;
  maxOpenMs: number;
  /** Requests let through at once while half-open. */
  halfOpenProbes: number;
}

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
  /** Channels by name; `default` is always there and takes every type no other channel names. */
  channels: ChannelConfig[];
  breaker: BreakerPolicy;
  /**
   * Events waiting for the writer before ingest answers 503 with Retry-After: a bound on memory
   * when the disk cannot keep up.
   */
  maxPendingWrites: number;
  /**
   * Events of a type with no schema in the registry: taken as they are (`accept`), or refused with
   * 400 (`refuse`), which makes the registry the list of what may be published.
   */
  unknownTypes: 'accept' | 'refuse';
  /**
   * The hub's address as others reach it (behind a proxy, say), for links it hands out such as the
   * `dataschema` of a converted event; the listening address when unset.
   */
  publicUrl: string | undefined;
  /**
   * Distributed mode's state: a `postgres://` URL. Unset: the embedded SQLite store in `dataDir`.
   * Every process given the same URL and schema shares subscriptions, contracts and deliveries.
   */
  store: string | undefined;
  /** The PostgreSQL schema holding the hub's tables (`junction migrate --schema`). */
  storeSchema: string;
  /**
   * The event log: `nats://` URLs of a JetStream server or cluster, comma-separated. Needs `store`.
   * Unset: ingest writes events to the store directly.
   */
  bus: string | undefined;
  /** Names the hub's streams, consumers and subjects, so several hubs can share one NATS. */
  busPrefix: string;
  /** Copies JetStream keeps of each channel's stream: 3 on a three-node cluster. */
  busReplicas: number;
  /**
   * With a shared store: how long a process holds the deliveries it took before another process may
   * take them over (the time its death delays them). Over twice the longest `timeoutMs`.
   */
  leaseMs: number;
  /** Brokers the hub consumes events from (`docs/bridges.md`); from the config file only. */
  bridges: BridgeConfig[];
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
  channels: [],
  breaker: {
    windowMs: 30_000,
    minRequests: 20,
    failureRatio: 0.5,
    openMs: 5_000,
    maxOpenMs: 5 * 60 * 1000,
    halfOpenProbes: 2,
  },
  maxPendingWrites: 20_000,
  unknownTypes: 'accept',
  publicUrl: undefined,
  store: undefined,
  storeSchema: 'junction',
  bus: undefined,
  busPrefix: 'junction',
  busReplicas: 1,
  leaseMs: 60_000,
  bridges: [],
};

/** The channel every type belongs to unless another channel names it. */
export const DEFAULT_CHANNEL: ChannelConfig = {
  name: 'default',
  types: ['*'],
  mode: 'stream',
  concurrency: DEFAULTS.deliveryConcurrency,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  batch: null,
  allowedRegions: null,
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
  rateLimit: null,
  ordering: 'none',
  onDead: 'skip',
  batch: null,
  disableAfterMs: 5 * 24 * 60 * 60 * 1000,
  schemaVersion: null,
  transform: null,
  allowedRegions: null,
  mode: 'live',
  preset: null,
  retryOn: [],
};

/** Bounds for delivery settings, so a typo cannot make a subscription retry forever or never wait. */
export const DELIVERY_BOUNDS: Record<
  Exclude<
    keyof DeliveryPolicy,
    | 'format'
    | 'rateLimit'
    | 'ordering'
    | 'onDead'
    | 'batch'
    | 'schemaVersion'
    | 'transform'
    | 'allowedRegions'
    | 'mode'
    | 'preset'
    | 'retryOn'
  >,
  [number, number]
> = {
  timeoutMs: [100, 120_000],
  maxAttempts: [1, 100],
  maxAgeMs: [1_000, 30 * 24 * 60 * 60 * 1000],
  initialDelayMs: [0, 24 * 60 * 60 * 1000],
  maxDelayMs: [0, 7 * 24 * 60 * 60 * 1000],
  maxRetryAfterMs: [0, 7 * 24 * 60 * 60 * 1000],
  disableAfterMs: [10_000, 365 * 24 * 60 * 60 * 1000],
};

/** The batch limits a batch channel or a batching subscription gets for any it leaves out. */
export const DEFAULT_BATCH_POLICY: BatchPolicy = {
  maxEvents: 100,
  maxWaitMs: 1_000,
  maxBytes: 1024 * 1024,
};

/**
 * Bounds of the batch limits. A channel's `maxBytes` is further capped by `maxBatchBytes`, the largest
 * batch the hub itself accepts.
 */
export const BATCH_BOUNDS: Record<keyof BatchPolicy, [number, number]> = {
  maxEvents: [1, 1_000],
  maxWaitMs: [0, 60_000],
  maxBytes: [1_024, 10 * 1024 * 1024],
};

/**
 * Bounds of a subscription's rate limit. `perSecond` must be above its lower bound, not at it, and may
 * be a fraction (0.5 is one request every 2 s).
 */
export const RATE_LIMIT_BOUNDS: Record<keyof RateLimit, [number, number]> = {
  perSecond: [0, 10_000],
  burst: [1, 10_000],
  concurrency: [1, 1_000],
};

/** The concurrency of a configured channel that names none, capped by `deliveryConcurrency`. */
export const DEFAULT_CHANNEL_CONCURRENCY = 64;

/** A channel name: what the API, metrics and logs show. */
export const CHANNEL_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** The problem with a setting, or several: each names the setting's path and what to change. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    /** Every problem found, one message each; `message` lists them all. */
    readonly problems: string[] = [message],
  ) {
    super(message);
  }
}

/**
 * What `parseConfig` takes from the command line: any setting by its `HubConfig` name (`channels` and
 * `breaker` in the config file's form), and `config`, the path of a config file.
 */
export type ConfigOptions = Partial<Record<keyof HubConfig, unknown>> & { config?: unknown };

/** The environment variable of each setting that has one. */
const ENV_NAMES: Partial<Record<keyof HubConfig, string>> = {
  port: 'JUNCTION_PORT',
  host: 'JUNCTION_HOST',
  dataDir: 'JUNCTION_DATA',
  adminKey: 'JUNCTION_ADMIN_KEY',
  maxEventBytes: 'JUNCTION_MAX_EVENT_BYTES',
  maxBatchBytes: 'JUNCTION_MAX_BATCH_BYTES',
  maxBatchEvents: 'JUNCTION_MAX_BATCH_EVENTS',
  deliveryConcurrency: 'JUNCTION_DELIVERY_CONCURRENCY',
  connectionsPerOrigin: 'JUNCTION_CONNECTIONS_PER_ORIGIN',
  pollIntervalMs: 'JUNCTION_POLL_INTERVAL_MS',
  shutdownGraceMs: 'JUNCTION_SHUTDOWN_GRACE_MS',
  logLevel: 'JUNCTION_LOG_LEVEL',
  maxPendingWrites: 'JUNCTION_MAX_PENDING_WRITES',
  unknownTypes: 'JUNCTION_UNKNOWN_TYPES',
  publicUrl: 'JUNCTION_PUBLIC_URL',
  store: 'JUNCTION_STORE',
  storeSchema: 'JUNCTION_STORE_SCHEMA',
  bus: 'JUNCTION_BUS',
  busPrefix: 'JUNCTION_BUS_PREFIX',
  busReplicas: 'JUNCTION_BUS_REPLICAS',
  leaseMs: 'JUNCTION_LEASE_MS',
};

/** pino's levels: any other name makes the logger throw at start-up. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const CHANNEL_KEYS = ['types', 'mode', 'concurrency', 'retentionMs', 'batch', 'allowedRegions'];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

/** One setting as given, and where: the suffix of any message about it says where to change it. */
interface Given {
  value: unknown;
  where: string;
  /** Command-line options and environment variables may give numbers as text; a JSON file may not. */
  text: boolean;
}

/** Whether `value` is a URL with one of `protocols` (`'postgres:'`, say). */
function isUrlOf(value: unknown, protocols: string[]): value is string {
  if (typeof value !== 'string') return false;
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** A URL with its password hidden, for messages. */
function redactUrl(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return value.replace(/:[^:@/]*@/, ':***@');
  }
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !url.search && !url.hash;
  } catch {
    return false;
  }
}

/** `an integer from 0 to 65535`, `a positive integer`, … */
function intRange(min: number, max: number): string {
  if (max === Number.MAX_SAFE_INTEGER)
    return min === 1 ? 'a positive integer' : `an integer of at least ${min}`;
  return `an integer from ${min} to ${max}`;
}

/** Reads and parses the config file; a file that cannot be read or is not a JSON object throws at once. */
function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot read the config file ${path} (${(error as Error).message}); check the path given with --config or JUNCTION_CONFIG`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`the config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed)) {
    throw new ConfigError(
      `the config file ${path} must hold a JSON object of settings, such as {"port": 8080, "channels": {}}`,
    );
  }
  return parsed;
}

/**
 * Merges command-line options over environment variables over the config file over `DEFAULTS`, and
 * checks every setting. The config file is `options.config`, else `JUNCTION_CONFIG`; `channels` and
 * `breaker` come from it (or from options in the same form). Every problem found is reported in one
 * ConfigError, each naming the setting's path and what to change.
 *
 * @example
 * parseConfig({ port: 9000 }, { JUNCTION_CONFIG: './junction.json' });
 * // junction.json: {"channels": {"orders": {"types": ["com.acme.order.*"], "concurrency": 32}}}
 */
export function parseConfig(options: ConfigOptions, env: NodeJS.ProcessEnv = process.env): HubConfig {
  const problems: string[] = [];
  const report = (message: string) => problems.push(message);

  const path = options.config ?? (env.JUNCTION_CONFIG === '' ? undefined : env.JUNCTION_CONFIG);
  if (path !== undefined && (typeof path !== 'string' || path === '')) {
    throw new ConfigError(`config must be the path of a JSON file, got ${show(path)}`);
  }
  const file = path === undefined ? undefined : readConfigFile(path);
  const inFile = ` (in ${path})`;
  if (file) {
    const known = Object.keys(DEFAULTS);
    for (const key of Object.keys(file)) {
      if (!known.includes(key))
        report(`unknown setting '${key}'${inFile}; the settings are ${known.join(', ')}`);
    }
  }

  const given = (key: keyof HubConfig): Given => {
    if (options[key] !== undefined) return { value: options[key], where: '', text: true };
    const envName = ENV_NAMES[key];
    const fromEnv = envName === undefined ? undefined : env[envName];
    if (fromEnv !== undefined) return { value: fromEnv, where: ` (from ${envName})`, text: true };
    if (file && Object.hasOwn(file, key)) return { value: file[key], where: inFile, text: false };
    return { value: DEFAULTS[key], where: '', text: false };
  };
  const int = (key: keyof HubConfig, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const g = given(key);
    const value =
      g.text && typeof g.value === 'string' && /^\s*-?\d+\s*$/.test(g.value) ? Number(g.value) : g.value;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max)
      return value;
    report(`${key} must be ${intRange(min, max)}, got ${show(g.value)}${g.where}`);
    return DEFAULTS[key] as number;
  };
  const str = (key: keyof HubConfig): string => {
    const g = given(key);
    if (typeof g.value === 'string' && g.value !== '') return g.value;
    report(`${key} must be a non-empty string, got ${show(g.value)}${g.where}`);
    return DEFAULTS[key] as string;
  };

  const unknownTypes = given('unknownTypes');
  if (unknownTypes.value !== 'accept' && unknownTypes.value !== 'refuse') {
    report(`unknownTypes must be 'accept' or 'refuse', got ${show(unknownTypes.value)}${unknownTypes.where}`);
  }
  const publicUrl = given('publicUrl');
  if (publicUrl.value !== undefined && !isHttpUrl(publicUrl.value)) {
    report(
      `publicUrl must be an http(s) URL such as https://hub.example.com, got ${show(publicUrl.value)}${publicUrl.where}`,
    );
  }
  const store = given('store');
  const storeUrl = typeof store.value === 'string' && store.value !== '' ? store.value : undefined;
  if (
    store.value !== undefined &&
    store.value !== '' &&
    !isUrlOf(store.value, ['postgres:', 'postgresql:'])
  ) {
    report(
      `store must be a PostgreSQL URL such as postgres://user@db:5432/junction, got ${show(redactUrl(store.value))}${store.where}`,
    );
  }
  const bus = given('bus');
  const busUrls = typeof bus.value === 'string' && bus.value !== '' ? bus.value : undefined;
  if (bus.value !== undefined && bus.value !== '') {
    const urls = typeof bus.value === 'string' ? bus.value.split(',').map((u) => u.trim()) : [bus.value];
    if (!urls.every((u) => isUrlOf(u, ['nats:', 'tls:']))) {
      report(
        `bus must be NATS URLs such as nats://127.0.0.1:4222 (comma-separated for a cluster), got ${show(bus.value)}${bus.where}`,
      );
    } else if (storeUrl === undefined) {
      report(
        `bus${bus.where} needs a shared store: give store (--store postgres://…) as well, since events on the bus are recorded there`,
      );
    }
  }
  for (const key of ['storeSchema', 'busPrefix'] as const) {
    const g = given(key);
    if (
      typeof g.value !== 'string' ||
      !/^[a-z_][a-z0-9_]{0,62}$/.test(g.value) ||
      g.value.startsWith('pg_')
    ) {
      report(
        `${key} must be lower-case letters, digits and _ (starting with a letter or _, not pg_), got ${show(g.value)}${g.where}`,
      );
    }
  }
  const admin = given('adminKey');
  if (admin.value !== undefined && typeof admin.value !== 'string') {
    report(`adminKey must be a string, got ${show(admin.value)}${admin.where}`);
  }
  const config: HubConfig = {
    port: int('port', 0, 65535),
    host: str('host'),
    dataDir: str('dataDir'),
    adminKey: typeof admin.value === 'string' && admin.value !== '' ? admin.value : undefined,
    maxEventBytes: int('maxEventBytes', 1),
    maxBatchBytes: int('maxBatchBytes', 1),
    maxBatchEvents: int('maxBatchEvents', 1),
    deliveryConcurrency: int('deliveryConcurrency', 1),
    connectionsPerOrigin: int('connectionsPerOrigin', 1),
    pollIntervalMs: int('pollIntervalMs', 1),
    shutdownGraceMs: int('shutdownGraceMs', 1),
    logLevel: str('logLevel'),
    channels: [],
    breaker: DEFAULTS.breaker,
    maxPendingWrites: int('maxPendingWrites', 1),
    unknownTypes: unknownTypes.value === 'refuse' ? 'refuse' : 'accept',
    publicUrl: isHttpUrl(publicUrl.value) ? publicUrl.value.replace(/\/+$/, '') : undefined,
    store: storeUrl,
    storeSchema: String(given('storeSchema').value),
    bus: busUrls,
    busPrefix: String(given('busPrefix').value),
    busReplicas: int('busReplicas', 1, 5),
    leaseMs: int('leaseMs', 1_000),
    bridges: [],
  };
  if (!LOG_LEVELS.includes(config.logLevel)) {
    report(
      `logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${show(config.logLevel)}${given('logLevel').where}`,
    );
  }
  if (config.maxEventBytes > config.maxBatchBytes) {
    report(
      `maxEventBytes (${config.maxEventBytes}) cannot exceed maxBatchBytes (${config.maxBatchBytes}); raise maxBatchBytes or lower maxEventBytes`,
    );
  }
  const channels = given('channels');
  config.channels = parseChannels(
    channels.value === DEFAULTS.channels ? {} : channels.value,
    config,
    channels.where,
    report,
  );
  const breaker = given('breaker');
  config.breaker = parseBreaker(breaker.value, breaker.where, report);
  const bridges = given('bridges');
  config.bridges = parseBridges(
    bridges.value === DEFAULTS.bridges ? undefined : bridges.value,
    bridges.where,
    report,
  );

  if (problems.length === 1) throw new ConfigError(problems[0]!, problems);
  if (problems.length > 1) {
    throw new ConfigError(
      `the configuration has ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      problems,
    );
  }
  return config;
}

/** Checks a whole number at `path`; reports and returns undefined when it is missing or out of range. */
function checkInt(
  value: unknown,
  path: string,
  [min, max]: [number, number],
  where: string,
  report: (message: string) => void,
): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max) return value;
  report(`${path} must be ${intRange(min, max)}, got ${show(value)}${where}`);
  return undefined;
}

function reportUnknown(
  raw: Record<string, unknown>,
  path: string,
  known: string[],
  where: string,
  report: (message: string) => void,
): void {
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) report(`${path}.${key} is not a setting${where}; use ${known.join(', ')}`);
  }
}

/**
 * Checks the `channels` object (keyed by name) and returns every channel, `default` first. `default`
 * is always there and always takes every type no other channel names.
 */
function parseChannels(
  raw: unknown,
  limits: Pick<HubConfig, 'deliveryConcurrency' | 'maxBatchBytes'>,
  where: string,
  report: (message: string) => void,
): ChannelConfig[] {
  const base: ChannelConfig = { ...DEFAULT_CHANNEL, concurrency: limits.deliveryConcurrency };
  if (!isObject(raw)) {
    report(
      `channels must be an object keyed by channel name, such as {"orders": {"types": ["com.acme.order.*"]}}, got ${show(raw)}${where}`,
    );
    return [base];
  }
  const result: ChannelConfig[] = [base];
  /** Each exact type and each prefix (with its `*`), and the channel that has it. */
  const owner = new Map<string, string>();
  for (const [name, spec] of Object.entries(raw)) {
    const path = `channels.${name}`;
    if (!CHANNEL_NAME.test(name)) {
      report(
        `${path}: a channel name must be 1 to 63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit${where}`,
      );
      continue;
    }
    if (!isObject(spec)) {
      report(`${path} must be an object such as {"types": ["com.acme.order.*"]}, got ${show(spec)}${where}`);
      continue;
    }
    reportUnknown(spec, path, CHANNEL_KEYS, where, report);
    const isDefault = name === 'default';
    const channel: ChannelConfig = isDefault
      ? base
      : {
          name,
          types: [],
          mode: 'stream',
          concurrency: Math.min(DEFAULT_CHANNEL_CONCURRENCY, limits.deliveryConcurrency),
          retentionMs: DEFAULT_CHANNEL.retentionMs,
          batch: null,
          allowedRegions: null,
        };

    if (isDefault) {
      if (spec.types !== undefined)
        report(
          `${path}.types cannot be set${where}: the default channel takes every type no other channel names; remove it, and list types in other channels`,
        );
    } else {
      channel.types = checkTypes(spec.types, `${path}.types`, where, report);
      channel.types.forEach((type, i) => {
        const other = owner.get(type);
        if (other !== undefined)
          report(
            `${path}.types[${i}]: '${type}' is already in channel '${other}'${where}; a type or prefix can belong to one channel only`,
          );
        else owner.set(type, name);
      });
    }

    if (spec.mode !== undefined) {
      if (spec.mode === 'stream' || spec.mode === 'batch') channel.mode = spec.mode;
      else report(`${path}.mode must be 'stream' or 'batch', got ${show(spec.mode)}${where}`);
    }
    if (spec.concurrency !== undefined) {
      const n = checkInt(
        spec.concurrency,
        `${path}.concurrency`,
        [1, Number.MAX_SAFE_INTEGER],
        where,
        report,
      );
      if (n !== undefined && n > limits.deliveryConcurrency)
        report(
          `${path}.concurrency (${n}) cannot exceed deliveryConcurrency (${limits.deliveryConcurrency})${where}; lower it or raise deliveryConcurrency`,
        );
      else if (n !== undefined) channel.concurrency = n;
    }
    if (spec.retentionMs !== undefined) {
      const ms = checkInt(
        spec.retentionMs,
        `${path}.retentionMs`,
        [60_000, Number.MAX_SAFE_INTEGER],
        where,
        report,
      );
      if (ms !== undefined) channel.retentionMs = ms;
    }
    if (spec.allowedRegions !== undefined && spec.allowedRegions !== null) {
      const regions = checkRegions(spec.allowedRegions);
      if (regions === undefined)
        report(
          `${path}.allowedRegions must be a non-empty array of region names such as ["eu", "eu-west-1"] (letters, digits, '-', '_', '.'), or null${where}`,
        );
      else channel.allowedRegions = regions;
    }
    if (channel.mode === 'batch') {
      channel.batch = parseChannelBatch(spec.batch, `${path}.batch`, limits.maxBatchBytes, where, report);
    } else if (spec.batch !== undefined && spec.batch !== null) {
      report(
        `${path}.batch applies only to a batch channel${where}; set ${path}.mode to 'batch', or remove batch`,
      );
    }
    if (!isDefault) result.push(channel);
  }
  return result;
}

/** A data region: what `dataregion` carries and policies name. */
export const REGION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A list of allowed regions, without duplicates; undefined when it is not one. */
export function checkRegions(raw: unknown): string[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  if (!raw.every((r) => typeof r === 'string' && REGION_NAME.test(r))) return undefined;
  return [...new Set(raw as string[])];
}

/** Checks a channel's types: exact names, or prefixes ending in `*`; at least one; duplicates dropped. */
function checkTypes(raw: unknown, path: string, where: string, report: (message: string) => void): string[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    report(
      `${path} must be a non-empty array of event types or prefixes ending in '*', such as ["com.acme.order.*"], got ${show(raw)}${where}`,
    );
    return [];
  }
  const types: string[] = [];
  raw.forEach((type, i) => {
    const at = `${path}[${i}]`;
    if (typeof type !== 'string' || type === '')
      report(`${at} must be a non-empty string, got ${show(type)}${where}`);
    else if (type === '*')
      report(
        `${at}: '*' alone would take every type${where}; the default channel does that, so name a prefix`,
      );
    else if (type.indexOf('*') !== -1 && type.indexOf('*') !== type.length - 1)
      report(`${at}: '${type}' may have '*' only at its end, as a prefix such as 'com.acme.order.*'${where}`);
    else if (!types.includes(type)) types.push(type);
  });
  return types;
}

function parseChannelBatch(
  raw: unknown,
  path: string,
  maxBatchBytes: number,
  where: string,
  report: (message: string) => void,
): BatchPolicy {
  const batch = { ...DEFAULT_BATCH_POLICY, maxBytes: Math.min(DEFAULT_BATCH_POLICY.maxBytes, maxBatchBytes) };
  if (raw === undefined || raw === null) return batch;
  if (!isObject(raw)) {
    report(`${path} must be an object of maxEvents, maxWaitMs and maxBytes, got ${show(raw)}${where}`);
    return batch;
  }
  reportUnknown(raw, path, Object.keys(BATCH_BOUNDS), where, report);
  const bounds: Record<keyof BatchPolicy, [number, number]> = {
    ...BATCH_BOUNDS,
    maxBytes: [BATCH_BOUNDS.maxBytes[0], maxBatchBytes],
  };
  for (const key of Object.keys(bounds) as (keyof BatchPolicy)[]) {
    if (raw[key] === undefined) continue;
    const n = checkInt(raw[key], `${path}.${key}`, bounds[key], where, report);
    if (n !== undefined) batch[key] = n;
  }
  return batch;
}

/** Checks `breaker`, a partial BreakerPolicy over `DEFAULTS.breaker`. */
function parseBreaker(raw: unknown, where: string, report: (message: string) => void): BreakerPolicy {
  const breaker = { ...DEFAULTS.breaker };
  if (!isObject(raw)) {
    report(`breaker must be an object of circuit breaker settings, got ${show(raw)}${where}`);
    return breaker;
  }
  const keys = Object.keys(DEFAULTS.breaker) as (keyof BreakerPolicy)[];
  reportUnknown(raw, 'breaker', keys, where, report);
  for (const key of keys) {
    const value = raw[key];
    if (value === undefined) continue;
    if (key === 'failureRatio') {
      if (typeof value === 'number' && value > 0 && value <= 1) breaker.failureRatio = value;
      else
        report(
          `breaker.failureRatio must be a number above 0 and at most 1 (0.5 opens at half the requests failing), got ${show(value)}${where}`,
        );
      continue;
    }
    const n = checkInt(value, `breaker.${key}`, [1, Number.MAX_SAFE_INTEGER], where, report);
    if (n !== undefined) breaker[key] = n;
  }
  if (breaker.maxOpenMs < breaker.openMs) {
    report(
      `breaker.maxOpenMs (${breaker.maxOpenMs}) must be at least breaker.openMs (${breaker.openMs})${where}; raise maxOpenMs or lower openMs`,
    );
  }
  return breaker;
}
