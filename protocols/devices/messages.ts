/**
 * The device protocols' messages: encoders, and parsers that validate once, at the edge (STYLE
 * habit 6) — a typed value, or the reason it is not one. Every message is one frame of canonical
 * JSON (strictly parsed: no floats, no duplicate keys).
 */
import { canonicalJsonBytes, isRoomId, parseJson } from '../core/index.js'
import {
  MAX_ADDRESS_LENGTH, MAX_CODE_LENGTH, MAX_ERROR_TEXT, MAX_OFFER_ADDRESSES, MAX_ROOMS_LISTED
} from './constants.js'

/**
 * A link (or renewal) offer: an attestation of the receiving device, signed by the user's UPK and
 * waiting for the device's counter-signature (proof of possession).
 */
export interface LinkOffer {
  /** The attestation body with the UPK's signature (no UDK signature yet). Checked by the receiver. */
  attestation: Record<string, unknown>
  /** The one-time code of the link text, for a device that is not linked yet; absent for a renewal. */
  code?: string
  /** Where the offering device listens (multiaddrs), so the new device can come back to it. */
  via: string[]
}

/** The answer codes on the wire (as in sync and invite). */
export type AnswerCode = 'K_BAD_REQUEST' | 'K_FORBIDDEN' | 'K_LIMIT_EXCEEDED' | 'K_UNKNOWN'

/** A parse result: the value, or why not. */
export type ParseResult<T> = { ok: true, value: T } | { ok: false, reason: string }

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function parseObject (bytes: Uint8Array): ParseResult<Record<string, unknown>> {
  let value: unknown
  try {
    value = parseJson(bytes)
  } catch (err) {
    return { ok: false, reason: `not canonical JSON: ${err instanceof Error ? err.message : String(err)}` }
  }
  return isObject(value) ? { ok: true, value } : { ok: false, reason: 'expected a JSON object' }
}

function onlyFields (object: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  for (const key of Object.keys(object)) if (!allowed.includes(key)) return `unexpected field ${JSON.stringify(key.slice(0, 40))}`
  return undefined
}

/** Encodes a link offer. */
export function encodeLinkOffer (offer: LinkOffer): Uint8Array {
  return canonicalJsonBytes({ attestation: offer.attestation, ...(offer.code === undefined ? {} : { code: offer.code }), via: offer.via })
}

/** Parses a link offer: `{attestation: {…}, code?: string, via: [multiaddr text, …]}`. */
export function parseLinkOffer (bytes: Uint8Array): ParseResult<LinkOffer> {
  const parsed = parseObject(bytes)
  if (!parsed.ok) return parsed
  const { attestation, code, via } = parsed.value
  const extra = onlyFields(parsed.value, ['attestation', 'code', 'via'])
  if (extra !== undefined) return { ok: false, reason: extra }
  if (!isObject(attestation)) return { ok: false, reason: 'attestation: expected an object' }
  if (code !== undefined && (typeof code !== 'string' || code.length === 0 || code.length > MAX_CODE_LENGTH)) {
    return { ok: false, reason: `code: expected a string of 1 to ${MAX_CODE_LENGTH} characters` }
  }
  if (!Array.isArray(via) || via.length > MAX_OFFER_ADDRESSES || !via.every(a => typeof a === 'string' && a.length > 0 && a.length <= MAX_ADDRESS_LENGTH)) {
    return { ok: false, reason: `via: expected at most ${MAX_OFFER_ADDRESSES} address strings of at most ${MAX_ADDRESS_LENGTH} characters` }
  }
  const offer: LinkOffer = { attestation, via: via as string[] }
  if (code !== undefined) offer.code = code
  return { ok: true, value: offer }
}

/** Encodes a positive answer carrying the counter-signed attestation. */
export function encodeLinkAnswer (attestation: unknown): Uint8Array {
  return canonicalJsonBytes({ attestation })
}

/** Encodes an error answer. */
export function encodeError (errcode: AnswerCode, error: string): Uint8Array {
  return canonicalJsonBytes({ errcode, error: error.slice(0, MAX_ERROR_TEXT) })
}

/** An answer: the value, or the peer's error (code and text), or a malformed answer. */
export type Answer<T> =
  | { ok: true, value: T }
  | { ok: false, errcode: string, error: string }
  | { ok: false, malformed: string }

function parseAnswer<T> (bytes: Uint8Array, field: string, check: (value: unknown) => ParseResult<T>): Answer<T> {
  const parsed = parseObject(bytes)
  if (!parsed.ok) return { ok: false, malformed: parsed.reason }
  const object = parsed.value
  if (typeof object.errcode === 'string') {
    const error = typeof object.error === 'string' ? object.error.slice(0, MAX_ERROR_TEXT) : 'no reason given'
    return { ok: false, errcode: object.errcode.slice(0, 40), error }
  }
  const extra = onlyFields(object, [field])
  if (extra !== undefined) return { ok: false, malformed: extra }
  const checked = check(object[field])
  return checked.ok ? { ok: true, value: checked.value } : { ok: false, malformed: checked.reason }
}

/** Parses a link answer: `{attestation: {…}}` or an error. The attestation is checked by the caller. */
export function parseLinkAnswer (bytes: Uint8Array): Answer<Record<string, unknown>> {
  return parseAnswer(bytes, 'attestation', (value) => isObject(value) ? { ok: true, value } : { ok: false, reason: 'attestation: expected an object' })
}

/** Encodes a rooms request (it carries nothing: the asker is the authenticated device). */
export function encodeRoomsRequest (): Uint8Array {
  return canonicalJsonBytes({})
}

/** Parses a rooms request: exactly `{}`. */
export function parseRoomsRequest (bytes: Uint8Array): ParseResult<Record<string, never>> {
  const parsed = parseObject(bytes)
  if (!parsed.ok) return parsed
  return Object.keys(parsed.value).length === 0 ? { ok: true, value: {} } : { ok: false, reason: 'expected {}' }
}

/** Encodes a rooms answer. */
export function encodeRoomsAnswer (rooms: readonly string[]): Uint8Array {
  return canonicalJsonBytes({ rooms: rooms.slice(0, MAX_ROOMS_LISTED) })
}

/** Parses a rooms answer: `{rooms: ["!…", …]}` (room IDs, at most {@link MAX_ROOMS_LISTED}) or an error. */
export function parseRoomsAnswer (bytes: Uint8Array): Answer<string[]> {
  return parseAnswer(bytes, 'rooms', (value) => {
    if (!Array.isArray(value) || value.length > MAX_ROOMS_LISTED) return { ok: false, reason: `rooms: expected an array of at most ${MAX_ROOMS_LISTED} room IDs` }
    if (!value.every(isRoomId)) return { ok: false, reason: 'rooms: expected room IDs' }
    return { ok: true, value: value as string[] }
  })
}
