/**
 * Content hashes, reference hashes and event IDs (server-server API, "Calculating the content
 * hash for an event", "Calculating the reference hash for an event"; room versions, "Event IDs").
 * The hashed bytes are built in signing/signables.ts.
 */
import { sha256 } from '../crypto/index.js'
import { toBase64, toBase64Url } from '../encoding/base64.js'
import { ErrorCode, KeyroomError } from '../errors.js'
import { roomVersionRules } from '../room-versions.js'
import type { EventIdFormat } from '../room-versions.js'
import { getOwn, isJsonObject } from '../signing/json-object.js'
import { contentHashBytes, redactedEventBytes } from '../signing/signables.js'

/**
 * The content hash of an event, as it goes in `hashes.sha256`: unpadded standard base64 of
 * SHA-256 over the event without `unsigned`, `signatures` and `hashes` (signables.ts
 * `contentHashBytes`). ("The hash is encoded using Unpadded Base64 and stored in the event
 * object, in a `hashes` object, under a `sha256` key.")
 *
 * @throws KeyroomError `ERR_NOT_CANONICALIZABLE` for an event canonical JSON cannot write.
 */
export function contentHash (event: object): string {
  return toBase64(sha256(contentHashBytes(event)))
}

/**
 * The reference hash of an event: SHA-256 over the redacted event without `signatures` and
 * `unsigned` (signables.ts `redactedEventBytes`). 32 bytes.
 *
 * @throws KeyroomError `ERR_UNKNOWN_ROOM_VERSION`; `ERR_INVALID_EVENT` (cannot be redacted);
 *   `ERR_NOT_CANONICALIZABLE`.
 */
export function referenceHash (event: object, roomVersion: string): Uint8Array {
  return sha256(redactedEventBytes(event, roomVersionRules(roomVersion).redaction))
}

/**
 * An event ID from a reference hash, for the hash-derived formats.
 * Room version 3: "the reference hash of the event encoded using Unpadded Base64, prefixed with
 * `$`"; version 4 on: the same "encoded using URL-safe unpadded Base64".
 */
export function eventIdFromReferenceHash (hash: Uint8Array, format: Exclude<EventIdFormat, 'origin'>): string {
  return '$' + (format === 'hash-std' ? toBase64(hash) : toBase64Url(hash))
}

/**
 * The `event_id` an origin-named event (room versions 1 and 2) carries.
 *
 * @throws KeyroomError `ERR_INVALID_EVENT` when it has no string `event_id`.
 */
export function originEventId (event: object): string {
  const id = isJsonObject(event) ? getOwn(event, 'event_id') : undefined
  if (typeof id !== 'string') {
    throw new KeyroomError(ErrorCode.InvalidEvent, 'in room versions 1 and 2 an event names its own ID, and this one has no string "event_id"')
  }
  return id
}

/**
 * The event ID of an event in a room version.
 *
 * - Room versions 1 and 2: "`$opaque_id:domain`", chosen by the origin server: the event's own
 *   `event_id` (`ERR_INVALID_EVENT` if it has none).
 * - Room version 3: `$` + unpadded standard base64 of the reference hash.
 * - Room version 4 and later (and keyroom.1): `$` + unpadded URL-safe base64 of it.
 *
 * @throws KeyroomError `ERR_UNKNOWN_ROOM_VERSION`, `ERR_INVALID_EVENT`, `ERR_NOT_CANONICALIZABLE`.
 */
export function eventIdFor (event: object, roomVersion: string): string {
  const rules = roomVersionRules(roomVersion)
  if (rules.eventIdFormat === 'origin') return originEventId(event)
  return eventIdFromReferenceHash(sha256(redactedEventBytes(event, rules.redaction)), rules.eventIdFormat)
}
