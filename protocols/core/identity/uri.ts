/**
 * `keyroom:` URIs: share a user or a room as a link that carries the key (DESIGN §1, MSC3917
 * "rooms as keys"), so whoever opens it has the right key from the start.
 *
 * - user: `keyroom:u/~<upk>`
 * - room: `keyroom:r/!<rrk>?via=<multiaddr>&via=<multiaddr>` — `via` are libp2p multiaddrs of
 *   peers that are likely to be in the room (the serverless analogue of Matrix's `via` servers).
 *
 * Grammar follows RFC 3986: the scheme is case-insensitive; the path is case-sensitive (it is
 * base64). `via` values are percent-encoded, except that `/` and `:` — legal in a query (RFC 3986
 * §3.4) and the bulk of every multiaddr — are left as they are for readability. Like Matrix's own
 * `matrix:` URIs (MSC2312), unknown query parameters are ignored so that later versions can add
 * some; everything else is strict and a bad form is an `ERR_INVALID_KEY`.
 */
import { ErrorCode, KeyroomError } from '../errors.js'
import { describeInput, parseRoomId, parseUserId } from './text-forms.js'
import type { RoomId, UserId } from './text-forms.js'

/** The URI scheme, without the colon. */
export const KEYROOM_URI_SCHEME = 'keyroom'

/** A parsed `keyroom:` URI. */
export type KeyroomUri =
  | { kind: 'user', userId: UserId, key: Uint8Array }
  | { kind: 'room', roomId: RoomId, key: Uint8Array, via: string[] }

const EXPECTED = "expected 'keyroom:u/~<user key>' or 'keyroom:r/!<room key>?via=<multiaddr>'"

function bad (text: unknown, problem: string, cause?: unknown): KeyroomError {
  return new KeyroomError(ErrorCode.InvalidKey, `invalid keyroom URI ${describeInput(text)}: ${problem}; ${EXPECTED}`,
    cause === undefined ? {} : { cause })
}

/** Formats `keyroom:u/~…` for a user ID (checked). */
export function formatUserUri (userId: UserId): string {
  parseUserId(userId)
  return `${KEYROOM_URI_SCHEME}:u/${userId}`
}

/**
 * Formats `keyroom:r/!…?via=…&via=…` for a room ID (checked) and zero or more multiaddrs, in the
 * order given (callers put the best address first).
 */
export function formatRoomUri (roomId: RoomId, via: readonly string[] = []): string {
  parseRoomId(roomId)
  const query = via.map((addr) => {
    checkVia(addr, addr)
    return `via=${encodeVia(addr)}`
  })
  return `${KEYROOM_URI_SCHEME}:r/${roomId}${query.length > 0 ? `?${query.join('&')}` : ''}`
}

function encodeVia (addr: string): string {
  return encodeURIComponent(addr).replace(/%2F/giu, '/').replace(/%3A/giu, ':')
}

function checkVia (addr: string, text: unknown): void {
  // A multiaddr's text form always starts with '/' (multiformats/multiaddr spec); anything else
  // is not an address and would only fail later, further from its cause.
  if (addr.length === 0 || addr[0] !== '/' || /\s/u.test(addr)) {
    throw bad(text, `via ${describeInput(addr)} is not a multiaddr (it must start with '/' and contain no whitespace)`)
  }
}

/** Parses a `keyroom:` URI into a typed value; throws `ERR_INVALID_KEY` on any bad form. */
export function parseKeyroomUri (text: unknown): KeyroomUri {
  if (typeof text !== 'string') throw bad(text, 'not a string')
  if (/\s/u.test(text)) throw bad(text, 'it contains whitespace')
  const colon = text.indexOf(':')
  if (colon < 0 || text.slice(0, colon).toLowerCase() !== KEYROOM_URI_SCHEME) throw bad(text, "it does not start with 'keyroom:'")
  if (text.includes('#')) throw bad(text, 'it has a fragment (#…)')
  const rest = text.slice(colon + 1)
  const q = rest.indexOf('?')
  const path = q < 0 ? rest : rest.slice(0, q)
  const params = q < 0 ? [] : parseQuery(rest.slice(q + 1), text)

  if (path.startsWith('u/')) {
    const userId = path.slice(2)
    const key = wrapKeyError(text, () => parseUserId(userId))
    return { kind: 'user', userId, key }
  }
  if (path.startsWith('r/')) {
    const roomId = path.slice(2)
    const key = wrapKeyError(text, () => parseRoomId(roomId))
    const via: string[] = []
    for (const [name, value] of params) {
      if (name !== 'via') continue
      checkVia(value, text)
      via.push(value)
    }
    return { kind: 'room', roomId, key, via }
  }
  throw bad(text, "the part after 'keyroom:' must start with 'u/' (user) or 'r/' (room)")
}

function wrapKeyError (text: string, fn: () => Uint8Array): Uint8Array {
  try {
    return fn()
  } catch (cause) {
    if (cause instanceof KeyroomError) {
      throw new KeyroomError(ErrorCode.InvalidKey, `invalid keyroom URI ${describeInput(text)}: ${cause.message}`, { cause })
    }
    throw cause
  }
}

function parseQuery (query: string, text: string): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (const part of query.split('&')) {
    const eq = part.indexOf('=')
    if (eq <= 0) throw bad(text, `query part ${describeInput(part)} is not name=value`)
    let name: string
    let value: string
    try {
      name = decodeURIComponent(part.slice(0, eq))
      value = decodeURIComponent(part.slice(eq + 1))
    } catch (cause) {
      throw bad(text, `query part ${describeInput(part)} has a bad percent-encoding`, cause)
    }
    out.push([name, value])
  }
  return out
}
