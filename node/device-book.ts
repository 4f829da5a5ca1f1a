/**
 * What a node knows of devices beyond the connected ones: revocations (any user's — a revoked
 * device is refused at the connection, by sync and by gossip) and the attestations of its own
 * user's devices (what renewal and `devices()` work from).
 *
 * Everything entered is a verified statement: a revocation signed by its UPK, an attestation signed
 * by its UPK and counter-signed by its device. Where a statement came from (a room's state, the DHT,
 * a link, the hello exchange) does not matter: a UPK's signature is valid anywhere. Of several
 * attestations of one device the newest (`issued_ts`, then the later expiry) is kept.
 */
import { ContentField, RoomEventType, verifyAttestation, verifyRevocation } from '../protocols/core/index.js'
import type { Attestation, Revocation, RevocationJson, RoomEvent } from '../protocols/core/index.js'

/** A revoked device as the book keeps it. */
export interface RevokedDevice {
  userId: string
  revokedTs: number
  revocation: RevocationJson
}

/** True when attestation `a` supersedes `b` (newer issue; for equal issue, the later or absent expiry). */
export function newerAttestation (a: Attestation, b: Attestation): boolean {
  if (a.issuedTs !== b.issuedTs) return a.issuedTs > b.issuedTs
  if (a.expiresTs === b.expiresTs) return false
  return a.expiresTs === undefined || (b.expiresTs !== undefined && a.expiresTs > b.expiresTs)
}

/** The device book of one node. */
export class DeviceBook {
  readonly #userId: string
  readonly #revoked = new Map<string, RevokedDevice>()
  readonly #own = new Map<string, Attestation>()
  /** Called when a revocation is learnt for the first time. */
  onRevoked: ((deviceId: string, revoked: RevokedDevice) => void) | undefined

  constructor (userId: string) {
    this.#userId = userId
  }

  /** Whether a device was revoked by its user (as far as this node knows). */
  isRevoked (deviceId: string | undefined): boolean {
    return deviceId !== undefined && this.#revoked.has(deviceId)
  }

  revoked (deviceId: string): RevokedDevice | undefined {
    return this.#revoked.get(deviceId)
  }

  /** Every revocation known of `userId`'s devices. */
  revocationsOf (userId: string): RevocationJson[] {
    return [...this.#revoked.values()].filter(r => r.userId === userId).map(r => r.revocation)
  }

  /** Enters a revocation if it verifies; true when it is valid. */
  noteRevocation (value: unknown): boolean {
    const verdict = verifyRevocation(value)
    if (verdict.status !== 'valid') return false
    const { revocation } = verdict
    this.#enterRevocation(revocation)
    return true
  }

  #enterRevocation (revocation: Revocation): void {
    const known = this.#revoked.get(revocation.udk)
    // The earliest revoked_ts is what counts: a revocation is final.
    if (known !== undefined && known.revokedTs <= revocation.revokedTs) return
    const entry: RevokedDevice = { userId: revocation.upk, revokedTs: revocation.revokedTs, revocation: revocation.json }
    this.#revoked.set(revocation.udk, entry)
    if (known === undefined) this.onRevoked?.(revocation.udk, entry)
  }

  /** Enters an attestation of one of the own user's devices if it verifies (expired ones too); true when it is the newest known. */
  noteAttestation (value: unknown): boolean {
    const verdict = verifyAttestation(value, { now: 0 })
    if (verdict.status !== 'valid' && verdict.status !== 'expired') return false
    const { attestation } = verdict
    if (attestation.upk !== this.#userId) return false
    const known = this.#own.get(attestation.udk)
    if (known !== undefined && !newerAttestation(attestation, known)) return false
    this.#own.set(attestation.udk, attestation)
    return true
  }

  /** The newest attestation known of each of the own user's devices. */
  ownAttestations (): Attestation[] {
    return [...this.#own.values()]
  }

  ownAttestation (deviceId: string): Attestation | undefined {
    return this.#own.get(deviceId)
  }

  /**
   * Takes what a room event says about devices: a `keyroom.device` record (attestation and/or
   * revocation), or a member event's `sender_key` (the attestation of the device that signed it).
   * True when it taught the book something (a valid revocation, a newer attestation of the user's).
   */
  noteEvent (event: RoomEvent): boolean {
    if (event.type === RoomEventType.Device) {
      const content = event.content
      let learnt = false
      if (content[ContentField.Revocation] !== undefined) learnt = this.noteRevocation(content[ContentField.Revocation])
      if (event.sender === this.#userId && content[ContentField.Attestation] !== undefined) learnt = this.noteAttestation(content[ContentField.Attestation]) || learnt
      return learnt
    }
    if (event.type === RoomEventType.Member && event.sender === this.#userId && event.content.sender_key !== undefined) {
      return this.noteAttestation(event.content.sender_key)
    }
    return false
  }
}
