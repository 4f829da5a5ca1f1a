/**
 * Real `keyroom` processes for the CLI's end-to-end tests: one-shot commands and daemons, run as
 * `node --import tsx cli/main.ts …` from the sources (a fresh clone's `npm test` may run before any
 * build). The Node binary is the one running the tests (the project's Node 24), and tsx is loaded
 * in-process (not through the tsx CLI, which would put a second process between the test and the
 * node, so that a `kill -9` would hit the wrong one). Every wait is bounded; every daemon is killed
 * in teardown.
 */
import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (where `--import tsx` resolves tsx). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The command line of `keyroom`, without its arguments. */
export const KEYROOM = [process.execPath, '--import', 'tsx', 'cli/main.ts'] as const

/** The environment of every child: none of the tester's keyroom settings leak in. */
export function childEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  for (const name of ['KEYROOM_HOME', 'KEYROOM_PASSPHRASE', 'KEYROOM_RECOVERY_PHRASE']) if (!(name in extra)) delete env[name]
  return env
}

/** What a one-shot command did. */
export interface Result {
  code: number
  stdout: string
  stderr: string
}

/** Runs `keyroom --data-dir DIR ARGS…` to completion (bounded by `timeout`). */
export async function keyroom (dataDir: string, args: string[], options: { input?: string, env?: Record<string, string>, timeout?: number } = {}): Promise<Result> {
  return await new Promise((done) => {
    const [bin, ...pre] = KEYROOM
    const child = execFile(bin, [...pre, '--data-dir', dataDir, ...args], { cwd: REPO, timeout: options.timeout ?? 30_000, env: childEnv(options.env), killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
        done({ code, stdout, stderr })
      })
    child.stdin?.end(options.input ?? '')
  })
}

/** Parses a command's stdout as one JSON document, or fails with everything it printed. */
export function json<T> (result: Result): T {
  if (result.code !== 0) throw new Error(`keyroom exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`)
  return JSON.parse(result.stdout) as T
}

/** The `--json` ready line of `keyroom start`. */
export interface Ready {
  event: 'ready'
  userId: string
  deviceId: string
  peerId: string
  multiaddrs: string[]
  socket: string
  pid: number
}

/** A running `keyroom --json start`. */
export class Daemon {
  readonly child: ChildProcess
  readonly lines: string[] = []
  stderr = ''
  readonly exited: Promise<number | null>
  #partial = ''

  constructor (readonly dataDir: string, args: string[], env?: Record<string, string>) {
    const [bin, ...pre] = KEYROOM
    this.child = spawn(bin, [...pre, '--data-dir', dataDir, '--json', 'start', ...args], { cwd: REPO, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (this.#partial + chunk).split('\n')
      this.#partial = parts.pop() ?? ''
      this.lines.push(...parts.filter((l) => l !== ''))
    })
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { this.stderr += chunk })
    this.exited = new Promise((resolve) => { this.child.once('exit', (code) => { resolve(code) }) })
  }

  /** The JSON objects printed so far. */
  events (): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  }

  /** Waits for the ready line (or fails with the daemon's output if it exits or takes too long). */
  async ready (timeout = 20_000): Promise<Ready> {
    return await this.event<Ready>('ready', timeout)
  }

  /** Waits for the first line `{"event": name, …}` (or fails with the daemon's output). */
  async event<T> (name: string, timeout = 20_000): Promise<T> {
    const deadline = Date.now() + timeout
    let exitCode: number | null | undefined
    void this.exited.then((code) => { exitCode = code })
    while (Date.now() < deadline) {
      const found = this.events().find((e) => e.event === name)
      if (found !== undefined) return found as T
      if (exitCode !== undefined) break
      await new Promise((r) => setTimeout(r, 25))
    }
    throw new Error(`keyroom start ${exitCode === undefined ? `printed no ${name} line in time` : `exited ${exitCode}`}\nstdout: ${this.lines.join('\n')}\nstderr: ${this.stderr}`)
  }

  /** Sends a signal and waits for the exit code (SIGKILL after `timeout`). */
  async stop (signal: NodeJS.Signals = 'SIGTERM', timeout = 15_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode
    this.child.kill(signal)
    const timer = setTimeout(() => { this.child.kill('SIGKILL') }, timeout)
    try {
      return await this.exited
    } finally {
      clearTimeout(timer)
    }
  }
}
