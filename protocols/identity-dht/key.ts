/**
 * DHT keys of the identity directory: `/keyroom/upk/<upk bytes>`, where the UPK bytes are the 33
 * bytes its user ID encodes — the key-version byte `0x01` followed by the 32-byte ed25519 key
 * (DESIGN §1 text forms, MSC2787 "UPK Format"). The bytes are raw, not base64: the key is binary,
 * and kad-dht only reads its first path segment (`keyroom`) as text.
 */
import { formatUserId, KEY_VERSION_ED25519, parseUserId } from '../core/index.js'
import type { UserId } from '../core/index.js'
import { USER_RECORD_KEY_PREFIX } from './constants.js'

const PREFIX = new TextEncoder().encode(USER_RECORD_KEY_PREFIX)
/** Length of a user record key: prefix + version byte + 32-byte key. */
export const USER_RECORD_KEY_LENGTH = PREFIX.length + 1 + 32

/** The DHT key of a user's record. Throws `ERR_INVALID_KEY` for a malformed user ID. */
export function userRecordKey (upk: UserId): Uint8Array {
  const key = parseUserId(upk)
  const out = new Uint8Array(USER_RECORD_KEY_LENGTH)
  out.set(PREFIX, 0)
  out[PREFIX.length] = KEY_VERSION_ED25519
  out.set(key, PREFIX.length + 1)
  return out
}

/** The user ID a DHT key names, or `undefined` when it is not a well-formed user record key. */
export function userIdFromRecordKey (key: Uint8Array): UserId | undefined {
  if (!(key instanceof Uint8Array) || key.length !== USER_RECORD_KEY_LENGTH) return undefined
  for (let i = 0; i < PREFIX.length; i++) if (key[i] !== PREFIX[i]) return undefined
  if (key[PREFIX.length] !== KEY_VERSION_ED25519) return undefined
  return formatUserId(key.slice(PREFIX.length + 1))
}
