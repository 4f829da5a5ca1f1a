/**
 * Record hygiene: choosing which attestations and revocations a user record keeps so that it passes
 * {@link parseUserRecord}'s bounds — at most {@link MAX_DEVICES} attestations, at most
 * {@link MAX_REVOCATIONS} revocations, and at most {@link MAX_RECORD_BYTES} bytes in all — giving way
 * in an order that loses the least. Pure: the time comes in as `now`.
 *
 * The byte bound binds long before the revocation count does: a revocation is ≈ 300 bytes without a
 * reason (up to ≈ 1.8 KiB with a 512-character one) and an attestation ≈ 450–480, so 16 KiB holds at
 * most ≈ 53 reason-less revocations and no devices, or 32 devices and 2–3 revocations. A merge that
 * only counted would sign a record every node refuses (`too-large`), and keep failing to publish.
 *
 * Order of giving way (first dropped first; ties by device ID in code-point order, so every
 * publisher of the same inputs keeps the same statements):
 * 1. revocations of **long-expired** devices: every attestation known of the device carries an
 *    `expires_ts` at least {@link REVOCATION_EXPIRY_GRACE_MS} before `now` — the device is refused
 *    for its expiry alone, so the revocation adds nothing a reader of the directory needs (rooms
 *    keep their own copy in room state). Earliest expiry first. A device whose expiry is unknown
 *    (no attestation known) or absent never counts as expired;
 * 2. **expired attestations** (`now ≥ expires_ts`): not usable; earliest expiry first;
 * 3. other revocations, earliest `revoked_ts` first;
 * 4. other attestations, oldest `issued_ts` first.
 * The count bounds take each kind in its own order (1 then 3 for revocations, 2 then 4 for
 * attestations); the byte bound then takes from the four groups in the order above. Revocations
 * (3) give way before usable devices (4) because the record is first of all where to send now,
 * while a revocation also travels as a room state event and is kept in every node's device book.
 */
import { canonicalJsonBytes, compareCodePoints } from '../core/index.js'
import { MAX_DEVICES, MAX_RECORD_BYTES, MAX_REVOCATIONS, REVOCATION_EXPIRY_GRACE_MS } from './constants.js'
import type { Attestation, AttestationJson, DeviceId, Revocation, RevocationJson, UserId } from '../core/index.js'

/** What {@link fitUserRecord} chooses from. */
export interface FitUserRecordInput {
  upk: UserId
  /** The `seq` the record will carry (its digits count towards the size). */
  seq: number
  /** Candidate attestations, one per device (verified, by `upk`). */
  devices: readonly Attestation[]
  /** Candidate revocations, one per device (verified, by `upk`). */
  revocations: readonly Revocation[]
  /**
   * Further attestations known of the user's devices — typically of revoked devices, whose
   * attestations a record no longer lists — used only to learn when a revoked device expired.
   */
  knownAttestations?: readonly Attestation[]
  /** The time, ms since the epoch. */
  now: number
  /** Bounds (default the validator's); tests and callers with a margin pass smaller ones. */
  maxDevices?: number
  maxRevocations?: number
  maxBytes?: number
}

/** What {@link fitUserRecord} kept and dropped. */
export interface FitUserRecordResult {
  devices: AttestationJson[]
  revocations: RevocationJson[]
  /** Device IDs whose attestation was dropped, in the order they gave way. */
  droppedDevices: DeviceId[]
  /** Device IDs whose revocation was dropped, in the order they gave way. */
  droppedRevocations: DeviceId[]
}

/** Length of an ed25519 signature in unpadded base64: 64 bytes → 86 characters. */
const SIGNATURE_CHARS = 86

interface Item<T> { udk: DeviceId, json: T, bytes: number }

/**
 * Size in bytes of the signed record with these statements. Exact: canonical JSON of the body plus
 * a placeholder signature of the real length (the UPK's signature is always 86 characters).
 */
export function userRecordSize (upk: UserId, seq: number, devices: readonly object[], revocations: readonly object[]): number {
  return canonicalJsonBytes({ upk, seq, devices, revocations, signatures: { [upk]: { ed25519: 'A'.repeat(SIGNATURE_CHARS) } } }).length
}

/** Keeps what fits (see the file header for the order of giving way). */
export function fitUserRecord (input: FitUserRecordInput): FitUserRecordResult {
  const maxDevices = input.maxDevices ?? MAX_DEVICES
  const maxRevocations = input.maxRevocations ?? MAX_REVOCATIONS
  const maxBytes = input.maxBytes ?? MAX_RECORD_BYTES
  const { now } = input

  // When each device stops being accepted for its expiry alone: the latest expiry among its known
  // attestations, or Infinity when any of them has none (or none is known).
  const expiry = new Map<DeviceId, number>()
  for (const a of [...input.devices, ...(input.knownAttestations ?? [])]) {
    const until = a.expiresTs ?? Infinity
    expiry.set(a.udk, Math.max(expiry.get(a.udk) ?? -Infinity, until))
  }
  const expiryOf = (udk: DeviceId): number => expiry.get(udk) ?? Infinity

  const byDevice = (a: { udk: DeviceId }, b: { udk: DeviceId }): number => compareCodePoints(a.udk, b.udk)
  const item = <T extends object>(udk: DeviceId, json: T): Item<T> => ({ udk, json, bytes: canonicalJsonBytes(json).length })

  // The four groups, each in its own give-way order (first element gives way first).
  const longExpired = input.revocations
    .filter(r => expiryOf(r.udk) + REVOCATION_EXPIRY_GRACE_MS <= now)
    .sort((a, b) => (expiryOf(a.udk) - expiryOf(b.udk)) || byDevice(a, b))
    .map(r => item(r.udk, r.json))
  const longExpiredIds = new Set(longExpired.map(r => r.udk))
  const otherRevocations = input.revocations
    .filter(r => !longExpiredIds.has(r.udk))
    .sort((a, b) => (a.revokedTs - b.revokedTs) || byDevice(a, b))
    .map(r => item(r.udk, r.json))
  const expiredDevices = input.devices
    .filter(a => a.expiresTs !== undefined && now >= a.expiresTs)
    .sort((a, b) => (a.expiresTs! - b.expiresTs!) || byDevice(a, b))
    .map(a => item(a.udk, a.json))
  const expiredIds = new Set(expiredDevices.map(a => a.udk))
  const otherDevices = input.devices
    .filter(a => !expiredIds.has(a.udk))
    .sort((a, b) => (a.issuedTs - b.issuedTs) || byDevice(a, b))
    .map(a => item(a.udk, a.json))

  const droppedDevices: DeviceId[] = []
  const droppedRevocations: DeviceId[] = []
  const revocationGroups = [longExpired, otherRevocations]
  const deviceGroups = [expiredDevices, otherDevices]
  const count = (groups: Array<Array<Item<object>>>): number => groups.reduce((n, g) => n + g.length, 0)
  /** Drop the first item of the first non-empty group; false when all are empty. */
  const dropFrom = (groups: Array<Array<Item<object>>>, into: DeviceId[]): boolean => {
    for (const group of groups) {
      const dropped = group.shift()
      if (dropped !== undefined) {
        into.push(dropped.udk)
        return true
      }
    }
    return false
  }

  while (count(revocationGroups) > maxRevocations) dropFrom(revocationGroups, droppedRevocations)
  while (count(deviceGroups) > maxDevices) dropFrom(deviceGroups, droppedDevices)

  // Bytes: the exact size is the empty record's plus each statement's bytes plus one comma between
  // neighbours in an array.
  const base = userRecordSize(input.upk, input.seq, [], [])
  const size = (): number => {
    let total = base
    for (const groups of [revocationGroups, deviceGroups]) {
      let n = 0
      for (const group of groups) for (const s of group) { total += s.bytes; n++ }
      if (n > 1) total += n - 1
    }
    return total
  }
  const byteOrder: Array<[Array<Item<object>>, DeviceId[]]> = [
    [longExpired, droppedRevocations], [expiredDevices, droppedDevices], [otherRevocations, droppedRevocations], [otherDevices, droppedDevices]
  ]
  while (size() > maxBytes) {
    const next = byteOrder.find(([group]) => group.length > 0)
    if (next === undefined) break
    next[1].push(next[0].shift()!.udk)
  }

  return {
    devices: [...expiredDevices, ...otherDevices].sort(byDevice).map(a => a.json as AttestationJson),
    revocations: [...longExpired, ...otherRevocations].sort(byDevice).map(r => r.json as RevocationJson),
    droppedDevices,
    droppedRevocations
  }
}
