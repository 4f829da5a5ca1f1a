/**
 * Protocol ID and bounds of the catch-up protocol. Every number here is a policy choice; the
 * reasoning sits next to it. `docs/wire.md` lists the same values for implementers.
 */

import { MAX_PDU_BYTES } from '../core/index.js'

/** Versioned protocol ID, under the one `/keyroom/` prefix (STYLE habit 3). */
export const SYNC_PROTOCOL = '/keyroom/sync/1.0.0'

/**
 * Largest request frame, payload bytes. The largest legal request is `missing` with
 * {@link MAX_IDS_PER_REQUEST} IDs in each of `earliest` and `latest`, every ID at
 * {@link MAX_ID_LENGTH} bytes: 2 × 100 × (255 + 3) ≈ 52 KB, which fits.
 */
export const MAX_REQUEST_BYTES = 64 * 1024

/** Most event IDs one request may name (`events.event_ids`, and each of `missing.earliest`/`latest`). */
export const MAX_IDS_PER_REQUEST = 100

/** Longest room or event ID, in UTF-16 code units. Matrix caps identifiers at 255 bytes. */
export const MAX_ID_LENGTH = 255

/**
 * Largest `limit` a `missing` request may ask for; larger values are clamped, as Synapse does.
 * Catch-up walks a room backwards one `missing` answer at a time, so this sets the number of round
 * trips: 10 for 10,000 events of a linear history (Synapse's 100 would make 100).
 */
export const MAX_MISSING_LIMIT = 1_000

/** `limit` used by the client when the caller gives none (Matrix's `/get_missing_events` default). */
export const DEFAULT_MISSING_LIMIT = 10

/**
 * Largest event body on the wire, bytes. Matrix PDUs are limited to 65536 bytes of canonical JSON
 * (spec: "Size limits"); the server never sends a larger one and the client refuses it.
 */
export const MAX_EVENT_BYTES = MAX_PDU_BYTES

/** Most event frames in one response (a full `missing` answer). */
export const MAX_EVENTS_PER_RESPONSE = 1_000

/**
 * Most bytes of one response, all frames together. With 1,000 events the worst case is 64 MB, so the
 * server stops adding events once the next one would cross this line; the client asks again for the
 * rest (the header says which IDs were sent).
 */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024

/**
 * Largest header frame (the JSON frame that opens every response). It carries ID lists: up to
 * {@link MAX_STATE_IDS} state IDs plus as many auth-chain IDs at ~47 bytes each.
 */
export const MAX_HEADER_BYTES = 2 * 1024 * 1024

/** Most forward extremities a `heads` answer lists. Rooms with more are unhealthy; the server sends the first ones. */
export const MAX_HEADS = 1024

/** Most IDs in each of `state_ids` and `auth_chain_ids`; a larger state answers `K_TOO_LARGE`. */
export const MAX_STATE_IDS = 20_000

/**
 * Most store reads one `missing` walk may make. The walk collects at most
 * {@link MAX_MISSING_LIMIT} events; this bounds the work spent on events it skips (already in
 * `earliest`, unknown, or reached twice).
 */
export const MAX_WALK_STEPS = 2_000

/** Time an inbound stream may take from open to the last byte of the response (slow-loris bound). */
export const INBOUND_TIMEOUT_MS = 10_000

/** Time an outbound request may take, dial included, unless the caller's signal says otherwise. */
export const OUTBOUND_TIMEOUT_MS = 15_000

/** Inbound sync streams served at once for one remote peer (over all its connections). */
export const MAX_INBOUND_STREAMS_PER_PEER = 4

/** Inbound sync streams served at once for all peers together. */
export const MAX_INBOUND_STREAMS_TOTAL = 64

/**
 * Registrar-level cap per connection. Above {@link MAX_INBOUND_STREAMS_PER_PEER} on purpose: streams
 * between the two caps get a `K_LIMIT_EXCEEDED` answer (a named error at the client) instead of a bare
 * stream reset from the muxer.
 */
export const MAX_INBOUND_STREAMS_PER_CONNECTION = 8

/** Outbound sync streams open at once on one connection. */
export const MAX_OUTBOUND_STREAMS_PER_CONNECTION = 16
