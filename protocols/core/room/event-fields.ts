/**
 * Reading keyroom.1 event fields safely: own-property reads of untrusted content, the one UDK
 * signature of an event, cached key parsing, and the text of a room's root key.
 */
import { fromBase64 } from '../encoding/base64.js'
import { parseDeviceId, parseRoomId, parseUserId } from '../identity/index.js'
import { EVENT_KEY_ID } from './constants.js'
import type { EventView } from './types.js'

/** Own-property read of untrusted JSON: a key like `"__proto__"` never reaches a prototype. */
export function own (object: unknown, key: string): unknown {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) return undefined
  return Object.hasOwn(object, key) ? (object as Record<string, unknown>)[key] : undefined
}

/** `own(object, key)` when it is a string, else `undefined`. */
export function ownString (object: unknown, key: string): string | undefined {
  const value = own(object, key)
  return typeof value === 'string' ? value : undefined
}

/** True for a JSON object (not null, not an array). */
export function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The `content.membership` of a member event, or `undefined`. */
export function membershipOf (event: EventView | undefined): string | undefined {
  return event === undefined ? undefined : ownString(event.content, 'membership')
}

/**
 * The `room_root_key` text of a room: MSC3917 "the RRK should *be* the room ID", and
 * docs/protocol.md writes `room_root_key` as the URL-safe base64 of the RRK — the room ID
 * without its `!` sigil.
 */
export function rootKeyText (roomId: string): string {
  return roomId.slice(1)
}

/**
 * Parsed-key cache: parsing a key's text form costs a base64 decode and, for a bad form, an
 * exception; every event names its signer, so the same few thousand keys are parsed over and
 * over. Bounded; the oldest entry goes first. `null` remembers a bad form.
 */
const MAX_PARSED_KEYS = 200_000
const deviceKeys = new Map<string, Uint8Array | null>()
const userKeys = new Map<string, Uint8Array | null>()
const roomKeys = new Map<string, Uint8Array | null>()

function cachedParse (cache: Map<string, Uint8Array | null>, text: unknown, parse: (text: unknown) => Uint8Array): Uint8Array | undefined {
  if (typeof text !== 'string') return undefined
  let key = cache.get(text)
  if (key === undefined) {
    try {
      key = parse(text)
    } catch {
      key = null
    }
    if (cache.size >= MAX_PARSED_KEYS) {
      const oldest = cache.keys().next()
      if (oldest.done !== true) cache.delete(oldest.value)
    }
    cache.set(text, key)
  }
  return key ?? undefined
}

/** The UDK of a device ID `^…`, or `undefined` for any other form. */
export function deviceKey (text: unknown): Uint8Array | undefined {
  return cachedParse(deviceKeys, text, parseDeviceId)
}

/** The UPK of a user ID `~…`, or `undefined` for any other form. */
export function userKey (text: unknown): Uint8Array | undefined {
  return cachedParse(userKeys, text, parseUserId)
}

/** The RRK of a room ID `!…`, or `undefined` for any other form. */
export function roomKey (text: unknown): Uint8Array | undefined {
  return cachedParse(roomKeys, text, parseRoomId)
}

/** The signing UDK of an event, or why there is not exactly one. */
export type EventSigner =
  | { ok: true, deviceId: string, deviceKey: Uint8Array, signature: Uint8Array }
  | { ok: false, problem: 'no-signature' | 'several-signatures' | 'not-a-device' | 'bad-key-id' | 'bad-encoding' }

/**
 * The one UDK signature of an event. docs/protocol.md: "Each event is signed by exactly one UDK
 * of the sender: `signatures: {"^udk…": {"ed25519": "…"}}`". Anything else — no signature, two
 * signers, a signer that is not a device ID, another key ID beside or instead of `ed25519`, a
 * signature that is not strict unpadded base64 — is refused here, so every later check can speak
 * of "the" signer.
 */
export function eventSigner (event: EventView): EventSigner {
  const signatures: unknown = event.signatures
  if (!isObject(signatures)) return { ok: false, problem: 'no-signature' }
  const entities = Object.keys(signatures)
  if (entities.length === 0) return { ok: false, problem: 'no-signature' }
  if (entities.length > 1) return { ok: false, problem: 'several-signatures' }
  const deviceId = entities[0]!
  const key = deviceKey(deviceId)
  if (key === undefined) return { ok: false, problem: 'not-a-device' }
  const entry = signatures[deviceId]
  if (!isObject(entry)) return { ok: false, problem: 'no-signature' }
  const keyIds = Object.keys(entry)
  if (keyIds.length !== 1 || keyIds[0] !== EVENT_KEY_ID) return { ok: false, problem: 'bad-key-id' }
  const text = entry[EVENT_KEY_ID]
  if (typeof text !== 'string') return { ok: false, problem: 'bad-encoding' }
  try {
    return { ok: true, deviceId, deviceKey: key, signature: fromBase64(text) }
  } catch {
    return { ok: false, problem: 'bad-encoding' }
  }
}

/** A 32-byte key in strict unpadded standard base64 (Matrix's `public_key` encoding), or undefined. */
export function decodeKey (text: string): Uint8Array | undefined {
  try {
    const bytes = fromBase64(text)
    return bytes.length === 32 ? bytes : undefined
  } catch {
    return undefined
  }
}
