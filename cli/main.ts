#!/usr/bin/env node
/**
 * The `keyroom` executable (built to dist/cli/main.js, the package's `bin`). Everything happens in
 * run.ts; this file only connects it to the real process and sets the exit code (rather than
 * calling process.exit at once, so pending output is flushed first).
 *
 * The daemon's V8 heap setting (cli/v8-flags.ts) comes first — `keyroom start` re-executes itself
 * with a young-generation limit before anything else loads — and the rest of the CLI is imported
 * only after it.
 */
import { applyCliV8Flags } from './v8-flags.js'

applyCliV8Flags()
const [{ processIo }, { run }] = await Promise.all([import('./io.js'), import('./run.js')])

process.exitCode = await run(process.argv.slice(2), processIo())

// The command is done. If a library left a handle open (a timer, a socket of a stopped node), do
// not hang: exit once the output had a moment to drain. An unref'd timer never keeps the process up.
setTimeout(() => { process.exit() }, 2_000).unref()
