/**
 * User records: a user's current device list in the identity directory (DESIGN §4, "Identity
 * directory — Kademlia DHT keyed by UPK").
 *
 * ```json
 * { "upk": "~…", "seq": 7,
 *   "devices": [ <attestation>, … ], "revocations": [ <revocation>, … ],
 *   "signatures": { "~…": { "ed25519": "…" } } }
 * ```
 *
 * Stored under `/keyroom/upk/<upk bytes>` (key.ts). The value is the record's canonical JSON,
 * signed by the UPK as Matrix signed JSON (signables.ts). `seq` orders a user's records: the
 * highest wins (selector.ts). Pure: no clock — {@link devicesOf} takes `now`.
 *
 * {@link parseUserRecord} is the one edge check (STYLE habit 6); the DHT validator, the directory
 * and {@link createUserRecord} all go through it. Its steps, cheapest first, so a forged record
 * costs at most one signature verification:
 * 1. size (`too-large`): at most {@link MAX_RECORD_BYTES} bytes — before parsing;
 * 2. JSON (`malformed`): strict parse (`parseJson`: no floats, duplicate keys, lone surrogates…),
 *    and the bytes must be exactly the value's canonical JSON, so a record has one byte form and
 *    the selector's byte tie-break compares like with like;
 * 3. shape (`malformed`): exactly the fields `upk`, `seq`, `devices`, `revocations`,
 *    `signatures`; `seq` an integer in 1..2^53−1; arrays of at most {@link MAX_DEVICES} /
 *    {@link MAX_REVOCATIONS} entries (`too-large` beyond);
 * 4. key (`wrong-key`): when the DHT key is given, it must be this record's UPK's key;
 * 5. signer (`mismatched-keys` / `malformed`): `signatures` holds the UPK's `ed25519` signature and
 *    nothing else. `signatures` is not covered by the signature, so any extra entry would be a
 *    third party's way to make a different byte string of the same record;
 * 6. the UPK's signature over the record (`bad-signature`);
 * 7. every attestation and revocation: well-formed, by this same UPK (`mismatched-keys`), one per
 *    device (`malformed`), and with valid signatures — for an attestation both the UPK's and the
 *    UDK's proof of possession (`bad-signature`). An *expired* attestation is accepted: the record
 *    is still genuine; {@link devicesOf} reports the expiry.
 */
import {
  canonicalJsonBytes, compareCodePoints, ErrorCode, IDENTITY_KEY_ID, KeyroomError, parseAttestation, parseJson,
  parseRevocation, parseUserId, signJson, USER_ID_SIGIL, userKeyPair, verifyAttestation, verifyJson, verifyRevocation
} from '../core/index.js'
import type {
  Attestation, AttestationJson, DeviceId, Revocation, RevocationJson, SignatureMap, UserId
} from '../core/index.js'
import { MAX_DEVICES, MAX_RECORD_BYTES, MAX_REVOCATIONS } from './constants.js'
import { userIdFromRecordKey } from './key.js'
import { userRecordBody } from './signables.js'
import type { UserRecordBody } from './signables.js'

/** A user record as JSON, with its signature. */
export interface UserRecordJson extends UserRecordBody {
  signatures: SignatureMap
}

/** A verified user record. */
export interface UserRecord {
  /** The user, `~…`. */
  upk: UserId
  /** The UPK's 32-byte ed25519 key. */
  upkKey: Uint8Array
  /** Sequence number: higher replaces lower. */
  seq: number
  /** The attestations, in record order (each verified; some may be expired). */
  devices: Attestation[]
  /** The revocations, in record order (each verified). */
  revocations: Revocation[]
  /** The record as JSON. */
  json: UserRecordJson
  /** The record's bytes: its canonical JSON, the DHT value. */
  bytes: Uint8Array
}

/** Why {@link parseUserRecord} refused a record (see the steps in this file's header). */
export type UserRecordRejection = 'too-large' | 'malformed' | 'wrong-key' | 'mismatched-keys' | 'bad-signature'

/** The outcome of {@link parseUserRecord}. */
export type UserRecordVerdict =
  | { ok: true, record: UserRecord }
  | { ok: false, status: UserRecordRejection, reason: string }

const FIELDS = ['upk', 'seq', 'devices', 'revocations', 'signatures']

class Refusal extends Error {
  constructor (readonly status: UserRecordRejection, reason: string) {
    super(reason)
  }
}

function refuse (status: UserRecordRejection, reason: string): never {
  throw new Refusal(status, reason)
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Step 5: the UPK's signature and nothing else. */
function checkSigner (signatures: unknown, upk: UserId): void {
  if (!isPlainObject(signatures)) refuse('malformed', 'signatures must be a JSON object')
  const entities = Object.keys(signatures)
  const own = signatures[upk]
  if (!entities.includes(upk) || !isPlainObject(own) || typeof own[IDENTITY_KEY_ID] !== 'string') {
    // Entities are examined in code-point order so the reason does not depend on map order.
    const other = entities.filter(e => e !== upk && e.startsWith(USER_ID_SIGIL)).sort(compareCodePoints)[0]
    if (other !== undefined) refuse('mismatched-keys', `signed by the UPK ${other}, not by the UPK it names, ${upk}`)
    refuse('malformed', `no ${IDENTITY_KEY_ID} signature by the UPK ${upk}`)
  }
  if (entities.length !== 1 || Object.keys(own).length !== 1) {
    refuse('malformed', `signatures must hold only the UPK's ${IDENTITY_KEY_ID} signature`)
  }
}

function checkAttestation (value: unknown, index: number, upk: UserId, seen: Set<string>): Attestation {
  const where = `devices[${index}]`
  const parsed = parseAttestation(value)
  if (!parsed.ok) refuse(parsed.status, `${where}: ${parsed.reason}`)
  if (parsed.value.upk !== upk) refuse('mismatched-keys', `${where} is an attestation by ${parsed.value.upk}, not by the record's UPK ${upk}`)
  if (seen.has(parsed.value.udk)) refuse('malformed', `${where}: device ${parsed.value.udk} is attested twice`)
  seen.add(parsed.value.udk)
  // now = 0: every well-formed expires_ts is > 0, so only signatures decide here; expiry is a
  // matter for devicesOf, which has the time.
  const verdict = verifyAttestation(value, { now: 0 })
  if (verdict.status === 'valid' || verdict.status === 'expired') return verdict.attestation
  if (verdict.status === 'bad-signature') refuse('bad-signature', `${where}: bad ${verdict.signer.toUpperCase()} signature`)
  return refuse(verdict.status, `${where}: ${verdict.reason}`)
}

function checkRevocation (value: unknown, index: number, upk: UserId, seen: Set<string>): Revocation {
  const where = `revocations[${index}]`
  const parsed = parseRevocation(value)
  if (!parsed.ok) refuse(parsed.status, `${where}: ${parsed.reason}`)
  if (parsed.value.upk !== upk) refuse('mismatched-keys', `${where} is a revocation by ${parsed.value.upk}, not by the record's UPK ${upk}`)
  if (seen.has(parsed.value.udk)) refuse('malformed', `${where}: device ${parsed.value.udk} is revoked twice`)
  seen.add(parsed.value.udk)
  const verdict = verifyRevocation(value)
  if (verdict.status === 'valid') return verdict.revocation
  if (verdict.status === 'bad-signature') refuse('bad-signature', `${where}: bad UPK signature`)
  return refuse(verdict.status, `${where}: ${verdict.reason}`)
}

/** Options of {@link parseUserRecord}. */
export interface ParseUserRecordOptions {
  /** The DHT key the record was stored under; when given, it must be the record's UPK's key. */
  key?: Uint8Array
}

/**
 * Parses and verifies a user record received from anywhere (the DHT, a peer, a file). Returns a
 * verdict; throws only on programming errors.
 */
export function parseUserRecord (bytes: Uint8Array, options: ParseUserRecordOptions = {}): UserRecordVerdict {
  try {
    return { ok: true, record: parseOrRefuse(bytes, options) }
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, status: err.status, reason: err.message }
    throw err
  }
}

function parseOrRefuse (bytes: Uint8Array, options: ParseUserRecordOptions): UserRecord {
  // 1. Size, before anything reads the bytes.
  if (!(bytes instanceof Uint8Array)) refuse('malformed', 'a user record is bytes (canonical JSON)')
  if (bytes.byteLength > MAX_RECORD_BYTES) refuse('too-large', `record of ${bytes.byteLength} bytes exceeds ${MAX_RECORD_BYTES}`)
  // 2. Strict JSON, canonical form.
  let value: unknown
  try {
    value = parseJson(bytes)
  } catch (err) {
    if (err instanceof KeyroomError && err.code === ErrorCode.InvalidJson) refuse('malformed', err.message)
    throw err
  }
  if (!isPlainObject(value)) refuse('malformed', 'a user record must be a JSON object')
  if (!sameBytes(canonicalJsonBytes(value), bytes)) refuse('malformed', 'the record is not in canonical JSON form')
  // 3. Shape.
  for (const field of Object.keys(value)) {
    if (!FIELDS.includes(field)) refuse('malformed', `unknown field ${JSON.stringify(field)} (expected only ${FIELDS.join(', ')})`)
  }
  for (const field of FIELDS) if (!Object.hasOwn(value, field)) refuse('malformed', `missing ${field}`)
  const upk = value.upk
  let upkKey: Uint8Array
  try {
    upkKey = parseUserId(upk)
  } catch (err) {
    if (err instanceof KeyroomError && err.code === ErrorCode.InvalidKey) refuse('malformed', `upk: ${err.message}`)
    throw err
  }
  const userId = upk as UserId
  const seq = value.seq
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) refuse('malformed', 'seq must be an integer in 1..2^53-1')
  const { devices, revocations } = value
  if (!Array.isArray(devices)) refuse('malformed', 'devices must be an array')
  if (!Array.isArray(revocations)) refuse('malformed', 'revocations must be an array')
  if (devices.length > MAX_DEVICES) refuse('too-large', `${devices.length} devices exceed the bound of ${MAX_DEVICES}`)
  if (revocations.length > MAX_REVOCATIONS) refuse('too-large', `${revocations.length} revocations exceed the bound of ${MAX_REVOCATIONS}`)
  // 4. Key.
  if (options.key !== undefined && userIdFromRecordKey(options.key) !== userId) {
    refuse('wrong-key', `the DHT key is not the key of the record's UPK ${userId}`)
  }
  // 5–6. Signer and signature.
  checkSigner(value.signatures, userId)
  if (!verifyJson(value, userId, IDENTITY_KEY_ID, upkKey)) refuse('bad-signature', 'bad UPK signature on the record')
  // 7. Statements.
  const attested = new Set<string>()
  const revoked = new Set<string>()
  return {
    upk: userId,
    upkKey,
    seq,
    devices: devices.map((d, i) => checkAttestation(d, i, userId, attested)),
    revocations: revocations.map((r, i) => checkRevocation(r, i, userId, revoked)),
    json: value as unknown as UserRecordJson,
    bytes
  }
}

/** What {@link createUserRecord} needs. */
export interface CreateUserRecordInput {
  /** The UPK's 32-byte seed. */
  upkSeed: Uint8Array
  /** Sequence number, an integer ≥ 1 and above every earlier record of this user. */
  seq: number
  /** Attestations of the user's current devices (by this UPK). */
  devices: AttestationJson[]
  /** Revocations to publish (by this UPK). */
  revocations?: RevocationJson[]
}

/**
 * Signs a user record. Devices and revocations are written in code-point order of the device ID,
 * so the same content always gives the same bytes. Throws `ERR_INVALID_EVENT` when the result would
 * not pass {@link parseUserRecord} (bad seq, a statement by another UPK or with a bad signature, a
 * device twice, over a bound), `ERR_INVALID_KEY_MATERIAL` for a bad seed.
 */
export function createUserRecord (input: CreateUserRecordInput): UserRecordJson {
  if (!Number.isSafeInteger(input.seq) || input.seq < 1) {
    throw new KeyroomError(ErrorCode.InvalidEvent, 'seq must be an integer in 1..2^53-1')
  }
  const user = userKeyPair(input.upkSeed)
  const byDevice = (a: { udk: DeviceId }, b: { udk: DeviceId }): number => compareCodePoints(a.udk, b.udk)
  const body = userRecordBody({
    upk: user.userId,
    seq: input.seq,
    devices: [...input.devices].sort(byDevice),
    revocations: [...(input.revocations ?? [])].sort(byDevice)
  })
  const json = signJson(body, user.userId, IDENTITY_KEY_ID, user.seed) as UserRecordJson
  const verdict = parseUserRecord(encodeUserRecord(json))
  if (!verdict.ok) throw new KeyroomError(ErrorCode.InvalidEvent, `invalid user record (${verdict.status}): ${verdict.reason}`)
  return verdict.record.json
}

/** The DHT value of a record: its canonical JSON bytes. */
export function encodeUserRecord (json: UserRecordJson): Uint8Array {
  return canonicalJsonBytes(json)
}

/** One device of a user, as a record describes it at a given time. */
export interface DeviceStatus {
  /** The device, `^…`. */
  deviceId: DeviceId
  /** Its 32-byte ed25519 key (also its libp2p identity: PeerId = UDK). */
  deviceKey: Uint8Array
  /** True when the record attests this device (false: known only from a revocation). */
  attested: boolean
  issuedTs?: number
  expiresTs?: number
  /** The attestation's `expires_ts` has passed (`now >= expires_ts`). */
  expired: boolean
  /** The record revokes this device. */
  revoked: boolean
  revokedTs?: number
  /** Attested, not expired, not revoked: a device to send to. */
  usable: boolean
}

/**
 * The devices a record names at time `now` (ms), in code-point order of the device ID: every
 * attested device, and every revoked one even when no longer attested (so callers learn of the
 * revocation). A device listed in `revocations` is revoked whatever its `revoked_ts`: the user
 * withdrew it, and a directory answers "where do I send now", not "which events count" (that is
 * the auth rules' question, answered from room state with `revoked_ts`). An expired attestation
 * is listed with its expiry and `usable: false`.
 */
export function devicesOf (record: UserRecord, options: { now: number }): DeviceStatus[] {
  const out = new Map<DeviceId, DeviceStatus>()
  for (const a of record.devices) {
    const expired = a.expiresTs !== undefined && options.now >= a.expiresTs
    const status: DeviceStatus = { deviceId: a.udk, deviceKey: a.udkKey, attested: true, issuedTs: a.issuedTs, expired, revoked: false, usable: !expired }
    if (a.expiresTs !== undefined) status.expiresTs = a.expiresTs
    out.set(a.udk, status)
  }
  for (const r of record.revocations) {
    const status = out.get(r.udk) ?? { deviceId: r.udk, deviceKey: r.udkKey, attested: false, expired: false, revoked: false, usable: false }
    status.revoked = true
    status.revokedTs = r.revokedTs
    status.usable = false
    out.set(r.udk, status)
  }
  return [...out.values()].sort((a, b) => compareCodePoints(a.deviceId, b.deviceId))
}
