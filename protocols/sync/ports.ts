/**
 * Ports: what the sync protocol needs from the rest of the node. The room store implements
 * {@link SyncStore}; the room engine implements {@link SyncAuthorizer}. Both are small on purpose so
 * the protocol can be tested against fakes.
 */
import type { AbortOptions, PeerId } from '@libp2p/interface'

/** A value or a promise of it (ports may be synchronous, e.g. in-memory fakes). */
export type MaybePromise<T> = T | Promise<T>

/** State before an event: the IDs of the state events and of their auth chain (Matrix `/state_ids`). */
export interface StateIds {
  /** IDs of the state events in the room state before the event. */
  stateIds: string[]
  /** IDs of the auth chain of those state events (Matrix `auth_chain_ids`). */
  authChainIds: string[]
}

/**
 * Read access to stored room events. Every method is scoped by room: a method returns `undefined`
 * for an event that is not stored *in that room*, so a peer allowed to read room A cannot read room
 * B's events by naming their IDs under room A.
 */
export interface SyncStore {
  /** The room's forward extremities (events with no known children), or `undefined` for an unknown room. */
  getHeads(roomId: string, options?: AbortOptions): MaybePromise<string[] | undefined>
  /** The event's canonical JSON bytes exactly as stored, or `undefined`. */
  getEvent(roomId: string, eventId: string, options?: AbortOptions): MaybePromise<Uint8Array | undefined>
  /** The event's `prev_events`, or `undefined` when the event is not stored. */
  getPrevEvents(roomId: string, eventId: string, options?: AbortOptions): MaybePromise<string[] | undefined>
  /** The state before the event, or `undefined` when the event (or its state) is not stored. */
  getStateIdsAt(roomId: string, eventId: string, options?: AbortOptions): MaybePromise<StateIds | undefined>
}

/**
 * Decides whether a remote peer (its PeerId is a device key, a UDK) may read a room. A refusal is
 * answered exactly like an unknown room (`K_NOT_FOUND`), so it does not reveal that the room exists.
 */
export interface SyncAuthorizer {
  (peer: PeerId, roomId: string, options?: AbortOptions): MaybePromise<boolean>
}
