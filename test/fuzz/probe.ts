/**
 * A node's probe: a second device of the node's user (restored from its recovery phrase) that the
 * rig uses to look at the node, and to write through it, over the wire protocols only.
 *
 * Why: `createNode` has no API for a room's heads or resolved state, nor for power levels or the
 * topic (the hooks wanted from node/ are in the fuzzer's report). A device of the node's own user
 * is allowed to read the node's rooms by `/keyroom/sync/1.0.0` (the node authorises a peer whose
 * hello attestation names a joined user), so the probe can ask for heads, events and the state at
 * an event. To write a state event "as the node", the probe builds it with the node's own device
 * key (from the node's keystore) on the node's deepest head, checks it with the core's `decide`
 * against the state after that head (as the node's `sendLocal` would, so the node never rejects
 * it and the probe never loses gossip score), and gossips it to the node alone. The node then runs
 * its whole ingest pipeline and forwards the event to its mesh, exactly as for a relayed event.
 *
 * The probe is a full `createNode` on its own data directory, so it speaks hello, gossipsub and
 * sync like any node; it never joins a room (never subscribes to a topic), so it relays nothing.
 */
import { loadIdentity, createIdentity } from '../../store/index.js'
import { RoomState, canonicalJsonBytes, createNode, decide, parseJson, pduOf } from '../../node/index.js'
import type { AuthStateLookup, IdentifiedEvent, KeyroomNode, RoomContext, RoomEvent, SigningDevice } from '../../node/index.js'
import { ROOMS_PROTOCOL } from '../../protocols/devices/index.js'
import type { Partition } from './network.js'

/** What the probe knows of its node's room at the node's deepest head. */
export interface HeadView {
  heads: string[]
  /** The deepest head (ties: the greatest ID by code points). */
  head: IdentifiedEvent
  /** The state after `head`. */
  state: RoomState
  /** The context for an event on `head`. */
  context: RoomContext
}

/** The outcome of a write through the probe. */
export type ProbeWrite =
  | { status: 'accepted', eventId: string }
  | { status: 'refused', reason: string }
  | { status: 'unconfirmed', eventId: string, reason: string }

/** A probe for one node. */
export class Probe {
  readonly node: KeyroomNode
  /** The node's signing device (its keystore's UDK), to build events as the node. */
  readonly device: SigningDevice
  readonly #target: () => { peerId: string, multiaddrs: string[] } | undefined
  /** Head event ID → whether it is the removal of the node's user (events never change). */
  readonly #removals = new Map<string, boolean>()

  private constructor (node: KeyroomNode, device: SigningDevice, target: () => { peerId: string, multiaddrs: string[] } | undefined) {
    this.node = node
    this.device = device
    this.#target = target
  }

  /**
   * Starts a probe for the node whose data directory is `nodeDataDir` (its identity was created
   * with `recoveryPhrase`). `target` says where the node is now (undefined while it is down).
   */
  static async start (init: {
    name: string
    dataDir: string
    nodeDataDir: string
    recoveryPhrase: string
    index: number
    partition: Partition
    target: () => { peerId: string, multiaddrs: string[] } | undefined
  }): Promise<Probe> {
    const identity = await loadIdentity(init.nodeDataDir)
    await createIdentity(init.dataDir, { recoveryPhrase: init.recoveryPhrase })
    const node = await createNode({
      dataDir: init.dataDir,
      createIdentity: false,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      loggerPrefix: init.name,
      durableWrites: false,
      pubsub: { heartbeatInterval: 200 }
    })
    if (node.userId !== identity.userId) throw new Error(`probe ${init.name} restored ${node.userId}, not ${identity.userId}`)
    keepOutOfRooms(node)
    init.partition.register(node.peerId, { kind: 'probe', index: init.index })
    init.partition.install(node.libp2p)
    return new Probe(node, { userId: identity.userId, deviceSeed: identity.udkSeed, attestation: identity.attestation }, init.target)
  }

  /** Connects to the node if it is up and not connected yet. */
  async attach (): Promise<void> {
    const target = this.#target()
    if (target === undefined) throw new Error('the probe\'s node is down')
    if (this.node.libp2p.getConnections().some(c => c.remotePeer.toString() === target.peerId)) return
    await this.node.connect(target.multiaddrs, { signal: AbortSignal.timeout(5_000) })
  }

  #peer (): ReturnType<KeyroomNode['libp2p']['getPeers']>[number] {
    const target = this.#target()
    const peer = this.node.libp2p.getPeers().find(p => p.toString() === target?.peerId)
    if (peer === undefined) throw new Error('the probe is not connected to its node')
    return peer
  }

  /**
   * The node's heads of the room (sorted). Throws when the node is not (any more) a member: the
   * node answers `ERR_SYNC_NOT_FOUND`, or — to a user who left or was removed — the member event
   * that removed them as its only head (sync's departed-member grant). A room whose real heads are
   * just the user's own removal is one the user is not in either, so both read as "not a member".
   */
  async heads (roomId: string): Promise<string[]> {
    await this.attach()
    const sync = this.node.libp2p.services.sync
    const peer = this.#peer()
    const heads = [...await sync.heads(peer, roomId, { signal: AbortSignal.timeout(5_000) })].sort(codePoints)
    const only = heads.length === 1 ? heads[0]! : undefined
    if (only !== undefined) {
      let removal = this.#removals.get(only)
      if (removal === undefined) {
        const [head] = await sync.events(peer, roomId, [only], { signal: AbortSignal.timeout(5_000) })
        const event = head === undefined ? undefined : parseJson(head.bytes) as RoomEvent
        removal = event?.type === 'm.room.member' && event.state_key === this.device.userId &&
          (event.content.membership === 'leave' || event.content.membership === 'ban')
        this.#removals.set(only, removal)
      }
      if (removal) throw new Error(`the node's user is not a member: its only head is its removal ${only}`)
    }
    return heads
  }

  /** Which of `eventIds` the node stores (whatever their decision). */
  async has (roomId: string, eventIds: readonly string[]): Promise<Set<string>> {
    await this.attach()
    const got = await this.node.libp2p.services.sync.events(this.#peer(), roomId, [...eventIds], { signal: AbortSignal.timeout(5_000) })
    return new Set(got.map(e => e.eventId))
  }

  /** The node's deepest head of the room and the state after it. */
  async headView (roomId: string): Promise<HeadView> {
    await this.attach()
    const sync = this.node.libp2p.services.sync
    const peer = this.#peer()
    const signal = AbortSignal.timeout(8_000)
    const heads = await this.heads(roomId)
    const headEvents = (await sync.events(peer, roomId, heads, { signal })).map(e => ({ eventId: e.eventId, event: parseJson(e.bytes) as RoomEvent }))
    if (headEvents.length === 0) throw new Error('the node sent none of its heads')
    headEvents.sort((a, b) => a.event.depth - b.event.depth || codePoints(a.eventId, b.eventId))
    const head = headEvents[headEvents.length - 1]!
    const { stateIds } = await sync.stateAt(peer, roomId, head.eventId, { signal })
    const events = await sync.events(peer, roomId, stateIds, { signal })
    const state = new RoomState(events.map(e => ({ eventId: e.eventId, event: parseJson(e.bytes) as RoomEvent })))
    // state_at is the state *before* the head; a state event head sets its own key.
    state.apply(head)
    return { heads, head, state, context: { roomId, prevEvents: [head.eventId], depth: head.event.depth + 1, state } }
  }

  /**
   * Builds an event as the node on its deepest head, refuses it when the core's `decide` would not
   * accept it there, else gossips it to the node and waits (bounded) until the node lists it as a
   * head (accepted there).
   */
  async write (roomId: string, build: (view: HeadView, device: SigningDevice) => IdentifiedEvent | string): Promise<ProbeWrite> {
    let view: HeadView
    try {
      view = await this.headView(roomId)
    } catch (err) {
      return { status: 'refused', reason: `cannot read the node's room: ${err instanceof Error ? err.message : String(err)}` }
    }
    const built = build(view, this.device)
    if (typeof built === 'string') return { status: 'refused', reason: built }
    const decision = decideOn(view.state, built, Date.now())
    if (decision !== undefined) return { status: 'refused', reason: decision }
    const outcome = await this.node.libp2p.services.roomGossip.publish(roomId, canonicalJsonBytes(built.event), { waitForPeersTimeout: 2_000 })
    if (outcome.status !== 'sent') return { status: 'unconfirmed', eventId: built.eventId, reason: `publish: ${outcome.status}` }
    const deadline = Date.now() + 3_000
    while (Date.now() < deadline) {
      try {
        if ((await this.heads(roomId)).includes(built.eventId)) return { status: 'accepted', eventId: built.eventId }
      } catch {
        // The node went away or left meanwhile: unconfirmed below.
      }
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    return { status: 'unconfirmed', eventId: built.eventId, reason: 'never a head of the node' }
  }

  async stop (): Promise<void> {
    await this.node.stop()
  }
}

/**
 * A restored device asks the user's other devices which rooms the user is in (`/keyroom/rooms`),
 * fetches them and records its own attestation there: the probe would become a participant,
 * adding `keyroom.device` events to the room it is meant to watch. It is an instrument, so its
 * dials of that protocol are refused (the node's protocols dial through `libp2p.dialProtocol`).
 */
function keepOutOfRooms (node: KeyroomNode): void {
  const libp2p = node.libp2p
  const dial = libp2p.dialProtocol.bind(libp2p)
  libp2p.dialProtocol = (async (peer, protocols, options) => {
    const list = Array.isArray(protocols) ? protocols : [protocols]
    if (list.includes(ROOMS_PROTOCOL)) throw new Error('a probe does not look for the user\'s rooms')
    return await dial(peer, protocols, options)
  }) as typeof libp2p.dialProtocol
}

/** What the core says of `built` against `state` (both as the state before it and as the current state); `undefined` = accepted. */
function decideOn (state: RoomState, built: IdentifiedEvent, now: number): string | undefined {
  const byId = new Map<string, RoomEvent>()
  for (const entry of state.entries()) byId.set(entry.eventId, entry.event)
  const lookup: AuthStateLookup = (type, stateKey) => {
    const entry = state.entry(type, stateKey)
    return entry === undefined ? undefined : pduOf(entry.event, entry.eventId)
  }
  const decision = decide(built.event, {
    eventId: built.eventId, getEvent: (id) => byId.get(id), isRejected: () => false, stateBefore: lookup, currentState: lookup, now
  })
  return decision.outcome === 'accepted' ? undefined : `${decision.outcome}: ${decision.rule}`
}

function codePoints (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
