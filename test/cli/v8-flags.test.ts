import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  DAEMON_V8_FLAGS, RUNTIME_FALLBACK_V8_FLAGS, planCliV8Flags, subcommandOf, userSetYoungGeneration
} from '../../cli/v8-flags.js'
import type { CliProcess } from '../../cli/v8-flags.js'

const REPO = resolve(import.meta.dirname, '..', '..')

const proc = (argv: string[], extra: Partial<CliProcess> = {}): CliProcess =>
  ({ argv, execArgv: ['--import', 'tsx'], script: '/x/cli/main.js', nodeOptions: undefined, canExecve: true, ...extra })

describe('cli/v8-flags', () => {
  it('finds the subcommand after the global options', () => {
    expect(subcommandOf(['start'])).toBe('start')
    expect(subcommandOf(['--data-dir', 'start', '--json', 'status'])).toBe('status')
    expect(subcommandOf(['--data-dir=/d', '--json', 'start', '--no-mdns'])).toBe('start')
    expect(subcommandOf(['--json'])).toBeUndefined()
  })

  it('re-executes `start` with the daemon limit on the command line, keeping Node flags, script and arguments', () => {
    const plan = planCliV8Flags(proc(['--data-dir', '/d', 'start', '--no-mdns']))
    expect(plan).toEqual({ action: 'execve', args: [...DAEMON_V8_FLAGS, '--import', 'tsx', '/x/cli/main.js', '--data-dir', '/d', 'start', '--no-mdns'] })
  })

  it('falls back to the run-time limit without process.execve, and leaves other commands alone', () => {
    expect(planCliV8Flags(proc(['start'], { canExecve: false }))).toEqual({ action: 'runtime', flags: RUNTIME_FALLBACK_V8_FLAGS })
    expect(planCliV8Flags(proc(['start'], { script: undefined }))).toEqual({ action: 'runtime', flags: RUNTIME_FALLBACK_V8_FLAGS })
    for (const argv of [['status'], ['--data-dir', 'start', 'send', 'x'], []]) expect(planCliV8Flags(proc(argv))).toEqual({ action: 'none' })
  })

  it('leaves V8 alone when the user (or a previous re-execution) set a semi-space flag', () => {
    expect(planCliV8Flags(proc(['start'], { execArgv: [...DAEMON_V8_FLAGS] }))).toEqual({ action: 'none' })
    expect(planCliV8Flags(proc(['start'], { nodeOptions: '--max-old-space-size=512 --max_semi_space_size=8' }))).toEqual({ action: 'none' })
    expect(userSetYoungGeneration(['--semi-space-growth-factor=2'], undefined)).toBe(true)
    expect(userSetYoungGeneration([], '--min-semi-space-size=2')).toBe(true)
    expect(userSetYoungGeneration(['--max-old-space-size=512', '--expose-gc'], '--enable-source-maps')).toBe(false)
  })

  it('re-executes a real `start` in the same process with a small new space', async () => {
    // A stand-in for cli/main.ts: applies the plan, then reports what the process runs with.
    const dir = await mkdtemp(join(tmpdir(), 'keyroom-v8-flags-'))
    try {
      const script = join(dir, 'main.ts')
      await writeFile(script, [
        `import { applyCliV8Flags } from ${JSON.stringify(join(REPO, 'cli', 'v8-flags.ts'))}`,
        "import { getHeapSpaceStatistics } from 'node:v8'",
        'console.log(JSON.stringify({ pid: process.pid, before: true }))',
        'applyCliV8Flags()',
        "let keep: object[] = []; for (let i = 0; i < 2e6; i++) { keep.push({ i }); if (keep.length > 2e5) keep = [] }",
        "const newSpace = getHeapSpaceStatistics().find(s => s.space_name === 'new_space')?.space_size",
        'console.log(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, argv: process.argv.slice(2), newSpace }))'
      ].join('\n'))
      const run = (args: string[]): Array<Record<string, unknown>> => {
        const out = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })
        expect(out.status, out.stderr).toBe(0)
        return out.stdout.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
      }
      const [first, second, third] = run(['--json', 'start', '--no-mdns'])
      expect(first).toMatchObject({ before: true })
      expect(second).toMatchObject({ before: true, pid: first!.pid })
      expect(third).toMatchObject({ pid: first!.pid, execArgv: [...DAEMON_V8_FLAGS, '--import', 'tsx'], argv: ['--json', 'start', '--no-mdns'] })
      expect(third!.newSpace).toBeLessThanOrEqual(8 * 1024 * 1024)
      // Another command runs as started: no re-execution, the default young generation.
      const [, other] = run(['status'])
      expect(other).toMatchObject({ execArgv: ['--import', 'tsx'] })
      expect(other!.newSpace).toBeGreaterThan(third!.newSpace as number)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
