/**
 * Ports: what room gossip needs from the room engine. Gossip moves bytes; the engine (through the
 * pure core) decides what they mean.
 */
import type { AbortOptions, PeerId } from '@libp2p/interface'

/** A value or a promise of it. */
export type MaybePromise<T> = T | Promise<T>

/** A validator's verdict, as gossipsub understands it. */
export type GossipVerdict = 'accept' | 'ignore' | 'reject'

/** The identity of gossiped bytes: which event, claimed for which room. */
export interface EventIdentity {
  /** The event ID (`$` + reference hash). */
  eventId: string
  /** The event's `room_id`. */
  roomId: string
}

/** The three ports of room gossip. */
export interface RoomGossipPorts {
  /**
   * Name the event in `bytes`, cheaply and synchronously (it runs inside gossipsub's message-ID
   * function, before validation, on untrusted bytes).
   *
   * Contract: return `undefined` (or throw) unless `bytes` parse as an event **whose content hash
   * (`hashes.sha256`) matches its content**. The event ID is the hash of the *redacted* event, so a
   * copy with altered content has the same ID; if such a copy could claim the ID, gossipsub's seen
   * cache would drop the genuine event as a duplicate when it arrives later.
   */
  identifyEvent(bytes: Uint8Array): EventIdentity | undefined
  /**
   * Ingest checks on an event received on the room's topic (well-formed, size, hash, signature,
   * ID, `room_id` = `roomId`). `reject` for events that are invalid — the sender loses score;
   * `ignore` for events that are fine but unwanted now (unknown room state, duplicates); `accept`
   * forwards the event to the mesh and hands it to {@link RoomGossipPorts.onEvent}. Should settle
   * within `VALIDATE_TIMEOUT_MS`; a throw or a timeout counts as `ignore`.
   */
  validate(roomId: string, bytes: Uint8Array, from: PeerId, options: AbortOptions): MaybePromise<GossipVerdict>
  /**
   * An accepted event arrived (`from` is the peer that relayed it, not necessarily its author).
   * Called once per event ID while gossipsub remembers it. Errors are logged, never thrown back into
   * gossipsub; a slow handler should queue work rather than hold the call.
   */
  onEvent(roomId: string, bytes: Uint8Array, from: PeerId): MaybePromise<void>
}
