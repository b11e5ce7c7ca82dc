#!/usr/bin/env node
/** Entry point of the `junction` command (package.json `bin`). */
import { run } from './program.js';

// exitCode rather than process.exit(): output piped to another program must be flushed first, and
// `junction serve` keeps running on its open server after the command returns.
process.exitCode = await run(process.argv);
