/**
 * Signing an event (server-server API, "Adding hashes and signatures to outgoing events"):
 *
 * > Before signing the event, the *content hash* of the event is calculated […] and stored in the
 * > event object, in a `hashes` object, under a `sha256` key. The event object is then
 * > *redacted*, following the redaction algorithm. Finally it is signed as described in Signing
 * > JSON […]. The signature is then copied back to the original event object.
 */
import { sha256, signBytes } from '../crypto/index.js'
import type { Ed25519Options } from '../crypto/index.js'
import { toBase64 } from '../encoding/base64.js'
import { roomVersionRules } from '../room-versions.js'
import type { EventIdFormat } from '../room-versions.js'
import { getOwn, isJsonObject } from '../signing/json-object.js'
import { asPlainObject, redactedEventBytes } from '../signing/signables.js'
import { SIGNING_ALGORITHM, keyIdAlgorithm, withSignature } from '../signing/signed-json.js'
import { ErrorCode, KeyroomError } from '../errors.js'
import { contentHash, eventIdFromReferenceHash, originEventId } from './hashes.js'

/** A signed event and its event ID. */
export interface SignedEvent {
  /** The event with `hashes.sha256` and the merged `signatures`. */
  event: object
  /** Its event ID in the room version (reference hash, or `event_id` in versions 1 and 2). */
  eventId: string
}

interface HashedAndSigned {
  signed: object
  /** The redacted-event bytes the signature covers (= reference-hash input). */
  signable: Uint8Array
  eventIdFormat: EventIdFormat
}

function hashAndSign (event: object, entity: string, keyId: string, seed: Uint8Array, roomVersion: string, options: Ed25519Options | undefined): HashedAndSigned {
  const rules = roomVersionRules(roomVersion)
  if (keyIdAlgorithm(keyId) !== SIGNING_ALGORITHM) {
    throw new KeyroomError(ErrorCode.InvalidKey, `signing key ID ${JSON.stringify(keyId)} is not an ed25519 key ID`)
  }
  const source = asPlainObject(event, 'an event')
  // "The hash is […] stored in the event object, in a `hashes` object, under a `sha256` key":
  // set `sha256`, keep any other entry (synapse `setdefault("hashes", {})`, ruma
  // `add_content_hash_to_event`; the spec's example code builds a fresh object, which only
  // differs for an event that already had other hash algorithms).
  const existing = getOwn(source, 'hashes')
  if (existing !== undefined && !isJsonObject(existing)) {
    throw new KeyroomError(ErrorCode.InvalidEvent, 'cannot add the content hash: "hashes" is not a JSON object')
  }
  const hashed = { ...source, hashes: { ...existing, sha256: contentHash(source) } }
  const signable = redactedEventBytes(hashed, rules.redaction)
  const signature = toBase64(signBytes(seed, signable, options))
  return { signed: withSignature(hashed, entity, keyId, signature), signable, eventIdFormat: rules.eventIdFormat }
}

/**
 * Add `hashes.sha256` to an event and sign its redacted form as `entity` with `keyId`.
 *
 * @param event - the event (not modified); its `unsigned` and existing signatures are kept.
 * @param entity - the signer's name in `signatures` (server name in Matrix; a UDK in keyroom).
 * @param keyId - `ed25519` or `ed25519:<version>`.
 * @param seed - the 32-byte ed25519 seed.
 * @param roomVersion - decides the redaction algorithm, hence what the signature covers.
 * @param options - ed25519 backend choice (same signature from either).
 * @returns a copy of the event with `hashes.sha256` set (other `hashes` entries kept) and
 *   `signatures[entity][keyId]` merged into its signatures.
 * @throws KeyroomError `ERR_UNKNOWN_ROOM_VERSION`, `ERR_INVALID_KEY`, `ERR_INVALID_KEY_MATERIAL`,
 *   `ERR_INVALID_EVENT` (no string `type`, `hashes` or `signatures` not an object),
 *   `ERR_NOT_CANONICALIZABLE`.
 */
export function signEvent (event: object, entity: string, keyId: string, seed: Uint8Array, roomVersion: string, options?: Ed25519Options): object {
  return hashAndSign(event, entity, keyId, seed, roomVersion, options).signed
}

/**
 * {@link signEvent}, and the event's ID computed from the same bytes: the signature input is
 * the reference-hash input too (signables.ts), so it is built once.
 *
 * @throws KeyroomError as {@link signEvent}; in room versions 1 and 2 also `ERR_INVALID_EVENT`
 *   when the event has no `event_id`.
 */
export function signEventWithId (event: object, entity: string, keyId: string, seed: Uint8Array, roomVersion: string, options?: Ed25519Options): SignedEvent {
  const { signed, signable, eventIdFormat } = hashAndSign(event, entity, keyId, seed, roomVersion, options)
  const eventId = eventIdFormat === 'origin'
    ? originEventId(signed)
    : eventIdFromReferenceHash(sha256(signable), eventIdFormat)
  return { event: signed, eventId }
}
