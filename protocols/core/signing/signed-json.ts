/**
 * Matrix signed JSON (appendices, "Signing JSON", "Signing details", "Checking for a signature"),
 * with the semantics of matrix-org/python-signedjson's `sign_json`:
 *
 * - `signatures` and `unsigned` are not signed (signables.ts, `signedJsonBytes`);
 * - `unsigned` is kept in the signed copy ("added back to the original JSON object along with the
 *   `unsigned` object");
 * - existing signatures are kept: the new one is merged in under
 *   `signatures[entity][keyId]` (replacing only an older signature under that same key ID), so
 *   several entities, or several keys of one entity, can sign the same object;
 * - the input is never mutated: the result is a shallow copy with fresh `signatures` maps.
 *
 * Key IDs. Matrix names a key `algorithm:version` (`ed25519:1`); keyroom's UPK/UDK signatures use
 * the bare algorithm `ed25519` (docs/protocol.md). Both forms are accepted; the algorithm is the
 * text before the first `:` (or all of it), and it must be `ed25519`, the only algorithm Matrix
 * defines. "Checking for a signature", step 2: "Removes any signing key identifiers from the
 * entry with algorithms it doesn't understand", so verification under another algorithm fails.
 *
 * Signatures are unpadded standard base64 ("the signature is encoded using unpadded Base64").
 * On verification they are decoded strictly (no padding, no URL-safe alphabet, zero trailing
 * bits): the spec's "SHOULD accept input with or without padding" is for interoperability, but
 * here every signature must have exactly one text form, so that a relayed object cannot be
 * re-encoded into a different byte string carrying the "same" signature.
 */
import { signBytes, verifySignature } from '../crypto/index.js'
import type { Ed25519Options } from '../crypto/index.js'
import { fromBase64, toBase64 } from '../encoding/base64.js'
import { ErrorCode, KeyroomError } from '../errors.js'
import { getOwn, isJsonObject } from './json-object.js'
import type { JsonObject } from './json-object.js'
import { asPlainObject, signedJsonBytes } from './signables.js'

/** The one signing algorithm Matrix defines (appendices, "Signing details"). */
export const SIGNING_ALGORITHM = 'ed25519'

/**
 * The algorithm part of a signing key identifier: `ed25519:1` → `ed25519`, `ed25519` → `ed25519`.
 */
export function keyIdAlgorithm (keyId: string): string {
  const colon = keyId.indexOf(':')
  return colon === -1 ? keyId : keyId.slice(0, colon)
}

/** Throws `ERR_INVALID_KEY` unless `keyId` names an ed25519 key. */
function assertEd25519KeyId (keyId: string): void {
  if (typeof keyId !== 'string' || keyIdAlgorithm(keyId) !== SIGNING_ALGORITHM) {
    throw new KeyroomError(ErrorCode.InvalidKey, `signing key ID ${JSON.stringify(keyId)} is not an ed25519 key ID`, {
      hint: 'use "ed25519" or "ed25519:<version>"'
    })
  }
}

/**
 * A copy of `value` with `signature` merged in at `signatures[entity][keyId]`.
 * Shared by signJson and signEvent (events/sign-event.ts).
 *
 * @throws KeyroomError `ERR_INVALID_EVENT` when an existing `signatures` (or its entry for
 *   `entity`) is not a JSON object: merging into it would lose or misplace signatures.
 */
export function withSignature<T extends object> (value: T, entity: string, keyId: string, signature: string): T {
  const existing = getOwn(value as JsonObject, 'signatures')
  if (existing !== undefined && !isJsonObject(existing)) {
    throw new KeyroomError(ErrorCode.InvalidEvent, 'cannot add a signature: "signatures" is not a JSON object')
  }
  const existingEntity = existing === undefined ? undefined : getOwn(existing, entity)
  if (existingEntity !== undefined && !isJsonObject(existingEntity)) {
    throw new KeyroomError(ErrorCode.InvalidEvent, `cannot add a signature: signatures[${JSON.stringify(entity)}] is not a JSON object`)
  }
  // Spread copies own enumerable keys with CreateDataProperty, so "__proto__" stays data.
  const entityMap: JsonObject = { ...existingEntity }
  Object.defineProperty(entityMap, keyId, { value: signature, enumerable: true, writable: true, configurable: true })
  const signatures: JsonObject = { ...existing }
  Object.defineProperty(signatures, entity, { value: entityMap, enumerable: true, writable: true, configurable: true })
  return { ...value, signatures }
}

/**
 * Sign a JSON object as `entity` with the ed25519 key of `seed`, stored under `keyId`.
 *
 * @param value - a plain JSON object; not modified. Its `signatures` and `unsigned` are not
 *   signed; `unsigned` and the existing signatures are kept in the result.
 * @param entity - the signer's name in `signatures` (a server name in Matrix; a UPK/UDK/room ID
 *   text form in keyroom).
 * @param keyId - `ed25519` or `ed25519:<version>`.
 * @param seed - the 32-byte ed25519 seed.
 * @param options - ed25519 backend choice (same signature from either).
 * @returns a shallow copy of `value` with `signatures[entity][keyId]` set.
 * @throws KeyroomError `ERR_INVALID_KEY` (key ID not ed25519), `ERR_INVALID_KEY_MATERIAL` (seed
 *   not 32 bytes), `ERR_NOT_CANONICALIZABLE` (value not representable as canonical JSON),
 *   `ERR_INVALID_EVENT` (existing `signatures` malformed).
 */
export function signJson<T extends object> (value: T, entity: string, keyId: string, seed: Uint8Array, options?: Ed25519Options): T {
  assertEd25519KeyId(keyId)
  asPlainObject(value, 'a signed JSON value')
  const signature = toBase64(signBytes(seed, signedJsonBytes(value), options))
  return withSignature(value, entity, keyId, signature)
}

/**
 * The decoded signature at `signatures[entity][keyId]`, or `undefined` when it is missing, not
 * a string, not strict unpadded standard base64, or `keyId` is not an ed25519 key ID
 * ("Checking for a signature", steps 1, 2 and 4).
 */
export function signatureBytesAt (value: object, entity: string, keyId: string): Uint8Array | undefined {
  if (!isJsonObject(value) || typeof keyId !== 'string' || keyIdAlgorithm(keyId) !== SIGNING_ALGORITHM) return undefined
  const signatures = getOwn(value, 'signatures')
  if (!isJsonObject(signatures)) return undefined
  const entry = getOwn(signatures, entity)
  if (!isJsonObject(entry)) return undefined
  const text = getOwn(entry, keyId)
  if (typeof text !== 'string') return undefined
  try {
    return fromBase64(text)
  } catch (err) {
    if (err instanceof KeyroomError && err.code === ErrorCode.InvalidBase64) return undefined
    throw err
  }
}

/**
 * Check that `entity` signed `value` with the ed25519 key `publicKey` under `keyId`
 * (appendices, "Checking for a signature").
 *
 * @returns true only for a valid signature. False — never an exception — when the signature is
 *   missing, not a string, not unpadded standard base64, of the wrong length or wrong, when the
 *   key ID is not ed25519, when `publicKey` is not a valid key, or when `value` cannot be written
 *   as canonical JSON (then it cannot have been signed).
 * @throws KeyroomError `ERR_BACKEND_UNAVAILABLE` only when `options.backend` names a backend
 *   this runtime lacks (a configuration error, not a property of the data).
 */
export function verifyJson (value: object, entity: string, keyId: string, publicKey: Uint8Array, options?: Ed25519Options): boolean {
  const signature = signatureBytesAt(value, entity, keyId)
  if (signature === undefined) return false
  let message: Uint8Array
  try {
    message = signedJsonBytes(value)
  } catch (err) {
    if (err instanceof KeyroomError && err.code === ErrorCode.NotCanonicalizable) return false
    throw err
  }
  return verifySignature(publicKey, message, signature, options)
}
