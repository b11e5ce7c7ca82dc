/**
 * The bus's options, with every default named here and checked once, at connect time.
 */
import { checkPlainName } from './names.js';

export interface BusOptions {
  /** NATS URLs: `nats://127.0.0.1:4222`, or several for a cluster. */
  servers: string | string[];
  /** Namespaces streams (`<prefix>_<channel>`), consumers and subjects (`<prefix>.ev.…`). */
  prefix: string;
  /** Shown in the server's connection list (`nats server report connections`). */
  name?: string;
  /** How long a publish waits for JetStream's acknowledgement. */
  publishTimeoutMs?: number;
  /** First reconnect delay; it doubles per failed attempt up to `maxReconnectDelayMs`. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** How long the first connection may take before `connect` fails. */
  connectTimeoutMs?: number;
}

export interface ConsumeOptions {
  /**
   * Messages handed out and not yet acknowledged, across every process sharing the durable. With
   * `ordered`, it applies to unkeyed events only: each key bucket has 1.
   */
  maxAckPending?: number;
  /** How long JetStream waits for an ack before redelivering (to this or another process). */
  ackWaitMs?: number;
  /** First redelivery delay after a handler rejects; doubles per delivery up to `maxNakDelayMs`. */
  nakDelayMs?: number;
  maxNakDelayMs?: number;
  /**
   * How long one pull request lives on the server. The server sends a heartbeat every half of it
   * while the request waits, and the client pulls again after two missed heartbeats: this bounds
   * how long a consumer stalls when its durable's leader dies (a cluster node lost) while its own
   * connection, to another node, stays up. At least 1000 (the client's floor).
   */
  pullExpiresMs?: number;
  /** Events with the same `partitionkey` are handled one at a time, in publish order. */
  ordered?: boolean;
  /** Told about messages that could not be handled (a handler rejected, a payload was bad). */
  onError?: (error: unknown) => void;
}

export interface StreamOptions {
  /** Copies of the stream kept by the cluster; 1 on a single server. */
  replicas?: number;
  /** How long `Nats-Msg-Id` deduplication remembers an id; capped by the retention. */
  duplicateWindowMs?: number;
}

export const BUS_DEFAULTS = {
  publishTimeoutMs: 5_000,
  reconnectDelayMs: 250,
  maxReconnectDelayMs: 10_000,
  connectTimeoutMs: 5_000,
} as const;

export const CONSUME_DEFAULTS = {
  maxAckPending: 256,
  ackWaitMs: 30_000,
  nakDelayMs: 1_000,
  maxNakDelayMs: 60_000,
  /**
   * The client's default is 30 s, which let a consumer stall 30 to 45 s after its leader's node was
   * killed (test/integration/nats-cluster.test.ts); 5 s costs one pull request per 5 s per idle
   * consumer and brings the stall down to about 5 s.
   */
  pullExpiresMs: 5_000,
  ordered: false,
} as const;

/**
 * Two minutes, NATS's own default: long enough to cover a client's retries after a publish
 * timeout, short enough that the server's id index stays small at high rates.
 */
export const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;

export type ParsedBusOptions = Required<Omit<BusOptions, 'servers' | 'name'>> & {
  servers: string[];
  name: string;
};

/**
 * Fills in defaults and checks names, so the bus itself never meets a missing option.
 *
 * @example parseBusOptions({ servers: 'nats://127.0.0.1:4222', prefix: 'junction' })
 * @throws InvalidBusNameError when the prefix cannot name streams.
 */
export function parseBusOptions(options: BusOptions): ParsedBusOptions {
  const servers = Array.isArray(options.servers) ? options.servers : [options.servers];
  if (servers.length === 0) throw new RangeError('servers: give at least one NATS URL');
  return {
    ...BUS_DEFAULTS,
    ...withoutUndefined(options),
    servers,
    prefix: checkPlainName(options.prefix, 'prefix'),
    name: options.name ?? `junction-${process.pid}`,
  };
}

/**
 * Fills in the defaults of `consume`.
 *
 * @example parseConsumeOptions({ maxAckPending: 1 }).ackWaitMs // 30000
 */
export function parseConsumeOptions(
  options: ConsumeOptions,
): Required<Omit<ConsumeOptions, 'onError'>> & Pick<ConsumeOptions, 'onError'> {
  const parsed = { ...CONSUME_DEFAULTS, ...withoutUndefined(options) };
  for (const key of ['maxAckPending', 'ackWaitMs', 'nakDelayMs', 'maxNakDelayMs'] as const) {
    if (!Number.isInteger(parsed[key]) || parsed[key] < 1) {
      throw new RangeError(`${key} must be a positive integer, got ${parsed[key]}`);
    }
  }
  if (!Number.isInteger(parsed.pullExpiresMs) || parsed.pullExpiresMs < 1_000) {
    throw new RangeError(`pullExpiresMs must be an integer of at least 1000, got ${parsed.pullExpiresMs}`);
  }
  return parsed;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
