/**
 * The messages of `/keyroom/sync/1.0.0`: typed values, their JSON bytes, and the parsers that turn
 * untrusted bytes into typed values (STYLE habit 6: validate once, at the edge).
 *
 * Wire shapes (see `docs/wire.md`):
 *
 * - request, one frame: `{"room_id":…,"type":"heads"}`, `{"event_ids":[…],"room_id":…,"type":"events"}`,
 *   `{"earliest":[…],"latest":[…],"limit":n,"room_id":…,"type":"missing"}`,
 *   `{"event_id":…,"room_id":…,"type":"state_at"}`;
 * - response: a header frame — `{"heads":[…]}`, `{"event_ids":[…]}` (followed by one frame of event
 *   bytes per listed ID, in order), `{"auth_chain_ids":[…],"state_ids":[…]}`, or an error
 *   `{"errcode":"K_…","error":"…"}` — and nothing else.
 *
 * JSON is written with keys in code-point order and no whitespace, so each message has one byte form
 * (golden-bytes tested). Parsers accept any key order and ignore unknown keys, so fields can be added
 * without a new protocol version.
 */
import { ErrorCode, KeyroomError } from '../core/index.js'
import { MAX_ID_LENGTH, MAX_IDS_PER_REQUEST, MAX_MISSING_LIMIT } from './constants.js'
import type { ErrorCodeValue } from '../core/index.js'

/** Ask for a room's forward extremities. */
export interface HeadsRequest { type: 'heads', roomId: string }
/** Ask for events by ID. */
export interface EventsRequest { type: 'events', roomId: string, eventIds: string[] }
/**
 * Ask for the events between two sets of heads — Matrix `/get_missing_events`: walk backwards from
 * `latest` over `prev_events`, never past (nor returning) anything in `earliest`, at most `limit`
 * events. The `latest` events themselves are not returned.
 */
export interface MissingRequest { type: 'missing', roomId: string, earliest: string[], latest: string[], limit: number }
/** Ask for the state before an event (Matrix `/state_ids`): state event IDs and their auth chain. */
export interface StateAtRequest { type: 'state_at', roomId: string, eventId: string }

/** Any sync request. */
export type SyncRequest = HeadsRequest | EventsRequest | MissingRequest | StateAtRequest

/** The request types, as on the wire. */
export const SYNC_REQUEST_TYPES = ['heads', 'events', 'missing', 'state_at'] as const

/**
 * Error codes on the wire, Matrix-style (`errcode`), with the {@link ErrorCode} the client throws for
 * each. An unknown `errcode` from a newer peer maps to `SyncRemoteError`.
 */
export const WIRE_ERROR_CODES = {
  K_BAD_REQUEST: ErrorCode.SyncBadMessage,
  K_REQUEST_TOO_LARGE: ErrorCode.SyncRequestTooLarge,
  K_TOO_MANY_IDS: ErrorCode.SyncTooManyIds,
  K_LIMIT_EXCEEDED: ErrorCode.SyncBusy,
  K_NOT_FOUND: ErrorCode.SyncNotFound,
  K_TOO_LARGE: ErrorCode.SyncResponseTooLarge,
  K_TIMEOUT: ErrorCode.SyncTimeout,
  K_UNKNOWN: ErrorCode.SyncRemoteError
} as const

/** A wire error code. */
export type WireErrorCode = keyof typeof WIRE_ERROR_CODES

/** The wire code a local {@link KeyroomError} code is sent as (`K_UNKNOWN` for anything else). */
export function wireCodeOf (code: string): WireErrorCode {
  for (const [wire, local] of Object.entries(WIRE_ERROR_CODES)) {
    if (local === code) return wire as WireErrorCode
  }
  return 'K_UNKNOWN'
}

/** The local error code for a wire code received from a peer. */
export function localCodeOf (wire: string): ErrorCodeValue {
  return Object.hasOwn(WIRE_ERROR_CODES, wire) ? WIRE_ERROR_CODES[wire as WireErrorCode] : ErrorCode.SyncRemoteError
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** A JSON value this module writes: only what the messages need. */
type Json = string | number | boolean | Json[] | { [key: string]: Json }

/**
 * JSON with object keys in code-point order and no whitespace. Keys here are ASCII, where UTF-16
 * code-unit order (`<`) equals code-point order; strings are escaped by `JSON.stringify`, which
 * matches Matrix canonical JSON for the ASCII identifiers and messages we send.
 */
function stringify (value: Json): string {
  if (Array.isArray(value)) return `[${value.map(stringify).join(',')}]`
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${keys.map(k => `${JSON.stringify(k)}:${stringify(value[k] as Json)}`).join(',')}}`
  }
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new KeyroomError(ErrorCode.NotCanonicalizable, `not an integer: ${value}`)
  }
  return JSON.stringify(value)
}

const encoder = new TextEncoder()

/** UTF-8 bytes of a message's JSON form. */
export function encodeJson (value: Json): Uint8Array {
  return encoder.encode(stringify(value))
}

/** The request frame payload. */
export function encodeRequest (request: SyncRequest): Uint8Array {
  switch (request.type) {
    case 'heads':
      return encodeJson({ type: 'heads', room_id: request.roomId })
    case 'events':
      return encodeJson({ type: 'events', room_id: request.roomId, event_ids: request.eventIds })
    case 'missing':
      return encodeJson({ type: 'missing', room_id: request.roomId, earliest: request.earliest, latest: request.latest, limit: request.limit })
    case 'state_at':
      return encodeJson({ type: 'state_at', room_id: request.roomId, event_id: request.eventId })
  }
}

/** A response header, as the server builds it. */
export type ResponseHeader =
  | { heads: string[] }
  | { event_ids: string[] }
  | { state_ids: string[], auth_chain_ids: string[] }
  | { errcode: WireErrorCode, error: string }

/** The header frame payload. */
export function encodeHeader (header: ResponseHeader): Uint8Array {
  return encodeJson(header as Json)
}

/** An error header for a local error code. */
export function errorHeader (code: string, message: string): ResponseHeader {
  // Messages go to a remote peer: keep them short and free of internals.
  return { errcode: wireCodeOf(code), error: message.slice(0, 200) }
}

// ---------------------------------------------------------------------------------------------
// Parsing

const decoder = new TextDecoder('utf-8', { fatal: true })

function bad (message: string): KeyroomError {
  return new KeyroomError(ErrorCode.SyncBadMessage, message)
}

/** Parse a frame payload as a JSON object. */
export function parseJsonObject (bytes: Uint8Array): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(bytes))
  } catch (err) {
    throw new KeyroomError(ErrorCode.SyncBadMessage, 'frame is not UTF-8 JSON', { cause: err })
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad(`expected a JSON object, got ${describe(value)}`)
  return value as Record<string, unknown>
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value
}

/** A room or event ID: a string of 1–255 code units starting with `sigil`. */
function parseId (value: unknown, sigil: '!' | '$', field: string): string {
  if (typeof value !== 'string') throw bad(`${field}: expected a string, got ${describe(value)}`)
  if (value.length < 2 || value.length > MAX_ID_LENGTH || !value.startsWith(sigil)) {
    throw bad(`${field}: expected an ID starting with ${sigil} of at most ${MAX_ID_LENGTH} characters`)
  }
  return value
}

/**
 * A list of event IDs. `maxItems` is checked before any element is looked at, and it raises
 * `SyncTooManyIds` rather than a generic bad-message error so the sender learns what to change.
 */
function parseIdList (value: unknown, field: string, maxItems: number): string[] {
  if (!Array.isArray(value)) throw bad(`${field}: expected an array, got ${describe(value)}`)
  if (value.length > maxItems) {
    throw new KeyroomError(ErrorCode.SyncTooManyIds, `${field}: ${value.length} IDs, at most ${maxItems} allowed`)
  }
  return value.map((v, i) => parseId(v, '$', `${field}[${i}]`))
}

/** Parse a request frame payload (server side). */
export function parseRequest (bytes: Uint8Array): SyncRequest {
  const obj = parseJsonObject(bytes)
  const type = obj['type']
  const roomId = parseId(obj['room_id'], '!', 'room_id')
  switch (type) {
    case 'heads':
      return { type, roomId }
    case 'events':
      return { type, roomId, eventIds: parseIdList(obj['event_ids'], 'event_ids', MAX_IDS_PER_REQUEST) }
    case 'missing': {
      const limit = obj['limit']
      if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1) {
        throw bad(`limit: expected a positive integer, got ${describe(limit)}`)
      }
      return {
        type,
        roomId,
        earliest: parseIdList(obj['earliest'], 'earliest', MAX_IDS_PER_REQUEST),
        latest: parseIdList(obj['latest'], 'latest', MAX_IDS_PER_REQUEST),
        // Matrix servers clamp rather than refuse an over-large limit; so do we.
        limit: Math.min(limit, MAX_MISSING_LIMIT)
      }
    }
    case 'state_at':
      return { type, roomId, eventId: parseId(obj['event_id'], '$', 'event_id') }
    default:
      throw bad(`type: expected one of ${SYNC_REQUEST_TYPES.join(', ')}`)
  }
}

/**
 * If a response header is an error, the {@link KeyroomError} to throw for it; otherwise `undefined`.
 */
export function remoteErrorOf (header: Record<string, unknown>): KeyroomError | undefined {
  if (!Object.hasOwn(header, 'errcode')) return undefined
  const wire = typeof header['errcode'] === 'string' ? header['errcode'] : 'K_UNKNOWN'
  const text = typeof header['error'] === 'string' ? header['error'].slice(0, 200) : ''
  return new KeyroomError(localCodeOf(wire), `peer answered ${wire.slice(0, 64)}${text === '' ? '' : `: ${text}`}`)
}

/** Parse the `heads` header (client side). */
export function parseHeadsHeader (header: Record<string, unknown>, maxItems: number): string[] {
  return parseResponseIds(header['heads'], 'heads', maxItems)
}

/** Parse the `event_ids` header of `events`/`missing` (client side). */
export function parseEventIdsHeader (header: Record<string, unknown>, maxItems: number): string[] {
  return parseResponseIds(header['event_ids'], 'event_ids', maxItems)
}

/** Parse the `state_at` header (client side). */
export function parseStateHeader (header: Record<string, unknown>, maxItems: number): { stateIds: string[], authChainIds: string[] } {
  return {
    stateIds: parseResponseIds(header['state_ids'], 'state_ids', maxItems),
    authChainIds: parseResponseIds(header['auth_chain_ids'], 'auth_chain_ids', maxItems)
  }
}

/** Response ID lists: a count over the bound is the response being too large, not a bad request. */
function parseResponseIds (value: unknown, field: string, maxItems: number): string[] {
  if (Array.isArray(value) && value.length > maxItems) {
    throw new KeyroomError(ErrorCode.SyncResponseTooLarge, `${field}: ${value.length} IDs, at most ${maxItems} accepted`)
  }
  return parseIdList(value, field, Number.MAX_SAFE_INTEGER)
}
