/**
 * Every byte string that keyroom signs or hashes for events and signed JSON, built in this one
 * file so that what a signature or hash covers can be read in one place (STYLE habit 9;
 * hypercore `caps.js`).
 *
 * | bytes                         | covers                                              | used by                                   |
 * |-------------------------------|-----------------------------------------------------|-------------------------------------------|
 * | {@link signedJsonBytes}       | the object without `signatures` and `unsigned`       | JSON signatures (attestations, RRK, …)    |
 * | {@link contentHashBytes}      | the event without `unsigned`, `signatures`, `hashes` | `hashes.sha256` (content hash)            |
 * | {@link redactedEventBytes}    | the *redacted* event without `signatures`, `unsigned`| event signatures **and** reference hash  |
 *
 * All three are Matrix canonical JSON (appendices, "Canonical JSON") encoded as UTF-8.
 *
 * The last row is one byte string serving two purposes: the server-server API signs "the
 * redacted event" as signed JSON (which drops `signatures` and `unsigned`), and the reference
 * hash is SHA-256 over the redacted event after "the `signatures` and `unsigned` properties are
 * removed". Callers that need both — signing an event and naming it, or checking a received
 * event's signature and computing its ID — build it once ({@link eventSignables}).
 */
import { canonicalJsonBytes } from '../json/index.js'
import { ErrorCode, KeyroomError } from '../errors.js'
import { redactShared } from '../events/redaction.js'
import { setOwn } from './json-object.js'
import type { JsonObject } from './json-object.js'
import type { RedactionRules } from '../room-versions.js'

/** True for a plain object: what canonical JSON accepts as an object. */
function isPlainObject (value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * `value` as a plain object, or `ERR_NOT_CANONICALIZABLE` — the same refusal canonical JSON
 * gives a non-plain object nested anywhere else.
 */
export function asPlainObject (value: unknown, what: string): JsonObject {
  if (!isPlainObject(value)) {
    throw new KeyroomError(ErrorCode.NotCanonicalizable, `${what} must be a plain JSON object`)
  }
  return value
}

/**
 * A shallow copy of `object` without the keys `a`, `b` and (optionally) `c`. Keys come from
 * `Object.keys` (own enumerable string keys: what canonical JSON writes), values are shared.
 * Spread would copy the same keys; an explicit loop avoids building the object twice.
 */
function without (object: JsonObject, a: string, b: string, c?: string): JsonObject {
  const out: JsonObject = {}
  for (const key of Object.keys(object)) {
    if (key === a || key === b || key === c) continue
    setOwn(out, key, object[key])
  }
  return out
}

/**
 * The bytes a JSON signature covers.
 *
 * Appendices, "Signing details": "JSON is signed by encoding the JSON object without
 * `signatures` or keys grouped as `unsigned`, using the canonical encoding". "Checking for a
 * signature", steps 5–6: "Removes the `signatures` and `unsigned` members of the object. Encodes
 * the remainder of the JSON object using the Canonical JSON encoding."
 *
 * @throws KeyroomError `ERR_NOT_CANONICALIZABLE` for a value canonical JSON cannot write.
 */
export function signedJsonBytes (value: object): Uint8Array {
  return canonicalJsonBytes(without(asPlainObject(value, 'a signed JSON value'), 'signatures', 'unsigned'))
}

/**
 * The bytes of an event's content hash (`hashes.sha256`).
 *
 * Server-server API, "Calculating the content hash for an event": "First, any existing
 * `unsigned`, `signatures`, and `hashes` properties are removed. The resulting object is then
 * encoded as Canonical JSON, and the JSON is hashed using SHA-256." The hash covers the
 * *unredacted* event, so it tells whether non-essential keys were changed or removed.
 *
 * @throws KeyroomError `ERR_NOT_CANONICALIZABLE` for an event canonical JSON cannot write.
 */
export function contentHashBytes (event: object): Uint8Array {
  return canonicalJsonBytes(without(asPlainObject(event, 'an event'), 'unsigned', 'signatures', 'hashes'))
}

/**
 * The bytes an event signature covers, which are also the reference-hash input (event IDs,
 * room versions 3+).
 *
 * Server-server API, "Adding hashes and signatures to outgoing events": the event (with its
 * `hashes`) "is then *redacted*, following the redaction algorithm. Finally it is signed as
 * described in Signing JSON" — i.e. {@link signedJsonBytes} of the redacted event.
 * "Calculating the reference hash for an event": "1. The event is put through the redaction
 * algorithm. 2. The `signatures` and `unsigned` properties are removed from the event, if
 * present. 3. The event is converted into Canonical JSON." — the same bytes.
 *
 * Redaction never keeps `unsigned`, and `signatures` is left out while redacting instead of being
 * copied and then removed; the result equals `signedJsonBytes(redactEvent(event))`.
 *
 * @throws KeyroomError `ERR_INVALID_EVENT` when the event cannot be redacted (no string `type`);
 *   `ERR_NOT_CANONICALIZABLE` for an event canonical JSON cannot write.
 */
export function redactedEventBytes (event: object, rules: RedactionRules): Uint8Array {
  return canonicalJsonBytes(redactShared(asPlainObject(event, 'an event'), rules, { omitSignatures: true }))
}

/** Both byte strings an event's integrity depends on, each built once. */
export interface EventSignables {
  /** {@link contentHashBytes}: SHA-256 of it is `hashes.sha256`. */
  contentHashInput: Uint8Array
  /** {@link redactedEventBytes}: what the event's signatures cover; SHA-256 of it is the reference hash. */
  redactedInput: Uint8Array
}

/**
 * The two byte strings of an event: two canonical-JSON passes, one over the full event and one
 * over its (much smaller, for most events) redacted form. Nothing is encoded twice.
 */
export function eventSignables (event: object, rules: RedactionRules): EventSignables {
  return { contentHashInput: contentHashBytes(event), redactedInput: redactedEventBytes(event, rules) }
}
