/**
 * Peer-score parameters for room topics (gossipsub v1.1 scoring, spec "Peer Scoring").
 *
 * Tuned for chat rooms, not blockchains: rooms are quiet for hours and then bursty, so the
 * delivery-rate terms that assume a steady message flow (P3, P3b) are switched off — they would
 * punish honest mesh peers of a quiet room. What stays is what a chat mesh needs: invalid events
 * cost a lot (P4), being first with a valid event earns a little (P2), staying in the mesh earns a
 * little (P1).
 */

/** gossipsub's `TopicScoreParams`, field for field (the type is not exported by the package). */
export interface RoomTopicScoreParams {
  topicWeight: number
  timeInMeshWeight: number
  timeInMeshQuantum: number
  timeInMeshCap: number
  firstMessageDeliveriesWeight: number
  firstMessageDeliveriesDecay: number
  firstMessageDeliveriesCap: number
  meshMessageDeliveriesWeight: number
  meshMessageDeliveriesDecay: number
  meshMessageDeliveriesCap: number
  meshMessageDeliveriesThreshold: number
  meshMessageDeliveriesWindow: number
  meshMessageDeliveriesActivation: number
  meshFailurePenaltyWeight: number
  meshFailurePenaltyDecay: number
  invalidMessageDeliveriesWeight: number
  invalidMessageDeliveriesDecay: number
}

/**
 * Defaults. Decays apply once per `decayInterval` (gossipsub default 1 s). With the default
 * thresholds (gossip −10, publish −50, graylist −80) and P4 = count² × −10: one invalid event puts a
 * peer at −10, two at −40, three at −90 — graylisted — and the count halves in about 2.3 minutes
 * (0.995^139 ≈ 0.5).
 */
export const ROOM_TOPIC_SCORE_PARAMS: Readonly<RoomTopicScoreParams> = Object.freeze({
  topicWeight: 1,
  // P1: +0.01 per second in the mesh, capped at one hour (+36, then cut by topicScoreCap).
  timeInMeshWeight: 0.01,
  timeInMeshQuantum: 1_000,
  timeInMeshCap: 3_600,
  // P2: +1 per event first delivered by this peer, at most +10, decaying 10 % a second.
  firstMessageDeliveriesWeight: 1,
  firstMessageDeliveriesDecay: 0.9,
  firstMessageDeliveriesCap: 10,
  // P3/P3b: off (weight 0); the other values only need to be valid.
  meshMessageDeliveriesWeight: 0,
  meshMessageDeliveriesDecay: 0.5,
  meshMessageDeliveriesCap: 100,
  meshMessageDeliveriesThreshold: 1,
  meshMessageDeliveriesWindow: 10,
  meshMessageDeliveriesActivation: 5_000,
  meshFailurePenaltyWeight: 0,
  meshFailurePenaltyDecay: 0.5,
  // P4: rejected events (see above).
  invalidMessageDeliveriesWeight: -10,
  invalidMessageDeliveriesDecay: 0.995
})
