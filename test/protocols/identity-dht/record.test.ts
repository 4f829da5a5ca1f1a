/**
 * User records: format (golden bytes), the edge check's refusals step by step, and the device
 * summary at a given time.
 */
import { describe, expect, it } from 'vitest'
import { canonicalJsonBytes, sha256, signJson, toBase64 } from '../../../protocols/core/index.js'
import {
  createUserRecord, devicesOf, encodeUserRecord, MAX_DEVICES, MAX_RECORD_BYTES, parseUserRecord, userIdFromRecordKey,
  userRecordKey, userRecordSignedBytes
} from '../../../protocols/identity-dht/index.js'
import type { UserRecord, UserRecordJson, UserRecordVerdict } from '../../../protocols/identity-dht/index.js'
import { attest, DAY, deviceId, NOW, revoke, seed, user } from './fixtures.js'

const alice = user(1)
const mallory = user(9)

const record = (seq = 1): UserRecordJson =>
  createUserRecord({ upkSeed: alice.seed, seq, devices: [attest(1, 3, { expiresTs: NOW + DAY }), attest(1, 2)], revocations: [revoke(1, 4, NOW, 'lost')] })

/** Sign an arbitrary body as `userByte`'s UPK (for records createUserRecord would refuse to make). */
function signedBy (userByte: number, body: Record<string, unknown>): Record<string, unknown> {
  return signJson(body, user(userByte).upk, 'ed25519', seed(userByte))
}

const bytesOf = (value: unknown): Uint8Array => canonicalJsonBytes(value)
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)
const refused = (verdict: UserRecordVerdict): { status: string, reason: string } => {
  if (verdict.ok) throw new Error('expected a refusal')
  return verdict
}
const parsed = (bytes: Uint8Array): UserRecord => {
  const verdict = parseUserRecord(bytes)
  if (!verdict.ok) throw new Error(`${verdict.status}: ${verdict.reason}`)
  return verdict.record
}

describe('record key', () => {
  it('is /keyroom/upk/ followed by the 33 UPK bytes (golden bytes)', () => {
    const key = userRecordKey(alice.upk)
    expect(Buffer.from(key).toString('hex')).toBe(
      Buffer.from('/keyroom/upk/').toString('hex') + '018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c')
    expect(key.length).toBe(13 + 33)
    expect(userIdFromRecordKey(key)).toBe(alice.upk)
  })

  it('reads back only well-formed user record keys', () => {
    const key = userRecordKey(alice.upk)
    expect(userIdFromRecordKey(key.slice(0, -1))).toBeUndefined()
    const versioned = key.slice()
    versioned[13] = 0x02
    expect(userIdFromRecordKey(versioned)).toBeUndefined()
    const other = key.slice()
    other[1] = 'K'.charCodeAt(0)
    expect(userIdFromRecordKey(other)).toBeUndefined()
    expect(() => userRecordKey('~nope')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY' }))
  })
})

describe('createUserRecord', () => {
  it('makes canonical, UPK-signed bytes (golden hash) with devices and revocations in device-ID order', () => {
    const bytes = encodeUserRecord(record(3))
    expect(bytes.length).toBe(1497)
    expect(toBase64(sha256(bytes))).toBe('NUYxRgcACQVOW6/0TsRyNvOYhj+JpY6SWMw+0vV23zM')
    const r = parsed(bytes)
    expect(r.upk).toBe(alice.upk)
    expect(r.seq).toBe(3)
    expect(r.devices.map(d => d.udk)).toEqual([deviceId(2), deviceId(3)])
    expect(r.revocations.map(x => x.udk)).toEqual([deviceId(4)])
    expect(r.bytes).toEqual(bytes)
    // The signed bytes are the record without its signatures.
    const { signatures: _signatures, ...body } = r.json
    expect(text(userRecordSignedBytes(body))).toBe(text(bytesOf(body)))
  })

  it('gives the same bytes whatever order the statements come in', () => {
    const a = createUserRecord({ upkSeed: alice.seed, seq: 1, devices: [attest(1, 2), attest(1, 3)] })
    const b = createUserRecord({ upkSeed: alice.seed, seq: 1, devices: [attest(1, 3), attest(1, 2)] })
    expect(encodeUserRecord(a)).toEqual(encodeUserRecord(b))
  })

  it('refuses what parseUserRecord would refuse', () => {
    const bad = [
      { upkSeed: alice.seed, seq: 0, devices: [] },
      { upkSeed: alice.seed, seq: 1.5, devices: [] },
      { upkSeed: alice.seed, seq: 1, devices: [attest(9, 2)] },
      { upkSeed: alice.seed, seq: 1, devices: [attest(1, 2), attest(1, 2)] },
      { upkSeed: alice.seed, seq: 1, devices: [], revocations: [revoke(9, 2)] },
      { upkSeed: alice.seed, seq: 1, devices: Array.from({ length: MAX_DEVICES + 1 }, (_, i) => attest(1, 20 + i)) }
    ]
    for (const input of bad) expect(() => createUserRecord(input)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
    expect(() => createUserRecord({ upkSeed: new Uint8Array(31), seq: 1, devices: [] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY_MATERIAL' }))
  })
})

describe('parseUserRecord refuses', () => {
  const good = record(5)

  it('nothing in a genuine record, and checks the key when given', () => {
    expect(parseUserRecord(encodeUserRecord(good), { key: userRecordKey(alice.upk) }).ok).toBe(true)
    const wrong = refused(parseUserRecord(encodeUserRecord(good), { key: userRecordKey(mallory.upk) }))
    expect(wrong.status).toBe('wrong-key')
  })

  it('more than MAX_RECORD_BYTES before parsing them', () => {
    const huge = new Uint8Array(MAX_RECORD_BYTES + 1).fill(0x20)
    expect(refused(parseUserRecord(huge)).status).toBe('too-large')
    // A genuine record signed by the UPK, just too big, is refused too.
    const padded = signedBy(1, { upk: alice.upk, seq: 1, devices: [], revocations: Array.from({ length: 40 }, (_, i) => revoke(1, 20 + i, NOW, 'x'.repeat(400))) })
    expect(bytesOf(padded).length).toBeGreaterThan(MAX_RECORD_BYTES)
    expect(refused(parseUserRecord(bytesOf(padded))).status).toBe('too-large')
  })

  it('JSON the strict parser refuses, and non-canonical JSON', () => {
    const canonical = text(encodeUserRecord(good))
    const variants = [
      canonical.replace('"seq":5', '"seq":5.0'),
      canonical.replace('"seq":5', '"seq":5,"seq":5'),
      canonical.slice(0, -1),
      canonical.replace('"seq":5', '"seq": 5'),
      `${canonical}\n`,
      canonical.replace('{"devices"', '{"seq":5,"devices"').replace(',"seq":5,"signatures"', ',"signatures"')
    ]
    for (const v of variants) {
      const verdict = refused(parseUserRecord(new TextEncoder().encode(v)))
      expect(verdict.status, v.slice(0, 40)).toBe('malformed')
    }
  })

  it('a wrong shape', () => {
    const { signatures: _s, ...body } = good
    const cases: Array<Record<string, unknown>> = [
      { ...body, extra: 1 },
      { ...body, seq: 0 },
      { ...body, seq: -1 },
      { ...body, seq: '5' },
      { ...body, devices: {} },
      { ...body, upk: 'alice' }
    ]
    for (const c of cases) expect(refused(parseUserRecord(bytesOf(signedBy(1, c)))).status).toBe('malformed')
    const { revocations: _r, ...missing } = body
    expect(refused(parseUserRecord(bytesOf(signedBy(1, missing)))).reason).toContain('missing revocations')
    expect(refused(parseUserRecord(bytesOf([good]))).status).toBe('malformed')
  })

  it('a forged signature (any change after signing)', () => {
    const changed = [
      { ...good, seq: 6 },
      { ...good, devices: good.devices.slice(1) },
      { ...good, revocations: [] }
    ]
    for (const c of changed) expect(refused(parseUserRecord(bytesOf(c))).status).toBe('bad-signature')
    const sig = good.signatures[alice.upk]!.ed25519!
    const flipped = { ...good, signatures: { [alice.upk]: { ed25519: (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1) } } }
    expect(refused(parseUserRecord(bytesOf(flipped))).status).toBe('bad-signature')
  })

  it('a signature by another UPK, or any signature besides the UPK one', () => {
    const { signatures: _s, ...body } = good
    expect(refused(parseUserRecord(bytesOf(signedBy(9, body)))).status).toBe('mismatched-keys')
    const twice = signJson(good, mallory.upk, 'ed25519', mallory.seed)
    expect(refused(parseUserRecord(bytesOf(twice))).reason).toContain('only the UPK')
    const twoKeys = signJson(good, alice.upk, 'ed25519:2', alice.seed)
    expect(refused(parseUserRecord(bytesOf(twoKeys))).status).toBe('malformed')
    expect(refused(parseUserRecord(bytesOf(body))).status).toBe('malformed')
  })

  it('attestations and revocations by another UPK, with bad signatures, or repeated', () => {
    const base = { upk: alice.upk, seq: 1, devices: [attest(1, 2)], revocations: [] as unknown[] }
    const byMallory = signedBy(1, { ...base, devices: [attest(1, 2), attest(9, 3)] })
    expect(refused(parseUserRecord(bytesOf(byMallory)))).toMatchObject({ status: 'mismatched-keys' })
    expect(refused(parseUserRecord(bytesOf(byMallory))).reason).toContain('devices[1]')
    const badUdk = attest(1, 3)
    const udkSig = badUdk.signatures[deviceId(3)]!
    udkSig.ed25519 = (udkSig.ed25519![0] === 'A' ? 'B' : 'A') + udkSig.ed25519!.slice(1)
    const forgedDevice = signedBy(1, { ...base, devices: [badUdk] })
    expect(refused(parseUserRecord(bytesOf(forgedDevice)))).toMatchObject({ status: 'bad-signature', reason: 'devices[0]: bad UDK signature' })
    const twice = signedBy(1, { ...base, devices: [attest(1, 2), attest(1, 2, { issuedTs: NOW })] })
    expect(refused(parseUserRecord(bytesOf(twice))).reason).toContain('attested twice')
    const revokedByMallory = signedBy(1, { ...base, revocations: [revoke(9, 2)] })
    expect(refused(parseUserRecord(bytesOf(revokedByMallory))).status).toBe('mismatched-keys')
    const revokedTwice = signedBy(1, { ...base, revocations: [revoke(1, 5), revoke(1, 5, NOW)] })
    expect(refused(parseUserRecord(bytesOf(revokedTwice))).reason).toContain('revoked twice')
  })

  it('more devices than MAX_DEVICES even when small enough', () => {
    const many = signedBy(1, { upk: alice.upk, seq: 1, devices: Array.from({ length: MAX_DEVICES + 1 }, () => ({})), revocations: [] })
    expect(refused(parseUserRecord(bytesOf(many))).status).toBe('too-large')
  })

  it('but accepts expired attestations (the record is genuine; devicesOf reports the expiry)', () => {
    const r = createUserRecord({ upkSeed: alice.seed, seq: 1, devices: [attest(1, 2, { issuedTs: NOW - 2 * DAY, expiresTs: NOW - DAY })] })
    expect(parseUserRecord(encodeUserRecord(r)).ok).toBe(true)
  })
})

describe('devicesOf', () => {
  it('reports usable, expired and revoked devices in device-ID order', () => {
    const r = parsed(encodeUserRecord(createUserRecord({
      upkSeed: alice.seed,
      seq: 1,
      devices: [attest(1, 2), attest(1, 3, { expiresTs: NOW }), attest(1, 4, { expiresTs: NOW + 1 }), attest(1, 5)],
      revocations: [revoke(1, 5, NOW - 10), revoke(1, 6, NOW + DAY, 'stolen')]
    })))
    const byId = new Map(devicesOf(r, { now: NOW }).map(d => [d.deviceId, d]))
    expect(byId.get(deviceId(2))).toMatchObject({ attested: true, expired: false, revoked: false, usable: true })
    expect(byId.get(deviceId(2))?.expiresTs).toBeUndefined()
    expect(byId.get(deviceId(3))).toMatchObject({ expiresTs: NOW, expired: true, usable: false })
    expect(byId.get(deviceId(4))).toMatchObject({ expiresTs: NOW + 1, expired: false, usable: true })
    expect(byId.get(deviceId(5))).toMatchObject({ attested: true, revoked: true, revokedTs: NOW - 10, usable: false })
    // Revoked but no longer attested: still listed, so the revocation is learnt; a future revoked_ts still revokes.
    expect(byId.get(deviceId(6))).toMatchObject({ attested: false, revoked: true, revokedTs: NOW + DAY, usable: false })
    const ids = devicesOf(r, { now: NOW }).map(d => d.deviceId)
    expect(ids).toEqual([...ids].sort())
    expect(ids).toHaveLength(5)
    // Later, device 4 has expired too.
    expect(devicesOf(r, { now: NOW + 1 }).filter(d => d.usable).map(d => d.deviceId)).toEqual([deviceId(2)])
  })
})
