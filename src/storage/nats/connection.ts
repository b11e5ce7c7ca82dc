/**
 * The NATS connection: reconnecting forever with exponential backoff, and its state observable so
 * that readiness checks and logs can follow it.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { BusUnavailableError } from './errors.js';
import type { ParsedBusOptions } from './options.js';

/** `reconnecting`: the link is down and the client is trying again; publishes wait, then time out. */
export type BusState = 'connected' | 'reconnecting' | 'closed';

export type StatusListener = (state: BusState, detail: { server?: string; error?: unknown }) => void;

/** A connection with its state, as the bus uses it. */
export interface Link {
  nc: NatsConnection;
  state(): BusState;
  onStatus(listener: StatusListener): () => void;
}

/**
 * Opens the connection. The first connection must succeed within `connectTimeoutMs` (a hub that
 * cannot reach its bus at start-up should say so, not hang); after that the client reconnects
 * forever, waiting `reconnectDelayMs` doubled per failed attempt up to `maxReconnectDelayMs`, with
 * jitter from the client so that many hubs do not reconnect in step.
 *
 * @example const link = await openLink(parseBusOptions({ servers: 'nats://127.0.0.1:4222', prefix: 'jx' }))
 * @throws BusUnavailableError when the first connection fails.
 */
export async function openLink(options: ParsedBusOptions): Promise<Link> {
  let failedAttempts = 0;
  const reconnectDelayHandler = (): number => {
    const delay = Math.min(options.reconnectDelayMs * 2 ** failedAttempts, options.maxReconnectDelayMs);
    failedAttempts += 1;
    return delay;
  };
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.servers,
      name: options.name,
      timeout: options.connectTimeoutMs,
      maxReconnectAttempts: -1,
      reconnectDelayHandler,
      reconnectJitter: 100,
      // The client otherwise builds an Error per request (every publish) to keep the caller's
      // stack for a later timeout: 12 % of the hub's CPU at ingest. Our errors name the subject.
      noAsyncTraces: true,
    });
  } catch (cause) {
    throw new BusUnavailableError(`cannot connect to NATS at ${options.servers.join(', ')}`, { cause });
  }

  // Typed wide: it changes only inside the callbacks below, which TypeScript's narrowing ignores.
  let state = 'connected' as BusState;
  const listeners = new Set<StatusListener>();
  const emit = (next: BusState, detail: { server?: string; error?: unknown }): void => {
    state = next;
    for (const listener of listeners) listener(next, detail);
  };
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnecting') {
        if (state !== 'reconnecting') emit('reconnecting', 'server' in s ? { server: s.server } : {});
      } else if (s.type === 'reconnect') {
        failedAttempts = 0;
        emit('connected', { server: s.server });
      } else if (s.type === 'error') {
        for (const listener of listeners) listener(state, { error: s.error });
      }
    }
  })();
  void nc.closed().then((error) => emit('closed', error ? { error } : {}));

  return {
    nc,
    state: () => state,
    onStatus(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
