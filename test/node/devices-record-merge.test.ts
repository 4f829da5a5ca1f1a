/**
 * Publishing the user's directory record (node/dht-directory.ts `publishUserRecord`): the merge
 * reads the DHT's newest record with the whole query (`quorum: 'all'`), and a record near its
 * bounds stays publishable — the statements that give way are those of long-expired devices first,
 * and what is signed always passes the validator.
 */
import { describe, expect, it } from 'vitest'
import { publishUserRecord } from '../../node/dht-directory.js'
import { createUserRecord, encodeUserRecord, MAX_RECORD_BYTES, parseUserRecord } from '../../protocols/identity-dht/index.js'
import { attest, DAY, NOW, revoke, seed, user } from '../protocols/identity-dht/fixtures.js'
import type { IdentityDirectory, LookupOptions, UserDevices, UserRecord, UserRecordJson } from '../../protocols/identity-dht/index.js'

const alice = user(1)

/** A directory that holds one record for alice and keeps what is published. */
function fakeDirectory (held: UserRecordJson | undefined): { directory: Pick<IdentityDirectory, 'lookup' | 'publish'>, lookups: LookupOptions[], published: Uint8Array[] } {
  const lookups: LookupOptions[] = []
  const published: Uint8Array[] = []
  const parse = (bytes: Uint8Array): UserRecord => {
    const verdict = parseUserRecord(bytes)
    if (!verdict.ok) throw new Error(`invalid record (${verdict.status}): ${verdict.reason}`)
    return verdict.record
  }
  const record = held === undefined ? undefined : parse(encodeUserRecord(held))
  return {
    lookups,
    published,
    directory: {
      lookup: async (_upk, options = {}) => {
        lookups.push(options)
        return record === undefined ? undefined : { upk: record.upk, seq: record.seq, record } as unknown as UserDevices
      },
      publish: async (value) => {
        const bytes = value instanceof Uint8Array ? value : encodeUserRecord(value)
        published.push(bytes)
        return { seq: parse(bytes).seq, stored: 1, failed: 0 }
      }
    }
  }
}

/** Revocations of devices 100.., the first revoked earliest. */
const revocations = (count: number): ReturnType<typeof revoke>[] => Array.from({ length: count }, (_, i) => revoke(1, 100 + i, NOW - (count - i) * 60_000))

describe('publishUserRecord', () => {
  it('reads the newest record with the whole query before signing its successor', async () => {
    const { directory, lookups, published } = fakeDirectory(createUserRecord({ upkSeed: alice.seed, seq: 4, devices: [attest(1, 11)] }))
    const result = await publishUserRecord(directory, { userId: alice.upk, upkSeed: seed(1), attestations: [attest(1, 12)], revocations: [], now: NOW })
    expect(lookups).toEqual([expect.objectContaining({ maxAge: 0, quorum: 'all' })])
    expect(result.seq).toBe(5)
    expect(parseUserRecord(published[0]!)).toMatchObject({ ok: true, record: { seq: 5 } })
  })

  it('a record near the byte bound takes a new revocation: the long-expired device\'s revocation gives way first, then the oldest', async () => {
    const held = revocations(50)
    const heldRecord = createUserRecord({ upkSeed: alice.seed, seq: 9, devices: [attest(1, 11)], revocations: held })
    // Fits now; with one more device and two more revocations it would not (≈ 448 + 2 × 301 bytes).
    expect(encodeUserRecord(heldRecord).length).toBeGreaterThan(MAX_RECORD_BYTES - 1000)
    const { directory, published } = fakeDirectory(heldRecord)
    // Device 130 (revoked, mid-list) had an attestation that lapsed 60 days ago.
    const lapsed = attest(1, 130, { issuedTs: NOW - 120 * DAY, expiresTs: NOW - 60 * DAY })
    const fresh = [revoke(1, 200, NOW), revoke(1, 201, NOW)]
    const result = await publishUserRecord(directory, {
      userId: alice.upk, upkSeed: seed(1), attestations: [attest(1, 12)], revocations: fresh, knownAttestations: [lapsed], now: NOW
    })
    expect(result.seq).toBe(10)
    const bytes = published[0]!
    expect(bytes.length).toBeLessThanOrEqual(MAX_RECORD_BYTES)
    const verdict = parseUserRecord(bytes)
    if (!verdict.ok) throw new Error(verdict.reason)
    const kept = new Set(verdict.record.revocations.map(r => r.udk))
    expect(kept.has(fresh[0]!.udk) && kept.has(fresh[1]!.udk)).toBe(true)
    expect(kept.has(held[30]!.udk)).toBe(false)
    expect(verdict.record.devices.map(d => d.udk).sort()).toEqual([attest(1, 11).udk, attest(1, 12).udk].sort())
    // Whatever else gave way was the oldest: every kept old revocation is newer than every dropped one.
    const droppedOld = held.filter((r, i) => i !== 30 && !kept.has(r.udk))
    expect(droppedOld.length).toBeGreaterThan(0)
    const keptOld = held.filter(r => kept.has(r.udk))
    expect(Math.max(...droppedOld.map(r => r.revoked_ts))).toBeLessThan(Math.min(...keptOld.map(r => r.revoked_ts)))
  })

  it('never signs more than 64 revocations, however many it is given', async () => {
    const { directory, published } = fakeDirectory(undefined)
    await publishUserRecord(directory, { userId: alice.upk, upkSeed: seed(1), attestations: [], revocations: revocations(70), now: NOW })
    const verdict = parseUserRecord(published[0]!)
    expect(verdict.ok).toBe(true)
    if (verdict.ok) expect(verdict.record.revocations.length).toBeLessThanOrEqual(64)
  })
})
