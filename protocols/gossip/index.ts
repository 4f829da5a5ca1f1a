/**
 * @packageDocumentation
 *
 * Room gossip (DESIGN §4): one gossipsub topic per room, message = the event's canonical JSON,
 * message ID = event ID + a digest of the bytes (so a forged copy cannot shadow the genuine
 * event), libp2p-level signing off (`StrictNoSign`: every event is signed already).
 * The topic validator runs the engine's ingest checks, so peers that send invalid events lose
 * score; accepted events go to the engine. Publishing is queued per room with backpressure, and
 * every outcome is reported.
 *
 * Wiring: gossipsub must be built with `msgIdFn: roomMessageIdFn(ports.identifyEvent)` and
 * `globalSignaturePolicy: StrictNoSign`; `createKeyroomLibp2p` (node/libp2p.ts) does both.
 */
import { RoomGossipService } from './room-gossip.js'
import type { RoomGossipPorts } from './ports.js'
import type { RoomTopicScoreParams } from './score-params.js'
import type { GossipSub } from '@libp2p/gossipsub'
import type { AbortOptions, ComponentLogger, PeerId } from '@libp2p/interface'

export * from './constants.js'
export { roomTopic, roomIdFromTopic } from './topic.js'
export { roomFastMessageIdFn, roomMessageIdFn } from './message-id.js'
export { ROOM_TOPIC_SCORE_PARAMS } from './score-params.js'
export type { RoomTopicScoreParams } from './score-params.js'
export { SerialQueue } from './publish-queue.js'
export type { RoomGossipPorts, GossipVerdict, EventIdentity, MaybePromise } from './ports.js'

/** Options of one publish. */
export interface PublishOptions extends AbortOptions {
  /** How long to wait for a first subscriber, ms (default: the service's `waitForPeersTimeout`). */
  waitForPeersTimeout?: number
}

/**
 * What became of a publish. Not sending is an outcome, not an error: the event is in the store
 * either way and reaches the others through sync.
 */
export type PublishOutcome =
  /** Handed to these peers' gossip streams (flood publish: every subscriber in good standing). */
  | { status: 'sent', recipients: PeerId[] }
  /** No subscriber of the room was reachable within the wait. Nothing was sent. */
  | { status: 'no-peers' }
  /** gossipsub has already seen this event ID (published or received it): nothing to do. */
  | { status: 'duplicate' }

/** Room gossip. */
export interface RoomGossip {
  /** Join the room's topic (idempotent). Throws `ERR_INVALID_KEY` for a malformed room ID, `ERR_NOT_STARTED` when stopped. */
  subscribe(roomId: string): void
  /** Leave the room's topic (idempotent); queued publishes for the room still run. */
  unsubscribe(roomId: string): void
  /** Rooms subscribed to. */
  rooms(): string[]
  /** Peers known to be subscribed to the room's topic. */
  subscribers(roomId: string): PeerId[]
  /**
   * Publish an event to the room's topic. Waits while the room's publish queue is full
   * (`maxQueuedPublishes`), then for a subscriber (bounded), then — after handing the bytes to
   * gossipsub — for the recipients' streams to drain (bounded). Throws `ERR_GOSSIP_MESSAGE_TOO_LARGE`,
   * `ERR_GOSSIP_PUBLISH_FAILED` (router failure), `ERR_NOT_STARTED`, or the signal's reason.
   */
  publish(roomId: string, bytes: Uint8Array, options?: PublishOptions): Promise<PublishOutcome>
  /** gossipsub's current score of a peer, or `undefined` if the router does not expose scores. */
  scoreOf(peer: PeerId): number | undefined
}

/** The components room gossip uses: the gossipsub router (service name `pubsub`) and the logger. */
export interface RoomGossipComponents {
  pubsub: GossipSub
  logger: ComponentLogger
}

/** Ports (required; see {@link RoomGossipPorts}) and tunables (optional; defaults in `constants.ts`). */
export interface RoomGossipInit extends RoomGossipPorts {
  /** Largest event accepted or published, bytes (default `MAX_EVENT_BYTES`). */
  maxEventBytes?: number
  /** Publishes queued per room before `publish` waits (default `MAX_QUEUED_PUBLISHES`). */
  maxQueuedPublishes?: number
  /** Default wait for a first subscriber, ms (default `WAIT_FOR_PEERS_TIMEOUT_MS`). */
  waitForPeersTimeout?: number
  /** Wait for a recipient's stream to drain, ms (default `DRAIN_TIMEOUT_MS`). */
  drainTimeout?: number
  /** Time given to the validate port, ms (default `VALIDATE_TIMEOUT_MS`). */
  validateTimeout?: number
  /** Overrides of the room topics' score parameters (default `ROOM_TOPIC_SCORE_PARAMS`). */
  topicScoreParams?: Partial<RoomTopicScoreParams>
}

/** The service factory, for `services: { pubsub: gossipsub(…), roomGossip: roomGossip(init) }`. */
export function roomGossip (init: RoomGossipInit): (components: RoomGossipComponents) => RoomGossip {
  return (components) => new RoomGossipService(components, init)
}
