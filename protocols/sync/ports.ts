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
 * A limited grant: the peer may read only what `store` serves. The server answers every request of
 * that peer from this store instead of the full one — e.g. a departed member reads the room up to
 * the event that removed it (Matrix history visibility), its heads being that event.
 */
export interface SyncGrant {
  store: SyncStore
}

/** An authorizer's answer: `true` (the whole room), `false` (refused), or a {@link SyncGrant}. */
export type SyncAccess = boolean | SyncGrant

/**
 * Decides whether a remote peer (its PeerId is a device key, a UDK) may read a room, and how much
 * of it. A refusal is answered exactly like an unknown room (`K_NOT_FOUND`), so it does not reveal
 * that the room exists.
 */
export interface SyncAuthorizer {
  (peer: PeerId, roomId: string, options?: AbortOptions): MaybePromise<SyncAccess>
}
