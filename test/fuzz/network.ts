/**
 * Network partitions for nodes in one process (or one node per process): a connection gater on
 * each libp2p instance refuses dials and handshakes across the partition, and crossing connections
 * are closed when a partition starts.
 *
 * `createNode` takes no connection gater, so this reaches libp2p's own: `libp2p.components` is a
 * public field of js-libp2p's node class (not of its `Libp2p` interface) whose `connectionGater`
 * object the dial queue and the upgrader consult on every dial and handshake. Mutating that object
 * is enough. The hook wanted from node/ is a `connectionGater` option of `createNode` (see the
 * fuzzer's report).
 *
 * Who may talk to whom: two nodes when they are in the same group; a node's probe (a second device
 * of its user that the rig uses to read and write through the wire protocols) only with its node;
 * peers nobody registered (an adversary) with everybody.
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { Libp2p } from '@libp2p/interface'

/** A peer the partition knows: a node (by index), or the probe of a node. */
export type Member = { kind: 'node', index: number } | { kind: 'probe', index: number }

/** The rules of a partition as plain data (JSON). */
export interface PartitionSnapshot {
  members: Array<[string, Member]>
  groups: Array<[number, number]>
}

/** The rules of who may connect, shared by every participant of one run. */
export class Partition {
  /** PeerId text → who it is. */
  readonly #members = new Map<string, Member>()
  /** Node index → group number; one group = no partition. */
  #groups = new Map<number, number>()

  /** The rules as plain data, for a node in another process. */
  snapshot (): PartitionSnapshot {
    return { members: [...this.#members], groups: [...this.#groups] }
  }

  /** Takes over the rules of a {@link Partition.snapshot}. */
  restore (snapshot: PartitionSnapshot): void {
    this.#members.clear()
    for (const [peerId, member] of snapshot.members) this.#members.set(peerId, member)
    this.#groups = new Map(snapshot.groups)
  }

  /** Registers a peer (a node's or a probe's PeerId). */
  register (peerId: string, member: Member): void {
    this.#members.set(peerId, member)
  }

  /** The groups as lists of node indices (each sorted), for logs. */
  groups (): number[][] {
    const out = new Map<number, number[]>()
    for (const [index, group] of this.#groups) out.set(group, [...(out.get(group) ?? []), index])
    return [...out.entries()].sort((a, b) => a[0] - b[0]).map(([, members]) => members.sort((a, b) => a - b))
  }

  /** Splits the nodes into `groups` (lists of node indices); nodes not listed form a group each. */
  split (groups: ReadonlyArray<readonly number[]>): void {
    const next = new Map<number, number>()
    groups.forEach((members, g) => { for (const i of members) next.set(i, g) })
    this.#groups = next
  }

  /** Every node in one group. */
  heal (): void {
    this.#groups = new Map()
  }

  /** True when node `i` and node `j` may talk. */
  nodesMayTalk (i: number, j: number): boolean {
    if (this.#groups.size === 0) return true
    const gi = this.#groups.get(i)
    const gj = this.#groups.get(j)
    // A node not listed in a split is alone.
    if (gi === undefined || gj === undefined) return i === j
    return gi === gj
  }

  /** True when the two peers may be connected. */
  allowed (a: string, b: string): boolean {
    const ma = this.#members.get(a)
    const mb = this.#members.get(b)
    if (ma === undefined || mb === undefined) return true
    if (ma.kind === 'probe' || mb.kind === 'probe') {
      // A probe talks to its own node only.
      return ma.index === mb.index && ma.kind !== mb.kind
    }
    return this.nodesMayTalk(ma.index, mb.index)
  }

  /** Puts the rules into a libp2p instance's connection gater (on every start: a restart makes a new instance). */
  install (libp2p: Libp2p): void {
    const self = libp2p.peerId.toString()
    const gater = gaterOf(libp2p)
    const deny = (peer: PeerId): boolean => !this.allowed(self, peer.toString())
    gater.denyDialPeer = deny
    gater.denyInboundEncryptedConnection = deny
    gater.denyOutboundEncryptedConnection = deny
  }

  /** Closes this instance's connections that the current rules forbid. */
  async enforce (libp2p: Libp2p): Promise<void> {
    const self = libp2p.peerId.toString()
    const closing: Array<Promise<void>> = []
    for (const connection of libp2p.getConnections()) {
      if (!this.allowed(self, connection.remotePeer.toString())) {
        closing.push(connection.close().catch(() => { connection.abort(new Error('partitioned')) }))
      }
    }
    await Promise.all(closing)
  }
}

/** libp2p's connection gater object (see the module comment). */
function gaterOf (libp2p: Libp2p): ConnectionGater {
  const components = (libp2p as unknown as { components?: { connectionGater?: ConnectionGater } }).components
  const gater = components?.connectionGater
  if (gater === undefined) throw new Error('this libp2p instance exposes no components.connectionGater (js-libp2p changed?)')
  return gater
}
