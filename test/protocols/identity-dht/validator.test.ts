/**
 * The kad-dht validator and selector for `/keyroom/…` keys, fed directly: forged, wrong-key,
 * oversized and stale records are refused; the highest seq always wins, ties by bytes.
 */
import { describe, expect, it } from 'vitest'
import { canonicalJsonBytes, signJson } from '../../../protocols/core/index.js'
import {
  compareBytes, createUserRecord, encodeUserRecord, identityDhtRecords, MAX_RECORD_BYTES, MAX_REVOCATIONS, selectUserRecord, userRecordKey
} from '../../../protocols/identity-dht/index.js'
import { attest, revoke, seed, user } from './fixtures.js'

const alice = user(1)
const bob = user(2)
const key = userRecordKey(alice.upk)
const rec = (seq: number, devices = [attest(1, 3)], revocations = [] as ReturnType<typeof revoke>[]): Uint8Array =>
  encodeUserRecord(createUserRecord({ upkSeed: alice.seed, seq, devices, revocations }))

function validator (init = {}): { validate: (k: Uint8Array, v: Uint8Array) => Promise<void>, records: ReturnType<typeof identityDhtRecords> } {
  const records = identityDhtRecords(init)
  const fn = records.validators.keyroom!
  return { validate: async (k, v) => { await fn(k, v) }, records }
}

describe('validator', () => {
  it('is registered for the keyroom namespace only', () => {
    const records = identityDhtRecords()
    expect(Object.keys(records.validators)).toEqual(['keyroom'])
    expect(Object.keys(records.selectors)).toEqual(['keyroom'])
  })

  it('accepts a genuine record under its own key', async () => {
    const { validate, records } = validator()
    await expect(validate(key, rec(1))).resolves.toBeUndefined()
    expect(records.highestSeq(alice.upk)).toBe(1)
  })

  it('refuses a forged signature, a wrong key, other key kinds, oversized and malformed values', async () => {
    const { validate } = validator()
    const genuine = createUserRecord({ upkSeed: alice.seed, seq: 2, devices: [attest(1, 3)] })
    const forged = canonicalJsonBytes({ ...genuine, seq: 3 })
    await expect(validate(key, forged)).rejects.toMatchObject({ code: 'ERR_DHT_INVALID_RECORD', message: expect.stringContaining('bad-signature') })
    await expect(validate(userRecordKey(bob.upk), rec(1))).rejects.toMatchObject({ code: 'ERR_DHT_INVALID_RECORD', message: expect.stringContaining('wrong-key') })
    await expect(validate(new TextEncoder().encode('/keyroom/room/x'), rec(1))).rejects.toMatchObject({ code: 'ERR_DHT_INVALID_RECORD' })
    await expect(validate(key.slice(0, -1), rec(1))).rejects.toMatchObject({ code: 'ERR_DHT_INVALID_RECORD' })
    await expect(validate(key, new Uint8Array(MAX_RECORD_BYTES + 1))).rejects.toMatchObject({ message: expect.stringContaining('too-large') })
    await expect(validate(key, new TextEncoder().encode('{"seq":1.5}'))).rejects.toMatchObject({ message: expect.stringContaining('malformed') })
    // A record whose attestation is by another UPK, though the record itself is signed by alice.
    const { signatures: _s, ...body } = genuine
    const foreign = canonicalJsonBytes(signJson({ ...body, devices: [attest(2, 3)] }, alice.upk, 'ed25519', seed(1)))
    await expect(validate(key, foreign)).rejects.toMatchObject({ message: expect.stringContaining('mismatched-keys') })
  })

  it('refuses a record older than one it accepted for the user (ties pass), remembered verdicts included', async () => {
    const { validate, records } = validator()
    const one = rec(1)
    await validate(key, one)
    await validate(key, rec(2, [attest(1, 3)], [revoke(1, 4)]))
    expect(records.highestSeq(alice.upk)).toBe(2)
    // `one` is a remembered valid verdict now, and still refused as stale.
    await expect(validate(key, one)).rejects.toMatchObject({ code: 'ERR_DHT_STALE_RECORD' })
    await expect(validate(key, rec(2, [attest(1, 5)]))).resolves.toBeUndefined()
    // Other users are unaffected.
    const bobs = encodeUserRecord(createUserRecord({ upkSeed: bob.seed, seq: 1, devices: [] }))
    await expect(validate(userRecordKey(bob.upk), bobs)).resolves.toBeUndefined()
  })

  it('forgets the high-water mark of the least recently seen user past its bound, and can be turned off', async () => {
    const small = validator({ highWaterEntries: 1 })
    await small.validate(key, rec(2))
    await small.validate(userRecordKey(bob.upk), encodeUserRecord(createUserRecord({ upkSeed: bob.seed, seq: 1, devices: [] })))
    expect(small.records.highestSeq(alice.upk)).toBeUndefined()
    await expect(small.validate(key, rec(1))).resolves.toBeUndefined()
    const off = validator({ highWaterEntries: 0, memoEntries: 0 })
    await off.validate(key, rec(2))
    await expect(off.validate(key, rec(1))).resolves.toBeUndefined()
    await expect(off.validate(key, canonicalJsonBytes({ ...createUserRecord({ upkSeed: alice.seed, seq: 1, devices: [] }), seq: 9 })))
      .rejects.toMatchObject({ code: 'ERR_DHT_INVALID_RECORD' })
  })
})

describe('selector', () => {
  it('picks the highest seq wherever it is', () => {
    const records = [rec(2), rec(7), rec(3), rec(1)]
    expect(selectUserRecord(key, records)).toBe(1)
    expect(selectUserRecord(key, [...records].reverse())).toBe(2)
  })

  it('breaks a seq tie by the greater bytes, the same way in any order', () => {
    const a = rec(4, [attest(1, 3)])
    const b = rec(4, [attest(1, 5)])
    const winner = compareBytes(a, b) > 0 ? a : b
    expect(compareBytes(a, b)).not.toBe(0)
    expect([a, b][selectUserRecord(key, [a, b])]).toBe(winner)
    expect([b, a][selectUserRecord(key, [b, a])]).toBe(winner)
  })

  it('ranks anything that is not a record of the key\'s user below every record', () => {
    const junk = new TextEncoder().encode('{"seq":99}')
    const bobs = encodeUserRecord(createUserRecord({ upkSeed: bob.seed, seq: 50, devices: [] }))
    expect(selectUserRecord(key, [junk, bobs, rec(1), new Uint8Array([0xff])])).toBe(2)
    expect(selectUserRecord(key, [junk, junk])).toBe(0)
  })

  it('compares bytes unsigned and lexicographically, a prefix first', () => {
    expect(compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(0)
    expect(compareBytes(Uint8Array.of(1), Uint8Array.of(1, 0))).toBeLessThan(0)
    expect(compareBytes(Uint8Array.of(0x80), Uint8Array.of(0x7f, 0xff))).toBeGreaterThan(0)
  })
})

describe('validator: the 64-revocation bound', () => {
  const signed = (revocations: unknown[]): Uint8Array =>
    canonicalJsonBytes(signJson({ upk: alice.upk, seq: 1, devices: [], revocations }, alice.upk, 'ed25519', seed(1)))

  it('refuses 65 revocation entries as too-large before looking at any of them; 64 are judged one by one', async () => {
    const { validate } = validator()
    const over = signed(Array.from({ length: MAX_REVOCATIONS + 1 }, () => ({})))
    expect(over.length).toBeLessThan(MAX_RECORD_BYTES)
    await expect(validate(key, over)).rejects.toMatchObject({
      code: 'ERR_DHT_INVALID_RECORD', message: expect.stringContaining(`${MAX_REVOCATIONS + 1} revocations exceed the bound of ${MAX_REVOCATIONS}`)
    })
    await expect(validate(key, signed(Array.from({ length: MAX_REVOCATIONS }, () => ({}))))).rejects.toMatchObject({
      message: expect.stringContaining('(malformed): revocations[0]')
    })
  })

  it('65 genuine revocations are refused by the byte bound first (≈ 300 bytes each), and cannot be signed', async () => {
    const { validate } = validator()
    const genuine = Array.from({ length: MAX_REVOCATIONS + 1 }, (_, i) => revoke(1, 100 + i))
    const bytes = signed(genuine)
    expect(bytes.length).toBeGreaterThan(MAX_RECORD_BYTES)
    await expect(validate(key, bytes)).rejects.toMatchObject({ message: expect.stringContaining(`exceeds ${MAX_RECORD_BYTES}`) })
    expect(() => createUserRecord({ upkSeed: alice.seed, seq: 1, devices: [], revocations: genuine })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
  })
})

describe('validator: verifiedRecord', () => {
  it('hands out the parsed record of bytes it found genuine under that key, and nothing else', async () => {
    const { validate, records } = validator()
    const genuine = rec(3)
    expect(records.verifiedRecord(key, genuine)).toBeUndefined()
    await validate(key, genuine)
    expect(records.verifiedRecord(key, genuine)).toMatchObject({ upk: alice.upk, seq: 3 })
    expect(records.verifiedRecord(userRecordKey(bob.upk), genuine)).toBeUndefined()
    expect(records.verifiedRecord(key, rec(4))).toBeUndefined()
    const forged = canonicalJsonBytes({ ...createUserRecord({ upkSeed: alice.seed, seq: 5, devices: [] }), seq: 6 })
    await expect(validate(key, forged)).rejects.toMatchObject({ code: 'ERR_DHT_INVALID_RECORD' })
    expect(records.verifiedRecord(key, forged)).toBeUndefined()
    const { validate: v2, records: unmemoised } = validator({ memoEntries: 0 })
    await v2(key, genuine)
    expect(unmemoised.verifiedRecord(key, genuine)).toBeUndefined()
  })
})
