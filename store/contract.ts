/**
 * The room store contract: what the room engine writes after core decides an event, and what
 * the node reads back. Two backends implement it (`memory.ts`, `level.ts`) and one conformance
 * suite (`test/store/conformance.ts`) holds them to it.
 *
 * The store is independent of event semantics: event bytes, state-map keys, rules and
 * verification results are opaque to it. It keeps them, orders them and gives them back.
 *
 * Durability: a write's promise resolves only once its batch is on disk (see `StoreInit.sync`);
 * a batch is atomic — after a crash every event is either fully there (bytes, decision, order
 * entry, heads, state) or not at all.
 */
import type { AbortOptions } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/** How core decided an event. `rule` names the auth rule that failed (opaque to the store). */
export type Decision =
  | { readonly kind: 'accepted' }
  | { readonly kind: 'rejected', readonly rule: string }
  | { readonly kind: 'soft-failed', readonly rule: string }

/** The decision without its rule, as the order index keeps it. */
export type DecisionKind = Decision['kind']

/**
 * A room state relative to one already stored: the state after event `base` (or the empty state
 * when `base` is null) with `changes` applied — an event ID sets a key, `null` removes it.
 *
 * Keys are state-map keys (the engine's `(type, state_key)` encoding), opaque to the store. Hand
 * the store a small delta against the nearest state it has (usually a parent's), not a full map:
 * the cost of a write is proportional to the changes, not to the size of the state.
 */
export interface StateUpdate {
  /** Event whose stored state-after is the starting point; `null` = the empty state. */
  readonly base: string | null
  /** Keys to set (to an event ID) or remove (`null`); omitted = no change. */
  readonly changes?: ReadonlyMap<string, string | null>
}

/** Matrix membership words, for the local user's membership in a room. */
export type Membership = 'join' | 'invite' | 'leave' | 'ban' | 'knock'

/**
 * Per-room facts the node keeps outside the DAG. Stored as JSON: fields may be appended later;
 * a reader ignores fields it does not know.
 */
export interface RoomMeta {
  readonly roomVersion: string
  readonly createEventId: string
  /** The local user's membership, when known. */
  readonly localMembership?: Membership
}

/**
 * One ingested event, written as one atomic batch.
 *
 * Writes are applied in call order. Writing an event that is already stored is a no-op for the
 * whole batch (first write wins; the result says `written: false`), so retries and duplicate
 * deliveries are harmless.
 */
export interface EventWrite {
  readonly eventId: string
  readonly roomId: string
  /** The event's depth: a safe integer ≥ 0. With `eventId` it places the event in the room order. */
  readonly depth: number
  /** The event's canonical bytes, returned unchanged by `getEvent`. */
  readonly bytes: Uint8Array
  readonly decision: Decision
  /** The room's forward extremities after this event (stored sorted by UTF-8 bytes). */
  readonly heads: readonly string[]
  /**
   * The state after this event. Expected for accepted and soft-failed events (anything that can
   * be a parent); omit it and `getStateAt(eventId)` returns `undefined`.
   */
  readonly state?: StateUpdate
  /**
   * The room's current state (the resolved state of the new heads) after this write; `base` may
   * be this very event. Omit to leave the current state unchanged.
   */
  readonly currentState?: StateUpdate
  /** Replaces the room's metadata in the same batch (e.g. with the create event, or a local join). */
  readonly roomMeta?: RoomMeta
  /** Membership-verification results by member (opaque bytes, the engine's encoding), upserted. */
  readonly verifications?: ReadonlyMap<string, Uint8Array>
  /**
   * The caller has established, in the same serial order as its writes, that the event is not
   * stored: the store skips its own check (a read before the batch). Without it, a write of a
   * stored event is skipped (`written: false`).
   */
  readonly knownNew?: boolean
}

/** What `writeEvent` did. */
export interface WriteResult {
  /** `false` when the event was already stored and the batch was skipped. */
  readonly written: boolean
}

/** An event as stored. */
export interface StoredEvent {
  readonly eventId: string
  readonly roomId: string
  readonly depth: number
  readonly bytes: Uint8Array
  readonly decision: Decision
  /**
   * Identifies the state after the event (hex), when it was stored: two events have the same
   * `stateId` exactly when their states are equal maps.
   */
  readonly stateId?: string
}

/** A place in a room's deterministic order: by `depth`, then by event ID's UTF-8 bytes. */
export interface EventPosition {
  readonly depth: number
  readonly eventId: string
}

/** One entry of a room's order index. */
export interface RoomEventEntry extends EventPosition {
  readonly decision: DecisionKind
}

/** A page over a room's `(depth, eventId)` order; `before` and `after` are exclusive bounds. */
export interface RoomEventsQuery {
  /** Only events strictly before this position. */
  readonly before?: EventPosition
  /** Only events strictly after this position. */
  readonly after?: EventPosition
  /** At most this many entries (a positive integer). */
  readonly limit: number
  /** `forward` = ascending order from `after`; `backward` = descending from `before`. */
  readonly direction: 'forward' | 'backward'
}

/** Options for reading a state map. */
export interface StateReadOptions extends AbortOptions {
  /**
   * Read only these keys (point lookups: cost grows with the number of keys, not with the size
   * of the state). Keys absent from the state are absent from the result.
   */
  readonly keys?: readonly string[]
}

/**
 * A typed key of the node-metadata key-value table. Build one with `metaKey.string(...)`,
 * `metaKey.bytes(...)` or `metaKey.json(...)`.
 */
export interface MetaKey<T> {
  readonly name: string
  encode(value: T): Uint8Array
  /** Throws on bytes that are not a `T` (the store reports it as corruption). */
  decode(bytes: Uint8Array): T
}

/** The room store. Every method is async; reads and writes accept an abort signal. */
export interface RoomStore {
  /**
   * Write one decided event as one atomic batch. Concurrent calls are coalesced into a bounded
   * group commit; the promise resolves once the batch is durable. An abort takes effect only
   * while the write is still queued: once its batch is being written, it completes.
   */
  writeEvent(batch: EventWrite, options?: AbortOptions): Promise<WriteResult>
  getEvent(eventId: string, options?: AbortOptions): Promise<StoredEvent | undefined>
  /** `getEvent` for many IDs at once (one read of the database), in the order given. */
  getEvents(eventIds: readonly string[], options?: AbortOptions): Promise<Array<StoredEvent | undefined>>
  hasEvent(eventId: string, options?: AbortOptions): Promise<boolean>
  /** `hasEvent` for many IDs at once (one read of the database), in the order given. */
  hasEvents(eventIds: readonly string[], options?: AbortOptions): Promise<boolean[]>
  /** The room's forward extremities, sorted by UTF-8 bytes; empty for an unknown room. */
  getHeads(roomId: string, options?: AbortOptions): Promise<string[]>
  /** The state after the event (state-map key → event ID), or `undefined` if none was stored. */
  getStateAt(eventId: string, options?: StateReadOptions): Promise<Map<string, string> | undefined>
  /** The room's current state, or `undefined` if none was written. */
  getCurrentState(roomId: string, options?: StateReadOptions): Promise<Map<string, string> | undefined>
  /** Rooms with events or metadata, sorted by UTF-8 bytes. */
  listRooms(options?: AbortOptions): Promise<string[]>
  /** A page of the room's order index. */
  roomEvents(roomId: string, query: RoomEventsQuery, options?: AbortOptions): Promise<RoomEventEntry[]>
  getRoomMeta(roomId: string, options?: AbortOptions): Promise<RoomMeta | undefined>
  /** Replaces the room's metadata (durable on resolve). */
  putRoomMeta(roomId: string, meta: RoomMeta, options?: AbortOptions): Promise<void>
  /** Membership-verification results of the room, by member. */
  getVerifications(roomId: string, options?: AbortOptions): Promise<Map<string, Uint8Array>>
  /** Upserts membership-verification results outside an event write. */
  putVerifications(roomId: string, results: ReadonlyMap<string, Uint8Array>, options?: AbortOptions): Promise<void>
  getMeta<T>(key: MetaKey<T>, options?: AbortOptions): Promise<T | undefined>
  putMeta<T>(key: MetaKey<T>, value: T, options?: AbortOptions): Promise<void>
  deleteMeta(key: MetaKey<unknown>, options?: AbortOptions): Promise<void>
  /**
   * libp2p's datastore (peer store, DHT records) in the same database. Stop libp2p before
   * closing the store.
   */
  readonly datastore: Datastore
  /** Waits for queued writes, then releases the database; later calls throw `StoreClosed`. */
  close(): Promise<void>
}

/** Options every backend accepts. */
export interface StoreInit {
  /**
   * fsync each group commit (default `true`). A resolved write then survives power loss, not
   * only a process crash; group commit amortises the fsync over concurrent writers. `false`
   * (tests, bulk imports) still survives `kill -9`: LevelDB hands the batch to the OS before the
   * promise resolves.
   */
  readonly sync?: boolean
  /** Most writes coalesced into one batch (default `GROUP_COMMIT_MAX_WRITES`). */
  readonly maxBatchWrites?: number
  /** Most event bytes coalesced into one batch (default `GROUP_COMMIT_MAX_BYTES`). */
  readonly maxBatchBytes?: number
  /** Budget of the decoded state-node cache in bytes (default `STATE_NODE_CACHE_BYTES`). */
  readonly stateCacheBytes?: number
}
