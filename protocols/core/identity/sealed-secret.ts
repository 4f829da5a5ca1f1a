/**
 * Sealed secrets: key material encrypted at rest under a passphrase (DESIGN §1: "encrypted at
 * rest when the user sets a passphrase (scrypt/argon2 + an AEAD from a well-kept library)").
 *
 * Pure: the salt and nonce come in as parameters (the keystore draws them from
 * `crypto.getRandomValues`), so this file has no randomness and sealing is reproducible in tests.
 *
 * KDF: scrypt (RFC 7914, @noble/hashes) with 64 bytes of output. Bytes 0–31 are the
 * XChaCha20-Poly1305 key (@noble/ciphers; 24-byte nonce, so random nonces are safe); bytes 32–63
 * are stored as a *key check*. scrypt's last step is PBKDF2-HMAC-SHA256, whose 32-byte output
 * blocks are independent, so the check reveals nothing about the cipher key — and an attacker
 * holding the blob can already test passphrases against the AEAD tag, so it adds no oracle. It
 * lets `openSecret` tell a wrong passphrase from a damaged file, which an AEAD alone cannot.
 *
 * Blob layout (all integers one byte):
 *
 * | offset | size   | field                                                            |
 * |--------|--------|------------------------------------------------------------------|
 * | 0      | 4      | magic `6b 72 73 62` ("krsb", keyroom sealed blob)                 |
 * | 4      | 1      | format version `0x01`                                             |
 * | 5      | 1      | log2(N)                                                           |
 * | 6      | 1      | r                                                                 |
 * | 7      | 1      | p                                                                 |
 * | 8      | 16     | scrypt salt                                                       |
 * | 24     | 24     | XChaCha20-Poly1305 nonce                                          |
 * | 48     | 32     | key check (scrypt output bytes 32–63)                             |
 * | 80     | n + 16 | ciphertext ‖ Poly1305 tag; associated data = bytes 0–79            |
 * | end−8  | 8      | SHA-256 of all preceding bytes, first 8 bytes (damage detector)    |
 *
 * Opening: structural checks and the checksum first (→ `ERR_CORRUPT_KEYSTORE`), then scrypt and
 * the key check (→ `ERR_WRONG_PASSPHRASE`), then the AEAD (→ `ERR_CORRUPT_KEYSTORE`: only
 * deliberate tampering gets this far). The checksum is not a security measure; the AEAD is.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { scrypt } from '@noble/hashes/scrypt.js'
import { sha256 } from '../crypto/index.js'
import { ErrorCode, KeyroomError } from '../errors.js'

/** scrypt cost parameters. `N` must be a power of two. */
export interface ScryptParams {
  N: number
  r: number
  p: number
}

/**
 * Default scrypt cost: N = 2^15, r = 8, p = 1 — 32 MiB of memory and a fraction of a second per
 * unlock on a laptop; the parameters RFC 7914 §2 and libsodium's "interactive" limit sit near.
 * Unlocking happens once per node start, so this is affordable even on phones.
 */
export const SCRYPT_DEFAULTS: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 15, r: 8, p: 1 })

/**
 * Upper bounds accepted when *opening* a blob, so a planted file cannot make a node allocate
 * gigabytes or spin for minutes: scrypt memory 128·N·r ≤ 256 MiB, p ≤ 16.
 */
export const SCRYPT_MAX_MEMORY = 256 * 1024 * 1024
export const SCRYPT_MAX_P = 16

/** Salt length in bytes. */
export const SEAL_SALT_LENGTH = 16
/** XChaCha20-Poly1305 nonce length in bytes. */
export const SEAL_NONCE_LENGTH = 24

const MAGIC = Uint8Array.of(0x6b, 0x72, 0x73, 0x62)
const FORMAT_VERSION = 0x01
const HEADER_LENGTH = 80
const TAG_LENGTH = 16
const CHECKSUM_LENGTH = 8
const KEY_CHECK_OFFSET = 48
const MIN_BLOB_LENGTH = HEADER_LENGTH + TAG_LENGTH + CHECKSUM_LENGTH

/** What {@link sealSecret} needs. `salt` and `nonce` must be fresh random bytes for every seal. */
export interface SealInput {
  secret: Uint8Array
  passphrase: string
  salt: Uint8Array
  nonce: Uint8Array
  params?: ScryptParams
}

/**
 * Passphrases are NFKC-normalised before use (as BIP39 normalises its passphrase), so the same
 * typed text unlocks the store whichever way the keyboard composed its characters.
 */
function passphraseBytes (passphrase: string): Uint8Array {
  return new TextEncoder().encode(passphrase.normalize('NFKC'))
}

function log2Exact (n: number): number | undefined {
  if (!Number.isSafeInteger(n) || n < 2) return undefined
  const l = Math.log2(n)
  return Number.isInteger(l) ? l : undefined
}

function paramsProblem (params: ScryptParams): string | undefined {
  const logN = log2Exact(params.N)
  if (logN === undefined || logN > 63) return 'N must be a power of two, at least 2'
  if (!Number.isSafeInteger(params.r) || params.r < 1 || params.r > 255) return 'r must be an integer in 1..255'
  if (!Number.isSafeInteger(params.p) || params.p < 1 || params.p > SCRYPT_MAX_P) return `p must be an integer in 1..${SCRYPT_MAX_P}`
  if (128 * params.N * params.r > SCRYPT_MAX_MEMORY) return `scrypt memory 128·N·r exceeds ${SCRYPT_MAX_MEMORY} bytes`
  return undefined
}

function derive (passphrase: string, salt: Uint8Array, params: ScryptParams): { key: Uint8Array, check: Uint8Array } {
  const out = scrypt(passphraseBytes(passphrase), salt, { N: params.N, r: params.r, p: params.p, dkLen: 64, maxmem: SCRYPT_MAX_MEMORY + 1024 * 1024 })
  return { key: out.subarray(0, 32), check: out.subarray(32, 64) }
}

function checksum (bytes: Uint8Array): Uint8Array {
  return sha256(bytes).subarray(0, CHECKSUM_LENGTH)
}

/** Constant-time equality of two byte strings of public length. */
function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

/** Encrypts `secret` under `passphrase`; returns the self-describing blob laid out above. */
export function sealSecret (input: SealInput): Uint8Array {
  const params = input.params ?? SCRYPT_DEFAULTS
  const problem = paramsProblem(params)
  if (problem !== undefined) throw new KeyroomError(ErrorCode.InvalidKeyMaterial, `bad scrypt parameters: ${problem}`)
  if (!(input.salt instanceof Uint8Array) || input.salt.length !== SEAL_SALT_LENGTH) {
    throw new KeyroomError(ErrorCode.InvalidKeyMaterial, `the seal salt must be ${SEAL_SALT_LENGTH} bytes`)
  }
  if (!(input.nonce instanceof Uint8Array) || input.nonce.length !== SEAL_NONCE_LENGTH) {
    throw new KeyroomError(ErrorCode.InvalidKeyMaterial, `the seal nonce must be ${SEAL_NONCE_LENGTH} bytes`)
  }
  if (typeof input.passphrase !== 'string' || input.passphrase.length === 0) {
    throw new KeyroomError(ErrorCode.InvalidKeyMaterial, 'the passphrase must be a non-empty string')
  }
  const { key, check } = derive(input.passphrase, input.salt, params)
  const header = new Uint8Array(HEADER_LENGTH)
  header.set(MAGIC, 0)
  header[4] = FORMAT_VERSION
  header[5] = log2Exact(params.N)!
  header[6] = params.r
  header[7] = params.p
  header.set(input.salt, 8)
  header.set(input.nonce, 24)
  header.set(check, KEY_CHECK_OFFSET)
  const sealed = xchacha20poly1305(key, input.nonce, header).encrypt(input.secret)
  key.fill(0)
  const blob = new Uint8Array(HEADER_LENGTH + sealed.length + CHECKSUM_LENGTH)
  blob.set(header, 0)
  blob.set(sealed, HEADER_LENGTH)
  blob.set(checksum(blob.subarray(0, HEADER_LENGTH + sealed.length)), HEADER_LENGTH + sealed.length)
  return blob
}

function corrupt (problem: string, cause?: unknown): KeyroomError {
  return new KeyroomError(ErrorCode.CorruptKeystore, `sealed key blob is damaged: ${problem}`,
    cause === undefined ? {} : { cause })
}

/** Reads the scrypt parameters of a blob without decrypting it (after the structural checks). */
export function sealedParams (blob: Uint8Array): ScryptParams {
  checkStructure(blob)
  return { N: 2 ** blob[5]!, r: blob[6]!, p: blob[7]! }
}

function checkStructure (blob: Uint8Array): void {
  if (!(blob instanceof Uint8Array)) throw corrupt('not bytes')
  if (blob.length < MIN_BLOB_LENGTH) throw corrupt(`${blob.length} bytes is shorter than the minimum ${MIN_BLOB_LENGTH}`)
  if (!equalBytes(blob.subarray(0, 4), MAGIC)) throw corrupt('it does not start with the keyroom sealed-blob magic')
  if (blob[4] !== FORMAT_VERSION) throw corrupt(`unknown format version ${blob[4]}`)
  const body = blob.subarray(0, blob.length - CHECKSUM_LENGTH)
  if (!equalBytes(checksum(body), blob.subarray(blob.length - CHECKSUM_LENGTH))) throw corrupt('checksum mismatch (truncated or altered)')
  const logN = blob[5]!
  if (logN < 1 || logN > 53) throw corrupt(`scrypt log2(N) ${logN} out of range`)
  const problem = paramsProblem({ N: 2 ** logN, r: blob[6]!, p: blob[7]! })
  if (problem !== undefined) throw corrupt(`scrypt parameters refused: ${problem}`)
}

/**
 * Decrypts a blob made by {@link sealSecret}. Throws `ERR_WRONG_PASSPHRASE` when the passphrase
 * does not derive the stored key check, `ERR_CORRUPT_KEYSTORE` when the blob is truncated, altered
 * or not a sealed blob at all.
 */
export function openSecret (blob: Uint8Array, passphrase: string): Uint8Array {
  checkStructure(blob)
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new KeyroomError(ErrorCode.WrongPassphrase, 'wrong passphrase: it is empty')
  }
  const params: ScryptParams = { N: 2 ** blob[5]!, r: blob[6]!, p: blob[7]! }
  const salt = blob.subarray(8, 24)
  const nonce = blob.subarray(24, 48)
  const { key, check } = derive(passphrase, salt, params)
  if (!equalBytes(check, blob.subarray(KEY_CHECK_OFFSET, HEADER_LENGTH))) {
    key.fill(0)
    throw new KeyroomError(ErrorCode.WrongPassphrase, 'wrong passphrase', { hint: 'check the passphrase (it is case-sensitive)' })
  }
  try {
    return xchacha20poly1305(key, nonce, blob.subarray(0, HEADER_LENGTH)).decrypt(blob.subarray(HEADER_LENGTH, blob.length - CHECKSUM_LENGTH))
  } catch (cause) {
    throw corrupt('authentication failed although the passphrase is right (the blob was altered)', cause)
  } finally {
    key.fill(0)
  }
}
