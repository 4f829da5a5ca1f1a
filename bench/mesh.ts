/**
 * A paced full mesh of libp2p nodes on one host, and a check that it is (still) complete.
 *
 * libp2p refuses more than five inbound connections per second from one host
 * (`connectionManager.inboundConnectionThreshold`), and on loopback every peer is 127.0.0.1. The
 * dials therefore go in rounds: in round r node i dials node i + r (mod n), so each node takes one
 * inbound dial per round, and rounds are `pauseMs` apart (default 250 ms: four per second). The
 * last round of an even-sized mesh is dialled by half the nodes only, so no pair is dialled both
 * ways (two connections to one peer make gossipsub's per-peer stream bookkeeping fragile).
 */
import { sleep } from './stats.js'
import type { Libp2p } from '@libp2p/interface'

/** Options of {@link pacedFullMesh}. */
export interface MeshOptions {
  /** Pause between dial rounds, ms (default 250). */
  pauseMs?: number
  /** Timeout of one dial, ms (default 10 000). */
  dialTimeoutMs?: number
}

/** True when `a` has an open connection to `b`. */
export function connected (a: Libp2p, b: Libp2p): boolean {
  return a.getConnections(b.peerId).some(c => c.status === 'open')
}

/** Pairs (i < j) of `nodes` with no open connection between them. */
export function missingPairs (nodes: readonly Libp2p[]): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) if (!connected(nodes[i]!, nodes[j]!) && !connected(nodes[j]!, nodes[i]!)) out.push([i, j])
  }
  return out
}

/**
 * Connect every node to every other one (see the module comment), then re-dial — paced as well —
 * any pair a dial failed for. Returns the number of dials made. Throws if pairs are still missing
 * after three repair passes.
 */
export async function pacedFullMesh (nodes: readonly Libp2p[], options: MeshOptions = {}): Promise<number> {
  const n = nodes.length
  const pause = options.pauseMs ?? 250
  const dialTimeout = options.dialTimeoutMs ?? 10_000
  let dials = 0
  const dial = async (from: number, to: number): Promise<void> => {
    dials++
    try {
      await nodes[from]!.dial(nodes[to]!.getMultiaddrs(), { signal: AbortSignal.timeout(dialTimeout) })
    } catch {
      // Repaired below.
    }
  }
  for (let r = 1; r <= Math.floor(n / 2); r++) {
    await Promise.all(nodes.map(async (_node, i) => {
      if (2 * r === n && i >= r) return
      await dial(i, (i + r) % n)
    }))
    await sleep(pause)
  }
  await repairMesh(nodes, { pauseMs: pause, dialTimeoutMs: dialTimeout })
  return dials
}

/**
 * Re-dial the pairs of `nodes` that have no open connection, one dial per node per round, paced
 * like {@link pacedFullMesh}. Returns the number of pairs that were missing. Throws if pairs are
 * still missing after `passes` (default 3) passes.
 */
export async function repairMesh (nodes: readonly Libp2p[], options: MeshOptions & { passes?: number } = {}): Promise<number> {
  const pause = options.pauseMs ?? 250
  const dialTimeout = options.dialTimeoutMs ?? 10_000
  const found = missingPairs(nodes).length
  for (let pass = 0; pass < (options.passes ?? 3); pass++) {
    let missing = missingPairs(nodes)
    if (missing.length === 0) return found
    while (missing.length > 0) {
      // One round: each node dials or is dialled at most once.
      const busy = new Set<number>()
      const round: Array<[number, number]> = []
      const rest: Array<[number, number]> = []
      for (const [i, j] of missing) {
        if (busy.has(i) || busy.has(j)) rest.push([i, j])
        else { busy.add(i); busy.add(j); round.push([i, j]) }
      }
      await Promise.all(round.map(async ([i, j]) => {
        try {
          await nodes[i]!.dial(nodes[j]!.getMultiaddrs(), { signal: AbortSignal.timeout(dialTimeout) })
        } catch {
          // Tried again in the next pass.
        }
      }))
      missing = rest
      await sleep(pause)
    }
  }
  const left = missingPairs(nodes)
  if (left.length > 0) throw new Error(`mesh incomplete: ${left.length} pairs could not connect, e.g. ${left.slice(0, 3).map(p => p.join('-')).join(', ')}`)
  return found
}

/**
 * Wait until every node sees every other as a subscriber of a topic (`subscribers(i)`: the PeerIds,
 * as strings, node i sees subscribed). When that does not happen within `timeoutMs`, the pairs that
 * do not see each other are hung up and re-dialled (gossipsub re-announces subscriptions on a new
 * connection) — at most `attempts` times. Returns the number of pairs repaired; throws when the
 * topic is still incomplete after the last attempt.
 */
export async function ensureTopicMesh (
  nodes: readonly Libp2p[], subscribers: (i: number) => readonly string[], options: { timeoutMs?: number, attempts?: number } = {}
): Promise<number> {
  const timeoutMs = options.timeoutMs ?? 20_000
  const attempts = options.attempts ?? 2
  const ids = nodes.map(n => n.peerId.toString())
  const blind = (): Array<[number, number]> => {
    const out: Array<[number, number]> = []
    nodes.forEach((_n, i) => {
      const seen = new Set(subscribers(i))
      ids.forEach((id, j) => { if (i !== j && !seen.has(id)) out.push([i, j]) })
    })
    return out
  }
  let repaired = 0
  for (let attempt = 0; ; attempt++) {
    const deadline = Date.now() + timeoutMs
    while (blind().length > 0 && Date.now() < deadline) await sleep(25)
    const pairs = blind()
    if (pairs.length === 0) return repaired
    if (attempt >= attempts) throw new Error(`topic mesh incomplete: ${pairs.length} (node, peer) pairs do not see each other subscribed, e.g. ${pairs.slice(0, 3).map(p => p.join('→')).join(', ')}`)
    for (const [i, j] of pairs) {
      await nodes[i]!.hangUp(nodes[j]!.peerId).catch(() => {})
      repaired++
    }
    await repairMesh(nodes)
  }
}
