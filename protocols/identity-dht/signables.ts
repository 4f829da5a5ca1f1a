/**
 * The one byte string the identity directory signs (STYLE habit 9): the user record body.
 *
 * | statement   | object signed (before `signatures` is added)     | signed by           |
 * |-------------|--------------------------------------------------|---------------------|
 * | user record | `{upk, seq, devices, revocations}`                | the UPK, key ID `ed25519` |
 *
 * The bytes are Matrix signed JSON (`signedJsonBytes`: canonical JSON without `signatures` and
 * `unsigned`), the same rule as attestations and revocations (protocols/core/identity/signables.ts).
 * The attestations and revocations are embedded whole, with their own signatures, so the record
 * signature also fixes their exact bytes.
 *
 * Domain separation comes from the field sets, as for the other identity statements: only a user
 * record has `seq` and `devices`, and every keyroom parser refuses unknown fields, so a UPK signature
 * over a record cannot pass for an attestation, a revocation or an event, nor the reverse.
 */
import { signedJsonBytes } from '../core/index.js'
import type { AttestationJson, RevocationJson, UserId } from '../core/index.js'

/** The unsigned body of a user record, as JSON. */
export interface UserRecordBody {
  upk: UserId
  seq: number
  devices: AttestationJson[]
  revocations: RevocationJson[]
}

/** Builds the record body from its fields. */
export function userRecordBody (fields: { upk: UserId, seq: number, devices: AttestationJson[], revocations: RevocationJson[] }): UserRecordBody {
  return { upk: fields.upk, seq: fields.seq, devices: fields.devices, revocations: fields.revocations }
}

/** The exact bytes the UPK signs in a user record. */
export function userRecordSignedBytes (body: UserRecordBody): Uint8Array {
  return signedJsonBytes(body)
}
