/** An in-memory CliIo for driving `run(argv, io)` in tests. */
import type { CliIo } from '../../cli/io.js'

export interface FakeIo extends CliIo {
  out: () => string
  err: () => string
  /** How many times the CLI read a line from stdin. */
  reads: () => number
}

export function fakeIo (options: { stdin?: string[], tty?: boolean, env?: Record<string, string>, cwd?: string, platform?: NodeJS.Platform } = {}): FakeIo {
  let out = ''
  let err = ''
  let reads = 0
  const lines = [...(options.stdin ?? [])]
  return {
    stdout: (text) => { out += text },
    stderr: (text) => { err += text },
    readLine: async () => { reads++; return lines.shift() },
    stdinIsTTY: options.tty ?? false,
    env: options.env ?? {},
    platform: options.platform ?? 'linux',
    homedir: '/nonexistent-home',
    cwd: options.cwd ?? '/nonexistent-cwd',
    out: () => out,
    err: () => err,
    reads: () => reads
  }
}
