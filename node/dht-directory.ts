/**
 * The identity directory (the DHT, `protocols/identity-dht/`) behind the node's
 * {@link DeviceDirectory} port, and the publishing of the node's own user record.
 */
import { canonicalJson, compareCodePoints, verifyAttestation, verifyRevocation } from '../protocols/core/index.js'
import { createUserRecord, fitUserRecord } from '../protocols/identity-dht/index.js'
import { newerAttestation } from './device-book.js'
import type { DeviceDirectory, DirectoryDevice } from './peer-directory.js'
import type { Attestation, AttestationJson, Revocation, RevocationJson } from '../protocols/core/index.js'
import type { IdentityDirectory, UserRecord } from '../protocols/identity-dht/index.js'
import type { AbortOptions } from '@libp2p/interface'

/** A user's devices as the DHT record lists them: attested ones, with their expiry and revocation. */
export function dhtDeviceDirectory (directory: Pick<IdentityDirectory, 'lookup'>): DeviceDirectory {
  return {
    async devicesOf (userId: string, options: AbortOptions = {}): Promise<DirectoryDevice[]> {
      const found = await directory.lookup(userId, { ...options, addresses: false })
      if (found === undefined) return []
      const attestations = new Map(found.record.devices.map(a => [a.udk, a.json]))
      const out: DirectoryDevice[] = []
      for (const device of found.devices) {
        if (!device.attested) continue
        const entry: DirectoryDevice = { deviceId: device.deviceId, revoked: device.revoked }
        const attestation = attestations.get(device.deviceId)
        if (attestation !== undefined) entry.attestation = attestation
        if (device.expiresTs !== undefined) entry.expiresTs = device.expiresTs
        out.push(entry)
      }
      return out
    }
  }
}

/**
 * Publishes the user's record with this device in it: the newest record the DHT has for the user
 * (so the user's other devices and revocations are kept), plus this device's attestation, under the
 * next `seq`. Needs the UPK seed (a device that does not keep it cannot sign the record). When the
 * DHT already lists this very attestation, nothing new is signed: the directory re-publishes what it
 * has. Returns the `seq` published, or `undefined` when nothing was needed.
 */
export async function publishOwnDevice (
  directory: Pick<IdentityDirectory, 'lookup' | 'publish'>,
  own: { userId: string, upkSeed: Uint8Array, attestation: AttestationJson },
  options: AbortOptions = {}
): Promise<number | undefined> {
  return (await publishUserRecord(directory, { userId: own.userId, upkSeed: own.upkSeed, attestations: [own.attestation], revocations: [] }, options)).seq
}

/** What {@link publishUserRecord} did. */
export interface PublishedRecord {
  /** The `seq` signed and published, or `undefined` when the DHT's record already said it all (re-published as is). */
  seq: number | undefined
  /** The newest record the DHT had before, if any (its revocations and attestations are worth knowing). */
  found?: UserRecord
}

/** What {@link publishUserRecord} merges into the user's record. */
export interface UserRecordChange {
  userId: string
  upkSeed: Uint8Array
  /** Attestations to list (each replaces an older attestation of its device). */
  attestations: readonly AttestationJson[]
  /** Revocations to add. */
  revocations: readonly RevocationJson[]
  /**
   * Other attestations known of the user's devices (e.g. the device book's `ownAttestations()`),
   * used only to learn when revoked devices expired, so their revocations give way first when the
   * record must shrink (`fitUserRecord`). Never listed in the record.
   */
  knownAttestations?: readonly AttestationJson[]
  /** The time, ms since the epoch (default `Date.now()`): what counts as expired. */
  now?: number
}

/**
 * Publishes the user's record with `attestations` in it (each replacing an older attestation of
 * its device) and `revocations` added, merged into the newest record the DHT has for the user (so
 * nothing another device published is lost), under the next `seq`. Revoked devices are dropped from
 * `devices`; a revocation stays (its earliest `revoked_ts`) until the record must shrink. When the
 * merge changes nothing, the DHT's record is re-published as it is. Over the record's bounds
 * (32 attestations, 64 revocations, 16 KiB — the byte bound comes first), statements give way in
 * `fitUserRecord`'s order: revocations of long-expired devices, expired attestations, the oldest
 * revocations, the oldest attestations — so the signed record always passes the validator.
 */
export async function publishUserRecord (
  directory: Pick<IdentityDirectory, 'lookup' | 'publish'>,
  change: UserRecordChange,
  options: AbortOptions = {}
): Promise<PublishedRecord> {
  // Read-modify-write: the successor's `seq` must be above every copy the DHT holds, so this reads
  // the whole query's answer (`quorum: 'all'`), not the default first-holders' answer.
  const found = await directory.lookup(change.userId, { ...options, maxAge: 0, addresses: false, quorum: 'all' })
  const record = found?.record
  const revocations = new Map<string, Revocation>()
  for (const revocation of record?.revocations ?? []) revocations.set(revocation.udk, revocation)
  for (const json of change.revocations) {
    const verdict = verifyRevocation(json)
    if (verdict.status !== 'valid' || verdict.revocation.upk !== change.userId) continue
    const known = revocations.get(verdict.revocation.udk)
    if (known === undefined || verdict.revocation.revokedTs < known.revokedTs) revocations.set(verdict.revocation.udk, verdict.revocation)
  }
  const devices = new Map<string, Attestation>()
  for (const attestation of record?.devices ?? []) devices.set(attestation.udk, attestation)
  for (const json of change.attestations) {
    const verdict = verifyAttestation(json, { now: 0 })
    if ((verdict.status !== 'valid' && verdict.status !== 'expired') || verdict.attestation.upk !== change.userId) continue
    const known = devices.get(verdict.attestation.udk)
    if (known === undefined || newerAttestation(verdict.attestation, known)) devices.set(verdict.attestation.udk, verdict.attestation)
  }
  // Every attestation seen, including those of revoked devices: they tell when a device expired.
  const known: Attestation[] = [...devices.values()]
  for (const json of change.knownAttestations ?? []) {
    const verdict = verifyAttestation(json, { now: 0 })
    if ((verdict.status === 'valid' || verdict.status === 'expired') && verdict.attestation.upk === change.userId) known.push(verdict.attestation)
  }
  for (const udk of revocations.keys()) devices.delete(udk)

  const seq = (found?.seq ?? 0) + 1
  const fitted = fitUserRecord({
    upk: change.userId,
    seq,
    devices: [...devices.values()],
    revocations: [...revocations.values()],
    knownAttestations: known,
    now: change.now ?? Date.now()
  })
  const keptDevices = fitted.devices
  const keptRevocations = fitted.revocations
  const result: PublishedRecord = { seq: undefined }
  if (record !== undefined) result.found = record
  if (record !== undefined && sameStatements(record.devices.map(a => a.json), keptDevices) && sameStatements(record.revocations.map(r => r.json), keptRevocations)) {
    // Already there: keep it alive from this device too.
    await directory.publish(record.bytes, options)
    return result
  }
  await directory.publish(createUserRecord({ upkSeed: change.upkSeed, seq, devices: keptDevices, revocations: keptRevocations }), options)
  result.seq = seq
  return result
}

/** Same statements, in any order (compared as canonical JSON, sorted by code points). */
function sameStatements (a: readonly object[], b: readonly object[]): boolean {
  if (a.length !== b.length) return false
  const text = (list: readonly object[]): string[] => list.map(s => canonicalJson(s)).sort(compareCodePoints)
  const x = text(a)
  const y = text(b)
  return x.every((s, i) => s === y[i])
}
