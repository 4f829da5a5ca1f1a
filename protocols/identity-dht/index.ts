/**
 * @packageDocumentation
 *
 * The identity directory (DESIGN §4): each user's devices, as a UPK-signed record in keyroom's
 * Kademlia DHT under `/keyroom/upk/<upk bytes>`, and the lookup `UPK → devices → addresses` that
 * "send to a user" and "invite" use. Record format, bounds and policies: docs/dht.md.
 *
 * Wiring: the DHT must run this module's validator and selector for the `keyroom` namespace, and
 * the directory needs the DHT and peer routing:
 *
 * @example
 * ```ts
 * const libp2p = await createKeyroomLibp2p({ …, dht: identityDhtRecords() })
 * const directory = identityDirectory()({ dht: libp2p.services.dht, peerRouting: libp2p.peerRouting, logger })
 * await directory.start()
 * await directory.publish(createUserRecord({ upkSeed, seq: 1, devices: [attestation] }))
 * const user = await directory.lookup(upk, { signal })   // devices, with addresses when found
 * ```
 */
import { IdentityDirectoryService } from './identity-directory.js'
import type { DeviceStatus, UserRecord, UserRecordJson } from './record.js'
import type { IdentityDhtRecords } from './validator.js'
import type { UserId } from '../core/index.js'
import type { AbortOptions, ComponentLogger, PeerId, PeerRouting, Startable } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Multiaddr } from '@multiformats/multiaddr'

export * from './constants.js'
export { userRecordKey, userIdFromRecordKey, USER_RECORD_KEY_LENGTH } from './key.js'
export { userRecordBody, userRecordSignedBytes } from './signables.js'
export type { UserRecordBody } from './signables.js'
export { createUserRecord, parseUserRecord, encodeUserRecord, devicesOf } from './record.js'
export type {
  CreateUserRecordInput, DeviceStatus, ParseUserRecordOptions, UserRecord, UserRecordJson, UserRecordRejection, UserRecordVerdict
} from './record.js'
export { selectUserRecord, compareUserRecords, recordSeq } from './selector.js'
export { compareBytes } from '../core/index.js'
export { fitUserRecord, userRecordSize } from './fit.js'
export type { FitUserRecordInput, FitUserRecordResult } from './fit.js'
export { identityDhtRecords } from './validator.js'
export { datastoreHighWaterStore, HIGH_WATER_DATASTORE_PREFIX } from './high-water.js'
export type { SeqHighWaterStore } from './high-water.js'
export type { IdentityDhtRecords, IdentityDhtRecordsInit } from './validator.js'

/** One device in a lookup answer: its status in the record, its PeerId and the addresses found for it. */
export interface DeviceEntry extends DeviceStatus {
  /** The device's libp2p PeerId (PeerId = UDK). */
  peerId: PeerId
  /** Addresses found by peer routing (best-effort; empty when not found or not looked up). */
  multiaddrs: Multiaddr[]
}

/** A user as the directory knows them. */
export interface UserDevices {
  upk: UserId
  seq: number
  /** Devices at the time of the answer (`devicesOf`): usable, expired and revoked ones. */
  devices: DeviceEntry[]
  /** The verified record the answer comes from. */
  record: UserRecord
  /** When the record was last confirmed by a DHT lookup or published by this node (ms since the epoch). */
  fetchedAt: number
  /** `cache`: answered from memory without waiting on the network; `network`: after a DHT lookup. */
  source: 'cache' | 'network'
  /** Older than the cache TTL (served while a background refresh runs, or because the DHT had nothing newer in time). */
  stale: boolean
}

/** Options of {@link IdentityDirectory.lookup}. */
export interface LookupOptions extends AbortOptions {
  /**
   * Oldest cached answer acceptable, ms; older ones wait for the DHT. Default: the cache TTL, with
   * stale-while-revalidate up to `cacheMaxStale` (a stale entry is returned at once and refreshed in
   * the background). `0` always asks the DHT.
   */
  maxAge?: number
  /** Resolve device addresses when asking the DHT (default true). Cached answers never wait for addresses. */
  addresses?: boolean
  /**
   * When asking the DHT, answer as soon as this many holders have returned a record (the best of
   * them, verified) — default `LOOKUP_QUORUM` (3), or the directory's `lookupQuorum` — or,
   * with `'all'`, only when the whole query has ended. The query runs on either way and updates the
   * cache (and calls `onRecord`) when a slower holder has a higher `seq`, so an answer that was
   * briefly outdated is replaced moments later; the cache never goes backwards. A latency choice: a
   * quorum answer is outdated only if every one of the first holders missed the latest put. Use
   * `'all'` before signing a successor of the record (read-modify-write), so its `seq` is above
   * every copy the query can reach. Fewer holders than the quorum: the whole query's answer.
   */
  quorum?: number | 'all'
}

/** What became of a put: how many DHT peers confirmed they store the record. */
export interface PublishResult {
  seq: number
  /** Peers that stored the record (0: only kept locally; the directory retries soon). */
  stored: number
  /** Peers that failed or refused. */
  failed: number
}

/** The identity directory. */
export interface IdentityDirectory {
  /**
   * Put a user record into the DHT and keep re-publishing it (every `republishInterval`, sooner
   * after a put no peer confirmed) until a newer record of the same user replaces it or the
   * service stops. Throws `ERR_DHT_INVALID_RECORD` for a record that does not verify,
   * `ERR_DHT_STALE_RECORD` when a different record with the same or a higher `seq` is known for the
   * user, `ERR_NOT_STARTED`, or the signal's reason. A put that reaches no peer is an outcome
   * (`stored: 0`), not an error.
   */
  publish(record: UserRecordJson | Uint8Array, options?: AbortOptions): Promise<PublishResult>
  /**
   * A user's devices (and their addresses, best-effort): from the cache when fresh enough, else from
   * the DHT (bounded by `lookupTimeout`; concurrent lookups of one user share one query). Resolves
   * `undefined` when no record is known. Throws `ERR_INVALID_KEY` for a malformed user ID,
   * `ERR_NOT_STARTED`, or the signal's reason.
   */
  lookup(upk: UserId, options?: LookupOptions): Promise<UserDevices | undefined>
  /** The cached answer for a user, without any network or refresh; `undefined` if not cached. */
  cached(upk: UserId): UserDevices | undefined
  /** The records this node keeps re-publishing, by user. */
  published(): UserRecord[]
  /**
   * Resolves once no DHT lookup query of this directory is running (queries that run on after a
   * quorum answer, and background refreshes, included). For tests and benchmarks that must not
   * overlap one query with the next; never needed for correctness.
   */
  idle(): Promise<void>
}

/**
 * The components the directory uses: the DHT (service `dht`), peer routing and the logger. When the
 * DHT exposes its `validators`, own records go through the `keyroom` one before each first put:
 * kad-dht stores a node's own puts unchecked, and this is how the node's validator learns the
 * record's `seq` (so it refuses a replay of an older record to this node as it does elsewhere).
 */
export interface IdentityDirectoryComponents {
  dht: Pick<KadDHT, 'get' | 'put'> & Partial<Pick<KadDHT, 'validators'>>
  peerRouting: Pick<PeerRouting, 'findPeer'>
  logger: ComponentLogger
  /**
   * The node's DHT validator (`identityDhtRecords()`, the instance the DHT runs), when given: a
   * holder's answer it has just verified is taken parsed from it instead of being verified again.
   * Without it the directory verifies every record it uses itself.
   */
  records?: Pick<IdentityDhtRecords, 'verifiedRecord'>
}

/** Tunables, all optional; defaults in `constants.ts`. Durations in ms. */
export interface IdentityDirectoryInit {
  cacheTtl?: number
  cacheRefreshAfter?: number
  cacheMaxStale?: number
  cacheMaxEntries?: number
  lookupTimeout?: number
  publishTimeout?: number
  findPeerTimeout?: number
  maxAddressLookups?: number
  republishInterval?: number
  republishRetry?: number
  maxBackgroundRefreshes?: number
  /** Default quorum of a lookup that asks the DHT (default `LOOKUP_QUORUM`; `'all'`: wait for the whole query). */
  lookupQuorum?: number | 'all'
  /**
   * Change notification: called when the cache takes a record of a user that is new to it or has a
   * higher `seq` (or, at equal `seq`, wins the selector's byte tie-break) than the one it held —
   * from a lookup answer, the rest of a query after a quorum answer, a background refresh, or an
   * own publish. Never called for a record that does not win (the cache never goes backwards).
   * `previous` is the record the cache held, if any. Runs synchronously; a throw is logged and
   * ignored. The node uses it to learn revocations as soon as the DHT shows them.
   */
  onRecord?: (record: UserRecord, previous: UserRecord | undefined) => void
  /** The clock, ms since the epoch (default `Date.now`); tests pass their own. */
  now?: () => number
}

/** The service factory: `identityDirectory(init)(components)`, or `services: { directory: identityDirectory(init) }`. */
export function identityDirectory (init: IdentityDirectoryInit = {}): (components: IdentityDirectoryComponents) => IdentityDirectory & Startable {
  return (components) => new IdentityDirectoryService(components, init)
}
