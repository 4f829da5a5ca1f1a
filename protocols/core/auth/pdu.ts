/**
 * The view of a Matrix PDU that the authorization rules and state resolution read, and the
 * edge validation that produces it.
 *
 * Events reach auth and state resolution as plain objects (from the store, from a peer, from a
 * test). Only the top-level fields the rules read are checked here; `content` stays an untyped
 * object that every rule reads defensively (own properties only, types checked at each use), so a
 * malformed field fails the rule that needs it instead of crashing the node.
 */

/** A JSON object as the rules see it: own string keys to unknown values. */
export type JsonObject = Readonly<Record<string, unknown>>

/**
 * The fields of a PDU that authorization and state resolution use (server-server API, "PDUs";
 * room version pages, "Event format").
 *
 * `prev_events` / `auth_events` are plain event-ID lists: room versions 1–2 list
 * `[event_id, hashes]` pairs on the wire, and {@link parsePdu} keeps only the IDs.
 */
export interface PduLike {
  readonly event_id: string
  /** Absent only on a room version 12 `m.room.create` event (MSC4291). */
  readonly room_id?: string | undefined
  readonly type: string
  /** Present exactly on state events. */
  readonly state_key?: string | undefined
  readonly sender: string
  readonly content: JsonObject
  readonly prev_events: readonly string[]
  readonly auth_events: readonly string[]
  readonly origin_server_ts: number
  readonly depth?: number | undefined
  /** Top-level `redacts` of room versions 1–10 (v11+ carry it in `content`, MSC2174). */
  readonly redacts?: string | undefined
  /**
   * The event's `signatures` (entity → key ID → signature), kept as an untyped object. The Matrix
   * rules never read it (signatures are checked on receipt, before auth); keyroom.1 reads *who*
   * signed: the auth events selection names the signing device's `keyroom.device` record
   * (`authTypesForEvent`), and the keyroom rules require that device to be attested.
   */
  readonly signatures?: JsonObject | undefined
}

/** The outcome of {@link parsePdu}. */
export type ParsePduResult =
  | { readonly ok: true, readonly pdu: PduLike }
  | { readonly ok: false, readonly reason: string }

/** True for a JSON object (not null, not an array). */
export function isJsonObject (value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * `obj[key]` if `key` is an own property, else `undefined`. Content maps come from the network:
 * `users["constructor"]` must not find `Object.prototype.constructor`.
 */
export function getOwn (obj: JsonObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined
}

/** An own string property, or `undefined` when absent or not a string. */
export function getString (obj: JsonObject, key: string): string | undefined {
  const value = getOwn(obj, key)
  return typeof value === 'string' ? value : undefined
}

/**
 * Event-ID list: strings (room versions 3+) or `[event_id, hashes]` pairs (versions 1–2).
 * Returns `undefined` when the value is neither.
 */
function parseEventIdList (value: unknown): readonly string[] | undefined {
  if (!Array.isArray(value)) return undefined
  let allStrings = true
  for (const item of value) {
    if (typeof item !== 'string') { allStrings = false; break }
  }
  if (allStrings) return value as string[]
  const ids: string[] = []
  for (const item of value) {
    if (typeof item === 'string') ids.push(item)
    else if (Array.isArray(item) && typeof item[0] === 'string') ids.push(item[0])
    else return undefined
  }
  return ids
}

/**
 * Validate the fields auth and state resolution read.
 *
 * @param value - anything; typically what an event store returned for `eventId`.
 * @param eventId - the ID the event was looked up by. Used when the object carries no
 *   `event_id` (room versions 3+ do not send it); when both are present they must be equal.
 * @returns the typed view, or the first problem found ("expected X, got Y" style).
 */
export function parsePdu (value: unknown, eventId?: string): ParsePduResult {
  if (!isJsonObject(value)) return { ok: false, reason: 'expected an event object' }
  const ownId = getOwn(value, 'event_id')
  if (ownId !== undefined && typeof ownId !== 'string') return { ok: false, reason: 'expected event_id to be a string' }
  if (ownId !== undefined && eventId !== undefined && ownId !== eventId) {
    return { ok: false, reason: `event_id ${JSON.stringify(ownId)} does not match the requested ${JSON.stringify(eventId)}` }
  }
  const id = ownId ?? eventId
  if (id === undefined) return { ok: false, reason: 'missing event_id' }
  const roomId = getOwn(value, 'room_id')
  if (roomId !== undefined && typeof roomId !== 'string') return { ok: false, reason: 'expected room_id to be a string' }
  const type = getOwn(value, 'type')
  if (typeof type !== 'string') return { ok: false, reason: 'expected type to be a string' }
  const stateKey = getOwn(value, 'state_key')
  if (stateKey !== undefined && typeof stateKey !== 'string') return { ok: false, reason: 'expected state_key to be a string' }
  const sender = getOwn(value, 'sender')
  if (typeof sender !== 'string') return { ok: false, reason: 'expected sender to be a string' }
  const content = getOwn(value, 'content')
  if (!isJsonObject(content)) return { ok: false, reason: 'expected content to be an object' }
  const prevEvents = parseEventIdList(getOwn(value, 'prev_events'))
  if (prevEvents === undefined) return { ok: false, reason: 'expected prev_events to be a list of event IDs' }
  const authEvents = parseEventIdList(getOwn(value, 'auth_events'))
  if (authEvents === undefined) return { ok: false, reason: 'expected auth_events to be a list of event IDs' }
  const ts = getOwn(value, 'origin_server_ts')
  if (typeof ts !== 'number' || !Number.isFinite(ts)) return { ok: false, reason: 'expected origin_server_ts to be a number' }
  const depth = getOwn(value, 'depth')
  if (depth !== undefined && (typeof depth !== 'number' || !Number.isFinite(depth))) return { ok: false, reason: 'expected depth to be a number' }
  const redacts = getOwn(value, 'redacts')
  if (redacts !== undefined && typeof redacts !== 'string') return { ok: false, reason: 'expected redacts to be a string' }
  // Server-server API, "PDUs": `signatures` is an object of entity → key ID → signature. Only its
  // shape as an object is checked here; whoever reads an entry checks it.
  const signatures = getOwn(value, 'signatures')
  if (signatures !== undefined && !isJsonObject(signatures)) return { ok: false, reason: 'expected signatures to be an object' }
  const pdu: PduLike = {
    event_id: id,
    room_id: roomId,
    type,
    state_key: stateKey,
    sender,
    content,
    prev_events: prevEvents,
    auth_events: authEvents,
    origin_server_ts: ts,
    depth,
    redacts,
    signatures
  }
  return { ok: true, pdu }
}
