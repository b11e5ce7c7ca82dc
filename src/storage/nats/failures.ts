/**
 * Turns the NATS client's errors into the bus's typed errors. The client wraps its errors (a
 * timeout inside a RequestError, a no-responders inside JetStreamNotEnabled), so the whole cause
 * chain is read, by `name`: several of the client's classes are not exported by its entry points.
 */
import { JunctionError } from '../../core/errors.js';
import { BusClosedError, BusRequestError, BusUnavailableError } from './errors.js';

/** Names of client errors that mean "the server or stream is not there right now". */
const UNAVAILABLE = new Set(['NoResponders', 'NoRespondersError', 'JetStreamNotEnabled', 'ConnectionError']);
const CLOSED = new Set(['ClosedConnectionError', 'DrainingConnectionError']);

/**
 * The typed error for a client error, with `context` (what the bus was doing) as the message and
 * the client's error as `cause`. A bus error passes through unchanged. A timeout becomes
 * `onTimeout`: a publish's timeout has its own class, since the caller's remedy differs.
 *
 * @example throw translate(error, `publish to ${subject} failed`, PublishTimeoutError)
 */
export function translate(
  error: unknown,
  context: string,
  onTimeout: typeof BusUnavailableError = BusUnavailableError,
): JunctionError {
  if (error instanceof JunctionError) return error;
  const names = causeNames(error);
  const detail = error instanceof Error ? `: ${error.message}` : '';
  if (names.some((n) => CLOSED.has(n)))
    return new BusClosedError(`${context}: the bus is closed`, { cause: error });
  if (names.includes('TimeoutError')) {
    return new onTimeout(`${context}: no answer from JetStream in time`, { cause: error });
  }
  if (names.some((n) => UNAVAILABLE.has(n))) {
    return new BusUnavailableError(`${context}: no JetStream stream answered${detail}`, { cause: error });
  }
  return new BusRequestError(`${context}${detail}`, { cause: error });
}

function causeNames(error: unknown): string[] {
  const names: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 8; depth++) {
    names.push(current.name);
    current = current.cause;
  }
  return names;
}
