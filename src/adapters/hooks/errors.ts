/**
 * The ways a request to an inbound hook can fail that `core/errors.ts` has no class for. Each
 * carries a stable `code`, which is also the `reason` label of the hook metrics.
 */
import { type FieldError, JunctionError } from '../../core/errors.js';

/** The body parsed, but the hook's mapping cannot make an event of it: a field missing or mistyped. */
export class UnmappableBodyError extends JunctionError {
  override readonly code = 'unmappable-body';
  override readonly status = 422;
  override readonly title = 'Unprocessable content';

  /** One field, one message: the common case. */
  static field(pointer: string, message: string): UnmappableBodyError {
    return new UnmappableBodyError(message, { errors: [{ pointer, message }] });
  }
}

/** Why a signature was refused; each is a value of the metrics' `reason` label. */
export type SignatureFailure =
  | 'missing-signature'
  | 'bad-signature'
  | 'stale-timestamp'
  | 'missing-timestamp';

/** A signed hook's request whose signature is missing or wrong, or whose timestamp is too old. */
export class SignatureError extends JunctionError {
  override readonly code = 'invalid-signature';
  override readonly status = 401;
  override readonly title = 'Unauthorized';

  constructor(
    readonly reason: SignatureFailure,
    message: string,
    options: { errors?: FieldError[] } = {},
  ) {
    super(message, options);
  }
}

/** A hook switched off by its owner: the sender should stop, so it is told the hook is gone. */
export class HookDisabledError extends JunctionError {
  override readonly code = 'hook-disabled';
  override readonly status = 410;
  override readonly title = 'Gone';
}
