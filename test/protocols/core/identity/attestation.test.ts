import { describe, expect, it } from 'vitest'
import { publicKeyFromSeed, signBytes, verifySignature } from '../../../../protocols/core/crypto/index.js'
import { fromBase64, toBase64 } from '../../../../protocols/core/encoding/base64.js'
import { canonicalJson, canonicalJsonBytes, parseJson } from '../../../../protocols/core/json/index.js'
import {
  attestationSignedBytes, createAttestation, deviceKeyPair, formatDeviceId, formatUserId, parseAttestation,
  userKeyPair, verifyAttestation
} from '../../../../protocols/core/identity/index.js'
import type { AttestationJson } from '../../../../protocols/core/identity/index.js'

const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n)
const upkSeed = seed(1)
const udkSeed = seed(2)
const user = userKeyPair(upkSeed)
const device = deviceKeyPair(udkSeed)
const other = userKeyPair(seed(3))
const otherDevice = deviceKeyPair(seed(4))
const T = 1_700_000_000_000

const att = (expiresTs?: number): AttestationJson =>
  createAttestation(expiresTs === undefined ? { upkSeed, udkSeed, issuedTs: T } : { upkSeed, udkSeed, issuedTs: T, expiresTs })
const clone = <V>(v: V): V => structuredClone(v)

describe('attestations', () => {
  it('has exactly the documented fields and one ed25519 signature by each of the UPK and the UDK', () => {
    const a = att()
    expect(Object.keys(a).sort()).toEqual(['issued_ts', 'signatures', 'udk', 'upk'])
    expect(a.upk).toBe(user.userId)
    expect(a.udk).toBe(device.deviceId)
    expect(a.issued_ts).toBe(T)
    expect(Object.keys(a.signatures).sort()).toEqual([user.userId, device.deviceId].sort())
    expect(Object.keys(a.signatures[user.userId]!)).toEqual(['ed25519'])
    expect(Object.keys(a.signatures[device.deviceId]!)).toEqual(['ed25519'])
    expect(att(T + 1).expires_ts).toBe(T + 1)
  })

  it('signs canonical JSON of the body, checked independently of the signing module', () => {
    const a = att(T + 1000)
    const body = { upk: a.upk, udk: a.udk, issued_ts: a.issued_ts, expires_ts: a.expires_ts }
    const bytes = canonicalJsonBytes(body)
    expect(attestationSignedBytes(body)).toEqual(bytes)
    expect(new TextDecoder().decode(bytes)).toBe(`{"expires_ts":${T + 1000},"issued_ts":${T},"udk":"${a.udk}","upk":"${a.upk}"}`)
    expect(verifySignature(publicKeyFromSeed(upkSeed), bytes, fromBase64(a.signatures[a.upk]!.ed25519!))).toBe(true)
    expect(verifySignature(publicKeyFromSeed(udkSeed), bytes, fromBase64(a.signatures[a.udk]!.ed25519!))).toBe(true)
  })

  it('is deterministic (golden JSON for fixed seeds)', () => {
    // ed25519 (RFC 8032) is deterministic, so fixed seeds and time give fixed bytes. The key
    // text forms were cross-checked against node:crypto's own ed25519 key derivation.
    expect(user.userId).toBe('~AYqI4910CfGV_VLbLTy6XXLKZwm_HZQSG_N0iAG0D29c')
    expect(device.deviceId).toBe('^AYE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU')
    expect(canonicalJson(att())).toBe('{"issued_ts":1700000000000,"signatures":{' +
      '"^AYE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU":{"ed25519":"zsCF9GNqNe3gyluJ/zConzzfnwWwNqgHdXW0MTHO69i6YUPX4O4SXGNOpqO8VAQ9CXxVDRWQ+upvIdi/4wZ6Aw"},' +
      '"~AYqI4910CfGV_VLbLTy6XXLKZwm_HZQSG_N0iAG0D29c":{"ed25519":"xzcsa/BB/joG7aLsro/yJ2DGVrQDtFD4RNAJrhyLuBfaZ1GBsBDRaS5pyP+e+o/KWGMbp1HrWzitHk1DSyXoCg"}},' +
      '"udk":"^AYE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU","upk":"~AYqI4910CfGV_VLbLTy6XXLKZwm_HZQSG_N0iAG0D29c"}')
  })

  it('verifies a fresh attestation as valid, also after a trip through JSON text', () => {
    const a = att()
    const verdict = verifyAttestation(a, { now: T })
    expect(verdict.status).toBe('valid')
    if (verdict.status !== 'valid') return
    expect(verdict.attestation).toMatchObject({ upk: user.userId, udk: device.deviceId, issuedTs: T })
    expect(verdict.attestation.upkKey).toEqual(user.publicKey)
    expect(verdict.attestation.udkKey).toEqual(device.publicKey)
    expect(verdict.attestation.expiresTs).toBeUndefined()
    expect(verifyAttestation(parseJson(canonicalJson(a)), { now: T + 10 ** 12 }).status).toBe('valid')
    // An issued_ts ahead of the verifier's clock is tolerated (clock skew between devices).
    expect(verifyAttestation(a, { now: T - 60_000 }).status).toBe('valid')
  })

  it('expires at expires_ts: valid before, expired from then on', () => {
    const a = att(T + 1000)
    expect(verifyAttestation(a, { now: T + 999 }).status).toBe('valid')
    const at = verifyAttestation(a, { now: T + 1000 })
    expect(at.status).toBe('expired')
    expect(at.status === 'expired' && at.attestation.expiresTs).toBe(T + 1000)
    expect(verifyAttestation(a, { now: T + 10 ** 9 }).status).toBe('expired')
  })

  it('says bad-signature when the body was changed or a signature is wrong', () => {
    const changed = { ...att(), issued_ts: T + 1 }
    expect(verifyAttestation(changed, { now: T })).toEqual({ status: 'bad-signature', signer: 'upk' })

    // A UPK signature that is right, and a UDK counter-signature over something else.
    const a = clone(att())
    a.signatures[a.udk]!.ed25519 = toBase64(signBytes(udkSeed, new TextEncoder().encode('something else')))
    expect(verifyAttestation(a, { now: T })).toEqual({ status: 'bad-signature', signer: 'udk' })

    const garbled = clone(att())
    garbled.signatures[garbled.upk]!.ed25519 = 'not base64!'
    expect(verifyAttestation(garbled, { now: T })).toEqual({ status: 'bad-signature', signer: 'upk' })

    // An expired attestation with a forged signature is bad-signature, not expired.
    const forgedExpired = { ...att(T + 1), issued_ts: T - 1 }
    expect(verifyAttestation(forgedExpired, { now: T + 5 }).status).toBe('bad-signature')
  })

  it('says mismatched-keys when a different UPK or UDK signed than the one named', () => {
    // Someone else's UPK attests our device, then the statement is relabelled with our UPK.
    const byOther = createAttestation({ upkSeed: seed(3), udkSeed, issuedTs: T })
    const relabelled = { ...byOther, upk: user.userId }
    const v1 = verifyAttestation(relabelled, { now: T })
    expect(v1.status).toBe('mismatched-keys')
    expect(v1.status === 'mismatched-keys' && v1.reason).toContain(other.userId)

    // Our UPK attests device A; the statement is relabelled to claim device B.
    const relabelledDevice = { ...att(), udk: otherDevice.deviceId }
    const v2 = verifyAttestation(relabelledDevice, { now: T })
    expect(v2.status).toBe('mismatched-keys')
    expect(v2.status === 'mismatched-keys' && v2.reason).toMatch(/UDK/)
    expect(parseAttestation(relabelledDevice)).toMatchObject({ ok: false, status: 'mismatched-keys' })
  })

  it('ignores extra signatories and extra key IDs, and drops them from the parsed JSON', () => {
    const a = clone(att()) as AttestationJson
    a.signatures[other.userId] = { ed25519: 'AAAA' }
    a.signatures[otherDevice.deviceId] = { ed25519: 'AAAA' }
    a.signatures[a.upk]!['ed25519:2'] = 'whatever'
    const verdict = verifyAttestation(a, { now: T })
    expect(verdict.status).toBe('valid')
    if (verdict.status !== 'valid') return
    expect(Object.keys(verdict.attestation.json.signatures).sort()).toEqual([a.upk, a.udk].sort())
    expect(Object.keys(verdict.attestation.json.signatures[a.upk]!)).toEqual(['ed25519'])
    expect(verifyAttestation(verdict.attestation.json, { now: T }).status).toBe('valid')
  })

  const base = att(T + 5000) as unknown as Record<string, unknown>
  const without = (key: string): Record<string, unknown> => {
    const copy = clone(base)
    delete copy[key]
    return copy
  }
  const malformed: Array<[string, unknown, RegExp]> = [
    ['null', null, /JSON object/],
    ['an array', [base], /JSON object/],
    ['a string', canonicalJson(base), /JSON object/],
    ['a missing upk', without('upk'), /upk: invalid user ID/],
    ['a missing udk', without('udk'), /udk: invalid device ID/],
    ['a device ID as upk', { ...base, upk: device.deviceId }, /upk: invalid user ID/],
    ['a user ID as udk', { ...base, udk: user.userId }, /udk: invalid device ID/],
    ['a padded upk', { ...base, upk: `${user.userId}=` }, /upk: invalid user ID/],
    ['a missing issued_ts', without('issued_ts'), /missing issued_ts/],
    ['a float issued_ts', { ...base, issued_ts: T + 0.5 }, /issued_ts must be an integer/],
    ['a string issued_ts', { ...base, issued_ts: String(T) }, /issued_ts must be an integer/],
    ['a negative issued_ts', { ...base, issued_ts: -1 }, /issued_ts must be an integer/],
    ['an unsafe issued_ts', { ...base, issued_ts: 2 ** 53 }, /issued_ts must be an integer/],
    ['expires_ts equal to issued_ts', { ...base, expires_ts: T }, /expires_ts must be after issued_ts/],
    ['expires_ts null', { ...base, expires_ts: null }, /expires_ts must be an integer/],
    ['an unknown field', { ...base, device_name: 'phone' }, /unknown field "device_name"/],
    ['an unsigned field', { ...base, unsigned: {} }, /unknown field "unsigned"/],
    ['no signatures', without('signatures'), /missing signatures/],
    ['signatures not an object', { ...base, signatures: [] }, /signatures must be a JSON object/],
    ['a non-object signature entry', { ...base, signatures: { ...(base.signatures as object), [other.userId]: 'x' } }, /must be a JSON object/],
    ['a non-string signature', { ...base, signatures: { [user.userId]: { ed25519: 5 } } }, /must be a string/],
    ['no UPK signature at all', { ...base, signatures: { [device.deviceId]: (base.signatures as Record<string, unknown>)[device.deviceId] } }, /no ed25519 signature by the UPK/],
    ['no UDK signature at all', { ...base, signatures: { [user.userId]: (base.signatures as Record<string, unknown>)[user.userId] } }, /no ed25519 signature by the UDK/]
  ]
  for (const [name, input, reason] of malformed) {
    it(`says malformed for ${name}`, () => {
      const verdict = verifyAttestation(input, { now: T })
      expect(verdict.status).toBe('malformed')
      expect(verdict.status === 'malformed' && verdict.reason).toMatch(reason)
    })
  }

  it('says malformed when the UPK attests its own key as a device', () => {
    const sameKey = { upk: user.userId, udk: formatDeviceId(user.publicKey), issued_ts: T, signatures: {} }
    const verdict = verifyAttestation(sameKey, { now: T })
    expect(verdict).toMatchObject({ status: 'malformed', reason: expect.stringMatching(/different key/) })
  })

  it('refuses bad input when creating', () => {
    expect(() => createAttestation({ upkSeed, udkSeed: upkSeed, issuedTs: T })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY_MATERIAL' }))
    expect(() => createAttestation({ upkSeed: seed(1).subarray(1), udkSeed, issuedTs: T })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY_MATERIAL' }))
    expect(() => createAttestation({ upkSeed, udkSeed, issuedTs: T, expiresTs: T })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
    expect(() => createAttestation({ upkSeed, udkSeed, issuedTs: -5 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
    expect(() => createAttestation({ upkSeed, udkSeed, issuedTs: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
  })

  it('names keys by their text forms', () => {
    expect(formatUserId(publicKeyFromSeed(upkSeed))).toBe(att().upk)
  })
})
