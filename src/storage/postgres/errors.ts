/**
 * Typed errors of the PostgreSQL store's set-up. Each has a stable `code`, a `name`, and the
 * driver's error as `cause`, so a caller can tell "fix the address" from "run the migrations"
 * without reading messages.
 */
import { JunctionError, UnavailableError } from '../../core/errors.js';

/** PostgreSQL cannot be reached or refused the connection; the message says what to check. */
export class StoreUnavailableError extends UnavailableError {
  override readonly code: string = 'store-unavailable';
}

/** The schema lacks migrations this version of Junction needs. */
export class MigrationsPendingError extends JunctionError {
  override readonly code = 'migrations-pending';
  override readonly status = 503;
  override readonly title = 'Database migrations pending';

  constructor(
    readonly schema: string,
    readonly pending: readonly string[],
  ) {
    super(
      `Schema "${schema}" has ${pending.length} pending migration(s) (${pending.join(', ')}): ` +
        'run `junction migrate --store <url>` before starting the hub.',
    );
  }
}

/** A migration's SQL failed; its transaction was rolled back and earlier migrations stay applied. */
export class MigrationFailedError extends JunctionError {
  override readonly code = 'migration-failed';

  constructor(
    readonly migration: string,
    options: { cause: unknown },
  ) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`Migration ${migration} failed and was rolled back: ${reason}`, options);
  }
}

/**
 * The migration set itself is wrong: a schema name PostgreSQL would need quoted, files numbered
 * with a gap, or a database migrated by a newer Junction than this one.
 */
export class MigrationSetupError extends JunctionError {
  override readonly code = 'migration-setup';
  override readonly status = 400;
  override readonly title = 'Invalid migration set-up';
}
