/**
 * ed25519 signatures for keyroom: one accept/reject rule (strict-rule.ts), two backends.
 *
 * - `native`: `node:crypto` (OpenSSL), found at run time through `process.getBuiltinModule`;
 *   ~15× faster than `portable`.
 * - `portable`: @noble/ed25519 + @noble/hashes, pure JS, for shells without `node:crypto`.
 * Both run the same pre-checks and the same cofactorless equation, so they accept and reject the
 * same signatures on every runtime — the tests hold them to a shared table of edge cases.
 *
 * The core has no randomness: keys come from 32-byte seeds made elsewhere.
 */
import { ErrorCode, KeyroomError } from '../../errors.js'
import { nodeCrypto } from '../node-crypto.js'
import type { Ed25519Implementation } from './backend.js'
import { createNativeEd25519 } from './native.js'
import { portableEd25519 } from './portable.js'
import { SEED_LENGTH, passesPrechecks } from './strict-rule.js'

/** Which implementation computes ed25519: `node:crypto` or @noble/ed25519. */
export type Ed25519Backend = 'native' | 'portable'

/** Options of the ed25519 functions. */
export interface Ed25519Options {
  /** Backend to use; {@link defaultBackend} when omitted. */
  backend?: Ed25519Backend
}

const native = nodeCrypto === undefined ? undefined : createNativeEd25519(nodeCrypto)

/** True when `backend` can run in this runtime (`portable` always can). */
export function isBackendAvailable (backend: Ed25519Backend): boolean {
  if (backend === 'portable') return true
  if (backend === 'native') return native !== undefined
  return false
}

/** `native` when `node:crypto` is reachable, else `portable`. */
export function defaultBackend (): Ed25519Backend {
  return native === undefined ? 'portable' : 'native'
}

function implementation (options: Ed25519Options | undefined): Ed25519Implementation {
  const backend = options?.backend ?? defaultBackend()
  if (backend === 'portable') return portableEd25519
  if (backend === 'native') {
    if (native !== undefined) return native
    throw new KeyroomError(ErrorCode.BackendUnavailable, 'the native ed25519 backend needs node:crypto, which this runtime does not provide', {
      hint: "use { backend: 'portable' } or omit the backend option"
    })
  }
  throw new KeyroomError(ErrorCode.BackendUnavailable, `unknown ed25519 backend: ${String(backend)}`)
}

function assertSeed (seed: unknown): asserts seed is Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_LENGTH) {
    const got = seed instanceof Uint8Array ? `${seed.length} bytes` : typeof seed
    throw new KeyroomError(ErrorCode.InvalidKeyMaterial, `an ed25519 seed is ${SEED_LENGTH} bytes, got ${got}`)
  }
}

/**
 * Verifies an ed25519 signature under keyroom's rule (strict-rule.ts: exact lengths, S < L,
 * canonical A and R of large order, cofactorless equation). Returns false for any input that is
 * not a valid signature — wrong lengths, non-bytes, off-curve keys — and never throws for them.
 * Throws `ERR_BACKEND_UNAVAILABLE` only when asked for a backend this runtime lacks.
 */
export function verifySignature (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, options?: Ed25519Options): boolean {
  const impl = implementation(options)
  if (!(message instanceof Uint8Array)) return false
  if (!passesPrechecks(publicKey, signature)) return false
  return impl.verifyEquation(publicKey, message, signature)
}

/**
 * Signs `message` with the key of a 32-byte `seed` (RFC 8032 §5.1.6, deterministic: the same
 * seed and message always give the same 64 bytes, whichever backend).
 * Throws `ERR_INVALID_KEY_MATERIAL` for a seed that is not 32 bytes.
 */
export function signBytes (seed: Uint8Array, message: Uint8Array, options?: Ed25519Options): Uint8Array {
  const impl = implementation(options)
  assertSeed(seed)
  return impl.sign(seed, message)
}

/**
 * The 32-byte public key of a 32-byte `seed` (RFC 8032 §5.1.5).
 * Throws `ERR_INVALID_KEY_MATERIAL` for a seed that is not 32 bytes.
 */
export function publicKeyFromSeed (seed: Uint8Array, options?: Ed25519Options): Uint8Array {
  const impl = implementation(options)
  assertSeed(seed)
  return impl.publicKey(seed)
}
