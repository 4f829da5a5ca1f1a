#!/usr/bin/env node
/**
 * The `keyroom` executable (built to dist/cli/main.js, the package's `bin`). Everything happens in
 * run.ts; this file only connects it to the real process and sets the exit code (rather than
 * calling process.exit, so pending output is flushed first).
 */
import { processIo } from './io.js'
import { run } from './run.js'

process.exitCode = await run(process.argv.slice(2), processIo())
