/**
 * SHA-256 and SHA-512 (FIPS 180-4), one-shot.
 *
 * `node:crypto` when the runtime has it (OpenSSL's assembly is several times faster than JS on
 * event-sized inputs, and every ingested event is hashed at least twice), `@noble/hashes`
 * otherwise. Both compute the same standard function, so the choice changes speed, never a result.
 * The returned arrays are plain `Uint8Array`s that own their memory (never a pooled `Buffer`).
 */
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js'
import { nodeCrypto } from './node-crypto.js'

type Digest = (data: Uint8Array) => Uint8Array

function nodeDigest (algorithm: 'sha256' | 'sha512'): Digest | undefined {
  const crypto = nodeCrypto
  if (crypto === undefined) return undefined
  // `crypto.hash` (Node ≥ 21.7) skips the Hash object; fall back to createHash where a runtime
  // offers getBuiltinModule but not the one-shot helper.
  if (typeof crypto.hash === 'function') {
    return (data) => new Uint8Array(crypto.hash(algorithm, data, 'buffer'))
  }
  return (data) => new Uint8Array(crypto.createHash(algorithm).update(data).digest())
}

const sha256Impl: Digest = nodeDigest('sha256') ?? ((data) => nobleSha256(data))
const sha512Impl: Digest = nodeDigest('sha512') ?? ((data) => nobleSha512(data))

/** SHA-256 of `data` (32 bytes). */
export function sha256 (data: Uint8Array): Uint8Array {
  return sha256Impl(data)
}

/** SHA-512 of `data` (64 bytes). */
export function sha512 (data: Uint8Array): Uint8Array {
  return sha512Impl(data)
}

/** Which implementation `sha256`/`sha512` use in this runtime (for diagnostics and tests). */
export const hashImplementation: 'node:crypto' | '@noble/hashes' =
  nodeCrypto === undefined ? '@noble/hashes' : 'node:crypto'
