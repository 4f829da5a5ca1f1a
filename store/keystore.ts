/**
 * The keystore: the node's private keys in its data directory (DESIGN §1: "Private keys live in
 * the node's data directory, encrypted at rest when the user sets a passphrase … file mode 0600
 * always").
 *
 * One file, `keystore.json`, holds the device's UDK seed, the UPK seed when this device keeps it
 * (the first device does; a linked device may not), and the device's attestation. The IDs and the
 * attestation are public and stay readable; the seeds are either plain (no passphrase) or sealed
 * with scrypt + XChaCha20-Poly1305 (protocols/core/identity/sealed-secret.ts).
 *
 * ```json
 * { "keyroom_keystore": 1, "user_id": "~…", "device_id": "^…", "attestation": { … },
 *   "protection": "none", "secrets": { "udk_seed": "<base64>", "upk_seed": "<base64>" } }
 * { …, "protection": "passphrase", "sealed": "<base64 of the sealed blob of the secrets JSON>" }
 * ```
 *
 * Loading checks everything it can: the seeds must derive the stored IDs and the attestation
 * must verify for exactly that UPK and UDK; anything else is `ERR_CORRUPT_KEYSTORE`.
 */
import { mkdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import {
  ErrorCode, KeyroomError, createAttestation, deviceKeyPair, fromBase64, openSecret, recoveryPhraseToSeed, sealSecret,
  seedToRecoveryPhrase, toBase64, userKeyPair, verifyAttestation, SEAL_NONCE_LENGTH, SEAL_SALT_LENGTH
} from '../protocols/core/index.js'
import type { AttestationJson, DeviceId, ScryptParams, UserId } from '../protocols/core/index.js'
import { FileExistsError, SECRET_FILE_MODE, exists, restrictMode, writeFileAtomic } from './keystore-file.js'

/** Name of the keystore file inside the data directory. */
export const KEYSTORE_FILE_NAME = 'keystore.json'

/** Format version written in `keyroom_keystore`; files of another version are refused. */
export const KEYSTORE_FORMAT_VERSION = 1

/** Mode of a data directory this module creates: owner only. */
export const DATA_DIR_MODE = 0o700

/** Length of a seed in bytes. */
const SEED_LENGTH = 32

/** Options of {@link createIdentity}. */
export interface CreateIdentityOptions {
  /** Seal the seeds under this passphrase; without one they are stored in plain JSON. */
  passphrase?: string
  /** Restore this identity (UPK) instead of making a new one; a new device key is made either way. */
  recoveryPhrase?: string
  /** The attestation's `issued_ts`, ms since the epoch (default: `Date.now()`). */
  now?: number
  /** Keep the UPK seed on this device (default true). */
  keepUserKey?: boolean
  /** scrypt cost for sealing (default `SCRYPT_DEFAULTS`; tests pass cheaper ones). */
  kdfParams?: ScryptParams
}

/** What {@link createIdentity} returns: show the recovery phrase to the user once. */
export interface CreatedIdentity {
  userId: UserId
  deviceId: DeviceId
  recoveryPhrase: string
  /** Path of the keystore file. */
  path: string
}

/** An identity loaded from a keystore. */
export interface LoadedIdentity {
  userId: UserId
  deviceId: DeviceId
  /** The UDK seed: this device's signing key and libp2p identity. */
  udkSeed: Uint8Array
  /** The UPK seed, when this device keeps it. */
  upkSeed?: Uint8Array
  /** This device's attestation by the UPK (verified on load). */
  attestation: AttestationJson
  /** Whether the seeds are sealed under a passphrase. */
  encrypted: boolean
  path: string
}

/** Path of the keystore file in `dataDir`. */
export function keystorePath (dataDir: string): string {
  return join(dataDir, KEYSTORE_FILE_NAME)
}

/** True when `dataDir` holds a keystore file (it is not read or checked). */
export async function hasIdentity (dataDir: string): Promise<boolean> {
  return await exists(keystorePath(dataDir))
}

function randomBytes (length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length))
}

function checkPassphrase (passphrase: string | undefined): void {
  if (passphrase !== undefined && (typeof passphrase !== 'string' || passphrase.length === 0)) {
    throw new KeyroomError(ErrorCode.PassphraseRequired, 'the passphrase is empty', {
      hint: 'give a non-empty passphrase, or none to store the keys unencrypted'
    })
  }
}

/**
 * Creates a new identity — or restores one from its recovery phrase — with a new device key, in
 * `dataDir` (created with mode 0700 if missing). Throws `ERR_IDENTITY_EXISTS` when the directory
 * already has a keystore (it is never overwritten), `ERR_INVALID_RECOVERY_PHRASE` for a bad phrase.
 */
export async function createIdentity (dataDir: string, options: CreateIdentityOptions = {}): Promise<CreatedIdentity> {
  checkPassphrase(options.passphrase)
  const upkSeed = options.recoveryPhrase === undefined ? randomBytes(SEED_LENGTH) : recoveryPhraseToSeed(options.recoveryPhrase)
  const udkSeed = randomBytes(SEED_LENGTH)
  const user = userKeyPair(upkSeed)
  const device = deviceKeyPair(udkSeed)
  const attestation = createAttestation({ upkSeed, udkSeed, issuedTs: options.now ?? Date.now() })

  const secrets: Record<string, string> = { udk_seed: toBase64(udkSeed) }
  if (options.keepUserKey !== false) secrets.upk_seed = toBase64(upkSeed)
  const file: Record<string, unknown> = {
    keyroom_keystore: KEYSTORE_FORMAT_VERSION,
    user_id: user.userId,
    device_id: device.deviceId,
    attestation
  }
  if (options.passphrase === undefined) {
    file.protection = 'none'
    file.secrets = secrets
  } else {
    file.protection = 'passphrase'
    const blob = sealSecret({
      secret: new TextEncoder().encode(JSON.stringify(secrets)),
      passphrase: options.passphrase,
      salt: randomBytes(SEAL_SALT_LENGTH),
      nonce: randomBytes(SEAL_NONCE_LENGTH),
      ...(options.kdfParams === undefined ? {} : { params: options.kdfParams })
    })
    file.sealed = toBase64(blob)
  }

  const path = keystorePath(dataDir)
  await mkdir(dataDir, { recursive: true, mode: DATA_DIR_MODE })
  try {
    await writeFileAtomic(path, JSON.stringify(file, null, 2) + '\n', { exclusive: true })
  } catch (err) {
    if (err instanceof FileExistsError) throw identityExists(dataDir)
    throw err
  }
  return { userId: user.userId, deviceId: device.deviceId, recoveryPhrase: seedToRecoveryPhrase(upkSeed), path }
}

function identityExists (dataDir: string): KeyroomError {
  return new KeyroomError(ErrorCode.IdentityExists, `an identity already exists in ${dataDir}`, {
    hint: 'use another data directory (--data-dir), or keep using this identity'
  })
}

function corrupt (path: string, problem: string, cause?: unknown): KeyroomError {
  return new KeyroomError(ErrorCode.CorruptKeystore, `the keystore ${path} is damaged: ${problem}`, {
    hint: 'restore it from a backup, or recover the identity into a new data directory with its recovery phrase',
    ...(cause === undefined ? {} : { cause })
  })
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function readSeed (path: string, secrets: Record<string, unknown>, field: string): Uint8Array | undefined {
  const value = secrets[field]
  if (value === undefined) return undefined
  let seed: Uint8Array
  try {
    if (typeof value !== 'string') throw new Error('not a string')
    seed = fromBase64(value)
  } catch (cause) {
    throw corrupt(path, `${field} is not base64`, cause)
  }
  if (seed.length !== SEED_LENGTH) throw corrupt(path, `${field} is ${seed.length} bytes, not ${SEED_LENGTH}`)
  return seed
}

/**
 * Loads the identity in `dataDir`. Throws `ERR_NO_IDENTITY` when there is none,
 * `ERR_PASSPHRASE_REQUIRED` when the keys are sealed and no passphrase was given,
 * `ERR_WRONG_PASSPHRASE`, or `ERR_CORRUPT_KEYSTORE` when the file is unreadable or inconsistent.
 * A passphrase given for an unencrypted keystore is not needed and is ignored.
 */
export async function loadIdentity (dataDir: string, options: { passphrase?: string } = {}): Promise<LoadedIdentity> {
  const path = keystorePath(dataDir)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT') {
      throw new KeyroomError(ErrorCode.NoIdentity, `no identity in ${dataDir}`, {
        hint: "create one with 'keyroom init' (or 'keyroom init --recover' to restore one)"
      })
    }
    throw corrupt(path, `it cannot be read (${(err as Error).message})`, err)
  }
  await tightenMode(path)

  let file: unknown
  try {
    file = JSON.parse(text)
  } catch (cause) {
    throw corrupt(path, 'it is not JSON', cause)
  }
  if (!isRecord(file)) throw corrupt(path, 'it is not a JSON object')
  if (file.keyroom_keystore !== KEYSTORE_FORMAT_VERSION) {
    throw corrupt(path, `unknown keystore format ${JSON.stringify(file.keyroom_keystore)} (expected ${KEYSTORE_FORMAT_VERSION})`)
  }
  const { user_id: userId, device_id: deviceId, attestation, protection } = file
  if (typeof userId !== 'string' || typeof deviceId !== 'string') throw corrupt(path, 'user_id or device_id missing')

  let secrets: unknown
  let encrypted: boolean
  if (protection === 'none') {
    encrypted = false
    secrets = file.secrets
  } else if (protection === 'passphrase') {
    encrypted = true
    if (options.passphrase === undefined || options.passphrase === '') {
      throw new KeyroomError(ErrorCode.PassphraseRequired, 'the keystore is encrypted and no passphrase was given', {
        hint: 'pass --passphrase-file FILE or set KEYROOM_PASSPHRASE'
      })
    }
    let blob: Uint8Array
    try {
      if (typeof file.sealed !== 'string') throw new Error('sealed is not a string')
      blob = fromBase64(file.sealed)
    } catch (cause) {
      throw corrupt(path, 'the sealed keys are not base64', cause)
    }
    let plain: Uint8Array
    try {
      plain = openSecret(blob, options.passphrase)
    } catch (err) {
      if (err instanceof KeyroomError && err.code === ErrorCode.CorruptKeystore) throw corrupt(path, err.message, err)
      throw err
    }
    try {
      secrets = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain))
    } catch (cause) {
      throw corrupt(path, 'the sealed keys are not JSON', cause)
    }
  } else {
    throw corrupt(path, `unknown protection ${JSON.stringify(protection)}`)
  }
  if (!isRecord(secrets)) throw corrupt(path, 'the secrets are missing')

  const udkSeed = readSeed(path, secrets, 'udk_seed')
  if (udkSeed === undefined) throw corrupt(path, 'the device key is missing')
  const upkSeed = readSeed(path, secrets, 'upk_seed')
  if (deviceKeyPair(udkSeed).deviceId !== deviceId) throw corrupt(path, 'the device key does not match device_id')
  if (upkSeed !== undefined && userKeyPair(upkSeed).userId !== userId) throw corrupt(path, 'the user key does not match user_id')

  // The attestation is public data next to the sealed keys; a tampered one must not load. Its
  // expiry is the node's concern (a device attestation may be renewed), not the keystore's, so
  // it is checked as of the epoch: shape, keys and both signatures, never the clock.
  const verdict = verifyAttestation(attestation, { now: 0 })
  if (verdict.status !== 'valid' && verdict.status !== 'expired') throw corrupt(path, `the attestation is ${verdict.status}`)
  if (verdict.attestation.upk !== userId || verdict.attestation.udk !== deviceId) {
    throw corrupt(path, 'the attestation is for another user or device')
  }

  const loaded: LoadedIdentity = { userId, deviceId, udkSeed, attestation: verdict.attestation.json, encrypted, path }
  if (upkSeed !== undefined) loaded.upkSeed = upkSeed
  return loaded
}

/** Secret files are 0600 always: put right a file whose mode was widened since it was written. */
async function tightenMode (path: string): Promise<void> {
  if (process.platform === 'win32') return
  const { mode } = await stat(path)
  if ((mode & 0o777) !== SECRET_FILE_MODE) await restrictMode(path)
}
