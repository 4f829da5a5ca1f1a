/**
 * Record hygiene (fit.ts): what a user record keeps at its bounds — 64 revocations, 32 devices,
 * 16 KiB — and in which order statements give way: revocations of long-expired devices first,
 * then expired attestations, then the oldest revocations, then the oldest attestations.
 */
import { describe, expect, it } from 'vitest'
import { verifyAttestation, verifyRevocation } from '../../../protocols/core/index.js'
import {
  createUserRecord, encodeUserRecord, fitUserRecord, MAX_DEVICES, MAX_RECORD_BYTES, MAX_REVOCATIONS, parseUserRecord,
  REVOCATION_EXPIRY_GRACE_MS, userRecordSize
} from '../../../protocols/identity-dht/index.js'
import { attest, DAY, deviceId, NOW, revoke, user } from './fixtures.js'
import type { Attestation, AttestationJson, Revocation, RevocationJson } from '../../../protocols/core/index.js'
import type { FitUserRecordInput } from '../../../protocols/identity-dht/index.js'

const alice = user(1)

function att (json: AttestationJson): Attestation {
  const verdict = verifyAttestation(json, { now: 0 })
  if (verdict.status !== 'valid' && verdict.status !== 'expired') throw new Error(`fixture attestation: ${verdict.status}`)
  return verdict.attestation
}
function rev (json: RevocationJson): Revocation {
  const verdict = verifyRevocation(json)
  if (verdict.status !== 'valid') throw new Error(`fixture revocation: ${verdict.status}`)
  return verdict.revocation
}

/** Revocations of devices 100.. by alice, revoked at NOW − (count − i) min (the first is the oldest). */
const revocations = (count: number, from = 100): Revocation[] =>
  Array.from({ length: count }, (_, i) => rev(revoke(1, from + i, NOW - (count - i) * 60_000)))

const fit = (input: Partial<FitUserRecordInput>): ReturnType<typeof fitUserRecord> =>
  fitUserRecord({ upk: alice.upk, seq: 1, devices: [], revocations: [], now: NOW, ...input })

describe('userRecordSize', () => {
  it('is the exact length of the signed record', () => {
    const cases: Array<[AttestationJson[], RevocationJson[]]> = [
      [[], []],
      [[attest(1, 11)], []],
      [[attest(1, 11), attest(1, 12, { issuedTs: NOW - DAY, expiresTs: NOW + DAY })], [revoke(1, 13), revoke(1, 14, NOW, 'stolen — «é»')]]
    ]
    for (const [devices, revs] of cases) {
      for (const seq of [1, 12345]) {
        expect(userRecordSize(alice.upk, seq, devices, revs)).toBe(encodeUserRecord(createUserRecord({ upkSeed: alice.seed, seq, devices, revocations: revs })).length)
      }
    }
  })
})

describe('the revocation count bound (bytes aside)', () => {
  it('keeps exactly MAX_REVOCATIONS: 64 pass untouched, of 65 the oldest gives way', () => {
    const all = revocations(MAX_REVOCATIONS + 1)
    expect(fit({ revocations: all.slice(1), maxBytes: Infinity })).toMatchObject({ droppedRevocations: [] })
    const fitted = fit({ revocations: all, maxBytes: Infinity })
    expect(fitted.revocations).toHaveLength(MAX_REVOCATIONS)
    expect(fitted.droppedRevocations).toEqual([all[0]!.udk])
  })

  it('a long-expired device\'s revocation gives way first, even when it is the newest', () => {
    const all = revocations(MAX_REVOCATIONS + 1)
    const newest = all[all.length - 1]!
    const expiredLongAgo = att(attest(1, 100 + MAX_REVOCATIONS, { issuedTs: NOW - 90 * DAY, expiresTs: NOW - REVOCATION_EXPIRY_GRACE_MS }))
    expect(expiredLongAgo.udk).toBe(newest.udk)
    const fitted = fit({ revocations: all, knownAttestations: [expiredLongAgo], maxBytes: Infinity })
    expect(fitted.droppedRevocations).toEqual([newest.udk])
    expect(fitted.revocations.map(r => r.udk)).toContain(all[0]!.udk)
  })

  it('recently expired (within the grace), never expiring or unknown devices are not long-expired', () => {
    const all = revocations(MAX_REVOCATIONS + 1)
    const last = all.length - 1
    const known = [
      // Expired, but less than the grace ago.
      att(attest(1, 100 + last, { issuedTs: NOW - 90 * DAY, expiresTs: NOW - REVOCATION_EXPIRY_GRACE_MS + 1 })),
      // Two attestations of one device, one without expiry: the device never lapses.
      att(attest(1, 100 + last - 1, { issuedTs: NOW - 90 * DAY, expiresTs: NOW - 60 * DAY })),
      att(attest(1, 100 + last - 1, { issuedTs: NOW - 80 * DAY }))
    ]
    expect(fit({ revocations: all, knownAttestations: known, maxBytes: Infinity }).droppedRevocations).toEqual([all[0]!.udk])
  })

  it('long-expired revocations go in order of expiry, then device ID', () => {
    const all = revocations(MAX_REVOCATIONS + 3)
    const expiring = (i: number, expiresTs: number): Attestation => att(attest(1, 100 + i, { issuedTs: NOW - 400 * DAY, expiresTs }))
    const known = [expiring(10, NOW - 200 * DAY), expiring(20, NOW - 300 * DAY), expiring(30, NOW - 200 * DAY), expiring(40, NOW - 100 * DAY)]
    const tied = [all[10]!.udk, all[30]!.udk].sort((a, b) => (a < b ? -1 : 1))
    expect(fit({ revocations: all, knownAttestations: known, maxBytes: Infinity }).droppedRevocations).toEqual([all[20]!.udk, ...tied])
  })

  it('the result does not depend on the order of the inputs', () => {
    const all = revocations(MAX_REVOCATIONS + 5)
    const known = [att(attest(1, 103, { issuedTs: NOW - 90 * DAY, expiresTs: NOW - 30 * DAY }))]
    const a = fit({ revocations: all, knownAttestations: known, maxBytes: Infinity })
    const b = fit({ revocations: [...all].reverse(), knownAttestations: known, maxBytes: Infinity })
    expect(b).toEqual(a)
  })
})

describe('the byte bound (what a publisher meets first)', () => {
  it('64 reason-less revocations do not fit in 16 KiB: the oldest give way until the signed record passes the validator', () => {
    const all = revocations(MAX_REVOCATIONS)
    expect(userRecordSize(alice.upk, 1, [], all.map(r => r.json))).toBeGreaterThan(MAX_RECORD_BYTES)
    const fitted = fit({ revocations: all })
    const bytes = encodeUserRecord(createUserRecord({ upkSeed: alice.seed, seq: 1, devices: fitted.devices, revocations: fitted.revocations }))
    expect(bytes.length).toBeLessThanOrEqual(MAX_RECORD_BYTES)
    expect(parseUserRecord(bytes).ok).toBe(true)
    // Tight: one more revocation would not fit; the dropped ones are the oldest.
    const n = fitted.revocations.length
    expect(userRecordSize(alice.upk, 1, [], all.slice(MAX_REVOCATIONS - n - 1).map(r => r.json))).toBeGreaterThan(MAX_RECORD_BYTES)
    expect(fitted.droppedRevocations).toEqual(all.slice(0, MAX_REVOCATIONS - n).map(r => r.udk))
  })

  it('32 devices and many revocations: long-expired revocations, then expired attestations, then old revocations give way; usable devices stay', () => {
    const live = Array.from({ length: MAX_DEVICES - 2 }, (_, i) => att(attest(1, 10 + i, { issuedTs: NOW - DAY + i })))
    const expired = [att(attest(1, 60, { issuedTs: NOW - 10 * DAY, expiresTs: NOW - DAY })), att(attest(1, 61, { issuedTs: NOW - 10 * DAY, expiresTs: NOW - 2 * DAY }))]
    const all = revocations(20)
    const longGone = att(attest(1, 100 + 19, { issuedTs: NOW - 90 * DAY, expiresTs: NOW - 60 * DAY }))
    const fitted = fit({ devices: [...live, ...expired], revocations: all, knownAttestations: [longGone] })
    expect(fitted.droppedRevocations[0]).toBe(all[19]!.udk)
    expect(fitted.droppedDevices).toEqual([deviceId(61), deviceId(60)])
    expect(fitted.droppedRevocations.slice(1)).toEqual(all.slice(0, fitted.droppedRevocations.length - 1).map(r => r.udk))
    expect(fitted.devices.map(d => d.udk).sort()).toEqual(live.map(d => d.udk).sort())
    expect(fitted.revocations.length).toBeGreaterThan(0)
    const bytes = encodeUserRecord(createUserRecord({ upkSeed: alice.seed, seq: 1, devices: fitted.devices, revocations: fitted.revocations }))
    expect(bytes.length).toBeLessThanOrEqual(MAX_RECORD_BYTES)
    expect(parseUserRecord(bytes).ok).toBe(true)
  })

  it('long reasons take more room: revocations with 512-character reasons still end in a valid record', () => {
    const all = Array.from({ length: 30 }, (_, i) => rev(revoke(1, 100 + i, NOW - (30 - i) * 60_000, 'é'.repeat(512))))
    const fitted = fit({ devices: [att(attest(1, 11))], revocations: all })
    expect(fitted.devices).toHaveLength(1)
    const bytes = encodeUserRecord(createUserRecord({ upkSeed: alice.seed, seq: 1, devices: fitted.devices, revocations: fitted.revocations }))
    expect(bytes.length).toBeLessThanOrEqual(MAX_RECORD_BYTES)
    expect(fitted.revocations.length).toBeLessThan(30)
  })
})
