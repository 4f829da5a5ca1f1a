/**
 * Every byte string the identity layer signs, in one place (STYLE habit 9). A sibling of
 * `signing/signables.ts`, which defines the generic rule these follow; this file says which
 * object each identity signature covers.
 *
 * | statement   | object signed (before `signatures` is added)            | signed by                     |
 * |-------------|---------------------------------------------------------|-------------------------------|
 * | attestation | `{upk, udk, issued_ts, expires_ts?}`                     | UPK **and** UDK, key ID `ed25519` |
 * | revocation  | `{upk, udk, revoked_ts, reason?}`                        | UPK, key ID `ed25519`         |
 *
 * The bytes are Matrix signed JSON (`signedJsonBytes`): canonical JSON of the object without
 * `signatures` and `unsigned`. Each signature sits at `signatures[<signer's text form>].ed25519`
 * (docs/protocol.md, "Attestations and revocations"). Both signers of an attestation sign the
 * same bytes, so the order of signing does not matter.
 *
 * Domain separation comes from the field sets: an attestation has `issued_ts`, a revocation
 * `revoked_ts`, an event `type`/`room_id`, and every parser in keyroom refuses unknown fields, so
 * a UPK signature over one kind of statement cannot be presented as another.
 */
import { signedJsonBytes } from '../signing/index.js'
import type { DeviceId, UserId } from './text-forms.js'

/** The unsigned body of an attestation, as JSON. */
export interface AttestationBody {
  upk: UserId
  udk: DeviceId
  issued_ts: number
  expires_ts?: number
}

/** The unsigned body of a revocation, as JSON. */
export interface RevocationBody {
  upk: UserId
  udk: DeviceId
  revoked_ts: number
  reason?: string
}

/** Builds the attestation body (optional fields left out, never `undefined`). */
export function attestationBody (fields: { upk: UserId, udk: DeviceId, issuedTs: number, expiresTs?: number | undefined }): AttestationBody {
  const body: AttestationBody = { upk: fields.upk, udk: fields.udk, issued_ts: fields.issuedTs }
  if (fields.expiresTs !== undefined) body.expires_ts = fields.expiresTs
  return body
}

/** Builds the revocation body (optional fields left out, never `undefined`). */
export function revocationBody (fields: { upk: UserId, udk: DeviceId, revokedTs: number, reason?: string | undefined }): RevocationBody {
  const body: RevocationBody = { upk: fields.upk, udk: fields.udk, revoked_ts: fields.revokedTs }
  if (fields.reason !== undefined) body.reason = fields.reason
  return body
}

/** The exact bytes the UPK and the UDK sign in an attestation. */
export function attestationSignedBytes (body: AttestationBody): Uint8Array {
  return signedJsonBytes(body)
}

/** The exact bytes the UPK signs in a revocation. */
export function revocationSignedBytes (body: RevocationBody): Uint8Array {
  return signedJsonBytes(body)
}
