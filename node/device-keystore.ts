/**
 * The keystore steps of linking and renewal that `store/keystore.ts` does not cover yet: a device
 * waiting to be linked (it has a device key, but no user and no attestation), completing it into a
 * regular keystore once an attestation arrives, and replacing a device's attestation when it is
 * renewed. (These belong next to `createIdentity` in `store/keystore.ts`; they live here until the
 * store's owner takes them, and write exactly the keystore format documented there, so
 * `loadIdentity` reads — and fully checks — what they write.)
 *
 * The waiting device's file, `link-request.json` (mode 0600, next to where `keystore.json` will be):
 *
 * ```json
 * { "keyroom_link_request": 1, "device_id": "^…", "protection": "none",
 *   "secrets": { "udk_seed": "<base64>", "code": "<base64url>" } }
 * { …, "protection": "passphrase", "sealed": "<base64 of the sealed secrets JSON>" }
 * ```
 *
 * It keeps the device key and the link code across restarts (the link text stays the same until the
 * device is linked) and is removed once the keystore is written.
 */
import { randomBytes } from 'node:crypto'
import { link, open, readFile, rename, rm, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import {
  ErrorCode, KeyroomError, deviceKeyPair, fromBase64, openSecret, sealSecret, toBase64, toBase64Url, verifyAttestation,
  SEAL_NONCE_LENGTH, SEAL_SALT_LENGTH
} from '../protocols/core/index.js'
import { KEYSTORE_FORMAT_VERSION, keystorePath } from '../store/index.js'
import { LINK_CODE_BYTES } from './link-text.js'
import type { AttestationJson } from '../protocols/core/index.js'

/** Name of the waiting device's file in the data directory. */
export const LINK_REQUEST_FILE_NAME = 'link-request.json'

/** Format version of the waiting device's file. */
export const LINK_REQUEST_FORMAT_VERSION = 1

const SECRET_FILE_MODE = 0o600

/** A device waiting to be linked. */
export interface PendingDevice {
  deviceId: string
  udkSeed: Uint8Array
  /** The one-time link code (unpadded base64url of 16 bytes). */
  code: string
}

function corrupt (path: string, problem: string, cause?: unknown): KeyroomError {
  return new KeyroomError(ErrorCode.CorruptKeystore, `${path} is damaged: ${problem}`, {
    hint: 'delete it to start the link over with a new device key',
    ...(cause === undefined ? {} : { cause })
  })
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function errno (err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined
}

/** Writes `text` to `path` through a 0600 temporary file (fsynced); `exclusive`: never replaces an existing file. */
async function writeSecretFile (path: string, text: string, exclusive: boolean): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`
  const handle = await open(tmp, 'wx', SECRET_FILE_MODE)
  try {
    try {
      await handle.writeFile(text)
      await handle.chmod(SECRET_FILE_MODE)
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (exclusive) {
      try {
        await link(tmp, path)
      } catch (err) {
        if (errno(err) === 'EEXIST') {
          throw new KeyroomError(ErrorCode.IdentityExists, `${path} already exists`, { hint: 'use another data directory' })
        }
        throw err
      }
    } else {
      await rename(tmp, path)
    }
  } finally {
    await unlink(tmp).catch(() => {})
  }
}

function sealed (secrets: Record<string, string>, passphrase: string): string {
  return toBase64(sealSecret({
    secret: new TextEncoder().encode(JSON.stringify(secrets)),
    passphrase,
    salt: crypto.getRandomValues(new Uint8Array(SEAL_SALT_LENGTH)),
    nonce: crypto.getRandomValues(new Uint8Array(SEAL_NONCE_LENGTH))
  }))
}

/**
 * The waiting device of `dataDir`: read from its file, or made (a new device key and code) and
 * written. Throws `ERR_PASSPHRASE_REQUIRED` / `ERR_WRONG_PASSPHRASE` for a sealed file,
 * `ERR_CORRUPT_KEYSTORE` for a damaged one.
 */
export async function loadOrCreatePendingDevice (dataDir: string, options: { passphrase?: string } = {}): Promise<PendingDevice> {
  const path = join(dataDir, LINK_REQUEST_FILE_NAME)
  let text: string | undefined
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw corrupt(path, `it cannot be read (${(err as Error).message})`, err)
  }
  if (text === undefined) {
    const udkSeed = crypto.getRandomValues(new Uint8Array(32))
    const code = toBase64Url(crypto.getRandomValues(new Uint8Array(LINK_CODE_BYTES)))
    const deviceId = deviceKeyPair(udkSeed).deviceId
    const secrets = { udk_seed: toBase64(udkSeed), code }
    const file: Record<string, unknown> = { keyroom_link_request: LINK_REQUEST_FORMAT_VERSION, device_id: deviceId }
    if (options.passphrase === undefined) Object.assign(file, { protection: 'none', secrets })
    else Object.assign(file, { protection: 'passphrase', sealed: sealed(secrets, options.passphrase) })
    await writeSecretFile(path, JSON.stringify(file, null, 2) + '\n', true)
    return { deviceId, udkSeed, code }
  }
  let file: unknown
  try {
    file = JSON.parse(text)
  } catch (cause) {
    throw corrupt(path, 'it is not JSON', cause)
  }
  if (!isRecord(file) || file.keyroom_link_request !== LINK_REQUEST_FORMAT_VERSION || typeof file.device_id !== 'string') {
    throw corrupt(path, 'unknown format')
  }
  let secrets: unknown
  if (file.protection === 'none') {
    secrets = file.secrets
  } else if (file.protection === 'passphrase') {
    if (options.passphrase === undefined || options.passphrase === '') {
      throw new KeyroomError(ErrorCode.PassphraseRequired, 'the waiting device key is encrypted and no passphrase was given')
    }
    if (typeof file.sealed !== 'string') throw corrupt(path, 'sealed is not a string')
    const plain = openSecret(fromBase64(file.sealed), options.passphrase)
    try {
      secrets = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain))
    } catch (cause) {
      throw corrupt(path, 'the sealed secrets are not JSON', cause)
    }
  } else {
    throw corrupt(path, `unknown protection ${JSON.stringify(file.protection)}`)
  }
  if (!isRecord(secrets) || typeof secrets.udk_seed !== 'string' || typeof secrets.code !== 'string') throw corrupt(path, 'the secrets are missing')
  let udkSeed: Uint8Array
  try {
    udkSeed = fromBase64(secrets.udk_seed)
  } catch (cause) {
    throw corrupt(path, 'udk_seed is not base64', cause)
  }
  if (udkSeed.length !== 32 || deviceKeyPair(udkSeed).deviceId !== file.device_id) throw corrupt(path, 'the device key does not match device_id')
  return { deviceId: file.device_id, udkSeed, code: secrets.code }
}

/**
 * Turns the waiting device into a linked one: writes `keystore.json` (the store's format, without
 * the UPK seed: a linked device does not hold it) with its attestation, then removes the waiting
 * device's file. The attestation must verify (both signatures) for this device.
 */
export async function completePendingDevice (dataDir: string, pending: PendingDevice, attestation: AttestationJson, options: { passphrase?: string } = {}): Promise<void> {
  const verdict = verifyAttestation(attestation, { now: 0 })
  if (verdict.status !== 'valid' && verdict.status !== 'expired') throw new KeyroomError(ErrorCode.InvalidKeyMaterial, `the attestation is ${verdict.status}`)
  if (verdict.attestation.udk !== pending.deviceId) throw new KeyroomError(ErrorCode.InvalidKeyMaterial, 'the attestation is for another device')
  const secrets = { udk_seed: toBase64(pending.udkSeed) }
  const file: Record<string, unknown> = {
    keyroom_keystore: KEYSTORE_FORMAT_VERSION,
    user_id: verdict.attestation.upk,
    device_id: pending.deviceId,
    attestation: verdict.attestation.json
  }
  if (options.passphrase === undefined) Object.assign(file, { protection: 'none', secrets })
  else Object.assign(file, { protection: 'passphrase', sealed: sealed(secrets, options.passphrase) })
  await writeSecretFile(keystorePath(dataDir), JSON.stringify(file, null, 2) + '\n', true)
  await rm(join(dataDir, LINK_REQUEST_FILE_NAME), { force: true })
}

/**
 * Replaces the attestation in `dataDir`'s keystore by a renewed one for the same user and device
 * (the attestation is public data: the sealed seeds are untouched, no passphrase is needed).
 */
export async function replaceAttestation (dataDir: string, attestation: AttestationJson): Promise<void> {
  const path = keystorePath(dataDir)
  const file: unknown = JSON.parse(await readFile(path, 'utf8'))
  if (!isRecord(file) || file.keyroom_keystore !== KEYSTORE_FORMAT_VERSION) throw corrupt(path, 'unknown keystore format')
  const verdict = verifyAttestation(attestation, { now: 0 })
  if (verdict.status !== 'valid' && verdict.status !== 'expired') throw new KeyroomError(ErrorCode.InvalidKeyMaterial, `the attestation is ${verdict.status}`)
  if (verdict.attestation.upk !== file.user_id || verdict.attestation.udk !== file.device_id) {
    throw new KeyroomError(ErrorCode.InvalidKeyMaterial, 'the attestation is for another user or device')
  }
  await writeSecretFile(path, JSON.stringify({ ...file, attestation: verdict.attestation.json }, null, 2) + '\n', false)
}
