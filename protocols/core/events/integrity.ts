/**
 * The ingest check of a received event's hashes, signatures and ID, as one pure function
 * (server-server API, "Validating hashes and signatures on received events"):
 *
 * > First the signatures are checked. The event is redacted following the redaction algorithm,
 * > and the resultant object is checked for signatures from the originating server […]. Only
 * > signatures from known server keys are validated here. Any unknown keys are ignored. […]
 * > If all signatures from known unexpired keys from the originating server(s) are found to be
 * > valid, the expected content hash is calculated as described below. The content hash in the
 * > `hashes` property of the received event is base64-decoded, and the two are compared for
 * > equality. If the hash check fails, then it is assumed that this is because we have only
 * > been given a redacted version of the event. To enforce this, the receiving server should use
 * > the redacted copy it calculated rather than the full copy it received.
 *
 * Cost: the redacted-event bytes are built once and serve both the signature check and the event
 * ID (they are the same bytes; signing/signables.ts); the full event is canonicalised once, for
 * the content hash, and only after the signatures passed. So an event costs two canonical-JSON
 * passes (the second over the small redacted form), two SHA-256 and one ed25519 verification per
 * known key; a forged event is refused before its large part is ever encoded.
 *
 * Which signatures are required (`requiredSigners`) and which keys are known (`publicKeyFor`) is
 * the caller's policy: the originating server in Matrix rooms; in keyroom the signing UDK, whose
 * public key is its own text form. Attestation of that UDK by the sender's UPK is an auth rule,
 * checked against the auth state, not here.
 */
import { sha256, verifySignature } from '../crypto/index.js'
import type { Ed25519Options } from '../crypto/index.js'
import { fromBase64 } from '../encoding/base64.js'
import { ErrorCode, KeyroomError } from '../errors.js'
import { roomVersionRules } from '../room-versions.js'
import { cloneJson, getOwn, isJsonObject } from '../signing/json-object.js'
import type { JsonObject } from '../signing/json-object.js'
import { contentHashBytes, redactedEventBytes } from '../signing/signables.js'
import { SIGNING_ALGORITHM, keyIdAlgorithm } from '../signing/signed-json.js'
import { eventIdFromReferenceHash } from './hashes.js'
import { redactShared } from './redaction.js'

/** Why an event failed the integrity check. */
export type IntegrityFailureReason =
  /** Not an event this check can read: not a plain JSON object, no string `type`, `signatures` not an object, not canonical-JSON representable, or (room versions 1–2) no `event_id`. */
  | 'malformed'
  /** Its ID is not `expectedEventId` (e.g. the ID it was requested or gossiped under). */
  | 'event-id-mismatch'
  /** A required signer has no signature under a key `publicKeyFor` knows (or there are no signatures at all). */
  | 'missing-signature'
  /** A signature under a known key is not valid (or not strict unpadded base64). */
  | 'bad-signature'
  /** The signatures are valid but `hashes.sha256` does not match the content: the spec says use the redacted copy. */
  | 'bad-hash'

/** The outcome of {@link checkEventIntegrity}. */
export type IntegrityResult =
  | { ok: true, eventId: string }
  | { ok: false, reason: 'malformed', detail: string }
  | { ok: false, reason: 'event-id-mismatch' | 'missing-signature' | 'bad-signature', eventId: string, detail: string }
  /** `redacted`: the redacted copy (with its signatures), which the spec says to keep instead. */
  | { ok: false, reason: 'bad-hash', eventId: string, detail: string, redacted: object }

/** What {@link checkEventIntegrity} needs from its caller. */
export interface IntegrityOptions extends Ed25519Options {
  /**
   * The ed25519 public key of `keyId` of `entity`, or `undefined` when unknown (unknown keys are
   * skipped, as the spec says). Called only for ed25519 key IDs present in the event.
   */
  publicKeyFor: (entity: string, keyId: string) => Uint8Array | undefined
  /**
   * Entities that must have signed (each with at least one known key, every known key valid).
   * Default: every entity in the event's `signatures`.
   */
  requiredSigners?: readonly string[]
  /** When given, the event's ID must equal it (`event-id-mismatch` otherwise). */
  expectedEventId?: string
}

function malformed (detail: string): IntegrityResult {
  return { ok: false, reason: 'malformed', detail }
}

function isPlainJsonObject (value: unknown): value is JsonObject {
  if (!isJsonObject(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * Check a received event's ID, signatures and content hash, in the spec's order.
 *
 * @param event - the parsed event (e.g. from `parseJson`); not modified.
 * @param roomVersion - the room's version (decides redaction and the event ID format).
 * @returns `{ ok: true, eventId }`, or a failure with its reason (and the event ID when it could
 *   be computed). Data problems are results, never exceptions.
 * @throws KeyroomError `ERR_UNKNOWN_ROOM_VERSION` (the caller's input, not the event's);
 *   `ERR_BACKEND_UNAVAILABLE` for an unavailable ed25519 backend.
 */
export function checkEventIntegrity (event: unknown, roomVersion: string, options: IntegrityOptions): IntegrityResult {
  const rules = roomVersionRules(roomVersion)
  if (!isPlainJsonObject(event)) return malformed('the event is not a plain JSON object')
  const signatures = getOwn(event, 'signatures')
  if (!isJsonObject(signatures)) return malformed('"signatures" is missing or not a JSON object')

  // The bytes the signatures cover = the reference-hash input, built once.
  let signable: Uint8Array
  try {
    signable = redactedEventBytes(event, rules.redaction)
  } catch (err) {
    if (err instanceof KeyroomError && (err.code === ErrorCode.InvalidEvent || err.code === ErrorCode.NotCanonicalizable)) {
      return malformed(err.message)
    }
    throw err
  }

  let eventId: string
  if (rules.eventIdFormat === 'origin') {
    const own = getOwn(event, 'event_id')
    if (typeof own !== 'string') return malformed('room versions 1 and 2 need a string "event_id"')
    eventId = own
  } else {
    eventId = eventIdFromReferenceHash(sha256(signable), rules.eventIdFormat)
  }
  if (options.expectedEventId !== undefined && options.expectedEventId !== eventId) {
    return { ok: false, reason: 'event-id-mismatch', eventId, detail: `expected ${options.expectedEventId}, computed ${eventId}` }
  }

  // Signatures ("Checking for a signature", applied to the redacted event).
  const signers = options.requiredSigners ?? Object.keys(signatures)
  if (signers.length === 0) return { ok: false, reason: 'missing-signature', eventId, detail: 'the event has no signatures' }
  for (const entity of signers) {
    const entry = getOwn(signatures, entity)
    if (!isJsonObject(entry)) {
      return { ok: false, reason: 'missing-signature', eventId, detail: `no signatures from ${JSON.stringify(entity)}` }
    }
    let verified = 0
    for (const keyId of Object.keys(entry)) {
      // Step 2: "Removes any signing key identifiers from the entry with algorithms it doesn't understand."
      if (keyIdAlgorithm(keyId) !== SIGNING_ALGORITHM) continue
      const publicKey = options.publicKeyFor(entity, keyId)
      if (publicKey === undefined) continue
      const text = entry[keyId]
      let signature: Uint8Array
      try {
        if (typeof text !== 'string') throw new KeyroomError(ErrorCode.InvalidBase64, 'not a string')
        signature = fromBase64(text)
      } catch (err) {
        if (err instanceof KeyroomError && err.code === ErrorCode.InvalidBase64) {
          return { ok: false, reason: 'bad-signature', eventId, detail: `signature ${JSON.stringify(entity)}/${JSON.stringify(keyId)} is not unpadded base64` }
        }
        throw err
      }
      if (!verifySignature(publicKey, signable, signature, options.backend === undefined ? undefined : { backend: options.backend })) {
        return { ok: false, reason: 'bad-signature', eventId, detail: `signature ${JSON.stringify(entity)}/${JSON.stringify(keyId)} does not verify` }
      }
      verified++
    }
    if (verified === 0) {
      return { ok: false, reason: 'missing-signature', eventId, detail: `no signature from ${JSON.stringify(entity)} under a known ed25519 key` }
    }
  }

  // Content hash, only now that the signatures are good. The full event is canonicalised here
  // for the first time; a value canonical JSON cannot write (which the strict parser never lets
  // through) makes the event malformed rather than "redacted".
  let actual: Uint8Array
  try {
    actual = sha256(contentHashBytes(event))
  } catch (err) {
    if (err instanceof KeyroomError && err.code === ErrorCode.NotCanonicalizable) return malformed(err.message)
    throw err
  }
  const hashes = getOwn(event, 'hashes')
  const claimed = isJsonObject(hashes) ? getOwn(hashes, 'sha256') : undefined
  const matches = typeof claimed === 'string' && equalBytes(decodeOrEmpty(claimed), actual)
  if (!matches) {
    return {
      ok: false,
      reason: 'bad-hash',
      eventId,
      detail: typeof claimed === 'string' ? 'hashes.sha256 does not match the content' : 'the event has no string hashes.sha256',
      redacted: cloneJson(redactShared(event, rules.redaction)) as object
    }
  }
  return { ok: true, eventId }
}

/** Strict unpadded base64, or no bytes (which never equal a 32-byte hash) when it is not that. */
function decodeOrEmpty (text: string): Uint8Array {
  try {
    return fromBase64(text)
  } catch (err) {
    if (err instanceof KeyroomError && err.code === ErrorCode.InvalidBase64) return new Uint8Array(0)
    throw err
  }
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
