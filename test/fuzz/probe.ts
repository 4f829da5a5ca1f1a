/**
 * A node's probe: a second device of the node's user (restored from its recovery phrase) that the
 * rig uses to look at the node over the wire protocols only.
 *
 * Why: `createNode` has no API for a room's heads or resolved state. A device of the node's own
 * user is allowed to read the node's rooms by `/keyroom/sync/1.0.0` (the node authorises a peer
 * whose hello attestation names a joined user), so the probe can ask for heads, events and the
 * state at an event. (State changes go through the node's own API: `setTopic`, `setPowerLevel`,
 * `unban`.)
 *
 * The probe is a full `createNode` on its own data directory, so it speaks hello, gossipsub and
 * sync like any node; it never joins a room (never subscribes to a topic), so it relays nothing.
 */
import { loadIdentity, createIdentity } from '../../store/index.js'
import { createNode, parseJson } from '../../node/index.js'
import type { KeyroomNode, RoomEvent, SigningDevice } from '../../node/index.js'
import { ROOMS_PROTOCOL } from '../../protocols/devices/index.js'
import type { Partition } from './network.js'

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

function codePoints (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
