#!/usr/bin/env node
/** Entry point of the `junction` command (package.json `bin`). */
import { run } from './program.js';

// A reader that stops early (`junction sub list | head`) closes the pipe: that ends the output, it
// is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

// exitCode rather than process.exit(): output piped to another program must be flushed first, and
// `junction serve` keeps running on its open server after the command returns.
process.exitCode = await run(process.argv);
