/**
 * The parts of `@libp2p/gossipsub` 17's router we use beyond its public `GossipSub` interface,
 * behind feature checks.
 *
 * Why reach in at all:
 * - **Per-topic scoring.** gossipsub penalises invalid messages (P4) only on topics that have score
 *   parameters, and those are read from `score.params.topics` — fixed at construction in the
 *   public API. Room topics are created at run time, so we add each room's parameters there on
 *   subscribe (the score code looks them up on every use, so late entries take effect).
 * - **Reading a peer's score** (`getScore`), for tests and for the engine's peer choice.
 * - **Backpressure.** gossipsub writes to its outbound streams without waiting for drain ("TODO:
 *   backpressure" in its `stream.js`); we look at the recipient's stream and wait for `drain`
 *   before the next publish, so a burst is paced by the network instead of piling up in memory.
 *
 * If a future gossipsub drops these members, each helper degrades (no topic scoring, no score,
 * no drain wait) instead of failing, and the test suite's score and burst tests say so.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Stream } from '@libp2p/interface'

/** The members of gossipsub's `GossipSub` class that we touch, all optional. */
interface GossipSubClassMembers {
  getScore?: (peerId: string) => number
  score?: { params?: { topics?: Record<string, unknown> } }
  streamsOutbound?: Map<string, { rawStream?: Stream }>
}

/** Feature-checked access to the router's internals. */
export interface RouterInternals {
  /** The router's score of a peer (string PeerId), or `undefined` if the router does not expose it. */
  getScore(peerId: string): number | undefined
  /** Install score parameters for a topic; false if the router has no place for them. */
  setTopicScoreParams(topic: string, params: object): boolean
  /** Remove a topic's score parameters. */
  deleteTopicScoreParams(topic: string): void
  /** The raw outbound gossip stream to a peer, if the router exposes it and one is open. */
  outboundStream(peerId: string): Stream | undefined
  /** Whether {@link RouterInternals.outboundStream} can see streams at all. */
  readonly seesStreams: boolean
}

/** Wrap a gossipsub instance. */
export function routerInternals (pubsub: GossipSub): RouterInternals {
  const router = pubsub as unknown as GossipSubClassMembers
  const topics = (): Record<string, unknown> | undefined => {
    const t = router.score?.params?.topics
    return t !== null && typeof t === 'object' ? t : undefined
  }
  const streams = router.streamsOutbound instanceof Map ? router.streamsOutbound : undefined
  return {
    getScore: (peerId) => typeof router.getScore === 'function' ? router.getScore(peerId) : undefined,
    setTopicScoreParams (topic, params) {
      const t = topics()
      if (t === undefined) return false
      t[topic] = params
      return true
    },
    deleteTopicScoreParams (topic) {
      const t = topics()
      if (t !== undefined) delete t[topic]
    },
    outboundStream: (peerId) => streams?.get(peerId)?.rawStream,
    seesStreams: streams !== undefined
  }
}
