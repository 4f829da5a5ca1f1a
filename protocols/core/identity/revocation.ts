/**
 * Revocations: a UPK withdrawing one of its devices from a point in time on (DESIGN §1 — the
 * answer keyroom gives to MSC2787's open question of instantly expiring a UDK).
 *
 * ```json
 * { "upk": "~…", "udk": "^…", "revoked_ts": 1750000000000, "reason": "phone lost",
 *   "signatures": { "~…": { "ed25519": "…" } } }
 * ```
 *
 * Signed by the UPK alone (entity = the UPK text, key ID `ed25519`): the lost or compromised
 * device need not — and must not be able to stop it — cooperate. Any device holding the UPK (or
 * the user typing the recovery phrase) can make one, and any node can publish it.
 *
 * Verification order and statuses follow attestation.ts: `malformed` (shape), `mismatched-keys`
 * (signed by a different UPK than the one named), `bad-signature`, `valid`. There is no
 * `expired`: a revocation does not lapse. `revoked_ts` says from when on events signed by the UDK
 * stop counting; applying that is the auth rules' business, not this file's.
 */
import { ErrorCode, KeyroomError } from '../errors.js'
import { signJson, verifyJson } from '../signing/index.js'
import { userKeyPair } from './key-pair.js'
import { revocationBody } from './signables.js'
import type { RevocationBody } from './signables.js'
import {
  IDENTITY_KEY_ID, fail, mismatch, parseWith, readDeviceId, readObject, readSignatures, readTimestamp, readUserId, sameBytes, signerFor
} from './statement.js'
import type { Parsed, SignatureMap } from './statement.js'
import { parseDeviceId, USER_ID_SIGIL } from './text-forms.js'
import type { DeviceId, UserId } from './text-forms.js'

/**
 * Longest `reason` accepted, in UTF-16 code units. A reason is a short note for humans; the cap
 * keeps revocations (which also travel in size-limited DHT records) small.
 */
export const MAX_REVOCATION_REASON_LENGTH = 512

/** A revocation as JSON, with its signatures. */
export interface RevocationJson extends RevocationBody {
  signatures: SignatureMap
}

/** A parsed revocation. */
export interface Revocation {
  upk: UserId
  udk: DeviceId
  upkKey: Uint8Array
  udkKey: Uint8Array
  revokedTs: number
  reason?: string
  /** The statement as JSON, keeping only the known fields and the UPK's signature. */
  json: RevocationJson
}

/** The outcome of {@link verifyRevocation}. */
export type RevocationVerdict =
  | { status: 'valid', revocation: Revocation }
  | { status: 'bad-signature', signer: 'upk' }
  | { status: 'mismatched-keys', reason: string }
  | { status: 'malformed', reason: string }

const FIELDS = ['upk', 'udk', 'revoked_ts', 'reason', 'signatures'] as const

/** What {@link createRevocation} needs. `udk` is the device ID being revoked. */
export interface CreateRevocationInput {
  upkSeed: Uint8Array
  udk: DeviceId
  revokedTs: number
  reason?: string
}

/**
 * Signs a revocation of device `udk` by the UPK of `upkSeed`. Throws `ERR_INVALID_KEY` for a bad
 * device ID, `ERR_INVALID_KEY_MATERIAL` for a bad seed, `ERR_INVALID_EVENT` for a bad time or
 * reason.
 */
export function createRevocation (input: CreateRevocationInput): RevocationJson {
  const udkKey = parseDeviceId(input.udk)
  if (!Number.isSafeInteger(input.revokedTs) || input.revokedTs < 0) {
    throw new KeyroomError(ErrorCode.InvalidEvent, 'revokedTs must be a non-negative integer (milliseconds)')
  }
  if (input.reason !== undefined && (typeof input.reason !== 'string' || input.reason.length > MAX_REVOCATION_REASON_LENGTH)) {
    throw new KeyroomError(ErrorCode.InvalidEvent, `reason must be a string of at most ${MAX_REVOCATION_REASON_LENGTH} characters`)
  }
  const user = userKeyPair(input.upkSeed)
  if (sameBytes(user.publicKey, udkKey)) {
    throw new KeyroomError(ErrorCode.InvalidKeyMaterial, 'a UPK cannot revoke itself as a device')
  }
  const body = revocationBody({ upk: user.userId, udk: input.udk, revokedTs: input.revokedTs, reason: input.reason })
  return signJson(body, user.userId, IDENTITY_KEY_ID, user.seed) as RevocationJson
}

/** Edge parse of a revocation (shape and signer, not the signature). */
export function parseRevocation (value: unknown): Parsed<Revocation> {
  return parseWith((): Revocation => {
    const object = readObject(value, 'revocation', FIELDS)
    const upk = readUserId(object, 'upk')
    const udk = readDeviceId(object, 'udk')
    const revokedTs = readTimestamp(object, 'revoked_ts', true)
    const reason = object.reason
    if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_REVOCATION_REASON_LENGTH)) {
      fail(`reason must be a string of at most ${MAX_REVOCATION_REASON_LENGTH} characters`)
    }
    if (sameBytes(upk.key, udk.key)) fail('the UDK must be a different key from the UPK')
    const signatures = readSignatures(object)
    const signer = signerFor(signatures, upk.text, USER_ID_SIGIL)
    if (signer === undefined) fail(`no ${IDENTITY_KEY_ID} signature by the UPK ${upk.text}`)
    if (signer !== 'named') mismatch(`signed by the UPK ${signer.other}, not by the UPK it names, ${upk.text}`)
    const kept = Object.create(null) as SignatureMap
    kept[upk.text] = { [IDENTITY_KEY_ID]: signatures[upk.text]![IDENTITY_KEY_ID]! }
    const json: RevocationJson = { ...revocationBody({ upk: upk.text, udk: udk.text, revokedTs, reason }), signatures: kept }
    const revocation: Revocation = { upk: upk.text, udk: udk.text, upkKey: upk.key, udkKey: udk.key, revokedTs, json }
    if (reason !== undefined) revocation.reason = reason
    return revocation
  })
}

/** Verifies a revocation received from anywhere. Returns a verdict; throws only on programming errors. */
export function verifyRevocation (value: unknown): RevocationVerdict {
  const parsed = parseRevocation(value)
  if (!parsed.ok) return { status: parsed.status, reason: parsed.reason }
  const revocation = parsed.value
  if (!verifyJson(value as object, revocation.upk, IDENTITY_KEY_ID, revocation.upkKey)) return { status: 'bad-signature', signer: 'upk' }
  return { status: 'valid', revocation }
}
