/**
 * How the CLI reports failure: one line `keyroom: <message>`, a `hint:` line, an exit code (see
 * {@link EXIT_CODES_BY_ERROR} and docs/cli.md) and a stack trace only with `--debug`.
 */
import { ErrorCode, KeyroomError } from '../protocols/core/index.js'
import type { CliIo } from './io.js'

/** Exit code for any failure without a code of its own. */
export const EXIT_FAILURE = 1
/** Exit code for a usage error: the shell and GNU convention (bash builtins, getopt-style tools). */
export const EXIT_USAGE = 2
/** Exit code when no node runs for the data directory, so scripts can start one and retry. */
export const EXIT_NO_NODE = 3
/** Exit code for a feature the node does not support (`ERR_NOT_SUPPORTED`; reserved: no command ends with it today). */
export const EXIT_NOT_SUPPORTED = 4

/** Exit codes of errors that have one of their own; every other error exits {@link EXIT_FAILURE}. */
export const EXIT_CODES_BY_ERROR: Readonly<Partial<Record<string, number>>> = Object.freeze({
  [ErrorCode.NoRunningNode]: EXIT_NO_NODE,
  [ErrorCode.NotSupported]: EXIT_NOT_SUPPORTED
})

/** A failure the CLI itself detects, with the exit code it should end with. */
export class CliError extends Error {
  constructor (message: string, readonly hint: string | undefined, readonly exitCode: number = EXIT_FAILURE) {
    super(message)
    this.name = 'CliError'
  }
}

/** A usage error: exit code 2. */
export function usageError (message: string, hint?: string): CliError {
  return new CliError(message, hint ?? "run 'keyroom --help' for usage", EXIT_USAGE)
}

/** Default hints for error codes whose thrower gave none. */
const HINTS: Partial<Record<string, string>> = {
  [ErrorCode.InvalidRecoveryPhrase]: 'check the 24 words against what you wrote down; their order matters',
  [ErrorCode.WrongPassphrase]: 'check the passphrase (--passphrase-file or KEYROOM_PASSPHRASE); it is case-sensitive',
  [ErrorCode.PassphraseRequired]: 'pass --passphrase-file FILE or set KEYROOM_PASSPHRASE',
  [ErrorCode.NoIdentity]: "create one with 'keyroom init'",
  [ErrorCode.IdentityExists]: 'use another --data-dir, or keep using this identity',
  [ErrorCode.StoreLocked]: "another keyroom process uses this data directory; stop it, or use another --data-dir",
  [ErrorCode.Forbidden]: "check the room's members and your power level with 'keyroom room members ROOM'"
}

/** Prints an error as `keyroom: …` and `hint: …`; returns the exit code. */
export function reportError (err: unknown, io: CliIo, debug: boolean): number {
  let message: string
  let hint: string | undefined
  let exitCode = EXIT_FAILURE
  if (err instanceof CliError) {
    message = err.message
    hint = err.hint
    exitCode = err.exitCode
  } else if (err instanceof KeyroomError) {
    message = err.message
    hint = err.hint ?? HINTS[err.code]
    exitCode = EXIT_CODES_BY_ERROR[err.code] ?? EXIT_FAILURE
  } else {
    message = `unexpected error: ${err instanceof Error ? err.message : String(err)}`
    hint = debug ? undefined : 'run again with --debug for details'
  }
  io.stderr(`keyroom: ${oneLine(message)}\n`)
  if (hint !== undefined) io.stderr(`hint: ${oneLine(hint)}\n`)
  if (debug && err instanceof Error && err.stack !== undefined) io.stderr(`${err.stack}\n`)
  return exitCode
}

function oneLine (text: string): string {
  return text.replace(/\s*\n\s*/gu, ' ').trim()
}
