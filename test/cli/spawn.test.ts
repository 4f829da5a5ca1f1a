/**
 * The real entry point, spawned: proves cli/main.ts runs as a program (shebang, top-level await,
 * exit code, stdout/stderr wiring, stdin that is not a terminal).
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

interface Result { code: number, stdout: string, stderr: string }

/** Runs `npx tsx cli/main.ts …` in the repo, with `input` on stdin (a pipe, not a terminal). */
async function keyroom (args: string[], input = ''): Promise<Result> {
  return await new Promise((done) => {
    const child = execFile('npx', ['tsx', 'cli/main.ts', ...args], { cwd: repo, timeout: 60_000, env: { ...process.env, KEYROOM_HOME: '' } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
        // npm may print its own configuration warnings; they are not keyroom's output.
        done({ code, stdout, stderr: stderr.split('\n').filter((l) => !l.startsWith('npm warn')).join('\n') })
      })
    child.stdin?.end(input)
  })
}

let root: string
beforeEach(async () => { root = await mkdtemp(join(tmpdir(), 'keyroom-spawn-')) })
afterEach(async () => { await rm(root, { recursive: true, force: true }) })

describe('the keyroom executable', () => {
  it('starts with a node shebang', async () => {
    expect((await readFile(join(repo, 'cli', 'main.ts'), 'utf8')).split('\n')[0]).toBe('#!/usr/bin/env node')
  })

  it('runs init --json, then init --recover from piped stdin, then refuses an existing identity', async () => {
    const dir = join(root, 'a')
    const first = await keyroom(['--data-dir', dir, '--json', 'init'])
    expect(first.code, first.stderr).toBe(0)
    const created = JSON.parse(first.stdout) as { userId: string, deviceId: string, recoveryPhrase: string }
    expect(created.userId).toMatch(/^~/)

    const recovered = await keyroom(['--data-dir', join(root, 'b'), '--json', 'init', '--recover'], `${created.recoveryPhrase}\n`)
    expect(recovered.code, recovered.stderr).toBe(0)
    expect((JSON.parse(recovered.stdout) as { userId: string }).userId).toBe(created.userId)

    const again = await keyroom(['--data-dir', dir, 'init'])
    expect(again.code).toBe(1)
    expect(again.stdout).toBe('')
    expect(again.stderr.trim().split('\n')).toEqual([`keyroom: an identity already exists in ${dir}`, expect.stringMatching(/^hint: /)])
  }, 60_000)

  it('exits 2 on a usage error', async () => {
    const result = await keyroom(['init', '--nope'])
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split('\n')[0]).toBe("keyroom: unknown option '--nope'")
  }, 60_000)
})
