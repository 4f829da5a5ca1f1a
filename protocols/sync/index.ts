/**
 * @packageDocumentation
 *
 * `/keyroom/sync/1.0.0` — catch-up by request/response (DESIGN §4): room heads, events by ID,
 * missing events between two sets of heads, state before an event. Used when a node joins,
 * reconnects or sees a gap in the room DAG.
 *
 * One request per stream: the client writes one length-prefixed JSON frame and closes its write
 * side; the server answers with a header frame (and event frames) and closes. Every request and
 * response is bounded in count, bytes and time (`constants.ts`), so a peer cannot make a node do
 * unbounded work or hold unbounded memory. Wire format: `docs/wire.md`.
 *
 * @example
 * ```ts
 * const libp2p = await createLibp2p({
 *   services: { sync: roomSync({ store, authorize: (peer, roomId) => engine.mayRead(peer, roomId) }) }
 * })
 * const heads = await libp2p.services.sync.heads(peerId, roomId, { signal })
 * ```
 */
import { RoomSyncService } from './room-sync.js'
import type { StateIds, SyncAuthorizer, SyncStore } from './ports.js'
import type { AbortOptions, ComponentLogger, DialTarget, NewStreamOptions, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'

export * from './constants.js'
export type { MaybePromise, StateIds, SyncAccess, SyncAuthorizer, SyncGrant, SyncStore } from './ports.js'
export { encodeRequest, encodeHeader, parseRequest, WIRE_ERROR_CODES, SYNC_REQUEST_TYPES } from './messages.js'
export type { SyncRequest, HeadsRequest, EventsRequest, MissingRequest, StateAtRequest, ResponseHeader, WireErrorCode } from './messages.js'
export { encodeFrame, encodeVarint, FrameReader } from './frames.js'
export { CLOSE_GRACE_MS, InflightQuota, finishWithFrame } from './inbound.js'
export type { FrameLimits } from './frames.js'

/** An event received from a peer. Nothing about it is verified yet: the ID is the peer's claim. */
export interface SyncedEvent {
  /** The event ID the peer says these bytes have. The room engine must recompute it. */
  eventId: string
  /** The event's canonical JSON bytes as received. */
  bytes: Uint8Array
}

/** The range of a {@link RoomSync.missing} request. */
export interface MissingRange {
  /** Heads the requester already has: not returned, not walked past. At most `MAX_IDS_PER_REQUEST`. */
  earliest: string[]
  /** Events whose ancestors are wanted (not returned themselves). At most `MAX_IDS_PER_REQUEST`. */
  latest: string[]
  /** Most events to return; default `DEFAULT_MISSING_LIMIT`, clamped to `MAX_MISSING_LIMIT`. */
  limit?: number
}

/** The catch-up protocol: a server for local rooms and a client for remote ones. */
export interface RoomSync {
  /** The protocol ID served. */
  readonly protocol: string
  /** Inbound sync streams being served right now (for metrics and tests). */
  readonly inboundInFlight: number
  /** The peer's forward extremities of a room. Throws `ERR_SYNC_NOT_FOUND` if the peer will not share the room. */
  heads(peer: DialTarget, roomId: string, options?: AbortOptions): Promise<string[]>
  /**
   * Events by ID, in request order, leaving out the ones the peer does not have. More than
   * `MAX_IDS_PER_REQUEST` IDs, or answers cut short by the response byte bound, are fetched with
   * further requests on fresh streams.
   */
  events(peer: DialTarget, roomId: string, eventIds: string[], options?: AbortOptions): Promise<SyncedEvent[]>
  /** Events between `earliest` and `latest` (Matrix `/get_missing_events`), parents first. */
  missing(peer: DialTarget, roomId: string, range: MissingRange, options?: AbortOptions): Promise<SyncedEvent[]>
  /** The state before an event, as IDs, with the auth chain. Throws `ERR_SYNC_NOT_FOUND` if unknown to the peer. */
  stateAt(peer: DialTarget, roomId: string, eventId: string, options?: AbortOptions): Promise<StateIds>
}

/** The libp2p components the service uses (the smallest set: the registrar and the connection manager). */
export interface StreamServiceComponents {
  registrar: {
    handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
    unhandle(protocol: string, options?: AbortOptions): Promise<void>
  }
  connectionManager: {
    openStream(peer: DialTarget, protocol: string, options?: NewStreamOptions): Promise<Stream>
  }
  logger: ComponentLogger
}

/** The libp2p components the sync service uses. */
export type RoomSyncComponents = StreamServiceComponents

/**
 * Ports (required) and tunables (optional; defaults in `constants.ts`). Bounds can be lowered here
 * (tests do, to exercise them quickly) but the wire limits themselves are fixed by the protocol.
 */
export interface RoomSyncInit {
  /** Where events, heads and state come from. */
  store: SyncStore
  /** Who may read which room (all of it, or what a {@link SyncGrant}'s store serves). Refusals look like unknown rooms to the peer. */
  authorize: SyncAuthorizer
  /** Inbound stream time bound, ms (default `INBOUND_TIMEOUT_MS`). */
  inboundTimeout?: number
  /** Outbound request time bound, ms, dial included (default `OUTBOUND_TIMEOUT_MS`). */
  outboundTimeout?: number
  /** Inbound streams served at once per peer (default `MAX_INBOUND_STREAMS_PER_PEER`). */
  maxInboundStreamsPerPeer?: number
  /** Inbound streams served at once in total (default `MAX_INBOUND_STREAMS_TOTAL`). */
  maxInboundStreamsTotal?: number
  /** Registrar cap per connection (default `MAX_INBOUND_STREAMS_PER_CONNECTION`). */
  maxInboundStreams?: number
  /** Registrar cap per connection (default `MAX_OUTBOUND_STREAMS_PER_CONNECTION`). */
  maxOutboundStreams?: number
  /** Serve and ask over relayed, data-limited connections (default false: catch-up can be large). */
  runOnLimitedConnection?: boolean
}

/** The service factory, for `createLibp2p({ services: { sync: roomSync(init) } })`. */
export function roomSync (init: RoomSyncInit): (components: RoomSyncComponents) => RoomSync {
  return (components) => new RoomSyncService(components, init)
}
export { deadline, raceSignal } from './abort.js'
