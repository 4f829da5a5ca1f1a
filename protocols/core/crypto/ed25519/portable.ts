/**
 * The `portable` backend: ed25519 in JavaScript with @noble/ed25519 3.2.0 and @noble/hashes.
 *
 * Runs anywhere (no `node:crypto`). Signing and key derivation are noble's (RFC 8032 §5.1.5,
 * §5.1.6). Verification is NOT noble's `verify`: noble 3 always checks the cofactored equation
 * `[8][S]B = [8]R + [8][k]A`, which accepts mixed-order signatures that OpenSSL and libsodium
 * reject. Instead we compute rule 5 of strict-rule.ts ourselves with noble's point arithmetic, the
 * way OpenSSL and libsodium do: encode([S]B − [k]A) must equal the R bytes.
 *
 * SHA-512 here is always @noble/hashes, even where `node:crypto` exists, so this backend stays an
 * implementation independent of OpenSSL (the tests compare the two).
 */
import { Point, hashes, getPublicKey, sign } from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import type { Ed25519Implementation } from './backend.js'
import { L } from './strict-rule.js'

// noble 3's synchronous API needs a SHA-512 (it ships only an async WebCrypto one). Setting it is
// the documented wiring; any correct SHA-512 gives the same results.
hashes.sha512 = sha512

/** Little-endian bytes → bigint. */
function bytesToNumberLE (bytes: Uint8Array): bigint {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!)
  return n
}

function concat3 (a: Uint8Array, b: Uint8Array, c: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length + c.length)
  out.set(a, 0)
  out.set(b, a.length)
  out.set(c, a.length + b.length)
  return out
}

/** The portable backend. */
export const portableEd25519: Ed25519Implementation = {
  verifyEquation (publicKey, message, signature) {
    let A: Point
    try {
      // Strict RFC 8032 §5.1.3 decoding (zip215 = false): y < p, on the curve, no x = 0 with the
      // sign bit set. The pre-checks already refused the first and last; this finds off-curve y.
      A = Point.fromBytes(publicKey, false)
    } catch {
      return false
    }
    const r = signature.subarray(0, 32)
    const s = bytesToNumberLE(signature.subarray(32, 64)) // < L, checked by rule 2
    // RFC 8032 §5.1.7 step 2: k = SHA-512(dom2(F, C) ‖ R ‖ A ‖ PH(M)), dom2 empty for Ed25519, over
    // the bytes as received.
    const k = bytesToNumberLE(sha512(concat3(r, publicKey, message))) % L
    // Step 3, cofactorless: [S]B − [k]A, encoded, must be the R bytes. multiplyUnsafe is
    // variable-time, which is fine: everything here is public.
    const check = Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k)).toBytes()
    let diff = 0
    for (let i = 0; i < 32; i++) diff |= check[i]! ^ r[i]!
    return diff === 0
  },
  sign (seed, message) {
    return sign(message, seed)
  },
  publicKey (seed) {
    return getPublicKey(seed)
  }
}
