import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  createAttestation, deviceKeyPair, formatUserId, parseUserId, seedToRecoveryPhrase, verifyAttestation
} from '../../protocols/core/identity/index.js'
import type { ScryptParams } from '../../protocols/core/identity/index.js'
import { createIdentity, hasIdentity, keystorePath, loadIdentity } from '../../store/keystore.js'

const FAST: ScryptParams = { N: 2 ** 4, r: 8, p: 1 }
const code = (c: string): unknown => expect.objectContaining({ code: c })

let root: string
beforeEach(async () => { root = await mkdtemp(join(tmpdir(), 'keyroom-keystore-')) })
afterEach(async () => { await rm(root, { recursive: true, force: true }) })

async function mode (path: string): Promise<number> {
  return (await stat(path)).mode & 0o777
}

async function readJson (path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
}

describe('keystore', () => {
  it('creates a plaintext identity with mode 0600 in a new 0700 directory, and loads it back', async () => {
    const dir = join(root, 'nested', 'data')
    expect(await hasIdentity(dir)).toBe(false)
    const created = await createIdentity(dir, { now: 1234 })
    expect(created.path).toBe(keystorePath(dir))
    expect(created.recoveryPhrase.split(' ')).toHaveLength(24)
    expect(await hasIdentity(dir)).toBe(true)
    expect(await mode(created.path)).toBe(0o600)
    expect(await mode(dir)).toBe(0o700)
    expect(await readdir(dir)).toEqual(['keystore.json'])

    const file = await readJson(created.path)
    expect(file).toMatchObject({ keyroom_keystore: 1, user_id: created.userId, device_id: created.deviceId, protection: 'none' })

    const loaded = await loadIdentity(dir)
    expect(loaded).toMatchObject({ userId: created.userId, deviceId: created.deviceId, encrypted: false })
    expect(deviceKeyPair(loaded.udkSeed).deviceId).toBe(created.deviceId)
    expect(seedToRecoveryPhrase(loaded.upkSeed!)).toBe(created.recoveryPhrase)
    expect(loaded.attestation.issued_ts).toBe(1234)
    expect(verifyAttestation(loaded.attestation, { now: 5000 })).toMatchObject({ status: 'valid' })
  })

  it('makes fresh keys every time', async () => {
    const a = await createIdentity(join(root, 'a'))
    const b = await createIdentity(join(root, 'b'))
    expect(a.userId).not.toBe(b.userId)
    expect(a.deviceId).not.toBe(b.deviceId)
    expect(a.recoveryPhrase).not.toBe(b.recoveryPhrase)
  })

  it('seals the seeds under a passphrase and asks for it on load', async () => {
    const dir = join(root, 'sealed')
    const created = await createIdentity(dir, { passphrase: 'hunter2', kdfParams: FAST })
    const text = await readFile(created.path, 'utf8')
    const file = JSON.parse(text) as Record<string, unknown>
    expect(file.protection).toBe('passphrase')
    expect(file.secrets).toBeUndefined()
    expect(typeof file.sealed).toBe('string')

    const plain = await loadIdentity(dir, { passphrase: 'hunter2' })
    expect(plain).toMatchObject({ userId: created.userId, deviceId: created.deviceId, encrypted: true })
    expect(text).not.toContain(Buffer.from(plain.udkSeed).toString('base64').slice(0, 20))
    expect(text).not.toContain(Buffer.from(plain.upkSeed!).toString('base64').slice(0, 20))

    await expect(loadIdentity(dir)).rejects.toThrow(code('ERR_PASSPHRASE_REQUIRED'))
    await expect(loadIdentity(dir, { passphrase: '' })).rejects.toThrow(code('ERR_PASSPHRASE_REQUIRED'))
    await expect(loadIdentity(dir, { passphrase: 'hunter3' })).rejects.toThrow(code('ERR_WRONG_PASSPHRASE'))
  })

  it('refuses an empty passphrase when creating', async () => {
    await expect(createIdentity(join(root, 'x'), { passphrase: '' })).rejects.toThrow(code('ERR_PASSPHRASE_REQUIRED'))
    expect(await hasIdentity(join(root, 'x'))).toBe(false)
  })

  it('restores the same user with a new device from the recovery phrase', async () => {
    const first = await createIdentity(join(root, 'one'))
    const restored = await createIdentity(join(root, 'two'), { recoveryPhrase: `  ${first.recoveryPhrase.toUpperCase()}\n` })
    expect(restored.userId).toBe(first.userId)
    expect(restored.deviceId).not.toBe(first.deviceId)
    expect(restored.recoveryPhrase).toBe(first.recoveryPhrase)
    const loaded = await loadIdentity(join(root, 'two'))
    expect(formatUserId(parseUserId(loaded.attestation.upk))).toBe(first.userId)
  })

  it('refuses a bad recovery phrase without writing anything', async () => {
    const dir = join(root, 'bad')
    await expect(createIdentity(dir, { recoveryPhrase: 'abandon '.repeat(23) + 'zoo' })).rejects.toThrow(code('ERR_INVALID_RECOVERY_PHRASE'))
    expect(await hasIdentity(dir)).toBe(false)
  })

  it('can leave the UPK seed off the device', async () => {
    const dir = join(root, 'linked')
    await createIdentity(dir, { keepUserKey: false })
    const loaded = await loadIdentity(dir)
    expect(loaded.upkSeed).toBeUndefined()
    expect((await readJson(keystorePath(dir))).secrets).not.toHaveProperty('upk_seed')
  })

  it('never overwrites an existing identity', async () => {
    const dir = join(root, 'exists')
    await createIdentity(dir)
    const before = await readFile(keystorePath(dir))
    await expect(createIdentity(dir)).rejects.toThrow(code('ERR_IDENTITY_EXISTS'))
    expect(await readFile(keystorePath(dir))).toEqual(before)
    expect(await readdir(dir)).toEqual(['keystore.json'])
  })

  it('lets exactly one of several concurrent creates win, leaving no temporary files', async () => {
    const dir = join(root, 'race')
    const results = await Promise.allSettled(Array.from({ length: 6 }, async () => await createIdentity(dir)))
    const won = results.filter((r) => r.status === 'fulfilled')
    expect(won).toHaveLength(1)
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ERR_IDENTITY_EXISTS' })
    expect((await loadIdentity(dir)).userId).toBe((won[0] as PromiseFulfilledResult<{ userId: string }>).value.userId)
    expect(await readdir(dir)).toEqual(['keystore.json'])
  })

  it('keeps mode 0600 even with a permissive umask, and tightens a widened file on load', async () => {
    const old = process.umask(0)
    try {
      const dir = join(root, 'umask')
      await createIdentity(dir)
      expect(await mode(keystorePath(dir))).toBe(0o600)
      expect(await mode(dir)).toBe(0o700)
      await chmod(keystorePath(dir), 0o644)
      await loadIdentity(dir)
      expect(await mode(keystorePath(dir))).toBe(0o600)
    } finally {
      process.umask(old)
    }
  })

  it('says when there is no identity', async () => {
    await expect(loadIdentity(root)).rejects.toThrow(code('ERR_NO_IDENTITY'))
    await expect(loadIdentity(join(root, 'missing'))).rejects.toThrow(code('ERR_NO_IDENTITY'))
  })

  describe('damaged keystores', () => {
    async function damaged (change: (file: Record<string, unknown>) => void, options: { passphrase?: string } = {}): Promise<string> {
      const dir = join(root, `d${Math.random().toString(36).slice(2)}`)
      await createIdentity(dir, { ...options, kdfParams: FAST })
      const file = await readJson(keystorePath(dir))
      change(file)
      await writeFile(keystorePath(dir), JSON.stringify(file))
      return dir
    }

    it('refuses text that is not a keystore', async () => {
      const dir = join(root, 'text')
      await createIdentity(dir)
      const text = await readFile(keystorePath(dir), 'utf8')
      await writeFile(keystorePath(dir), text.slice(0, text.length / 2))
      await expect(loadIdentity(dir)).rejects.toThrow(code('ERR_CORRUPT_KEYSTORE'))
      await writeFile(keystorePath(dir), '[1,2,3]')
      await expect(loadIdentity(dir)).rejects.toThrow(code('ERR_CORRUPT_KEYSTORE'))
      await writeFile(keystorePath(dir), '')
      await expect(loadIdentity(dir)).rejects.toThrow(code('ERR_CORRUPT_KEYSTORE'))
    })

    const cases: Array<[string, (f: Record<string, unknown>) => void, RegExp]> = [
      ['an unknown format version', (f) => { f.keyroom_keystore = 2 }, /unknown keystore format/],
      ['an unknown protection', (f) => { f.protection = 'rot13' }, /unknown protection/],
      ['a missing device seed', (f) => { delete (f.secrets as Record<string, unknown>).udk_seed }, /device key is missing/],
      ['a seed that is not base64', (f) => { (f.secrets as Record<string, unknown>).udk_seed = '!!' }, /not base64/],
      ['a short seed', (f) => { (f.secrets as Record<string, unknown>).udk_seed = 'AAAA' }, /3 bytes, not 32/],
      ['a device ID that does not match the seed', (f) => { f.device_id = deviceKeyPair(new Uint8Array(32).fill(9)).deviceId }, /does not match device_id/],
      ['a user ID that does not match the seed', (f) => { f.user_id = formatUserId(new Uint8Array(32).fill(9)) }, /does not match user_id/],
      ['a tampered attestation', (f) => { (f.attestation as Record<string, unknown>).issued_ts = 1 }, /attestation is bad-signature/],
      ['an attestation of another device', (f) => {
        f.attestation = createAttestation({ upkSeed: new Uint8Array(32).fill(7), udkSeed: new Uint8Array(32).fill(8), issuedTs: 1 })
      }, /another user or device/]
    ]
    for (const [name, change, message] of cases) {
      it(`refuses ${name}`, async () => {
        const dir = await damaged(change)
        await expect(loadIdentity(dir)).rejects.toThrow(code('ERR_CORRUPT_KEYSTORE'))
        await expect(loadIdentity(dir)).rejects.toThrow(message)
      })
    }

    it('refuses a garbled or truncated sealed blob as corrupt, not as a wrong passphrase', async () => {
      const garbled = await damaged((f) => {
        const s = f.sealed as string
        f.sealed = s.slice(0, 120) + (s[120] === 'A' ? 'B' : 'A') + s.slice(121)
      }, { passphrase: 'pw' })
      await expect(loadIdentity(garbled, { passphrase: 'pw' })).rejects.toThrow(code('ERR_CORRUPT_KEYSTORE'))
      const truncated = await damaged((f) => { f.sealed = (f.sealed as string).slice(0, 100) }, { passphrase: 'pw' })
      await expect(loadIdentity(truncated, { passphrase: 'pw' })).rejects.toThrow(code('ERR_CORRUPT_KEYSTORE'))
    })
  })
})
