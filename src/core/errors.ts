/**
 * Typed errors. Every failure a user can cause has its own class with a stable `code` and an HTTP
 * status; the server's error handler turns any of them into RFC 9457 problem+json.
 */

/** One problem with one part of the input, located by a JSON pointer (RFC 6901). */
export interface FieldError {
  pointer: string;
  message: string;
}

/** One reference token of a JSON pointer, escaped as RFC 6901 requires. */
export function pointerToken(name: string | number): string {
  return String(name).replaceAll('~', '~0').replaceAll('/', '~1');
}

export class JunctionError extends Error {
  readonly code: string = 'internal';
  readonly status: number = 500;
  readonly title: string = 'Internal error';
  readonly errors: FieldError[] | undefined;

  constructor(message: string, options: { cause?: unknown; errors?: FieldError[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.errors = options.errors;
  }
}

/** The input is well-formed but breaks a rule; `errors` names each field and what to change. */
export class ValidationError extends JunctionError {
  override readonly code = 'invalid-input';
  override readonly status = 400;
  override readonly title = 'Invalid input';

  /** One field, one message: the common case. */
  static field(pointer: string, message: string): ValidationError {
    return new ValidationError(message, { errors: [{ pointer, message }] });
  }
}

/** The body cannot be parsed at all (bad JSON, bad UTF-8, bad header encoding). */
export class MalformedRequestError extends JunctionError {
  override readonly code = 'malformed-request';
  override readonly status = 400;
  override readonly title = 'Malformed request';
}

export class UnsupportedMediaTypeError extends JunctionError {
  override readonly code = 'unsupported-media-type';
  override readonly status = 415;
  override readonly title = 'Unsupported media type';
}

export class PayloadTooLargeError extends JunctionError {
  override readonly code = 'payload-too-large';
  override readonly status = 413;
  override readonly title = 'Payload too large';
}

export class UnauthorizedError extends JunctionError {
  override readonly code = 'unauthorized';
  override readonly status = 401;
  override readonly title = 'Unauthorized';
}

export class NotFoundError extends JunctionError {
  override readonly code = 'not-found';
  override readonly status = 404;
  override readonly title = 'Not found';
}

export class ConflictError extends JunctionError {
  override readonly code = 'conflict';
  override readonly status = 409;
  override readonly title = 'Conflict';
}

/** One change between schema versions that would break a consumer, located by a JSON pointer. */
export interface SchemaChange {
  pointer: string;
  kind: string;
  message: string;
}

/** A schema that would break consumers of earlier versions under the type's compatibility mode. */
export class IncompatibleSchemaError extends JunctionError {
  override readonly code = 'incompatible-schema';
  override readonly status = 409;
  override readonly title = 'Incompatible schema';

  constructor(
    message: string,
    readonly changes: SchemaChange[],
  ) {
    super(message);
  }
}

/** Storage is unreachable or the hub is shutting down; the client should retry later. */
export class UnavailableError extends JunctionError {
  override readonly code: string = 'unavailable';
  override readonly status = 503;
  override readonly title = 'Service unavailable';
  /** Seconds the client should wait before retrying: sent as `Retry-After`. */
  readonly retryAfterSeconds: number = 1;
}

/** The store cannot keep up with ingest: the client should slow down and retry after a moment. */
export class OverloadedError extends UnavailableError {
  override readonly code = 'overloaded';
}
