/**
 * The ingest checks (DESIGN §3 step 1): what every event goes through before the room engine looks
 * at it, whether it came by gossip, by sync or from a local builder.
 *
 * 1. Size: at most `MAX_PDU_BYTES` (Matrix "Size limits": 65536 bytes of canonical JSON).
 * 2. Strict parse (`parseJson`: no floats, no duplicate keys, no lone surrogates, …) and the bytes
 *    must be the event's canonical JSON (docs/wire.md: gossip data and sync event frames are the
 *    canonical bytes), so every node stores and serves one byte form per event.
 * 3. Shape: the PDU fields the engine and the core read have their types; `depth` is a safe integer
 *    ≥ 1; at most 20 `prev_events` and 10 `auth_events` (Matrix limits); `room_id` is a room ID.
 * 4. Integrity (events `checkEventIntegrity`, keyroom.1): the event ID is the reference hash (and
 *    equals the ID it was fetched under), every signer is a UDK whose signature verifies, and the
 *    content hash matches. A redacted copy (bad content hash) is refused here: keyroom peers always
 *    have the full event, so a copy whose content does not match its hash is a forgery.
 *
 * Who may sign (the UDK attested by the sender in the auth state) is an auth rule, checked later
 * by `decide`.
 */
import {
  KEYROOM_ROOM_VERSION, MAX_PDU_BYTES, canonicalJsonBytes, checkEventIntegrity, contentHash, eventIdFor, isDeviceId, isRoomId,
  parseDeviceId, parseJson
} from '../protocols/core/index.js'
import { MAX_AUTH_EVENTS, MAX_PREV_EVENTS } from './constants.js'
import type { RoomEvent } from '../protocols/core/index.js'
import type { EventIdentity } from '../protocols/gossip/index.js'

/** An event that passed the ingest checks: its ID, the typed event and its canonical bytes. */
export interface CheckedEvent {
  readonly eventId: string
  readonly event: RoomEvent
  readonly bytes: Uint8Array
}

/** The outcome of {@link checkEventBytes}. */
export type IngestCheck = { ok: true, checked: CheckedEvent } | { ok: false, reason: string }

/** What {@link checkEventBytes} compares the event with. */
export interface IngestExpectations {
  /** The ID the event was requested or announced under. */
  eventId?: string
  /** The room the event must claim. */
  roomId?: string
}

/** Parsed-and-canonical results of {@link identifyEvent}, kept for the validator of the same bytes. */
const parsedBytes = new WeakMap<Uint8Array, { event: Record<string, unknown>, eventId: string }>()

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/** Strict parse + canonical form; `undefined` when the bytes are not a canonical JSON object. */
function parseCanonical (bytes: Uint8Array): Record<string, unknown> | undefined {
  if (bytes.byteLength > MAX_PDU_BYTES) return undefined
  let value: unknown
  try {
    value = parseJson(bytes)
    if (!isPlainObject(value) || !sameBytes(canonicalJsonBytes(value), bytes)) return undefined
  } catch {
    return undefined
  }
  return value
}

/**
 * The gossip `identifyEvent` port: names the event in `bytes` — only when they are a canonical
 * event whose content hash matches (the port's contract: a copy with altered content must not
 * claim the genuine event's ID). Cheap and synchronous; never throws.
 */
export function identifyEvent (bytes: Uint8Array): EventIdentity | undefined {
  const cached = parsedBytes.get(bytes)
  if (cached !== undefined) return { eventId: cached.eventId, roomId: String(cached.event.room_id) }
  const event = parseCanonical(bytes)
  if (event === undefined || typeof event.room_id !== 'string') return undefined
  try {
    const hashes = event.hashes
    if (!isPlainObject(hashes) || hashes.sha256 !== contentHash(event)) return undefined
    const eventId = eventIdFor(event, KEYROOM_ROOM_VERSION)
    parsedBytes.set(bytes, { event, eventId })
    return { eventId, roomId: event.room_id }
  } catch {
    return undefined
  }
}

function isIdList (value: unknown, max: number): value is string[] {
  return Array.isArray(value) && value.length <= max && value.every(id => typeof id === 'string' && id.startsWith('$') && id.length <= 255)
}

/** The shape check (step 3): the reason the event is malformed, or `undefined`. */
function shapeProblem (event: Record<string, unknown>): string | undefined {
  if (typeof event.type !== 'string') return 'type is not a string'
  if (!isRoomId(event.room_id)) return 'room_id is not a room ID'
  if (typeof event.sender !== 'string') return 'sender is not a string'
  if (event.state_key !== undefined && typeof event.state_key !== 'string') return 'state_key is not a string'
  if (!isPlainObject(event.content)) return 'content is not an object'
  const ts = event.origin_server_ts
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) return 'origin_server_ts is not a non-negative integer'
  const depth = event.depth
  if (typeof depth !== 'number' || !Number.isSafeInteger(depth) || depth < 1) return 'depth is not a positive integer'
  if (!isIdList(event.prev_events, MAX_PREV_EVENTS)) return `prev_events is not a list of at most ${MAX_PREV_EVENTS} event IDs`
  if (!isIdList(event.auth_events, MAX_AUTH_EVENTS)) return `auth_events is not a list of at most ${MAX_AUTH_EVENTS} event IDs`
  if (new Set(event.prev_events).size !== event.prev_events.length) return 'prev_events lists an event twice'
  if (event.unsigned !== undefined && !isPlainObject(event.unsigned)) return 'unsigned is not an object'
  return undefined
}

/** Public key of a signing entity: a UDK's own key; anything else is unknown (and so fails). */
function publicKeyFor (entity: string, keyId: string): Uint8Array | undefined {
  return keyId === 'ed25519' && isDeviceId(entity) ? parseDeviceId(entity) : undefined
}

/**
 * Runs the ingest checks on received bytes. Outcomes are values: `{ ok: false, reason }` for any
 * event that must be refused (and whose sender deserves the blame).
 */
export function checkEventBytes (bytes: Uint8Array, expect: IngestExpectations = {}): IngestCheck {
  if (bytes.byteLength > MAX_PDU_BYTES) return { ok: false, reason: `event of ${bytes.byteLength} bytes exceeds ${MAX_PDU_BYTES}` }
  const event = parsedBytes.get(bytes)?.event ?? parseCanonical(bytes)
  if (event === undefined) return { ok: false, reason: 'not a canonical JSON object' }
  const problem = shapeProblem(event)
  if (problem !== undefined) return { ok: false, reason: `malformed: ${problem}` }
  if (expect.roomId !== undefined && event.room_id !== expect.roomId) return { ok: false, reason: `room_id is ${String(event.room_id)}, expected ${expect.roomId}` }
  const integrity = checkEventIntegrity(event, KEYROOM_ROOM_VERSION, {
    publicKeyFor,
    ...(expect.eventId === undefined ? {} : { expectedEventId: expect.eventId })
  })
  if (!integrity.ok) return { ok: false, reason: `${integrity.reason}: ${integrity.detail}` }
  return { ok: true, checked: { eventId: integrity.eventId, event: event as unknown as RoomEvent, bytes } }
}

/** A locally built event as a {@link CheckedEvent} (its canonical bytes; the builder computed the ID). */
export function checkedFromBuilt (built: { eventId: string, event: RoomEvent }): CheckedEvent {
  return { eventId: built.eventId, event: built.event, bytes: canonicalJsonBytes(built.event) }
}
