/**
 * `createNode`: the composition root of a running keyroom node (DESIGN §6 "Library").
 *
 * It opens (or creates) the identity in the data directory, the LevelDB room store next to it,
 * libp2p with the device key (PeerId = UDK) and the store's datastore, the room engine (the ingest
 * pipeline) on room gossip and sync, and the two small protocols that move identities and invites
 * between devices (`/keyroom/hello/1.0.0`, `/keyroom/invite/1.0.0`). No global state: several
 * nodes live in one process, each with its own data directory.
 */
import { mkdir } from 'node:fs/promises'
import { join as joinPath } from 'node:path'
import { defaultLogger, prefixLogger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import {
  ErrorCode, IDENTITY_KEY_ID, KeyroomError, RoomEventType, attestationBody, compareCodePoints, buildBan, buildCreateRoom, buildDeviceAttestation,
  buildDeviceRevocation, buildInvite, buildJoin, buildKick, buildLeave, buildMessage, buildName, buildPowerLevels, buildTopic,
  buildUnban, createAttestation, createRevocation,
  defaultAttestationCache, deviceStanding, formatRoomUri, parseDeviceId, parseKeyroomUri, parseRoomId, parseUserId,
  recoveryPhraseToSeed, signJson, userKeyPair, verifyAttestation
} from '../protocols/core/index.js'
import { deviceProtocols } from '../protocols/devices/index.js'
import { HELLO_PROTOCOL, hello as helloService } from '../protocols/hello/index.js'
import { datastoreHighWaterStore, identityDhtRecords, identityDirectory } from '../protocols/identity-dht/index.js'
import { inviteDelivery } from '../protocols/invite/index.js'
import { DATA_DIR_MODE, createIdentity, hasIdentity, loadIdentity, openLevelStore } from '../store/index.js'
import {
  DEFAULT_MESSAGES_LIMIT, DIAL_TIMEOUT_MS, DIRECTORY_LOOKUP_TIMEOUT_MS, KAD_PROTOCOL, HELLO_TIMEOUT_MS, REMOVAL_RECHECK_DELAYS_MS, REMOVAL_RECHECK_PEERS, SYNC_INTERVAL_MS, INVITE_DELIVERY_ATTEMPTS, INVITE_DELIVERY_TIMEOUT_MS,
  LINK_TIMEOUT_MS, MAX_MESSAGES_LIMIT, MAX_TIMER_MS, RENEW_AT_LIFETIME_FRACTION, RENEW_RETRY_MS, STORE_DIR_NAME
} from './constants.js'
import { DeviceBook, newerAttestation } from './device-book.js'
import { replaceAttestation } from './device-keystore.js'
import { dhtDeviceDirectory, publishUserRecord } from './dht-directory.js'
import { InviteBook, checkOfferedInvite, inviteFollows } from './invites.js'
import { createKeyroomLibp2p, peerIdFromDeviceKey } from './libp2p.js'
import { waitForLink } from './link-request.js'
import { parseLinkText } from './link-text.js'
import { TypedEventTarget } from './node-events.js'
import { PeerDirectory, deviceIdOfPeer } from './peer-directory.js'
import { protocolComponents } from './protocol-components.js'
import { RoomEngine } from './room-engine.js'
import { identifyEvent } from './ingest-checks.js'
import type { DhtMode, KeyroomLibp2p } from './libp2p.js'
import type { KeyroomNodeEvents, RoomMessage } from './node-events.js'
import type { DeviceDirectory } from './peer-directory.js'
import type { RoomMember } from './room-engine.js'
import type { RoomView } from './room-view.js'
import type { CheckedEvent } from './ingest-checks.js'
import type { LinkOptions } from './link-request.js'
import type { Attestation, AttestationJson, IdentifiedEvent, JoinVia, RevocationJson, RoomContext, SigningDevice } from '../protocols/core/index.js'
import type { DeviceProtocols, LinkOffer, LinkVerdict } from '../protocols/devices/index.js'
import type { Hello } from '../protocols/hello/index.js'
import type { IdentityDhtRecords, IdentityDirectory } from '../protocols/identity-dht/index.js'
import type { InviteDelivery, InviteVerdict } from '../protocols/invite/index.js'
import type { Membership, RoomStore } from '../store/index.js'
import type { GossipsubOpts } from '@libp2p/gossipsub'
import type { AbortOptions, Logger, PeerId, Startable } from '@libp2p/interface'

/** Options of {@link createNode}. */
export interface CreateNodeOptions {
  /** The node's data directory (created, mode 0700, when missing): keystore and database. */
  dataDir: string
  /** Multiaddrs to listen on (default: TCP and WebSockets on every IPv4 interface, OS-chosen ports). */
  listen?: string[]
  /** Multiaddrs to announce instead of the listening ones. */
  announce?: string[]
  /** Peers to connect to at start (multiaddrs with `/p2p/<id>`). */
  bootstrap?: string[]
  /** Find peers on the LAN by mDNS (default off). */
  mdns?: boolean | { interval?: number }
  /** Passphrase of an encrypted keystore; for a new identity, seals its keys. */
  passphrase?: string
  /** Create an identity when the data directory has none (default true). */
  createIdentity?: boolean
  /** fsync every store batch (default true). Off survives a process crash, not a power cut (tests). */
  durableWrites?: boolean
  /** DHT mode (default `server`). */
  dhtMode?: DhtMode
  /** Prefix of this node's log namespaces (several nodes in one process). */
  loggerPrefix?: string
  /** Advanced: gossipsub overrides (e.g. a short `heartbeatInterval` in tests). */
  pubsub?: Partial<GossipsubOpts>
  /** The identity directory (DHT) for users whose devices are not connected; default: connected devices only. */
  directory?: DeviceDirectory
  /** The clock, ms since the epoch (default `Date.now`). */
  now?: () => number
  /**
   * Advanced: peers this node must not connect with, either way (consulted on every dial and every
   * handshake, besides the devices their users revoked, which are always refused). Tests use it for
   * network partitions; an application for a block list.
   */
  denyPeer?: (peer: PeerId) => boolean
  /**
   * Restore the user from their recovery phrase when the data directory has no identity: same user
   * ID, a new device key attested by the restored UPK (kept on this device). With an existing
   * identity the phrase must be its user's (else `ERR_IDENTITY_EXISTS`); on a linked device that
   * does not keep the UPK it lends the UPK to this run (link and revoke become possible).
   * `ERR_INVALID_RECOVERY_PHRASE` for a phrase that is not one.
   */
  recoveryPhrase?: string
  /**
   * Become a further device of an existing user when the data directory has no identity:
   * `createNode` shows a link (`onRequest`) and resolves once a device holding the user's UPK has
   * linked this one (`linkDevice`). See docs/devices.md.
   */
  link?: LinkOptions
  /**
   * Anti-entropy: every this many ms each joined room compares heads with one connected member's
   * device (in turn) and catches up what it lacks — how an event gossip dropped (overload, a
   * flapping link) arrives even when nothing is sent after it. Default 30 000; 0 turns it off.
   */
  syncIntervalMs?: number
}

/** Options of {@link KeyroomNode.linkDevice}. */
export interface LinkDeviceOptions {
  /** When the new device's attestation expires (ms since the epoch); default never. Devices holding the UPK renew it while both are online. */
  expiresTs?: number
  signal?: AbortSignal
}

/** A device linked by {@link KeyroomNode.linkDevice}. */
export interface LinkedDevice {
  deviceId: string
  expiresTs?: number
  /** Rooms the device's attestation was recorded in. */
  rooms: number
}

/** Options of {@link KeyroomNode.revokeDevice}. */
export interface RevokeDeviceOptions {
  /** A short note for humans (at most 512 characters), kept in the signed revocation. */
  reason?: string
}

/** A device revoked by {@link KeyroomNode.revokeDevice}. */
export interface RevokedDeviceResult {
  deviceId: string
  /** From when on the device's events no longer count (ms since the epoch). */
  revokedTs: number
  /** Rooms the revocation was recorded in. */
  rooms: number
}

/** One of the user's devices, as {@link KeyroomNode.devices} lists it. */
export interface OwnDevice extends UserDevice {
  /** This device. */
  current: boolean
  /** When its attestation was issued, if known. */
  issuedTs?: number
  /** From when on it is revoked, if it is. */
  revokedTs?: number
}

/** Options of {@link KeyroomNode.createRoom}. */
export interface CreateRoomOptions {
  /** `m.room.name`. */
  name?: string
  /** `m.room.topic`. */
  topic?: string
  /** Who may join: only the invited (default), or anyone with the room's ID. */
  joinRule?: 'invite' | 'public'
}

/** A message to send: `msgtype` and `body` (Matrix `m.room.message` content), plus any extra fields. */
export interface MessageContent {
  msgtype: string
  body: string
  [field: string]: unknown
}

/** Options of {@link KeyroomNode.messages}. */
export interface MessagesOptions {
  /** Most messages (default 50, at most 1000): the latest ones before `before`. */
  limit?: number
  /** An event ID: list messages strictly before it (paging backwards through history). */
  before?: string
}

/** A device of a user, as {@link KeyroomNode.lookupUser} reports it. */
export interface UserDevice {
  deviceId: string
  /** When its attestation expires (ms since the epoch), if it does (the newest attestation known). */
  expiresTs?: number
  /** Revoked by the user (in some room's state, the directory, or a revocation this node made). */
  revoked: boolean
  /** Connected to this node right now. */
  connected: boolean
}

/** A user and the devices this node knows for them. */
export interface UserLookup {
  userId: string
  devices: UserDevice[]
}

/** A room as {@link KeyroomNode.rooms} lists it. */
export interface RoomSummary {
  roomId: string
  /** The local user's membership (`invite` for an invite delivered to this device and not yet joined). */
  membership?: Membership
  name?: string
  topic?: string
}

/** A connected peer. */
export interface PeerSummary {
  /** Its PeerId (a device key). */
  peerId: string
  /** Its device ID (`^…`). */
  deviceId?: string
  /** Its user, once the hello exchange told us. */
  userId?: string
}

/** A running keyroom node: the embedding API. Listen with `addEventListener('message' | 'membership' | 'sync', …)`. */
export interface KeyroomNode extends TypedEventTarget<KeyroomNodeEvents> {
  /** The user (UPK, `~…`). */
  readonly userId: string
  /** This device (UDK, `^…`). */
  readonly deviceId: string
  /** The libp2p PeerId (the device key in libp2p's text form). */
  readonly peerId: string
  /** The recovery phrase, only when this call created the identity: show it to the user once. */
  readonly recoveryPhrase?: string
  /** Advanced: the libp2p node. */
  readonly libp2p: KeyroomLibp2p
  /** Addresses others can dial this node at (with `/p2p/<peerId>`). */
  multiaddrs(): string[]
  /** Connect to a peer by multiaddr (with `/p2p/<id>`). */
  connect(address: string | string[], options?: AbortOptions): Promise<void>
  /** Connected peers. */
  peers(): PeerSummary[]
  /** Create a room; returns its ID (`!…`). */
  createRoom(options?: CreateRoomOptions): Promise<string>
  /** Invite a user (idempotent); delivers the invite to their connected devices. Returns the invite's event ID. */
  invite(roomId: string, userId: string): Promise<string>
  /** Join a room by ID or `keyroom:r/…?via=` URI (idempotent). Returns the room ID. */
  join(roomIdOrUri: string, options?: AbortOptions): Promise<string>
  /** Leave a room (or decline its invite). Returns the leave's event ID. */
  leave(roomId: string, reason?: string): Promise<string>
  kick(roomId: string, userId: string, reason?: string): Promise<string>
  /** Ban a user (every device, present and future). Returns the ban's event ID. */
  ban(roomId: string, userId: string, reason?: string): Promise<string>
  /** Lift a ban (the user may then be invited or join again). Returns the event ID. */
  unban(roomId: string, userId: string, reason?: string): Promise<string>
  /** Set the room's name (`m.room.name`). Returns the event ID. */
  setName(roomId: string, name: string): Promise<string>
  /** Set the room's topic (`m.room.topic`). Returns the event ID. */
  setTopic(roomId: string, topic: string): Promise<string>
  /**
   * Set one user's power level in `m.room.power_levels` (the rest of the content kept as it is):
   * 100 for admins, 50 for moderators, 0 for everyone by default. Returns the event ID.
   */
  setPowerLevel(roomId: string, userId: string, level: number): Promise<string>
  /** Send a message; returns its event ID (the one `messages()` shows). */
  send(roomId: string, content: MessageContent): Promise<string>
  /** The room's latest messages, oldest first, in the order every node lists them. */
  messages(roomId: string, options?: MessagesOptions): Promise<RoomMessage[]>
  /** The room's members (the local user included) with membership and MSC3917 verification. */
  members(roomId: string): Promise<RoomMember[]>
  /** A user's devices, as far as this node knows (connected devices, room states, the directory). */
  lookupUser(userId: string, options?: AbortOptions): Promise<UserLookup>
  /** Rooms this node holds or was invited to. */
  rooms(): Promise<RoomSummary[]>
  /** `keyroom:r/!…?via=<own addresses>`: a link to share the room. */
  roomUri(roomId: string): string
  /** Catch a room up from every connected peer that shares it; returns the events stored. */
  catchUp(roomId: string, options?: AbortOptions): Promise<number>
  /** Whether this device holds the user's UPK (can link and revoke devices). */
  readonly holdsUserKey: boolean
  /**
   * Link the device that shows `linkText` (`keyroom:link/^…?code=…&via=…`) to this user: sign its
   * attestation, have it counter-signed, record it in every joined room and the directory. Needs
   * the UPK (`ERR_NO_USER_KEY`); `ERR_INVALID_KEY` for a bad link, `ERR_DEVICE_UNREACHABLE`,
   * `ERR_LINK_REFUSED` (wrong or used code).
   */
  linkDevice(linkText: string, options?: LinkDeviceOptions): Promise<LinkedDevice>
  /**
   * Revoke one of the user's devices (lost, stolen, retired) from now on: a UPK-signed revocation
   * recorded in every joined room and the directory; this node stops talking to the device at once.
   * Idempotent. Needs the UPK (`ERR_NO_USER_KEY`); not this device (`ERR_FORBIDDEN`).
   */
  revokeDevice(deviceId: string, options?: RevokeDeviceOptions): Promise<RevokedDeviceResult>
  /** The user's devices as far as this node knows (this one included), with expiry and revocation. */
  devices(options?: AbortOptions): Promise<OwnDevice[]>
  /** Stop: network first, then the database (released: the data dir can be reopened). Idempotent. */
  stop(): Promise<void>
}

/**
 * Start a keyroom node on a data directory. Creates the directory and an identity when missing
 * (unless `createIdentity: false`: then `ERR_NO_IDENTITY`). Throws `ERR_STORE_LOCKED` when another
 * node holds the directory, `ERR_PASSPHRASE_REQUIRED` / `ERR_WRONG_PASSPHRASE` for a sealed keystore.
 */
export async function createNode (options: CreateNodeOptions): Promise<KeyroomNode> {
  const now = options.now ?? Date.now
  await mkdir(options.dataDir, { recursive: true, mode: DATA_DIR_MODE })
  let recoveryPhrase: string | undefined
  let phraseSeed: Uint8Array | undefined
  if (options.recoveryPhrase !== undefined) phraseSeed = recoveryPhraseToSeed(options.recoveryPhrase)
  const passphrase = options.passphrase === undefined ? {} : { passphrase: options.passphrase }
  /** The linking device's addresses, when this call linked the device: dialled once the node runs. */
  let linkedVia: string[] = []
  if (!(await hasIdentity(options.dataDir))) {
    if (options.recoveryPhrase !== undefined) {
      // Restore: the user has the phrase already, so it is not handed out again.
      await createIdentity(options.dataDir, { ...passphrase, recoveryPhrase: options.recoveryPhrase, now: now() })
    } else if (options.link !== undefined) {
      const completed = await waitForLink({
        dataDir: options.dataDir,
        link: options.link,
        now,
        ...passphrase,
        ...(options.listen === undefined ? {} : { listen: options.listen }),
        ...(options.announce === undefined ? {} : { announce: options.announce }),
        ...(options.loggerPrefix === undefined ? {} : { loggerPrefix: options.loggerPrefix })
      })
      linkedVia = completed.via
    } else if (options.createIdentity === false) {
      throw new KeyroomError(ErrorCode.NoIdentity, `no identity in ${options.dataDir}`, { hint: "create one with 'keyroom init', or pass createIdentity: true" })
    } else {
      recoveryPhrase = (await createIdentity(options.dataDir, { ...passphrase, now: now() })).recoveryPhrase
    }
  }
  const identity = await loadIdentity(options.dataDir, passphrase)
  if (phraseSeed !== undefined && userKeyPair(phraseSeed).userId !== identity.userId) {
    throw new KeyroomError(ErrorCode.IdentityExists, `${options.dataDir} holds another user's identity (${identity.userId})`, {
      hint: 'restore into an empty data directory'
    })
  }
  const store = await openLevelStore(joinPath(options.dataDir, STORE_DIR_NAME), { sync: options.durableWrites ?? true })
  try {
    const node = new Node(options, store, { userId: identity.userId, deviceSeed: identity.udkSeed, attestation: identity.attestation }, identity.deviceId, now, recoveryPhrase, identity.upkSeed ?? phraseSeed)
    await node.start()
    if (linkedVia.length > 0) node.dialBack(linkedVia)
    return node
  } catch (err) {
    await store.close().catch(() => {})
    throw err
  }
}

type ManualService<T> = T & { start: () => Promise<void>, stop: () => Promise<void> }

/** The {@link KeyroomNode} implementation. */
class Node extends TypedEventTarget<KeyroomNodeEvents> implements KeyroomNode {
  readonly userId: string
  readonly deviceId: string
  readonly recoveryPhrase?: string
  readonly #options: CreateNodeOptions
  readonly #store: RoomStore
  /** This device: its key and its attestation (replaced when the attestation is renewed). */
  #device: SigningDevice
  readonly #now: () => number
  readonly #log: Logger
  readonly #logger: ReturnType<typeof defaultLogger>
  readonly #engine: RoomEngine
  readonly #directory: PeerDirectory
  readonly #invites: InviteBook
  /** Revocations (any user's) and the own user's attestations this node knows. */
  readonly #book: DeviceBook
  #libp2p: KeyroomLibp2p | undefined
  #hello: ManualService<Hello> | undefined
  #inviteDelivery: ManualService<InviteDelivery> | undefined
  #deviceProtocols: ManualService<DeviceProtocols> | undefined
  /** Changes this node made to the user's directory record this run (merged into every publish). */
  readonly #recordAttestations = new Map<string, AttestationJson>()
  readonly #recordRevocations = new Map<string, RevocationJson>()
  /** A publish was asked for while one ran. */
  #publishAgain = false
  #renewTimer: ReturnType<typeof setTimeout> | undefined
  /** The anti-entropy timer (`syncIntervalMs`), and whether a round is running. */
  #syncTimer: ReturnType<typeof setInterval> | undefined
  #syncing = false
  /** Which connected member a room asks next in the anti-entropy rounds, by room. */
  readonly #syncTurn = new Map<string, number>()
  /** Pending second looks at rooms the user was removed from, by room. */
  readonly #removalChecks = new Map<string, ReturnType<typeof setTimeout>>()
  /** Rooms being fetched because a peer said the user is in them. */
  readonly #discovering = new Set<string>()
  #identityDirectory: (IdentityDirectory & Startable) | undefined
  #dhtRecords: IdentityDhtRecords | undefined
  /** Where users' devices are found beyond the connected ones: `options.directory`, else the DHT. */
  #deviceDirectory: DeviceDirectory | undefined
  /** The UPK seed, when this device keeps it: it signs the user's directory record. */
  readonly #upkSeed: Uint8Array | undefined
  /** Set once the own directory record is published (or found current) this run. */
  #published = false
  #publishing = false
  #stopping: Promise<void> | undefined
  /** Peers being greeted (hello + catch-up), so a burst of identify events runs it once. */
  readonly #greeting = new Set<string>()

  constructor (options: CreateNodeOptions, store: RoomStore, device: SigningDevice, deviceId: string, now: () => number, recoveryPhrase: string | undefined, upkSeed: Uint8Array | undefined) {
    super()
    this.#upkSeed = upkSeed
    this.#options = options
    this.#store = store
    this.#device = device
    this.userId = device.userId
    this.deviceId = deviceId
    if (recoveryPhrase !== undefined) this.recoveryPhrase = recoveryPhrase
    this.#now = now
    this.#logger = options.loggerPrefix === undefined ? defaultLogger() : prefixLogger(options.loggerPrefix)
    this.#log = this.#logger.forComponent('keyroom:node')
    this.#book = new DeviceBook(device.userId)
    this.#book.noteAttestation(device.attestation)
    this.#book.onRevoked = (deviceId) => { this.#onRevoked(deviceId) }
    this.#directory = new PeerDirectory(() => this.#hello, this.#logger.forComponent('keyroom:node:directory'), now, (deviceId) => this.#book.isRevoked(deviceId))
    this.#invites = new InviteBook(store)
    this.#engine = new RoomEngine({
      store,
      device,
      events: this,
      log: this.#logger.forComponent('keyroom:engine'),
      now,
      userOfPeer: async (peer, opts) => await this.#directory.userOf(peer, { signal: AbortSignal.any([AbortSignal.timeout(HELLO_TIMEOUT_MS), ...(opts?.signal === undefined ? [] : [opts.signal])]) }),
      isRevokedDevice: (deviceId) => this.#book.isRevoked(deviceId),
      onDeviceEvent: (_roomId, event) => {
        if (this.#book.noteEvent(event)) this.#scheduleRenewal()
      }
    })
    this.addEventListener('membership', (e) => {
      const change = e.detail
      if (change.userId === this.userId && (change.membership === 'leave' || change.membership === 'ban') && change.sender !== this.userId) {
        this.#scheduleRemovalChecks(change.roomId)
      }
    })
  }

  get holdsUserKey (): boolean {
    return this.#upkSeed !== undefined
  }

  get peerId (): string {
    return this.libp2p.peerId.toString()
  }

  get libp2p (): KeyroomLibp2p {
    if (this.#libp2p === undefined) throw new KeyroomError(ErrorCode.NotStarted, 'the node is not started')
    return this.#libp2p
  }

  async start (): Promise<void> {
    const engine = this.#engine
    const options = this.#options
    // The DHT validator's high-water seq per user survives restarts (docs/dht.md, Validator).
    const dhtRecords = identityDhtRecords({
      highWaterStore: datastoreHighWaterStore(this.#store.datastore),
      onStoreError: (err) => { this.#log('DHT high-water store: %s', err instanceof Error ? err.message : String(err)) }
    })
    this.#dhtRecords = dhtRecords
    await dhtRecords.load()
    const libp2p = await createKeyroomLibp2p({
      deviceSeed: this.#device.deviceSeed,
      ...(options.listen === undefined ? {} : { listen: options.listen }),
      ...(options.announce === undefined ? {} : { announce: options.announce }),
      ...(options.bootstrap === undefined ? {} : { bootstrap: options.bootstrap }),
      ...(options.mdns === undefined ? {} : { mdns: options.mdns }),
      ...(options.dhtMode === undefined ? {} : { dhtMode: options.dhtMode }),
      ...(options.pubsub === undefined ? {} : { pubsub: options.pubsub }),
      ...(options.loggerPrefix === undefined ? {} : { loggerPrefix: options.loggerPrefix }),
      datastore: this.#store.datastore,
      // A device its user revoked is refused at the connection, either way.
      denyPeer: (peer) => this.#book.isRevoked(deviceIdOfPeer(peer)) || options.denyPeer?.(peer) === true,
      // The identity directory's records (`/keyroom/upk/…`) are validated by every DHT node.
      dht: dhtRecords,
      gossip: {
        identifyEvent,
        // Nothing relayed by a revoked device counts (the connection gater normally keeps it away).
        validate: async (roomId, bytes, from, opts) => this.#book.isRevoked(deviceIdOfPeer(from)) ? 'reject' : await engine.validateGossip(roomId, bytes, from, opts),
        // The validator already ran the whole pipeline: an accepted event is stored by now.
        onEvent: () => {}
      },
      sync: { store: engine.syncStore, authorize: engine.authorize }
    })
    this.#libp2p = libp2p
    try {
      const components = protocolComponents(libp2p, this.#logger)
      this.#hello = helloService({ statement: () => this.#device.attestation })(components)
      this.#inviteDelivery = inviteDelivery({ onInvite: async (bytes, from) => await this.#onInvite(bytes, from) })(components)
      this.#deviceProtocols = deviceProtocols({
        onOffer: async (offer) => await this.#onOffer(offer),
        onRoomsRequest: async (from, opts) => await this.#roomsOf(from, opts)
      })(components)
      await this.#hello.start()
      await this.#inviteDelivery.start()
      await this.#deviceProtocols.start()
      const directory = identityDirectory({
        now: this.#now,
        // Revocations the DHT shows (also late, after a quorum answer) reach the device book at once.
        onRecord: (record) => { for (const r of record.revocations) this.#book.noteRevocation(r.json) }
      })({ dht: libp2p.services.dht, peerRouting: libp2p.peerRouting, logger: this.#logger, records: dhtRecords })
      this.#identityDirectory = directory
      await directory.start()
      this.#deviceDirectory = options.directory ?? dhtDeviceDirectory(directory)
      await engine.attach({ sync: libp2p.services.sync, gossip: libp2p.services.roomGossip })
      libp2p.addEventListener('peer:identify', this.#onIdentify)
      libp2p.addEventListener('peer:discovery', this.#onDiscovery)
      // Peers that connected before the listener was in place.
      for (const peer of libp2p.getPeers()) this.#greet(peer)
      // What the rooms already held say about devices (revocations, the user's other devices).
      this.#background(this.#readDeviceRecords())
      const every = options.syncIntervalMs ?? SYNC_INTERVAL_MS
      if (every > 0) {
        this.#syncTimer = setInterval(() => {
          if (this.#stopping === undefined && !this.#syncing) this.#background(this.#antiEntropy())
        }, every)
        this.#syncTimer.unref?.()
      }
    } catch (err) {
      await Promise.resolve(libp2p.stop()).catch(() => {})
      throw err
    }
  }

  async stop (): Promise<void> {
    this.#stopping ??= this.#stopNow()
    await this.#stopping
  }

  async #stopNow (): Promise<void> {
    const libp2p = this.#libp2p
    libp2p?.removeEventListener('peer:identify', this.#onIdentify)
    libp2p?.removeEventListener('peer:discovery', this.#onDiscovery)
    clearTimeout(this.#renewTimer)
    this.#renewTimer = undefined
    for (const timer of this.#removalChecks.values()) clearTimeout(timer)
    this.#removalChecks.clear()
    clearInterval(this.#syncTimer)
    try {
      await this.#engine.stop()
      while (this.#tasks.size > 0) await Promise.all([...this.#tasks])
      clearTimeout(this.#renewTimer)
      await this.#deviceProtocols?.stop().catch(() => {})
      await this.#inviteDelivery?.stop().catch(() => {})
      await this.#hello?.stop().catch(() => {})
      await Promise.resolve(this.#identityDirectory?.stop()).catch(() => {})
      await libp2p?.stop()
      // Work that raced the network's shutdown.
      await this.#engine.stop()
      await this.#dhtRecords?.flush()
    } finally {
      await this.#store.close()
    }
  }

  #assertRunning (): void {
    if (this.#stopping !== undefined) throw new KeyroomError(ErrorCode.NotStarted, 'the node is stopped')
  }

  // -------------------------------------------------------------------------------------------
  // Peers

  multiaddrs (): string[] {
    return this.libp2p.getMultiaddrs().map(ma => ma.toString())
  }

  async connect (address: string | string[], options: AbortOptions = {}): Promise<void> {
    this.#assertRunning()
    const addrs = (Array.isArray(address) ? address : [address]).map(a => multiaddr(a))
    await this.libp2p.dial(addrs, options)
  }

  peers (): PeerSummary[] {
    return this.libp2p.getPeers().map(peer => {
      const summary: PeerSummary = { peerId: peer.toString() }
      const deviceId = deviceIdOfPeer(peer)
      if (deviceId !== undefined) summary.deviceId = deviceId
      const userId = this.#directory.knownUserOf(peer)
      if (userId !== undefined) summary.userId = userId
      return summary
    })
  }

  /**
   * A peer found by mDNS or the bootstrap list: connect to it. libp2p 3 has no auto-dialer —
   * discovery only fills the peer store — so without this, nodes on a LAN would learn of each other
   * and never talk. The dial goes by PeerId: libp2p picks among the addresses discovery gave.
   */
  readonly #onDiscovery = (evt: CustomEvent<{ id: PeerId }>): void => {
    const peer = evt.detail.id
    const libp2p = this.#libp2p
    if (libp2p === undefined || this.#stopping !== undefined || peer.equals(libp2p.peerId) || libp2p.getConnections(peer).length > 0) return
    libp2p.dial(peer, { signal: AbortSignal.any([this.#engine.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) }).catch((err: unknown) => {
      this.#log('could not dial discovered peer %p: %s', peer, err instanceof Error ? err.message : String(err))
    })
  }

  readonly #onIdentify = (evt: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    if (evt.detail.protocols.includes(HELLO_PROTOCOL)) this.#greet(evt.detail.peerId)
    if (evt.detail.protocols.includes(KAD_PROTOCOL)) this.#publishIdentity()
  }

  /**
   * Puts the user's directory record, with this device in it, into the DHT — once per run, after
   * the first DHT peer connects (a put into an empty routing table reaches nobody); retried on the
   * next connection if it fails — and again after each link, renewal or revocation this node makes.
   * The record merged into is the newest the DHT has, so other devices' changes are kept; what it
   * lists is learnt (revocations, the user's other devices). Only a device that keeps the UPK seed
   * can sign the record.
   */
  #publishIdentity (): void {
    const directory = this.#identityDirectory
    const upkSeed = this.#upkSeed
    if (this.#published || directory === undefined || upkSeed === undefined || this.#stopping !== undefined) return
    if (this.#publishing) {
      this.#publishAgain = true
      return
    }
    this.#publishing = true
    const change = {
      userId: this.userId,
      upkSeed,
      attestations: [this.#device.attestation, ...this.#recordAttestations.values()],
      revocations: [...this.#recordRevocations.values(), ...this.#book.revocationsOf(this.userId)],
      knownAttestations: this.#book.ownAttestations().map(a => a.json),
      now: this.#now()
    }
    this.#background(publishUserRecord(directory, change, { signal: this.#engine.signal })
      .then((result) => {
        this.#published = true
        this.#log('directory record %s', result.seq === undefined ? 're-published' : `published (seq ${result.seq})`)
        for (const revocation of result.found?.revocations ?? []) this.#book.noteRevocation(revocation.json)
        let learnt = false
        for (const attestation of result.found?.devices ?? []) learnt = this.#book.noteAttestation(attestation.json) || learnt
        if (learnt) this.#scheduleRenewal()
      }, (err: unknown) => {
        this.#log('publishing the directory record failed: %s', err instanceof Error ? err.message : String(err))
      })
      .finally(() => {
        this.#publishing = false
        if (this.#publishAgain) {
          // Something changed while this publish ran: what it put may lack it.
          this.#publishAgain = false
          this.#published = false
          this.#publishIdentity()
        }
      }))
  }

  /** The record changed: publish it again (now when a peer is connected, else on the next DHT peer). */
  #republishIdentity (): void {
    this.#published = false
    if (this.#libp2p !== undefined && this.#libp2p.getPeers().length > 0) this.#publishIdentity()
  }

  /** Background work the node started: awaited (settled) by `stop` before the database closes. */
  readonly #tasks = new Set<Promise<unknown>>()
  #background (task: Promise<unknown>): void {
    const settled = task.catch(() => {})
    this.#tasks.add(settled)
    void settled.finally(() => this.#tasks.delete(settled))
  }

  /**
   * A keyroom peer (re)connected: learn its user (hello; a revoked device is hung up on), hand it
   * the invites waiting for that user, catch up every joined room it is a member of (both sides do
   * this, so a node that was offline gets what it missed and the others get what it wrote
   * meanwhile), and ask it which rooms this node's own user is joined to there (a linked or
   * restored device gets the user's rooms so).
   */
  #greet (peer: PeerId): void {
    const key = peer.toString()
    if (this.#greeting.has(key) || this.#stopping !== undefined) return
    this.#greeting.add(key)
    this.#background((async () => {
      const userId = await this.#directory.ask(peer, { signal: AbortSignal.any([this.#engine.signal, AbortSignal.timeout(HELLO_TIMEOUT_MS)]) })
      if (this.#book.isRevoked(deviceIdOfPeer(peer))) {
        await this.libp2p.hangUp(peer).catch(() => {})
        return
      }
      if (userId === undefined) return
      if (userId === this.userId) {
        // Another device of this user: its attestation is worth knowing (renewal works from it).
        for (const device of await this.#directory.devicesOf(userId)) if (device.attestation !== undefined) this.#book.noteAttestation(device.attestation)
        // A renewal that waited for this device can go now.
        const deviceId = deviceIdOfPeer(peer)
        if (deviceId !== undefined) this.#renewRetryAt.delete(deviceId)
        this.#scheduleRenewal()
      }
      for (const { roomId, membership } of await this.#engine.rooms()) {
        if (membership !== 'join' || this.#stopping !== undefined) continue
        const view = await this.#engine.room(roomId)
        const theirs = view?.membership(userId)
        if (theirs === 'invite') {
          const eventId = view?.entry(RoomEventType.Member, userId)?.eventId
          if (eventId !== undefined) await this.#deliverInvite(peer, eventId)
        } else if (theirs === 'join') {
          await this.#engine.catchUp(roomId, peer).catch((err: unknown) => {
            this.#log('catch-up of %s from %p failed: %s', roomId, peer, err instanceof Error ? err.message : String(err))
          })
        }
      }
      await this.#discoverRooms(peer)
    })().catch((err: unknown) => {
      if (this.#stopping === undefined) this.#log.error('greeting %p failed - %e', peer, err)
    }).finally(() => this.#greeting.delete(key)))
  }

  // -------------------------------------------------------------------------------------------
  // Invites

  async #onInvite (bytes: Uint8Array, from: PeerId): Promise<InviteVerdict> {
    const offered = checkOfferedInvite(bytes, this.userId)
    if (!offered.ok) return offered
    const { eventId, event } = offered.checked
    const roomId = event.room_id
    const view = await this.#engine.room(roomId)
    const held = view?.entry(RoomEventType.Member, this.userId)
    const mine = view?.membership(this.userId)
    // A join this node holds is superseded by an invite deeper than it: the node was kicked or
    // banned (and unbanned) behind a partition and, refused sync as a departed user and with its
    // gossip soft-failed, never saw it — the invite is its news. Older or concurrent invites are
    // answered ok and dropped.
    if (mine === 'join' && !inviteFollows({ eventId, depth: event.depth }, held)) return { ok: true }
    // A ban this node saw is no reason to refuse an invite that comes after it: a banned node is
    // off the room's topic and refused sync, so it never sees its unban — the invite is its news.
    if (mine === 'ban' && !inviteFollows({ eventId, depth: event.depth }, held)) return { ok: false, problem: 'refused', reason: 'banned from the room' }
    // Where the inviter listens (what identify told the peer store), not the connection's remote
    // address: an inbound connection's is an ephemeral port nobody can dial back.
    const addrs = await this.libp2p.peerStore.get(from).then(p => p.addresses.map(a => a.multiaddr.toString()), () => [])
    const known = await this.#invites.get(roomId)
    await this.#invites.add({ roomId, eventId, sender: event.sender, from: from.toString(), addrs, receivedTs: this.#now(), depth: event.depth })
    if (known?.eventId !== eventId) {
      this.emit('membership', { roomId, userId: this.userId, membership: 'invite', eventId, sender: event.sender, direct: true })
    }
    return { ok: true }
  }

  /** Hands a stored invite to one device: two attempts (a fresh connection can refuse its first stream). */
  async #deliverInvite (peer: PeerId, eventId: string): Promise<boolean> {
    const stored = await this.#store.getEvent(eventId)
    if (stored === undefined || this.#inviteDelivery === undefined) return false
    for (let attempt = 1; attempt <= INVITE_DELIVERY_ATTEMPTS; attempt++) {
      try {
        await this.#inviteDelivery.deliver(peer, stored.bytes, { signal: AbortSignal.any([this.#engine.signal, AbortSignal.timeout(INVITE_DELIVERY_TIMEOUT_MS)]) })
        return true
      } catch (err) {
        this.#log('delivering invite %s to %p failed (attempt %d): %s', eventId, peer, attempt, err instanceof Error ? err.message : String(err))
        if (this.#engine.signal.aborted || (err instanceof KeyroomError && err.code === ErrorCode.InviteRefused)) return false
      }
    }
    return false
  }

  /**
   * The devices to hand a user's invite to: connected peers whose hello names the user (asked now
   * when not known yet), and the devices the identity directory lists for them (dialled by PeerId:
   * libp2p finds their addresses by DHT peer routing). Revoked and expired devices are left out.
   */
  async #inviteTargets (userId: string, includeDirectory: boolean): Promise<PeerId[]> {
    const out = new Map<string, PeerId>()
    const bounded = (): AbortSignal => AbortSignal.any([this.#engine.signal, AbortSignal.timeout(HELLO_TIMEOUT_MS)])
    for (const peer of this.libp2p.getPeers()) {
      if (await this.#directory.userOf(peer, { signal: bounded() }) === userId) out.set(peer.toString(), peer)
    }
    if (this.#deviceDirectory !== undefined && includeDirectory) {
      try {
        for (const device of await this.#deviceDirectory.devicesOf(userId, { signal: AbortSignal.any([this.#engine.signal, AbortSignal.timeout(DIRECTORY_LOOKUP_TIMEOUT_MS)]) })) {
          if (device.revoked || (device.expiresTs !== undefined && device.expiresTs <= this.#now())) continue
          const peer = peerIdFromDeviceKey(parseDeviceId(device.deviceId))
          if (!out.has(peer.toString())) out.set(peer.toString(), peer)
        }
      } catch (err) {
        this.#log('directory lookup of %s failed: %s', userId, err instanceof Error ? err.message : String(err))
      }
    }
    return [...out.values()]
  }

  // -------------------------------------------------------------------------------------------
  // Devices: link, renew, revoke, restore (docs/devices.md)

  #requireUserKey (action: string): Uint8Array {
    if (this.#upkSeed === undefined) {
      throw new KeyroomError(ErrorCode.NoUserKey, `this device does not hold the user key (UPK), so it cannot ${action}`, {
        hint: 'do it from a device that holds the user key, or start this one with the recovery phrase'
      })
    }
    return this.#upkSeed
  }

  /** This device's attestation, parsed (its signatures were checked when it was loaded or taken). */
  #currentAttestation (): Attestation {
    const check = defaultAttestationCache.attestation(this.#device.attestation)
    if (!check.ok) throw new KeyroomError(ErrorCode.InvalidKeyMaterial, `this device's attestation is ${check.status}`)
    return check.attestation
  }

  /** A renewed attestation of this device becomes the one it signs with and shows. */
  #setAttestation (attestation: AttestationJson): void {
    this.#device = { userId: this.userId, deviceSeed: this.#device.deviceSeed, attestation }
    this.#book.noteAttestation(attestation)
  }

  /** Just linked: dial the linking device back (it shares the user's rooms). */
  dialBack (addresses: string[]): void {
    this.#background(this.connect(addresses, { signal: AbortSignal.any([this.#engine.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) })
      .catch((err: unknown) => { this.#log('dialling the linking device back failed: %s', err instanceof Error ? err.message : String(err)) }))
  }

  /** What the rooms held say about devices: revocations, and the user's other devices. */
  async #readDeviceRecords (): Promise<void> {
    let learnt = false
    for (const { roomId } of await this.#engine.rooms()) {
      const view = await this.#engine.room(roomId)
      if (view === undefined) continue
      for (const { event } of view.entriesOfType(RoomEventType.Device)) learnt = this.#book.noteEvent(event) || learnt
      for (const { event } of view.members()) learnt = this.#book.noteEvent(event) || learnt
    }
    if (learnt) this.#scheduleRenewal()
  }

  /** A device was revoked (by any user, learnt from anywhere): stop talking to it. */
  #onRevoked (deviceId: string): void {
    if (deviceId === this.deviceId) {
      this.#log.error('this device (%s) was revoked by its user', deviceId)
      return
    }
    const libp2p = this.#libp2p
    if (libp2p === undefined || this.#stopping !== undefined) return
    let peer: PeerId
    try {
      peer = peerIdFromDeviceKey(parseDeviceId(deviceId))
    } catch {
      return
    }
    if (libp2p.getConnections(peer).length > 0) {
      this.#log('hanging up on revoked device %s', deviceId)
      void libp2p.hangUp(peer).catch(() => {})
    }
  }

  /**
   * One anti-entropy round: each joined room asks one connected device of a joined member (the
   * next in turn) for its heads, and catches up when it names one this node lacks. Quiet: the
   * `sync` events are emitted only when there is something to fetch.
   */
  async #antiEntropy (): Promise<void> {
    this.#syncing = true
    try {
      for (const { roomId, membership } of await this.#engine.rooms()) {
        if (membership !== 'join' || this.#stopping !== undefined) continue
        const view = await this.#engine.room(roomId)
        if (view === undefined) continue
        const members = this.libp2p.getPeers().filter(peer => {
          const userId = this.#directory.knownUserOf(peer)
          return userId !== undefined && view.membership(userId) === 'join'
        })
        if (members.length === 0) continue
        const turn = (this.#syncTurn.get(roomId) ?? 0) % members.length
        this.#syncTurn.set(roomId, turn + 1)
        await this.#engine.catchUp(roomId, members[turn]!, { quiet: true }).catch((err: unknown) => {
          this.#log('anti-entropy of %s from %p failed: %s', roomId, members[turn], err instanceof Error ? err.message : String(err))
        })
      }
    } finally {
      this.#syncing = false
    }
  }

  /**
   * Another user removed this one from a room (kick or ban), and the node left the room's topic.
   * The removal may lose state resolution against a concurrent event (the remover banned or
   * demoted first): every other node then keeps this user joined, but this one, off the topic,
   * would hear nothing more until it reconnects. So it takes a second look, twice
   * ({@link REMOVAL_RECHECK_DELAYS_MS}): asks up to {@link REMOVAL_RECHECK_PEERS} connected peers
   * which rooms the user is joined to there, and catches those up (`#discoverRooms`).
   */
  #scheduleRemovalChecks (roomId: string, attempt = 0): void {
    const delay = REMOVAL_RECHECK_DELAYS_MS[attempt]
    if (delay === undefined || this.#stopping !== undefined) return
    clearTimeout(this.#removalChecks.get(roomId))
    const timer = setTimeout(() => {
      this.#removalChecks.delete(roomId)
      this.#background((async () => {
        const view = await this.#engine.room(roomId)
        const membership = view?.membership(this.userId)
        if (membership !== 'leave' && membership !== 'ban') return
        const peers = this.peers().filter(p => p.userId !== undefined).slice(0, REMOVAL_RECHECK_PEERS)
        for (const peer of peers) {
          if (this.#stopping !== undefined) return
          await this.#discoverRooms(peerIdFromString(peer.peerId))
          if ((await this.#engine.room(roomId))?.membership(this.userId) === 'join') return
        }
        this.#scheduleRemovalChecks(roomId, attempt + 1)
      })())
    }, delay)
    timer.unref?.()
    this.#removalChecks.set(roomId, timer)
  }

  /**
   * Asks a peer which rooms this device's user is joined to there, and fetches the ones this node
   * does not hold as joined: how a linked or restored device gets the user's rooms back (from the
   * user's other devices, or any member of those rooms). Once a room shows the user joined, the
   * node subscribes to it and records this device's attestation in it.
   */
  async #discoverRooms (peer: PeerId): Promise<void> {
    const service = this.#deviceProtocols
    if (service === undefined || this.#stopping !== undefined) return
    let rooms: string[]
    try {
      rooms = await service.rooms(peer, { signal: AbortSignal.any([this.#engine.signal, AbortSignal.timeout(HELLO_TIMEOUT_MS)]) })
    } catch (err) {
      this.#log('%p did not list our rooms: %s', peer, err instanceof Error ? err.message : String(err))
      return
    }
    for (const roomId of rooms) {
      if (this.#stopping !== undefined) return
      const view = await this.#engine.room(roomId)
      if (view?.membership(this.userId) === 'join' || this.#discovering.has(roomId)) continue
      this.#discovering.add(roomId)
      try {
        await this.#engine.catchUp(roomId, peer)
        if ((await this.#engine.room(roomId))?.membership(this.userId) === 'join') {
          this.#engine.subscribe(roomId)
          await this.#invites.remove(roomId)
          await this.#ensureAttested(roomId)
        }
      } catch (err) {
        this.#log('fetching room %s from %p failed: %s', roomId, peer, err instanceof Error ? err.message : String(err))
      } finally {
        this.#discovering.delete(roomId)
      }
    }
  }

  /**
   * `/keyroom/rooms`: the rooms the asking device's user is joined to, among those this node is
   * joined to itself. Only a device whose attestation is in force now and unrevoked is told.
   */
  async #roomsOf (from: PeerId, options: AbortOptions): Promise<string[] | undefined> {
    const userId = await this.#directory.userOf(from, { signal: AbortSignal.any([this.#engine.signal, AbortSignal.timeout(HELLO_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])]) })
    if (userId === undefined) return undefined
    const out: string[] = []
    for (const { roomId, membership } of await this.#engine.rooms()) {
      if (membership !== 'join') continue
      if ((await this.#engine.room(roomId))?.membership(userId) === 'join') out.push(roomId)
    }
    return out
  }

  /**
   * `/keyroom/link` on a linked device: a renewal. Taken when it is an attestation of this very
   * device by its own user, newer than the one it holds; the device counter-signs it, stores it in
   * its keystore and signs with it from now on. (Link offers with a code are for waiting devices.)
   */
  async #onOffer (offer: LinkOffer): Promise<LinkVerdict> {
    if (offer.code !== undefined) return { ok: false, problem: 'refused', reason: 'this device is linked already' }
    let full: unknown
    try {
      full = signJson(offer.attestation, this.deviceId, IDENTITY_KEY_ID, this.#device.deviceSeed)
    } catch (err) {
      return { ok: false, problem: 'malformed', reason: err instanceof Error ? err.message : String(err) }
    }
    const verdict = verifyAttestation(full, { now: this.#now() })
    if (verdict.status !== 'valid') return { ok: false, problem: verdict.status === 'malformed' ? 'malformed' : 'refused', reason: `the attestation is ${verdict.status}` }
    const { attestation } = verdict
    if (attestation.upk !== this.userId || attestation.udk !== this.deviceId) return { ok: false, problem: 'refused', reason: 'not an attestation of this device by its user' }
    if (!newerAttestation(attestation, this.#currentAttestation())) return { ok: false, problem: 'refused', reason: 'not newer than the attestation this device holds' }
    await replaceAttestation(this.#options.dataDir, attestation.json)
    this.#setAttestation(attestation.json)
    this.#log('attestation renewed until %d', attestation.expiresTs ?? 0)
    return { ok: true, attestation: attestation.json }
  }

  /**
   * Records this device's attestation in a joined room's state when the state does not hold it (a
   * linked or restored device's first event in the room, or a renewed attestation): a
   * `keyroom.device` event by this device about itself (keyroom.1 K4 source 3).
   */
  async #ensureAttested (roomId: string): Promise<void> {
    const stale = (view: RoomView): boolean => {
      if (view.membership(this.userId) !== 'join') return false
      const standing = deviceStanding(this.userId, this.deviceId, view.lookup(view.current), defaultAttestationCache)
      // A revoked device cannot undo it; what it sends is refused by the rules anyway.
      if (standing.revokedTs !== undefined) return false
      return standing.attestation === undefined || newerAttestation(this.#currentAttestation(), standing.attestation)
    }
    const view = await this.#engine.room(roomId)
    if (view === undefined || !stale(view)) return
    await this.#engine.sendLocal(roomId, (v, context, originServerTs) => {
      if (!stale(v)) throw new AlreadyDone('')
      return buildDeviceAttestation(this.#device, context, { originServerTs, attestation: this.#device.attestation })
    }).catch((err: unknown) => {
      if (!(err instanceof AlreadyDone)) throw err
    })
  }

  /** A local event, after making sure the room's state attests this device. */
  async #sendLocal (roomId: string, build: (view: RoomView, context: RoomContext, originServerTs: number) => IdentifiedEvent): Promise<CheckedEvent> {
    await this.#ensureAttested(roomId)
    return await this.#engine.sendLocal(roomId, build)
  }

  /**
   * Sends a `keyroom.device` event built by `build` in every room this user is joined to where
   * `needed` says the state lacks it. Returns the number of rooms it went into; a room that refuses
   * it is logged and skipped (the others still get it).
   */
  async #recordInRooms (needed: (view: RoomView) => boolean, build: (context: RoomContext, originServerTs: number) => IdentifiedEvent): Promise<number> {
    let rooms = 0
    for (const { roomId, membership } of await this.#engine.rooms()) {
      if (membership !== 'join' || this.#stopping !== undefined) continue
      try {
        await this.#sendLocal(roomId, (v, context, originServerTs) => {
          if (!needed(v)) throw new AlreadyDone('')
          return build(context, originServerTs)
        })
        rooms++
      } catch (err) {
        if (!(err instanceof AlreadyDone)) this.#log('recording a device statement in %s failed: %s', roomId, err instanceof Error ? err.message : String(err))
      }
    }
    return rooms
  }

  /** The state lacks `attestation` for its device (no record, an older one) and does not revoke it. */
  #lacksAttestation (view: RoomView, attestation: Attestation): boolean {
    const standing = deviceStanding(this.userId, attestation.udk, view.lookup(view.current), defaultAttestationCache)
    return standing.revokedTs === undefined && (standing.attestation === undefined || newerAttestation(attestation, standing.attestation))
  }

  /**
   * Offers `peer` (a device) an attestation by this user's UPK and returns it counter-signed.
   * Throws `ERR_DEVICE_UNREACHABLE`, `ERR_LINK_REFUSED`, `ERR_PEER_BAD_MESSAGE`.
   */
  async #offerAttestation (peer: PeerId, deviceId: string, upkSeed: Uint8Array, offer: { expiresTs?: number, code?: string, via: readonly string[] }, signal: AbortSignal): Promise<AttestationJson> {
    const issuedTs = this.#now()
    if (offer.expiresTs !== undefined && (!Number.isSafeInteger(offer.expiresTs) || offer.expiresTs <= issuedTs)) {
      throw new KeyroomError(ErrorCode.InvalidEvent, 'expiresTs must be a time in the future (ms since the epoch)')
    }
    const offered: Record<string, unknown> = { ...signJson(attestationBody({ upk: this.userId, udk: deviceId, issuedTs, expiresTs: offer.expiresTs }), this.userId, IDENTITY_KEY_ID, upkSeed) }
    if (this.libp2p.getConnections(peer).length === 0) {
      // At the link's addresses, else by PeerId (the peer store or DHT peer routing may know where).
      const targets = offer.via.map(a => multiaddr(a).encapsulate(`/p2p/${peer.toString()}`))
      let lastError: unknown
      for (const target of [...(targets.length > 0 ? [targets] : []), peer]) {
        try {
          await this.libp2p.dial(target, { signal })
          lastError = undefined
          break
        } catch (err) {
          lastError = err
          if (signal.aborted) break
        }
      }
      if (lastError !== undefined) {
        throw new KeyroomError(ErrorCode.DeviceUnreachable, `device ${deviceId} could not be reached`, {
          hint: 'both devices must be on the same network (or share a bootstrap peer); show the link again on the new device', cause: lastError
        })
      }
    }
    const answer = await this.#deviceProtocols!.offer(peer, { attestation: offered, ...(offer.code === undefined ? {} : { code: offer.code }), via: this.multiaddrs() }, { signal })
    const verdict = verifyAttestation(answer, { now: issuedTs })
    if (verdict.status !== 'valid' || verdict.attestation.upk !== this.userId || verdict.attestation.udk !== deviceId ||
      verdict.attestation.issuedTs !== issuedTs || verdict.attestation.expiresTs !== offer.expiresTs) {
      throw new KeyroomError(ErrorCode.PeerBadMessage, `device ${deviceId} answered with something other than the attestation it was offered, counter-signed`)
    }
    return verdict.attestation.json
  }

  /** A device attestation this UPK holder made: keep it, record it in every room and the directory. */
  async #adoptAttestation (json: AttestationJson): Promise<number> {
    this.#book.noteAttestation(json)
    this.#recordAttestations.set(json.udk, json)
    const check = defaultAttestationCache.attestation(json)
    if (!check.ok) throw new KeyroomError(ErrorCode.InvalidKeyMaterial, `the attestation is ${check.status}`)
    const rooms = await this.#recordInRooms(v => this.#lacksAttestation(v, check.attestation),
      (context, originServerTs) => buildDeviceAttestation(this.#device, context, { originServerTs, attestation: json }))
    this.#republishIdentity()
    this.#scheduleRenewal()
    return rooms
  }

  async linkDevice (linkText: string, options: LinkDeviceOptions = {}): Promise<LinkedDevice> {
    this.#assertRunning()
    const upkSeed = this.#requireUserKey('link a device')
    const link = parseLinkText(linkText)
    if (link.deviceId === this.deviceId) throw new KeyroomError(ErrorCode.InvalidKey, 'that link is this device\'s own', { hint: 'scan the link the new device shows' })
    if (this.#book.isRevoked(link.deviceId)) {
      throw new KeyroomError(ErrorCode.Forbidden, `device ${link.deviceId} was revoked, and a revoked device key is never attested again`, {
        hint: 'start the new device over on an empty data directory (it then makes a new key)'
      })
    }
    const peer = peerIdFromDeviceKey(parseDeviceId(link.deviceId))
    const signal = AbortSignal.any([this.#engine.signal, AbortSignal.timeout(LINK_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])])
    const attestation = await this.#offerAttestation(peer, link.deviceId, upkSeed, {
      ...(options.expiresTs === undefined ? {} : { expiresTs: options.expiresTs }), code: link.code, via: link.via
    }, signal)
    const rooms = await this.#adoptAttestation(attestation)
    this.#log('linked device %s (%d rooms)', link.deviceId, rooms)
    return { deviceId: link.deviceId, ...(attestation.expires_ts === undefined ? {} : { expiresTs: attestation.expires_ts }), rooms }
  }

  /** The user a device belongs to, as the rooms held and the peers met say (`undefined`: not known). */
  async #ownerOf (deviceId: string): Promise<string | undefined> {
    if (this.#book.ownAttestation(deviceId) !== undefined) return this.userId
    for (const { roomId } of await this.#engine.rooms()) {
      const view = await this.#engine.room(roomId)
      if (view === undefined) continue
      const record = view.entry(RoomEventType.Device, deviceId)?.event
      if (record !== undefined) return record.sender
      for (const { event } of view.members()) {
        const attestation = event.content.sender_key as Record<string, unknown> | undefined
        if (attestation?.udk === deviceId && typeof attestation.upk === 'string') return attestation.upk
      }
    }
    const peer = this.libp2p.getPeers().find(p => deviceIdOfPeer(p) === deviceId)
    return peer === undefined ? undefined : this.#directory.knownUserOf(peer)
  }

  async revokeDevice (deviceId: string, options: RevokeDeviceOptions = {}): Promise<RevokedDeviceResult> {
    this.#assertRunning()
    const upkSeed = this.#requireUserKey('revoke a device')
    parseDeviceId(deviceId)
    if (deviceId === this.deviceId) {
      throw new KeyroomError(ErrorCode.Forbidden, 'a device cannot revoke itself', { hint: 'revoke it from another device of yours (or one restored with the recovery phrase)' })
    }
    const owner = await this.#ownerOf(deviceId)
    if (owner !== undefined && owner !== this.userId) throw new KeyroomError(ErrorCode.Forbidden, `device ${deviceId} belongs to another user (${owner})`)
    const known = this.#book.revoked(deviceId)
    const revocation = known?.userId === this.userId
      ? known.revocation
      : createRevocation({ upkSeed, udk: deviceId, revokedTs: this.#now(), ...(options.reason === undefined ? {} : { reason: options.reason }) })
    this.#book.noteRevocation(revocation)
    this.#recordRevocations.set(deviceId, revocation)
    this.#recordAttestations.delete(deviceId)
    const rooms = await this.#recordInRooms(
      v => deviceStanding(this.userId, deviceId, v.lookup(v.current), defaultAttestationCache).revokedTs === undefined,
      (context, originServerTs) => buildDeviceRevocation(this.#device, context, { originServerTs, revocation }))
    this.#republishIdentity()
    this.#log('revoked device %s (%d rooms)', deviceId, rooms)
    return { deviceId, revokedTs: revocation.revoked_ts, rooms }
  }

  async devices (options: AbortOptions = {}): Promise<OwnDevice[]> {
    this.#assertRunning()
    const { devices } = await this.lookupUser(this.userId, options)
    if (!devices.some(d => d.deviceId === this.deviceId)) devices.push({ deviceId: this.deviceId, revoked: false, connected: false })
    return devices.map((device) => {
      const own: OwnDevice = { ...device, current: device.deviceId === this.deviceId }
      const attestation = this.#book.ownAttestation(device.deviceId)
      if (attestation !== undefined) own.issuedTs = attestation.issuedTs
      const revoked = this.#book.revoked(device.deviceId)
      if (revoked !== undefined) Object.assign(own, { revoked: true, revokedTs: revoked.revokedTs })
      return own
    }).sort((a, b) => compareCodePoints(a.deviceId, b.deviceId))
  }

  // Renewal -----------------------------------------------------------------------------------

  /** Devices whose renewal failed (not connected), and when to try again. */
  readonly #renewRetryAt = new Map<string, number>()
  #renewing = false

  /**
   * When an attestation is due for renewal (two thirds into its lifetime, or a retry time);
   * `undefined` for one that does not expire, is revoked, or has lapsed — a lapsed device is not
   * revived behind the user's back (they link it again if they want it).
   */
  #renewalDueAt (attestation: Attestation): number | undefined {
    if (attestation.expiresTs === undefined || this.#book.isRevoked(attestation.udk) || this.#now() >= attestation.expiresTs) return undefined
    const due = attestation.issuedTs + Math.floor((attestation.expiresTs - attestation.issuedTs) * RENEW_AT_LIFETIME_FRACTION)
    return Math.max(due, this.#renewRetryAt.get(attestation.udk) ?? 0)
  }

  /**
   * Arms the renewal timer for the earliest due attestation of the user's devices. Only a device
   * holding the UPK renews (its own attestation, and those of the user's other devices while they
   * are connected); the timer is cleared on stop.
   */
  #scheduleRenewal (): void {
    if (this.#upkSeed === undefined || this.#stopping !== undefined || this.#libp2p === undefined) return
    clearTimeout(this.#renewTimer)
    this.#renewTimer = undefined
    let earliest: number | undefined
    for (const attestation of this.#book.ownAttestations()) {
      const due = this.#renewalDueAt(attestation)
      if (due !== undefined && (earliest === undefined || due < earliest)) earliest = due
    }
    if (earliest === undefined) return
    const delay = Math.min(Math.max(0, earliest - this.#now()), MAX_TIMER_MS)
    this.#renewTimer = setTimeout(() => {
      this.#renewTimer = undefined
      this.#background(this.#renewDue())
    }, delay)
  }

  async #renewDue (): Promise<void> {
    if (this.#renewing || this.#stopping !== undefined) return
    this.#renewing = true
    try {
      for (const attestation of this.#book.ownAttestations()) {
        const due = this.#renewalDueAt(attestation)
        if (due === undefined || this.#now() < due || this.#stopping !== undefined) continue
        try {
          await this.#renew(attestation)
          this.#renewRetryAt.delete(attestation.udk)
        } catch (err) {
          this.#renewRetryAt.set(attestation.udk, this.#now() + RENEW_RETRY_MS)
          this.#log('renewing the attestation of %s failed: %s', attestation.udk, err instanceof Error ? err.message : String(err))
        }
      }
    } finally {
      this.#renewing = false
    }
    this.#scheduleRenewal()
  }

  /** Renews one attestation for its lifetime again, from now. */
  async #renew (attestation: Attestation): Promise<void> {
    const upkSeed = this.#requireUserKey('renew an attestation')
    const lifetime = attestation.expiresTs! - attestation.issuedTs
    if (attestation.udk === this.deviceId) {
      const issuedTs = this.#now()
      const json = createAttestation({ upkSeed, udkSeed: this.#device.deviceSeed, issuedTs, expiresTs: issuedTs + lifetime })
      await replaceAttestation(this.#options.dataDir, json)
      this.#setAttestation(json)
      this.#recordAttestations.set(json.udk, json)
      for (const { roomId, membership } of await this.#engine.rooms()) {
        if (membership === 'join') await this.#ensureAttested(roomId).catch((err: unknown) => { this.#log('recording the renewed attestation in %s failed: %s', roomId, err instanceof Error ? err.message : String(err)) })
      }
      this.#republishIdentity()
      return
    }
    const peer = peerIdFromDeviceKey(parseDeviceId(attestation.udk))
    if (this.libp2p.getConnections(peer).length === 0) throw new KeyroomError(ErrorCode.DeviceUnreachable, `device ${attestation.udk} is not connected`)
    const json = await this.#offerAttestation(peer, attestation.udk, upkSeed, { expiresTs: this.#now() + lifetime, via: [] },
      AbortSignal.any([this.#engine.signal, AbortSignal.timeout(LINK_TIMEOUT_MS)]))
    await this.#adoptAttestation(json)
  }

  // -------------------------------------------------------------------------------------------
  // Rooms

  async createRoom (options: CreateRoomOptions = {}): Promise<string> {
    this.#assertRunning()
    const created = buildCreateRoom({
      device: this.#device,
      // The RRK signs the create content once and is never needed again: it is not kept.
      rrkSeed: crypto.getRandomValues(new Uint8Array(32)),
      originServerTs: this.#now(),
      joinRule: options.joinRule ?? 'invite',
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(options.topic === undefined ? {} : { topic: options.topic })
    })
    await this.#engine.createLocalRoom(created.events)
    this.#engine.subscribe(created.roomId)
    return created.roomId
  }

  async invite (roomId: string, userId: string): Promise<string> {
    this.#assertRunning()
    parseUserId(userId)
    const view = await this.#engine.requireRoom(roomId)
    let eventId: string
    const current = view.membership(userId)
    if (current === 'join') return view.entry(RoomEventType.Member, userId)!.eventId
    if (current === 'invite') {
      eventId = view.entry(RoomEventType.Member, userId)!.eventId
    } else {
      const checked = await this.#sendLocal(roomId, (v, context, originServerTs) => {
        // Retried after a failure: an invite stored meanwhile is reused, not sent twice.
        if (v.membership(userId) === 'invite' || v.membership(userId) === 'join') throw new AlreadyDone(v.entry(RoomEventType.Member, userId)!.eventId)
        return buildInvite(this.#device, context, { originServerTs, target: userId })
      }).catch((err: unknown) => {
        if (err instanceof AlreadyDone) return err.eventId
        throw err
      })
      eventId = typeof checked === 'string' ? checked : checked.eventId
    }
    // The invitee is not on the room's topic: hand the invite to its connected devices directly.
    const connected = await this.#inviteTargets(userId, false)
    await Promise.all(connected.map(async peer => await this.#deliverInvite(peer, eventId)))
    // Devices the directory knows, in the background (a DHT lookup can take seconds).
    this.#background((async () => {
      const reached = new Set(connected.map(p => p.toString()))
      for (const peer of await this.#inviteTargets(userId, true)) {
        if (!reached.has(peer.toString())) await this.#deliverInvite(peer, eventId)
      }
    })().catch((err: unknown) => { this.#log('delivering invite %s through the directory failed: %s', eventId, err instanceof Error ? err.message : String(err)) }))
    return eventId
  }

  async join (roomIdOrUri: string, options: AbortOptions = {}): Promise<string> {
    this.#assertRunning()
    const target = roomIdOrUri.includes(':') ? parseKeyroomUri(roomIdOrUri) : undefined
    if (target !== undefined && target.kind !== 'room') throw new KeyroomError(ErrorCode.InvalidKey, 'a user link is not a room link', { hint: 'join with a keyroom:r/… link or a room ID' })
    const roomId = target?.kind === 'room' ? target.roomId : roomIdOrUri
    const via = target?.kind === 'room' ? target.via : []
    parseRoomId(roomId)

    let view = await this.#engine.room(roomId)
    const pending = await this.#invites.get(roomId)
    // A join held locally is trusted unless a delivered invite follows it (the node was removed
    // where it could not see it, and invited again): then the room is caught up like any invite.
    if (view?.membership(this.userId) === 'join' && (pending === undefined || !inviteFollows(pending, view.entry(RoomEventType.Member, this.userId)))) {
      this.#engine.subscribe(roomId)
      return roomId
    }

    // Peers that may share the room: the via addresses, the device that delivered an invite, anyone connected.
    const candidates = new Map<string, PeerId>()
    const dials = via.map(async (address) => {
      try {
        const connection = await this.libp2p.dial(multiaddr(address), { signal: AbortSignal.any([this.#engine.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])]) })
        candidates.set(connection.remotePeer.toString(), connection.remotePeer)
      } catch (err) {
        this.#log('could not dial %s: %s', address, err instanceof Error ? err.message : String(err))
      }
    })
    await Promise.all(dials)
    if (pending !== undefined) {
      const peer = this.libp2p.getPeers().find(p => p.toString() === pending.from)
      if (peer !== undefined) candidates.set(pending.from, peer)
      else {
        // The inviter's device: by its PeerId (libp2p's peer store and peer routing know where),
        // else at the addresses remembered with the invite.
        const targets = [peerIdFromString(pending.from), ...(pending.addrs.length > 0 ? [pending.addrs.map(a => multiaddr(a))] : [])]
        for (const target of targets) {
          try {
            const connection = await this.libp2p.dial(target, { signal: AbortSignal.any([this.#engine.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) })
            candidates.set(connection.remotePeer.toString(), connection.remotePeer)
            break
          } catch {
            // Reached through the others, or not at all.
          }
        }
      }
    }
    for (const peer of this.libp2p.getPeers()) if (!candidates.has(peer.toString())) candidates.set(peer.toString(), peer)

    // Catch up from each candidate until the room shows a way in (an invite, or a public rule):
    // a peer may not have seen the invite yet.
    let lastError: unknown
    for (const peer of candidates.values()) {
      options.signal?.throwIfAborted()
      try {
        await this.#engine.catchUp(roomId, peer, options)
        view = await this.#engine.room(roomId)
        const mine = view?.membership(this.userId)
        if (view !== undefined && (mine === 'invite' || mine === 'join' || view.joinRule() === 'public')) break
      } catch (err) {
        lastError = err
      }
    }
    view = await this.#engine.room(roomId)
    if (view === undefined) {
      throw new KeyroomError(ErrorCode.RoomUnreachable, `no reachable peer shares room ${roomId}`, {
        hint: 'join with a keyroom:r/… link whose via addresses are online, or ask a member to invite you while connected',
        ...(lastError === undefined ? {} : { cause: lastError })
      })
    }

    // Subscribed before the join goes out, so nothing sent right after it is missed.
    this.#engine.subscribe(roomId)
    try {
      await this.#engine.sendLocal(roomId, (v, context, originServerTs) => {
        const membership = v.membership(this.userId)
        if (membership === 'join') throw new AlreadyDone(v.entry(RoomEventType.Member, this.userId)!.eventId)
        let how: JoinVia
        if (membership === 'invite') how = { kind: 'invite' }
        else if (v.joinRule() === 'public') how = { kind: 'public' }
        else throw new KeyroomError(ErrorCode.Forbidden, `not invited to room ${roomId}, and it is not public`, { hint: 'ask a member to invite you' })
        return buildJoin(this.#device, context, { originServerTs, via: how })
      })
    } catch (err) {
      if (!(err instanceof AlreadyDone)) {
        if (view.membership(this.userId) !== 'join') this.#engine.unsubscribe(roomId)
        throw err
      }
    }
    await this.#invites.remove(roomId)
    return roomId
  }

  async leave (roomId: string, reason?: string): Promise<string> {
    this.#assertRunning()
    const checked = await this.#engine.sendLocal(roomId, (_v, context, originServerTs) =>
      buildLeave(this.#device, context, { originServerTs, ...(reason === undefined ? {} : { reason }) }))
    this.#engine.unsubscribe(roomId)
    await this.#invites.remove(roomId)
    return checked.eventId
  }

  async kick (roomId: string, userId: string, reason?: string): Promise<string> {
    this.#assertRunning()
    parseUserId(userId)
    return (await this.#sendLocal(roomId, (_v, context, originServerTs) =>
      buildKick(this.#device, context, { originServerTs, target: userId, ...(reason === undefined ? {} : { reason }) }))).eventId
  }

  async ban (roomId: string, userId: string, reason?: string): Promise<string> {
    this.#assertRunning()
    parseUserId(userId)
    return (await this.#sendLocal(roomId, (_v, context, originServerTs) =>
      buildBan(this.#device, context, { originServerTs, target: userId, ...(reason === undefined ? {} : { reason }) }))).eventId
  }

  async unban (roomId: string, userId: string, reason?: string): Promise<string> {
    this.#assertRunning()
    parseUserId(userId)
    return (await this.#sendLocal(roomId, (_v, context, originServerTs) =>
      buildUnban(this.#device, context, { originServerTs, target: userId, ...(reason === undefined ? {} : { reason }) }))).eventId
  }

  async setName (roomId: string, name: string): Promise<string> {
    this.#assertRunning()
    if (typeof name !== 'string') throw new KeyroomError(ErrorCode.InvalidEvent, 'a room name must be a string')
    return (await this.#sendLocal(roomId, (_v, context, originServerTs) => buildName(this.#device, context, { originServerTs, name }))).eventId
  }

  async setTopic (roomId: string, topic: string): Promise<string> {
    this.#assertRunning()
    if (typeof topic !== 'string') throw new KeyroomError(ErrorCode.InvalidEvent, 'a room topic must be a string')
    return (await this.#sendLocal(roomId, (_v, context, originServerTs) => buildTopic(this.#device, context, { originServerTs, topic }))).eventId
  }

  async setPowerLevel (roomId: string, userId: string, level: number): Promise<string> {
    this.#assertRunning()
    parseUserId(userId)
    // Matrix power levels are integers in the canonical-JSON range.
    if (!Number.isSafeInteger(level)) throw new KeyroomError(ErrorCode.InvalidEvent, `a power level must be an integer between ${Number.MIN_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`)
    return (await this.#sendLocal(roomId, (_v, context, originServerTs) => {
      const current = context.state.entry(RoomEventType.PowerLevels, '')?.event.content ?? {}
      const users = typeof current.users === 'object' && current.users !== null && !Array.isArray(current.users) ? current.users as Record<string, unknown> : {}
      const content = { ...current, users: { ...users, [userId]: level } }
      return buildPowerLevels(this.#device, context, { originServerTs, content })
    })).eventId
  }

  async send (roomId: string, content: MessageContent): Promise<string> {
    this.#assertRunning()
    if (typeof content?.msgtype !== 'string' || typeof content.body !== 'string') {
      throw new KeyroomError(ErrorCode.InvalidEvent, 'a message needs a string msgtype and a string body')
    }
    const { msgtype, body, ...extra } = content
    return (await this.#sendLocal(roomId, (_v, context, originServerTs) =>
      buildMessage(this.#device, context, { originServerTs, msgtype, body, content: extra }))).eventId
  }

  async messages (roomId: string, options: MessagesOptions = {}): Promise<RoomMessage[]> {
    this.#assertRunning()
    const limit = Math.max(1, Math.min(options.limit ?? DEFAULT_MESSAGES_LIMIT, MAX_MESSAGES_LIMIT))
    return await this.#engine.messages(roomId, { limit, ...(options.before === undefined ? {} : { before: options.before }) })
  }

  async members (roomId: string): Promise<RoomMember[]> {
    this.#assertRunning()
    return await this.#engine.members(roomId)
  }

  async rooms (): Promise<RoomSummary[]> {
    this.#assertRunning()
    const out: RoomSummary[] = await this.#engine.rooms()
    // A delivered invite is listed when it comes after the membership the room shows for this node
    // (a kicked or unbanned node holds the room as `leave` or `ban`, and sees nothing of it until
    // it joins again; a node removed behind a partition still holds its `join`).
    for (const invite of await this.#invites.list()) {
      const known = out.findIndex(r => r.roomId === invite.roomId)
      const room = out[known]
      if (room === undefined) {
        out.push({ roomId: invite.roomId, membership: 'invite' })
        continue
      }
      if (room.membership === 'invite') continue
      const held = (await this.#engine.room(invite.roomId))?.entry(RoomEventType.Member, this.userId)
      if (inviteFollows(invite, held)) out[known] = { ...room, membership: 'invite' }
    }
    return out
  }

  roomUri (roomId: string): string {
    return formatRoomUri(roomId, this.multiaddrs())
  }

  async catchUp (roomId: string, options: AbortOptions = {}): Promise<number> {
    this.#assertRunning()
    let stored = 0
    let reached = false
    let lastError: unknown
    for (const peer of this.libp2p.getPeers()) {
      try {
        stored += await this.#engine.catchUp(roomId, peer, options)
        reached = true
      } catch (err) {
        lastError = err
      }
    }
    if (!reached && lastError !== undefined) {
      throw new KeyroomError(ErrorCode.RoomUnreachable, `no connected peer shares room ${roomId}`, { cause: lastError })
    }
    return stored
  }

  async lookupUser (userId: string, options: AbortOptions = {}): Promise<UserLookup> {
    this.#assertRunning()
    parseUserId(userId)
    const devices = new Map<string, UserDevice & { issuedTs?: number }>()
    const connected = new Set(this.libp2p.getPeers().map(p => deviceIdOfPeer(p)))
    /**
     * Merges what one source says of a device: revoked by any source stays revoked; the expiry
     * shown is that of the newest attestation (latest `issued_ts`) any source holds — a renewal
     * supersedes the attestation it replaces — or, from a source without the attestation, its
     * expiry when nothing better is known.
     */
    const add = (deviceId: string, statement: { attestation?: unknown, expiresTs?: number | undefined }, revoked: boolean): void => {
      const known = devices.get(deviceId)
      const device: UserDevice & { issuedTs?: number } = { deviceId, revoked: revoked || known?.revoked === true || this.#book.isRevoked(deviceId), connected: connected.has(deviceId) }
      if (known?.expiresTs !== undefined) device.expiresTs = known.expiresTs
      if (known?.issuedTs !== undefined) device.issuedTs = known.issuedTs
      const check = statement.attestation === undefined ? undefined : defaultAttestationCache.attestation(statement.attestation)
      if (check?.ok === true && check.attestation.udk === deviceId && check.attestation.upk === userId) {
        if (device.issuedTs === undefined || check.attestation.issuedTs > device.issuedTs) {
          device.issuedTs = check.attestation.issuedTs
          if (check.attestation.expiresTs === undefined) delete device.expiresTs
          else device.expiresTs = check.attestation.expiresTs
        }
      } else if (device.issuedTs === undefined && statement.expiresTs !== undefined) {
        device.expiresTs = statement.expiresTs
      }
      devices.set(deviceId, device)
    }
    // The directory is asked only when some peer is connected: a DHT lookup from an empty routing
    // table finds nothing and would only wait out its time.
    const networked = this.#deviceDirectory !== undefined && (this.#options.directory !== undefined || this.libp2p.getPeers().length > 0)
    const sources: DeviceDirectory[] = [this.#directory, ...(networked ? [this.#deviceDirectory!] : [])]
    for (const source of sources) {
      try {
        const signal = AbortSignal.any([this.#engine.signal, AbortSignal.timeout(DIRECTORY_LOOKUP_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])])
        for (const device of await source.devicesOf(userId, { signal })) add(device.deviceId, device, device.revoked)
      } catch (err) {
        this.#log('directory lookup of %s failed: %s', userId, err instanceof Error ? err.message : String(err))
      }
    }
    // Room states: the attestation in the user's member event, and their keyroom.device records.
    for (const { roomId } of await this.#engine.rooms()) {
      const view = await this.#engine.room(roomId)
      if (view === undefined) continue
      for (const { event } of view.members()) {
        if (event.state_key !== userId || event.sender !== userId) continue
        const attestation = event.content.sender_key as Record<string, unknown> | undefined
        if (typeof attestation?.udk === 'string' && attestation.upk === userId) add(attestation.udk, { attestation }, false)
      }
      for (const { event } of view.entriesOfType(RoomEventType.Device)) {
        if (event.sender !== userId || typeof event.state_key !== 'string') continue
        add(event.state_key, { attestation: event.content.attestation }, event.content.revocation !== undefined)
      }
    }
    // What this node knows besides: the user's attestations (own user) and revocations (any user).
    if (userId === this.userId) for (const attestation of this.#book.ownAttestations()) add(attestation.udk, { attestation: attestation.json }, false)
    for (const revocation of this.#book.revocationsOf(userId)) add(revocation.udk, {}, true)
    for (const device of devices.values()) delete device.issuedTs
    return { userId, devices: [...devices.values()].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0)) }
  }
}

/** Thrown inside a build callback when a retried action turns out to be done already. */
class AlreadyDone extends Error {
  constructor (readonly eventId: string) {
    super('already done')
  }
}
