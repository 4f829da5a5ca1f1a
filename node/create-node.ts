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
  ErrorCode, KeyroomError, RoomEventType, buildBan, buildCreateRoom, buildInvite, buildJoin, buildKick, buildLeave, buildMessage,
  formatRoomUri, parseDeviceId, parseKeyroomUri, parseRoomId, parseUserId
} from '../protocols/core/index.js'
import { HELLO_PROTOCOL, hello as helloService } from '../protocols/hello/index.js'
import { identityDhtRecords, identityDirectory } from '../protocols/identity-dht/index.js'
import { inviteDelivery } from '../protocols/invite/index.js'
import { DATA_DIR_MODE, createIdentity, hasIdentity, loadIdentity, openLevelStore } from '../store/index.js'
import {
  DEFAULT_MESSAGES_LIMIT, DIAL_TIMEOUT_MS, DIRECTORY_LOOKUP_TIMEOUT_MS, KAD_PROTOCOL, HELLO_TIMEOUT_MS, INVITE_DELIVERY_ATTEMPTS, INVITE_DELIVERY_TIMEOUT_MS, MAX_MESSAGES_LIMIT, STORE_DIR_NAME
} from './constants.js'
import { dhtDeviceDirectory, publishOwnDevice } from './dht-directory.js'
import { InviteBook, checkOfferedInvite } from './invites.js'
import { createKeyroomLibp2p, peerIdFromDeviceKey } from './libp2p.js'
import { TypedEventTarget } from './node-events.js'
import { PeerDirectory, deviceIdOfPeer } from './peer-directory.js'
import { protocolComponents } from './protocol-components.js'
import { RoomEngine } from './room-engine.js'
import { identifyEvent } from './ingest-checks.js'
import type { DhtMode, KeyroomLibp2p } from './libp2p.js'
import type { KeyroomNodeEvents, RoomMessage } from './node-events.js'
import type { DeviceDirectory } from './peer-directory.js'
import type { RoomMember } from './room-engine.js'
import type { JoinVia, SigningDevice } from '../protocols/core/index.js'
import type { Hello } from '../protocols/hello/index.js'
import type { IdentityDirectory } from '../protocols/identity-dht/index.js'
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
  /** When its attestation expires (ms since the epoch), if it does. */
  expiresTs?: number
  /** Revoked by the user (in some room's state). */
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
  ban(roomId: string, userId: string, reason?: string): Promise<string>
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
  if (!(await hasIdentity(options.dataDir))) {
    if (options.createIdentity === false) {
      throw new KeyroomError(ErrorCode.NoIdentity, `no identity in ${options.dataDir}`, { hint: "create one with 'keyroom init', or pass createIdentity: true" })
    }
    recoveryPhrase = (await createIdentity(options.dataDir, { ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }), now: now() })).recoveryPhrase
  }
  const identity = await loadIdentity(options.dataDir, options.passphrase === undefined ? {} : { passphrase: options.passphrase })
  const store = await openLevelStore(joinPath(options.dataDir, STORE_DIR_NAME), { sync: options.durableWrites ?? true })
  try {
    const node = new Node(options, store, { userId: identity.userId, deviceSeed: identity.udkSeed, attestation: identity.attestation }, identity.deviceId, now, recoveryPhrase, identity.upkSeed)
    await node.start()
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
  readonly #device: SigningDevice
  readonly #now: () => number
  readonly #log: Logger
  readonly #logger: ReturnType<typeof defaultLogger>
  readonly #engine: RoomEngine
  readonly #directory: PeerDirectory
  readonly #invites: InviteBook
  #libp2p: KeyroomLibp2p | undefined
  #hello: ManualService<Hello> | undefined
  #inviteDelivery: ManualService<InviteDelivery> | undefined
  #identityDirectory: (IdentityDirectory & Startable) | undefined
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
    this.#directory = new PeerDirectory(() => this.#hello, this.#logger.forComponent('keyroom:node:directory'), now)
    this.#invites = new InviteBook(store)
    this.#engine = new RoomEngine({
      store,
      device,
      events: this,
      log: this.#logger.forComponent('keyroom:engine'),
      now,
      userOfPeer: async (peer, opts) => await this.#directory.userOf(peer, { signal: AbortSignal.any([AbortSignal.timeout(HELLO_TIMEOUT_MS), ...(opts?.signal === undefined ? [] : [opts.signal])]) })
    })
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
      // The identity directory's records (`/keyroom/upk/…`) are validated by every DHT node.
      dht: identityDhtRecords(),
      gossip: {
        identifyEvent,
        validate: async (roomId, bytes, from, opts) => await engine.validateGossip(roomId, bytes, from, opts),
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
      await this.#hello.start()
      await this.#inviteDelivery.start()
      const directory = identityDirectory({ now: this.#now })({ dht: libp2p.services.dht, peerRouting: libp2p.peerRouting, logger: this.#logger })
      this.#identityDirectory = directory
      await directory.start()
      this.#deviceDirectory = options.directory ?? dhtDeviceDirectory(directory)
      await engine.attach({ sync: libp2p.services.sync, gossip: libp2p.services.roomGossip })
      libp2p.addEventListener('peer:identify', this.#onIdentify)
      libp2p.addEventListener('peer:discovery', this.#onDiscovery)
      // Peers that connected before the listener was in place.
      for (const peer of libp2p.getPeers()) this.#greet(peer)
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
    try {
      await this.#engine.stop()
      while (this.#tasks.size > 0) await Promise.all([...this.#tasks])
      await this.#inviteDelivery?.stop().catch(() => {})
      await this.#hello?.stop().catch(() => {})
      await Promise.resolve(this.#identityDirectory?.stop()).catch(() => {})
      await libp2p?.stop()
      // Work that raced the network's shutdown.
      await this.#engine.stop()
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
   * next connection if it fails. Only a device that keeps the UPK seed can sign the record.
   */
  #publishIdentity (): void {
    const directory = this.#identityDirectory
    const upkSeed = this.#upkSeed
    if (this.#published || this.#publishing || directory === undefined || upkSeed === undefined || this.#stopping !== undefined) return
    this.#publishing = true
    this.#background(publishOwnDevice(directory, { userId: this.userId, upkSeed, attestation: this.#device.attestation }, { signal: this.#engine.signal })
      .then(() => { this.#published = true }, (err: unknown) => {
        this.#log('publishing the directory record failed: %s', err instanceof Error ? err.message : String(err))
      })
      .finally(() => { this.#publishing = false }))
  }

  /** Background work the node started: awaited (settled) by `stop` before the database closes. */
  readonly #tasks = new Set<Promise<unknown>>()
  #background (task: Promise<unknown>): void {
    const settled = task.catch(() => {})
    this.#tasks.add(settled)
    void settled.finally(() => this.#tasks.delete(settled))
  }

  /**
   * A keyroom peer (re)connected: learn its user (hello), hand it the invites waiting for that
   * user, and catch up every joined room it is a member of (both sides do this, so a node that was
   * offline gets what it missed and the others get what it wrote meanwhile).
   */
  #greet (peer: PeerId): void {
    const key = peer.toString()
    if (this.#greeting.has(key) || this.#stopping !== undefined) return
    this.#greeting.add(key)
    this.#background((async () => {
      const userId = await this.#directory.ask(peer, { signal: AbortSignal.any([this.#engine.signal, AbortSignal.timeout(HELLO_TIMEOUT_MS)]) })
      if (userId === undefined) return
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
    const mine = view?.membership(this.userId)
    if (mine === 'join') return { ok: true }
    if (mine === 'ban') return { ok: false, problem: 'refused', reason: 'banned from the room' }
    // Where the inviter listens (what identify told the peer store), not the connection's remote
    // address: an inbound connection's is an ephemeral port nobody can dial back.
    const addrs = await this.libp2p.peerStore.get(from).then(p => p.addresses.map(a => a.multiaddr.toString()), () => [])
    const known = await this.#invites.get(roomId)
    await this.#invites.add({ roomId, eventId, sender: event.sender, from: from.toString(), addrs, receivedTs: this.#now() })
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
      const checked = await this.#engine.sendLocal(roomId, (v, context, originServerTs) => {
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
    if (view?.membership(this.userId) === 'join') {
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
    const pending = await this.#invites.get(roomId)
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
    return (await this.#engine.sendLocal(roomId, (_v, context, originServerTs) =>
      buildKick(this.#device, context, { originServerTs, target: userId, ...(reason === undefined ? {} : { reason }) }))).eventId
  }

  async ban (roomId: string, userId: string, reason?: string): Promise<string> {
    this.#assertRunning()
    parseUserId(userId)
    return (await this.#engine.sendLocal(roomId, (_v, context, originServerTs) =>
      buildBan(this.#device, context, { originServerTs, target: userId, ...(reason === undefined ? {} : { reason }) }))).eventId
  }

  async send (roomId: string, content: MessageContent): Promise<string> {
    this.#assertRunning()
    if (typeof content?.msgtype !== 'string' || typeof content.body !== 'string') {
      throw new KeyroomError(ErrorCode.InvalidEvent, 'a message needs a string msgtype and a string body')
    }
    const { msgtype, body, ...extra } = content
    return (await this.#engine.sendLocal(roomId, (_v, context, originServerTs) =>
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
    const held = await this.#engine.rooms()
    const out: RoomSummary[] = [...held]
    for (const invite of await this.#invites.list()) {
      if (!held.some(r => r.roomId === invite.roomId && r.membership === 'join')) {
        const known = out.findIndex(r => r.roomId === invite.roomId)
        if (known < 0) out.push({ roomId: invite.roomId, membership: 'invite' })
      }
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
    const devices = new Map<string, UserDevice>()
    const connected = new Set(this.libp2p.getPeers().map(p => deviceIdOfPeer(p)))
    const add = (deviceId: string, expiresTs: number | undefined, revoked: boolean): void => {
      const known = devices.get(deviceId)
      const device: UserDevice = { deviceId, revoked: revoked || known?.revoked === true, connected: connected.has(deviceId) }
      const expiry = expiresTs ?? known?.expiresTs
      if (expiry !== undefined) device.expiresTs = expiry
      devices.set(deviceId, device)
    }
    // The directory is asked only when some peer is connected: a DHT lookup from an empty routing
    // table finds nothing and would only wait out its time.
    const networked = this.#deviceDirectory !== undefined && (this.#options.directory !== undefined || this.libp2p.getPeers().length > 0)
    const sources: DeviceDirectory[] = [this.#directory, ...(networked ? [this.#deviceDirectory!] : [])]
    for (const source of sources) {
      try {
        const signal = AbortSignal.any([this.#engine.signal, AbortSignal.timeout(DIRECTORY_LOOKUP_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])])
        for (const device of await source.devicesOf(userId, { signal })) add(device.deviceId, device.expiresTs, device.revoked)
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
        if (typeof attestation?.udk === 'string' && attestation.upk === userId) {
          add(attestation.udk, typeof attestation.expires_ts === 'number' ? attestation.expires_ts : undefined, false)
        }
      }
      for (const { event } of view.entriesOfType(RoomEventType.Device)) {
        if (event.sender !== userId || typeof event.state_key !== 'string') continue
        const attestation = event.content.attestation as Record<string, unknown> | undefined
        add(event.state_key, typeof attestation?.expires_ts === 'number' ? attestation.expires_ts : undefined, event.content.revocation !== undefined)
      }
    }
    return { userId, devices: [...devices.values()].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0)) }
  }
}

/** Thrown inside a build callback when a retried action turns out to be done already. */
class AlreadyDone extends Error {
  constructor (readonly eventId: string) {
    super('already done')
  }
}
