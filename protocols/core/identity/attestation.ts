/**
 * Attestations: a UPK vouching for one of its devices (DESIGN §1, MSC2787 "Membership UDK
 * Attestation"; docs/protocol.md "Attestations and revocations").
 *
 * ```json
 * { "upk": "~…", "udk": "^…", "issued_ts": 1700000000000, "expires_ts": 1800000000000,
 *   "signatures": { "~…": { "ed25519": "…" }, "^…": { "ed25519": "…" } } }
 * ```
 *
 * Signed as Matrix signed JSON by the UPK (entity = the UPK text) and counter-signed by the UDK
 * (entity = the UDK text), both under key ID `ed25519`. The UPK signature says "this device is
 * mine"; the UDK signature is proof of possession — nobody can attach someone else's device key
 * to their identity, because that device would have to sign too.
 *
 * Verification is a value, never an exception (STYLE habit 5), and goes in this order:
 * 1. shape (`malformed`): only the known fields, IDs in their exact text forms, integer
 *    timestamps, `expires_ts` after `issued_ts`, UPK and UDK different keys;
 * 2. signers (`mismatched-keys`): the named UPK and UDK must each have an `ed25519` signature;
 *    a signature by some *other* UPK/UDK in their place is a mismatch (when nobody of that kind
 *    signed at all, the statement is `malformed`). Other signatories are ignored — they neither
 *    help nor hurt;
 * 3. signatures (`bad-signature`): the UPK's, then the UDK's, over the signed bytes
 *    (signables.ts);
 * 4. time (`expired`): `now >= expires_ts`. Checked last so `expired` is only said of a genuine
 *    attestation. An `issued_ts` in the future is not refused: device clocks in a P2P mesh
 *    disagree, and an early attestation grants nothing a correct one would not.
 */
import { signJson, verifyJson } from '../signing/index.js'
import { ErrorCode, KeyroomError } from '../errors.js'
import { deviceKeyPair, userKeyPair } from './key-pair.js'
import { attestationBody } from './signables.js'
import type { AttestationBody } from './signables.js'
import {
  IDENTITY_KEY_ID, fail, mismatch, parseWith, readDeviceId, readObject, readSignatures, readTimestamp, readUserId, sameBytes, signerFor
} from './statement.js'
import type { Parsed, SignatureMap } from './statement.js'
import { DEVICE_ID_SIGIL, USER_ID_SIGIL } from './text-forms.js'
import type { DeviceId, UserId } from './text-forms.js'

/** An attestation as JSON, with its signatures. */
export interface AttestationJson extends AttestationBody {
  signatures: SignatureMap
}

/** A parsed attestation: typed fields, decoded keys, and the JSON it came from. */
export interface Attestation {
  /** The attesting user (UPK), `~…`. */
  upk: UserId
  /** The attested device (UDK), `^…`. */
  udk: DeviceId
  upkKey: Uint8Array
  udkKey: Uint8Array
  issuedTs: number
  expiresTs?: number
  /**
   * The statement as JSON, keeping only the known fields and the two signatures that count: the
   * form to store and pass on.
   */
  json: AttestationJson
}

/** The outcome of {@link verifyAttestation}. */
export type AttestationVerdict =
  | { status: 'valid', attestation: Attestation }
  | { status: 'expired', attestation: Attestation }
  | { status: 'bad-signature', signer: 'upk' | 'udk' }
  | { status: 'mismatched-keys', reason: string }
  | { status: 'malformed', reason: string }

const FIELDS = ['upk', 'udk', 'issued_ts', 'expires_ts', 'signatures'] as const

/** What {@link createAttestation} needs. Times are milliseconds since the Unix epoch. */
export interface CreateAttestationInput {
  upkSeed: Uint8Array
  udkSeed: Uint8Array
  issuedTs: number
  expiresTs?: number
}

function checkTimes (issuedTs: number, expiresTs: number | undefined): void {
  for (const [name, ts] of [['issuedTs', issuedTs], ['expiresTs', expiresTs]] as const) {
    if (ts !== undefined && (!Number.isSafeInteger(ts) || ts < 0)) {
      throw new KeyroomError(ErrorCode.InvalidEvent, `${name} must be a non-negative integer (milliseconds)`)
    }
  }
  if (expiresTs !== undefined && expiresTs <= issuedTs) {
    throw new KeyroomError(ErrorCode.InvalidEvent, 'expiresTs must be after issuedTs')
  }
}

/**
 * Signs an attestation of the UDK of `udkSeed` by the UPK of `upkSeed` (UPK first, then the
 * UDK's counter-signature). Throws `ERR_INVALID_KEY_MATERIAL` for bad or identical seeds,
 * `ERR_INVALID_EVENT` for bad times.
 */
export function createAttestation (input: CreateAttestationInput): AttestationJson {
  checkTimes(input.issuedTs, input.expiresTs)
  const user = userKeyPair(input.upkSeed)
  const device = deviceKeyPair(input.udkSeed)
  if (sameBytes(user.publicKey, device.publicKey)) {
    throw new KeyroomError(ErrorCode.InvalidKeyMaterial, 'the device key (UDK) must be a different key from the user key (UPK)')
  }
  const body = attestationBody({ upk: user.userId, udk: device.deviceId, issuedTs: input.issuedTs, expiresTs: input.expiresTs })
  const byUser = signJson(body, user.userId, IDENTITY_KEY_ID, user.seed)
  return signJson(byUser, device.deviceId, IDENTITY_KEY_ID, device.seed) as AttestationJson
}

/**
 * Edge parse of an attestation (steps 1 and 2 above, without checking signatures): the typed
 * value, or `{ ok: false, status, reason }` with status `malformed` or `mismatched-keys`.
 */
export function parseAttestation (value: unknown): Parsed<Attestation> {
  return parseWith((): Attestation => {
    const object = readObject(value, 'attestation', FIELDS)
    const upk = readUserId(object, 'upk')
    const udk = readDeviceId(object, 'udk')
    const issuedTs = readTimestamp(object, 'issued_ts', true)
    const expiresTs = readTimestamp(object, 'expires_ts', false)
    if (expiresTs !== undefined && expiresTs <= issuedTs) fail('expires_ts must be after issued_ts')
    if (sameBytes(upk.key, udk.key)) fail('the UDK must be a different key from the UPK')
    const signatures = readSignatures(object)
    const kept = Object.create(null) as SignatureMap
    for (const [role, named, sigil] of [['UPK', upk.text, USER_ID_SIGIL], ['UDK', udk.text, DEVICE_ID_SIGIL]] as const) {
      const signer = signerFor(signatures, named, sigil)
      if (signer === undefined) fail(`no ${IDENTITY_KEY_ID} signature by the ${role} ${named}`)
      if (signer !== 'named') mismatch(`signed by the ${role} ${signer.other}, not by the ${role} it names, ${named}`)
      kept[named] = { [IDENTITY_KEY_ID]: signatures[named]![IDENTITY_KEY_ID]! }
    }
    const json: AttestationJson = { ...attestationBody({ upk: upk.text, udk: udk.text, issuedTs, expiresTs }), signatures: kept }
    const attestation: Attestation = { upk: upk.text, udk: udk.text, upkKey: upk.key, udkKey: udk.key, issuedTs, json }
    if (expiresTs !== undefined) attestation.expiresTs = expiresTs
    return attestation
  })
}

/**
 * Verifies an attestation received from anywhere (a room event, the DHT, the keystore) at time
 * `now` (ms). Returns a verdict; throws only on programming errors.
 */
export function verifyAttestation (value: unknown, options: { now: number }): AttestationVerdict {
  const parsed = parseAttestation(value)
  if (!parsed.ok) return { status: parsed.status, reason: parsed.reason }
  const attestation = parsed.value
  // Verify against the statement as received: the signatures cover its bytes, and parsing has
  // already refused any field beyond the known ones.
  const signed = value as object
  if (!verifyJson(signed, attestation.upk, IDENTITY_KEY_ID, attestation.upkKey)) return { status: 'bad-signature', signer: 'upk' }
  if (!verifyJson(signed, attestation.udk, IDENTITY_KEY_ID, attestation.udkKey)) return { status: 'bad-signature', signer: 'udk' }
  if (attestation.expiresTs !== undefined && options.now >= attestation.expiresTs) return { status: 'expired', attestation }
  return { status: 'valid', attestation }
}
