import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { run } from '../../cli/run.js'
import { parseDeviceId, parseUserId } from '../../protocols/core/identity/index.js'
import { hasIdentity, loadIdentity } from '../../store/keystore.js'
import { fakeIo } from './fake-io.js'

let root: string
beforeEach(async () => { root = await mkdtemp(join(tmpdir(), 'keyroom-cli-')) })
afterEach(async () => { await rm(root, { recursive: true, force: true }) })

const USER_ID = /~[A-Za-z0-9_-]{44}/
const DEVICE_ID = /\^[A-Za-z0-9_-]{44}/

/** Runs `keyroom --data-dir <root>/<name> --json init …` and returns the parsed output. */
async function initJson (name: string, extra: string[] = [], io = fakeIo()): Promise<{ userId: string, deviceId: string, recoveryPhrase: string }> {
  const code = await run(['--data-dir', join(root, name), '--json', 'init', ...extra], io)
  expect(code, io.err()).toBe(0)
  return JSON.parse(io.out()) as { userId: string, deviceId: string, recoveryPhrase: string }
}

/** The stderr of a failed run, checked to be exactly `keyroom: …` and `hint: …`. */
function errorLines (err: string): [string, string] {
  const lines = err.trimEnd().split('\n')
  expect(lines, err).toHaveLength(2)
  expect(lines[0]).toMatch(/^keyroom: /)
  expect(lines[1]).toMatch(/^hint: /)
  return [lines[0]!, lines[1]!]
}

describe('keyroom init', () => {
  it('creates an identity and prints the user ID, device ID and recovery phrase', async () => {
    const io = fakeIo()
    const dir = join(root, 'human')
    expect(await run(['--data-dir', dir, 'init'], io)).toBe(0)
    const out = io.out()
    expect(out).toContain(`Created a new identity in ${dir}`)
    const userId = USER_ID.exec(out)?.[0]
    const deviceId = DEVICE_ID.exec(out)?.[0]
    expect(userId).toBeDefined()
    expect(deviceId).toBeDefined()
    const phrase = out.split('\n').map((l) => l.trim()).find((l) => l.split(' ').length === 24)
    expect(phrase).toBeDefined()
    const loaded = await loadIdentity(dir)
    expect(loaded).toMatchObject({ userId, deviceId, encrypted: false })
    expect(io.err()).toMatch(/^note: the keys are stored unencrypted/)
    expect(io.reads()).toBe(0)
  })

  it('with --json prints exactly one JSON document {userId, deviceId, recoveryPhrase} and nothing on stderr', async () => {
    const io = fakeIo()
    const result = await initJson('json', [], io)
    expect(Object.keys(result).sort()).toEqual(['deviceId', 'recoveryPhrase', 'userId'])
    expect(io.out().trim().split('\n')).toHaveLength(1)
    expect(parseUserId(result.userId)).toHaveLength(32)
    expect(parseDeviceId(result.deviceId)).toHaveLength(32)
    expect(result.recoveryPhrase.split(' ')).toHaveLength(24)
    expect(io.err()).toBe('')
    expect((await loadIdentity(join(root, 'json'))).userId).toBe(result.userId)
  })

  it('--recover reads the phrase from one line of stdin, without prompting when stdin is not a terminal', async () => {
    const first = await initJson('first')
    const io = fakeIo({ stdin: [`  ${first.recoveryPhrase}  `, 'ignored second line'] })
    const restored = await initJson('second', ['--recover'], io)
    expect(restored.userId).toBe(first.userId)
    expect(restored.deviceId).not.toBe(first.deviceId)
    expect(restored.recoveryPhrase).toBe(first.recoveryPhrase)
    expect(io.reads()).toBe(1)
    expect(io.err()).toBe('')
  })

  it('--recover prompts on stderr when stdin is a terminal, and says it restored', async () => {
    const first = await initJson('first')
    const io = fakeIo({ stdin: [first.recoveryPhrase], tty: true })
    expect(await run(['--data-dir', join(root, 'tty'), 'init', '--recover'], io)).toBe(0)
    expect(io.err()).toMatch(/^Recovery phrase \(24 words, then Enter\): /)
    expect(io.out()).toContain('Restored your identity')
    expect(io.out()).toContain(first.userId)
  })

  it('--recover takes $KEYROOM_RECOVERY_PHRASE without reading stdin', async () => {
    const first = await initJson('first')
    const io = fakeIo({ env: { KEYROOM_RECOVERY_PHRASE: first.recoveryPhrase } })
    const restored = await initJson('env', ['--recover'], io)
    expect(restored.userId).toBe(first.userId)
    expect(io.reads()).toBe(0)
  })

  it('--recover with a bad phrase fails with one error line and a hint, exit 1, nothing written', async () => {
    const io = fakeIo({ stdin: ['abandon '.repeat(23) + 'notaword'] })
    expect(await run(['--data-dir', join(root, 'bad'), 'init', '--recover'], io)).toBe(1)
    const [message] = errorLines(io.err())
    expect(message).toMatch(/not in the BIP39 English word list/)
    expect(io.out()).toBe('')
    expect(await hasIdentity(join(root, 'bad'))).toBe(false)
  })

  it('--recover with nothing on stdin is a usage error (exit 2)', async () => {
    const io = fakeIo({ stdin: [] })
    expect(await run(['--data-dir', join(root, 'none'), 'init', '--recover'], io)).toBe(2)
    expect(errorLines(io.err())[0]).toBe('keyroom: no recovery phrase given')
  })

  it('refuses to replace an existing identity, before asking for a phrase', async () => {
    const first = await initJson('exists')
    const before = await readFile(join(root, 'exists', 'keystore.json'))
    const io = fakeIo({ stdin: [first.recoveryPhrase] })
    expect(await run(['--data-dir', join(root, 'exists'), 'init', '--recover'], io)).toBe(1)
    const [message, hint] = errorLines(io.err())
    expect(message).toBe(`keyroom: an identity already exists in ${join(root, 'exists')}`)
    expect(hint).toMatch(/--data-dir/)
    expect(io.reads()).toBe(0)
    expect(await readFile(join(root, 'exists', 'keystore.json'))).toEqual(before)
  })

  it('encrypts the keys with the passphrase from --passphrase-file (trailing newline dropped)', async () => {
    const file = join(root, 'pass.txt')
    await writeFile(file, 'correct horse\n')
    const result = await initJson('sealed', ['--passphrase-file', file])
    const dir = join(root, 'sealed')
    await expect(loadIdentity(dir)).rejects.toThrow(expect.objectContaining({ code: 'ERR_PASSPHRASE_REQUIRED' }))
    expect((await loadIdentity(dir, { passphrase: 'correct horse' })).userId).toBe(result.userId)
  })

  it('encrypts the keys with $KEYROOM_PASSPHRASE', async () => {
    const result = await initJson('env-sealed', [], fakeIo({ env: { KEYROOM_PASSPHRASE: 's3cret' } }))
    expect((await loadIdentity(join(root, 'env-sealed'), { passphrase: 's3cret' })).deviceId).toBe(result.deviceId)
  })

  it('reports an empty (exit 2) or missing (exit 1) passphrase file', async () => {
    const empty = join(root, 'empty.txt')
    await writeFile(empty, '\n')
    const io1 = fakeIo()
    expect(await run(['--data-dir', join(root, 'e1'), 'init', '--passphrase-file', empty], io1)).toBe(2)
    expect(errorLines(io1.err())[0]).toMatch(/is empty/)
    const io2 = fakeIo()
    expect(await run(['--data-dir', join(root, 'e2'), 'init', '--passphrase-file', join(root, 'nope')], io2)).toBe(1)
    expect(errorLines(io2.err())[0]).toMatch(/cannot read the passphrase file .*ENOENT/)
    expect(await hasIdentity(join(root, 'e1'))).toBe(false)
    expect(await hasIdentity(join(root, 'e2'))).toBe(false)
  })

  it('uses $KEYROOM_HOME, and resolves a relative --data-dir against the working directory', async () => {
    const io = fakeIo({ env: { KEYROOM_HOME: join(root, 'home') } })
    expect(await run(['--json', 'init'], io)).toBe(0)
    expect(await hasIdentity(join(root, 'home'))).toBe(true)
    expect(await run(['--data-dir', 'rel', '--json', 'init'], fakeIo({ cwd: root }))).toBe(0)
    expect(await hasIdentity(join(root, 'rel'))).toBe(true)
  })
})

describe('keyroom usage errors', () => {
  const cases: Array<[string, string[], RegExp, RegExp]> = [
    ['an unknown command', ['bogus'], /unknown command 'bogus'/, /keyroom --help/],
    ['a misspelt command', ['inti'], /unknown command 'inti'/, /Did you mean init\?/],
    ['an unknown option', ['init', '--bogus'], /unknown option '--bogus'/, /keyroom init --help/],
    ['a global option after the subcommand', ['init', '--json'], /unknown option '--json'/, /go before the subcommand/],
    ['an extra argument', ['init', 'extra'], /too many arguments/, /keyroom init --help/],
    ['a missing option value', ['init', '--passphrase-file'], /argument missing/, /--help/],
    ['an empty --data-dir', ['--data-dir', '', 'init'], /--data-dir is empty/, /--help/]
  ]
  for (const [name, argv, message, hint] of cases) {
    it(`exits 2 with one line and a hint for ${name}`, async () => {
      const io = fakeIo()
      expect(await run(argv, io)).toBe(2)
      const [line, hintLine] = errorLines(io.err())
      expect(line).toMatch(message)
      expect(hintLine).toMatch(hint)
      expect(io.out()).toBe('')
    })
  }

  it('exits 2 and shows the help when no command is given', async () => {
    const io = fakeIo()
    expect(await run([], io)).toBe(2)
    expect(io.err()).toMatch(/Usage: keyroom/)
  })

  it('prints help and the version with exit 0', async () => {
    const help = fakeIo()
    expect(await run(['--help'], help)).toBe(0)
    expect(help.out()).toMatch(/Usage: keyroom \[options\] \[command\]/)
    expect(help.out()).toMatch(/init/)
    const initHelp = fakeIo()
    expect(await run(['init', '--help'], initHelp)).toBe(0)
    expect(initHelp.out()).toMatch(/--recover/)
    const version = fakeIo()
    expect(await run(['--version'], version)).toBe(0)
    expect(version.out().trim()).toMatch(/^\d+\.\d+\.\d+/)
  })
})

describe('keyroom unexpected errors', () => {
  it('print one line and a --debug hint, and a stack trace only with --debug', async () => {
    // A data "directory" that is a file: the filesystem refuses, which init does not foresee.
    const file = join(root, 'a-file')
    await writeFile(file, 'x')
    const io = fakeIo()
    expect(await run(['--data-dir', file, 'init'], io)).toBe(1)
    const [line, hint] = errorLines(io.err())
    expect(line).toMatch(/^keyroom: unexpected error: .*ENOTDIR/)
    expect(hint).toBe('hint: run again with --debug for details')

    const debug = fakeIo()
    expect(await run(['--data-dir', file, '--debug', 'init'], debug)).toBe(1)
    expect(debug.err()).toMatch(/^keyroom: unexpected error/)
    expect(debug.err()).toMatch(/\n\s+at /)
  })

  it('keep stack traces out of expected errors even with --debug off', async () => {
    await initJson('dup')
    const io = fakeIo()
    expect(await run(['--data-dir', join(root, 'dup'), 'init'], io)).toBe(1)
    expect(io.err()).not.toMatch(/\bat /)
  })
})
