/** An in-memory CliIo for driving `run(argv, io)` in tests. */
import { PassThrough } from 'node:stream'
import type { CliIo, StopSignal } from '../../cli/io.js'

export interface FakeIo extends CliIo {
  out: () => string
  err: () => string
  /** How many times the CLI read a line from stdin. */
  reads: () => number
  /** The stream behind `stdin`: write lines to it, end it for end of input. */
  input: PassThrough
  /** Delivers a stop signal to whatever command listens (start, chat). */
  signal: (signal?: StopSignal) => void
}

export function fakeIo (options: { stdin?: string[], tty?: boolean, env?: Record<string, string>, cwd?: string, platform?: NodeJS.Platform } = {}): FakeIo {
  let out = ''
  let err = ''
  let reads = 0
  const lines = [...(options.stdin ?? [])]
  const input = new PassThrough()
  const handlers = new Set<(signal: StopSignal) => void>()
  return {
    stdout: (text) => { out += text },
    stderr: (text) => { err += text },
    readLine: async () => { reads++; return lines.shift() },
    stdin: input,
    stdinIsTTY: options.tty ?? false,
    stdoutIsTTY: false,
    onStopSignal: (handler) => {
      handlers.add(handler)
      return () => { handlers.delete(handler) }
    },
    pid: 4242,
    env: options.env ?? {},
    platform: options.platform ?? 'linux',
    homedir: '/nonexistent-home',
    cwd: options.cwd ?? '/nonexistent-cwd',
    out: () => out,
    err: () => err,
    reads: () => reads,
    input,
    signal: (signal = 'SIGINT') => { for (const h of [...handlers]) h(signal) }
  }
}
