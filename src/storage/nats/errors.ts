/**
 * Typed errors of the JetStream bus. Each failure has its own class with a stable `code`, a `name`
 * and the client's error as `cause`, so the hub can tell "retry later" (503) from "fix the input"
 * (400) without reading messages, and an operator sees what NATS itself said.
 */
import { JunctionError, UnavailableError } from '../../core/errors.js';

/**
 * NATS cannot be reached, or JetStream did not answer (no stream listens on the subject, the
 * server is restarting, a stream leader is being elected). Retrying later is the remedy.
 */
export class BusUnavailableError extends UnavailableError {
  override readonly code: string = 'bus-unavailable';
}

/**
 * A publish got no acknowledgement in time. The event may or may not be stored: publishing it
 * again with the same message id within the stream's duplicate window is safe, since JetStream
 * then reports it as a duplicate instead of storing it twice.
 */
export class PublishTimeoutError extends BusUnavailableError {
  override readonly code = 'bus-publish-timeout';
}

/** The bus was closed (or is draining) and takes no more work. */
export class BusClosedError extends BusUnavailableError {
  override readonly code = 'bus-closed';
}

/** A prefix, channel or durable name that cannot be used in a stream, consumer or subject name. */
export class InvalidBusNameError extends JunctionError {
  override readonly code = 'invalid-bus-name';
  override readonly status = 400;
  override readonly title = 'Invalid bus name';
}

/**
 * JetStream refused a request for a reason other than availability: a stream whose subjects
 * overlap another's, replicas the cluster cannot place, a message over the size limit. Retrying
 * as it is will fail again; the message says what JetStream objected to.
 */
export class BusRequestError extends JunctionError {
  override readonly code = 'bus-request-refused';
  override readonly status = 500;
  override readonly title = 'Event bus refused the request';
}

/** A message on the bus whose payload is not a CloudEvent in JSON: it is terminated, not retried. */
export class BusDecodeError extends JunctionError {
  override readonly code = 'bus-decode';
  override readonly title = 'Undecodable bus message';
}
