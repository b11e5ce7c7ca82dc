/**
 * Errors the CLI reports to the user. Each carries the exit code the process ends with, so the
 * entry point can print one line per failure instead of a stack trace.
 */

/** A failure the CLI reports as a message, ending the process with `exitCode`. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The arguments are wrong: the command was never sent (exit code 2). */
export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 2, options);
  }
}

/** The server answered with a non-2xx status (exit code 1). `message` is the formatted problem. */
export class ApiError extends CliError {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message, 1);
  }
}

/** The server could not be reached at all (exit code 1). */
export class ConnectionError extends CliError {
  override name = 'ConnectionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 1, options);
  }
}

/**
 * The user pressed Ctrl-C while the CLI was only waiting: nothing failed, and the work goes on in the
 * hub. It ends the process with 130, the shell's code for an interrupt, so scripts can tell it apart.
 */
export class InterruptedError extends CliError {
  override name = 'InterruptedError';
  constructor(message: string) {
    super(message, 130);
  }
}
