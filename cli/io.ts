/**
 * What the CLI needs from its process, as one object, so that `run(argv, io)` can be driven
 * in-process by tests (and by shells that embed the CLI) without spawning or touching globals.
 */
import { homedir } from 'node:os'
import { createInterface } from 'node:readline'

/** The CLI's window on the world. */
export interface CliIo {
  /** Writes to standard output (text is written as given; callers add newlines). */
  stdout: (text: string) => void
  /** Writes to standard error. */
  stderr: (text: string) => void
  /** Reads one line from standard input (without its line break); `undefined` at end of input. */
  readLine: () => Promise<string | undefined>
  /** Whether standard input is a terminal: only then may the CLI prompt. */
  stdinIsTTY: boolean
  env: Readonly<Record<string, string | undefined>>
  platform: NodeJS.Platform
  homedir: string
  cwd: string
}

/** The real process: stdout/stderr/stdin, environment, platform, home and working directory. */
export function processIo (): CliIo {
  return {
    stdout: (text) => { process.stdout.write(text) },
    stderr: (text) => { process.stderr.write(text) },
    readLine: readStdinLine,
    stdinIsTTY: process.stdin.isTTY === true,
    env: process.env,
    platform: process.platform,
    homedir: homedir(),
    cwd: process.cwd()
  }
}

async function readStdinLine (): Promise<string | undefined> {
  const lines = createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity })
  try {
    for await (const line of lines) return line
    return undefined
  } finally {
    lines.close()
    // Let the process exit even if more input is pending on a pipe.
    process.stdin.pause()
  }
}
