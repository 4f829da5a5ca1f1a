/**
 * The little the authorization rules need to know about user IDs.
 *
 * User IDs are otherwise opaque strings. Three rules look inside them:
 * - the "valid user ID" checks (`users` keys of `m.room.power_levels`, v12 `additional_creators`);
 * - the domain rules of Matrix room versions (`m.room.create` room ID domain in v1–v11,
 *   `m.federate`, `m.room.aliases` in v1–v5, v1–v2 redactions).
 *
 * keyroom's user IDs are UPKs (`~` + unpadded URL-safe base64 of `0x01` ‖ 32-byte key,
 * docs/protocol.md "Identifiers") and have no domain: with `rules.keySenders` the domain rules do
 * not apply and "valid user ID" means a well-formed UPK text form.
 */
import type { RoomVersionRules } from '../room-versions.js'

/**
 * The server name of a Matrix identifier (`@user:domain`, `!room:domain`, `$event:domain`): the
 * text after the first `:` (a localpart cannot contain `:`, a server name can, for its port), or
 * `undefined` when there is none.
 */
export function domainOf (id: string): string | undefined {
  const colon = id.indexOf(':')
  return colon === -1 ? undefined : id.slice(colon + 1)
}

// Appendices, "Server Name": hostname [ ":" port ], hostname = IPv4 / "[" IPv6 "]" / DNS name.
const SERVER_NAME = /^(?:\[[0-9A-Fa-f:.]{2,45}\]|[0-9A-Za-z.-]{1,255})(?::[0-9]{1,5})?$/

/**
 * A user ID as the Matrix appendices accept it ("User Identifiers", including "Historical User
 * IDs": any localpart without `:` or NUL, even empty), at most 255 bytes of UTF-8.
 */
function isMatrixUserId (id: string): boolean {
  if (id.length < 3 || id.charCodeAt(0) !== 0x40 /* @ */) return false
  const colon = id.indexOf(':')
  if (colon === -1) return false
  const localpart = id.slice(1, colon)
  if (localpart.includes('\u0000') || !localpart.isWellFormed()) return false
  if (!SERVER_NAME.test(id.slice(colon + 1))) return false
  return utf8Length(id) <= 255
}

/** UTF-8 byte length of a well-formed string. */
function utf8Length (s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff) { n += 4; i++ } else n += 3
  }
  return n
}

/**
 * keyroom UPK text form: `~` + unpadded URL-safe base64 of 33 bytes (exactly 44 characters, no
 * spare bits) whose first byte is the version `0x01`: its first character is `A` (bits 000000)
 * and its second is one of `Q`–`f` (bits 01xxxx).
 */
const UPK_TEXT = /^~A[Q-Za-f][A-Za-z0-9_-]{42}$/

function isUpkText (id: string): boolean {
  return UPK_TEXT.test(id)
}

/**
 * "Valid user ID" as the room version's rules mean it (power levels `users` keys, v12
 * `additional_creators`): a Matrix user ID, or with `keySenders` a keyroom UPK text form.
 */
export function isValidUserId (rules: RoomVersionRules, id: string): boolean {
  return rules.keySenders ? isUpkText(id) : isMatrixUserId(id)
}

/**
 * The sigil of user IDs in this room version: `@` in Matrix, `~` for keyroom's UPKs. Used by
 * the rule "If the event has a `state_key` that starts with an `@` and does not match the
 * `sender`, reject", which protects state keyed by a user's own ID.
 */
export function userIdSigil (rules: RoomVersionRules): string {
  return rules.keySenders ? '~' : '@'
}
