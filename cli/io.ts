/**
 * What the CLI needs from its process, as one object, so that `run(argv, io)` can be driven
 * in-process by tests (and by shells that embed the CLI) without spawning or touching globals.
 */
import { homedir } from 'node:os'
import { createInterface } from 'node:readline'

/** A signal that asks a long-running command (`start`, `chat`) to stop. */
export type StopSignal = 'SIGINT' | 'SIGTERM'

/** The CLI's window on the world. */
export interface CliIo {
  /** Writes to standard output (text is written as given; callers add newlines). */
  stdout: (text: string) => void
  /** Writes to standard error. */
  stderr: (text: string) => void
  /** Reads one line from standard input (without its line break); `undefined` at end of input. */
  readLine: () => Promise<string | undefined>
  /** Standard input as a stream, for commands that read line after line (`chat`). */
  stdin: NodeJS.ReadableStream
  /** Standard output as a stream when it is a terminal (readline draws its prompt on it). */
  ttyOut?: NodeJS.WritableStream
  /** Whether standard input is a terminal: only then may the CLI prompt. */
  stdinIsTTY: boolean
  /** Whether standard output is a terminal (progress lines are redrawn in place only then). */
  stdoutIsTTY: boolean
  /**
   * Calls `handler` on SIGINT and SIGTERM until the returned function is called. Long-running
   * commands use it to stop cleanly.
   */
  onStopSignal: (handler: (signal: StopSignal) => void) => () => void
  /** This process's ID (reported by `status`). */
  pid: number
  /**
   * The command line that runs this CLI again (Node, its flags, the script), for `start --detach`;
   * absent when the CLI runs inside another program.
   */
  selfCommand?: string[]
  env: Readonly<Record<string, string | undefined>>
  platform: NodeJS.Platform
  homedir: string
  cwd: string
}

/** The real process: stdout/stderr/stdin, signals, environment, platform, home and working directory. */
export function processIo (): CliIo {
  // A reader that goes away (`keyroom --json start | head -1`) must not crash a running node on its
  // next line of output: writes to a closed pipe are dropped instead.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'EPIPE') throw err })
  }
  return {
    stdout: (text) => { process.stdout.write(text) },
    stderr: (text) => { process.stderr.write(text) },
    readLine: readStdinLine,
    stdin: process.stdin,
    ...(process.stdout.isTTY === true ? { ttyOut: process.stdout } : {}),
    stdinIsTTY: process.stdin.isTTY === true,
    stdoutIsTTY: process.stdout.isTTY === true,
    onStopSignal,
    pid: process.pid,
    ...(process.argv[1] === undefined ? {} : { selfCommand: [process.execPath, ...process.execArgv, process.argv[1]] }),
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

/**
 * SIGINT/SIGTERM go to `handler` once; a second signal while the command is still stopping ends
 * the process at once (exit 130 or 143, the shell's 128 + signal number), so a stuck shutdown can
 * always be interrupted.
 */
function onStopSignal (handler: (signal: StopSignal) => void): () => void {
  let received = false
  const listener = (signal: StopSignal): void => {
    if (received) {
      process.stderr.write(`keyroom: ${signal} again, exiting without a clean stop\n`)
      process.exit(signal === 'SIGINT' ? 130 : 143)
    }
    received = true
    handler(signal)
  }
  process.on('SIGINT', listener)
  process.on('SIGTERM', listener)
  return () => {
    process.off('SIGINT', listener)
    process.off('SIGTERM', listener)
  }
}
