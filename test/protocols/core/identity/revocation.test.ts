import { describe, expect, it } from 'vitest'
import { publicKeyFromSeed, verifySignature } from '../../../../protocols/core/crypto/index.js'
import { fromBase64 } from '../../../../protocols/core/encoding/base64.js'
import { canonicalJson, canonicalJsonBytes, parseJson } from '../../../../protocols/core/json/index.js'
import {
  createAttestation, createRevocation, deviceKeyPair, formatDeviceId, MAX_REVOCATION_REASON_LENGTH,
  revocationSignedBytes, userKeyPair, verifyAttestation, verifyRevocation
} from '../../../../protocols/core/identity/index.js'

const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n)
const upkSeed = seed(1)
const user = userKeyPair(upkSeed)
const device = deviceKeyPair(seed(2))
const other = userKeyPair(seed(3))
const T = 1_700_000_000_000

describe('revocations', () => {
  it('is signed by the UPK alone over canonical JSON of the body (golden bytes)', () => {
    const r = createRevocation({ upkSeed, udk: device.deviceId, revokedTs: T, reason: 'lost' })
    expect(Object.keys(r).sort()).toEqual(['reason', 'revoked_ts', 'signatures', 'udk', 'upk'])
    expect(Object.keys(r.signatures)).toEqual([user.userId])
    const body = { upk: r.upk, udk: r.udk, revoked_ts: T, reason: 'lost' }
    expect(revocationSignedBytes(body)).toEqual(canonicalJsonBytes(body))
    expect(verifySignature(publicKeyFromSeed(upkSeed), canonicalJsonBytes(body), fromBase64(r.signatures[r.upk]!.ed25519!))).toBe(true)
    expect(canonicalJson(r)).toBe('{"reason":"lost","revoked_ts":1700000000000,"signatures":{' +
      '"~AYqI4910CfGV_VLbLTy6XXLKZwm_HZQSG_N0iAG0D29c":{"ed25519":"MKBgCwhfb3gCKNE0hRFw1HPg6nMlUOwp0Wbd9doPuLDm3GL31t+pZCVLEDH/OSrzDOexeKEYg0O3AP7uU9u+DQ"}},' +
      '"udk":"^AYE5dw6ofRdfVqNUZsNMfszLjYqRtO43ol32D1uPybOU","upk":"~AYqI4910CfGV_VLbLTy6XXLKZwm_HZQSG_N0iAG0D29c"}')
    expect('reason' in createRevocation({ upkSeed, udk: device.deviceId, revokedTs: T })).toBe(false)
  })

  it('verifies as valid, also after a trip through JSON text', () => {
    const r = createRevocation({ upkSeed, udk: device.deviceId, revokedTs: T })
    const verdict = verifyRevocation(parseJson(canonicalJson(r)))
    expect(verdict.status).toBe('valid')
    if (verdict.status !== 'valid') return
    expect(verdict.revocation).toMatchObject({ upk: user.userId, udk: device.deviceId, revokedTs: T })
    expect(verdict.revocation.udkKey).toEqual(device.publicKey)
    expect(verdict.revocation.reason).toBeUndefined()
  })

  it('says bad-signature when the body was changed', () => {
    const r = createRevocation({ upkSeed, udk: device.deviceId, revokedTs: T, reason: 'lost' })
    expect(verifyRevocation({ ...r, revoked_ts: T + 1 })).toEqual({ status: 'bad-signature', signer: 'upk' })
    expect(verifyRevocation({ ...r, reason: 'stolen' })).toEqual({ status: 'bad-signature', signer: 'upk' })
    const { reason: _reason, ...noReason } = r
    expect(verifyRevocation(noReason)).toEqual({ status: 'bad-signature', signer: 'upk' })
  })

  it('says mismatched-keys when another UPK signed it', () => {
    const r = createRevocation({ upkSeed: seed(3), udk: device.deviceId, revokedTs: T })
    const verdict = verifyRevocation({ ...r, upk: user.userId })
    expect(verdict.status).toBe('mismatched-keys')
    expect(verdict.status === 'mismatched-keys' && verdict.reason).toContain(other.userId)
  })

  it('ignores a device counter-signature or other extra signatories', () => {
    const r = createRevocation({ upkSeed, udk: device.deviceId, revokedTs: T })
    const extra = { ...r, signatures: { ...r.signatures, [device.deviceId]: { ed25519: 'AAAA' }, [other.userId]: { ed25519: 'AAAA' } } }
    const verdict = verifyRevocation(extra)
    expect(verdict.status).toBe('valid')
    expect(verdict.status === 'valid' && Object.keys(verdict.revocation.json.signatures)).toEqual([user.userId])
  })

  it('keeps attestations and revocations apart (each parser refuses the other)', () => {
    const a = createAttestation({ upkSeed, udkSeed: seed(2), issuedTs: T })
    const r = createRevocation({ upkSeed, udk: device.deviceId, revokedTs: T })
    expect(verifyRevocation(a)).toMatchObject({ status: 'malformed', reason: expect.stringMatching(/unknown field "issued_ts"/) })
    expect(verifyAttestation(r, { now: T })).toMatchObject({ status: 'malformed', reason: expect.stringMatching(/unknown field/) })
  })

  const good = createRevocation({ upkSeed, udk: device.deviceId, revokedTs: T }) as unknown as Record<string, unknown>
  const malformed: Array<[string, unknown, RegExp]> = [
    ['undefined', undefined, /JSON object/],
    ['a missing revoked_ts', { ...good, revoked_ts: undefined }, /missing revoked_ts/],
    ['a float revoked_ts', { ...good, revoked_ts: 1.5 }, /revoked_ts must be an integer/],
    ['a non-string reason', { ...good, reason: 7 }, /reason must be a string/],
    ['an over-long reason', { ...good, reason: 'x'.repeat(MAX_REVOCATION_REASON_LENGTH + 1) }, /at most 512/],
    ['an unknown field', { ...good, note: 'x' }, /unknown field "note"/],
    ['a user ID as udk', { ...good, udk: other.userId }, /udk: invalid device ID/],
    ['no UPK signature', { ...good, signatures: {} }, /no ed25519 signature by the UPK/],
    ['the UPK as its own device', { ...good, udk: formatDeviceId(user.publicKey) }, /different key/]
  ]
  for (const [name, input, reason] of malformed) {
    it(`says malformed for ${name}`, () => {
      const verdict = verifyRevocation(input)
      expect(verdict.status).toBe('malformed')
      expect(verdict.status === 'malformed' && verdict.reason).toMatch(reason)
    })
  }

  it('refuses bad input when creating', () => {
    expect(() => createRevocation({ upkSeed, udk: user.userId, revokedTs: T })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY' }))
    expect(() => createRevocation({ upkSeed, udk: formatDeviceId(user.publicKey), revokedTs: T })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY_MATERIAL' }))
    expect(() => createRevocation({ upkSeed, udk: device.deviceId, revokedTs: -1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
    expect(() => createRevocation({ upkSeed, udk: device.deviceId, revokedTs: T, reason: 'x'.repeat(600) })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
  })
})
