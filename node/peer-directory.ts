/**
 * Which user is behind a device: the node's map of UDK → UPK, learnt from the hello exchange.
 *
 * A connection authenticates a device key (PeerId = UDK); the hello statement is that device's
 * attestation by its user. It counts only when it verifies and names the very UDK the connection
 * proved, so no peer can claim another user — and since attestations are public (they travel in
 * room events), replaying someone else's is useless without their device key.
 *
 * {@link DeviceDirectory} is the port for the wider identity directory (the Kademlia DHT keyed by
 * UPK, `protocols/identity-dht/`): it answers the same question for devices that are not connected.
 */
import { formatDeviceId, verifyAttestation } from '../protocols/core/index.js'
import { deviceKeyOfPeer } from './libp2p.js'
import type { AttestationJson } from '../protocols/core/index.js'
import type { Hello } from '../protocols/hello/index.js'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'

/** A device of a user, as a directory knows it. */
export interface DirectoryDevice {
  /** The device ID (`^…`, its UDK). */
  deviceId: string
  /** The attestation by the user (verified), when the source keeps it. */
  attestation?: AttestationJson
  /** When the attestation expires, if it does (ms since the epoch). */
  expiresTs?: number
  /** Revoked by the user. */
  revoked: boolean
}

/**
 * The identity directory port: a user's devices, wherever they are. The DHT directory implements
 * it (lookups of `/keyroom/upk/<key>` records); so does the hello-based {@link PeerDirectory}, for
 * connected devices only.
 */
export interface DeviceDirectory {
  devicesOf(userId: string, options?: AbortOptions): Promise<DirectoryDevice[]>
}

/** The device ID (`^…`) of a peer, or `undefined` for a peer that is not an ed25519 device. */
export function deviceIdOfPeer (peer: PeerId): string | undefined {
  const key = deviceKeyOfPeer(peer)
  return key === undefined ? undefined : formatDeviceId(key)
}

interface Known {
  userId: string
  attestation: AttestationJson
  expiresTs?: number
  peer: PeerId
}

/** UDK → UPK of the devices met, by hello. */
export class PeerDirectory implements DeviceDirectory {
  readonly #hello: () => Hello | undefined
  readonly #log: Logger
  readonly #now: () => number
  readonly #byDevice = new Map<string, Known>()
  readonly #asking = new Map<string, Promise<string | undefined>>()
  readonly #isRevoked: (deviceId: string) => boolean

  /**
   * @param isRevoked - devices whose user revoked them: their hello never counts (default: none).
   */
  constructor (hello: () => Hello | undefined, log: Logger, now: () => number, isRevoked: (deviceId: string) => boolean = () => false) {
    this.#hello = hello
    this.#log = log
    this.#now = now
    this.#isRevoked = isRevoked
  }

  /**
   * The user of a peer already met, without asking — while the attestation it showed is in force
   * and the device is not revoked (an attestation that lapsed since counts no more: the peer is
   * asked again, and a renewed device shows its new attestation).
   */
  knownUserOf (peer: PeerId): string | undefined {
    const deviceId = deviceIdOfPeer(peer)
    if (deviceId === undefined || this.#isRevoked(deviceId)) return undefined
    const known = this.#byDevice.get(deviceId)
    if (known === undefined || (known.expiresTs !== undefined && this.#now() >= known.expiresTs)) return undefined
    return known.userId
  }

  /** The user of a peer: known, or asked by hello (once at a time per peer). `undefined` if it will not say. */
  async userOf (peer: PeerId, options: AbortOptions = {}): Promise<string | undefined> {
    const known = this.knownUserOf(peer)
    if (known !== undefined) return known
    return await this.ask(peer, options)
  }

  /** Ask a peer who it is (again), and remember the answer. */
  async ask (peer: PeerId, options: AbortOptions = {}): Promise<string | undefined> {
    const key = peer.toString()
    let pending = this.#asking.get(key)
    if (pending === undefined) {
      pending = this.#askNow(peer, options).finally(() => this.#asking.delete(key))
      this.#asking.set(key, pending)
    }
    return await pending
  }

  async #askNow (peer: PeerId, options: AbortOptions): Promise<string | undefined> {
    const hello = this.#hello()
    if (hello === undefined) return undefined
    try {
      return this.learn(peer, await hello.hello(peer, options))
    } catch (err) {
      this.#log('hello with %p failed: %s', peer, err instanceof Error ? err.message : String(err))
      return undefined
    }
  }

  /**
   * Record a peer's statement if it is a valid attestation of the peer's own device key; returns
   * the user it names, or `undefined` when it does not count.
   */
  learn (peer: PeerId, statement: unknown): string | undefined {
    const deviceId = deviceIdOfPeer(peer)
    if (deviceId === undefined) return undefined
    if (this.#isRevoked(deviceId)) {
      this.#log('peer %p is a revoked device', peer)
      return undefined
    }
    const verdict = verifyAttestation(statement, { now: this.#now() })
    if (verdict.status !== 'valid') {
      this.#log('peer %p sent an attestation that is %s', peer, verdict.status)
      return undefined
    }
    const { attestation } = verdict
    if (attestation.udk !== deviceId) {
      this.#log('peer %p sent an attestation for another device (%s)', peer, attestation.udk)
      return undefined
    }
    const known: Known = { userId: attestation.upk, attestation: attestation.json, peer }
    if (attestation.expiresTs !== undefined) known.expiresTs = attestation.expiresTs
    this.#byDevice.set(deviceId, known)
    return attestation.upk
  }

  /** Peers met whose device the user attested (connected or not; the caller filters). */
  peersOf (userId: string): PeerId[] {
    const out: PeerId[] = []
    for (const known of this.#byDevice.values()) if (known.userId === userId) out.push(known.peer)
    return out
  }

  async devicesOf (userId: string): Promise<DirectoryDevice[]> {
    const out: DirectoryDevice[] = []
    for (const [deviceId, known] of this.#byDevice) {
      if (known.userId !== userId) continue
      const device: DirectoryDevice = { deviceId, attestation: known.attestation, revoked: this.#isRevoked(deviceId) }
      if (known.expiresTs !== undefined) device.expiresTs = known.expiresTs
      out.push(device)
    }
    return out
  }
}
