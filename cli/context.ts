/**
 * What every command gets: the process window (`io`) and the global options, which sit before
 * the subcommand (`keyroom [--data-dir DIR] [--json] [--debug] <command> …`).
 */
import type { Command } from 'commander'
import { resolveDataDir } from './data-dir.js'
import { usageError } from './errors.js'
import type { CliIo } from './io.js'

/** Options accepted before any subcommand. */
export interface GlobalOptions {
  dataDir?: string
  json?: boolean
  debug?: boolean
}

/** Shared state of one CLI run. */
export interface CliContext {
  io: CliIo
  /** The program's global options (parsed before any subcommand runs). */
  globals: () => GlobalOptions
}

/** The data directory for this run (see data-dir.ts). */
export function dataDirOf (ctx: CliContext): string {
  const flag = ctx.globals().dataDir
  if (flag !== undefined && flag.trim() === '') throw usageError('--data-dir is empty')
  return resolveDataDir({ flag, env: ctx.io.env, platform: ctx.io.platform, homedir: ctx.io.homedir, cwd: ctx.io.cwd })
}

/** A command group registers its subcommands on the program. */
export type RegisterCommands = (program: Command, ctx: CliContext) => void
