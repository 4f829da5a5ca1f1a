/**
 * Test helpers for ed25519: hex, scalar arithmetic, signature forgeries built from known scalars,
 * and an independent oracle of keyroom's rule.
 *
 * The oracle is written differently from the code under test on purpose: it decodes both A and R
 * with noble's strict decoder, finds small order with point arithmetic ([8]P = 0) rather than a
 * y-coordinate list, and compares points rather than bytes. Where the two agree on every input, a
 * slip in either would have to be made twice, in two forms.
 */
import { Point, hashes, verify as nobleVerify } from '@noble/ed25519'
import { sha512 as nobleSha512 } from '@noble/hashes/sha2.js'

hashes.sha512 = nobleSha512

/** p = 2^255 − 19. */
export const P = (1n << 255n) - 19n
/** L, the prime order of the base point. */
export const L = (1n << 252n) + 27742317777372353535851937790883648493n

export function hex (text: string): Uint8Array {
  if (text.length % 2 !== 0) throw new Error('odd hex')
  const out = new Uint8Array(text.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16)
  return out
}

export function toHex (bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

export function bytesToNumberLE (bytes: Uint8Array): bigint {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!)
  return n
}

export function numberToBytesLE (n: bigint, length = 32): Uint8Array {
  if (n < 0n || n >= 1n << BigInt(8 * length)) throw new Error('out of range')
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) { out[i] = Number(n & 0xffn); n >>= 8n }
  return out
}

export function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

export const modL = (n: bigint): bigint => ((n % L) + L) % L

/** k = SHA-512(R ‖ A ‖ M) mod L over the given bytes. */
export function challenge (rBytes: Uint8Array, aBytes: Uint8Array, message: Uint8Array): bigint {
  return modL(bytesToNumberLE(nobleSha512(concat(rBytes, aBytes, message))))
}

/** A generator of the torsion subgroup (order 8), from the C2SP/CCTV list of low-order points. */
export const T8 = Point.fromBytes(hex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'))

/** [j]T8 for j in 0..7: the 8 small-order points. */
export function torsion (j: number): Point {
  return T8.multiplyUnsafe(BigInt(((j % 8) + 8) % 8))
}

/** Canonical encodings of the 8 small-order points, [j]T8 for j = 0..7. */
export const SMALL_ORDER_ENCODINGS: Uint8Array[] = Array.from({ length: 8 }, (_, j) => torsion(j).toBytes())

/**
 * Other spellings of small-order points (C2SP/CCTV README): "x = −0" (sign bit set on a point
 * with x = 0) and y + p for y ∈ {0, 1}. Each must be refused by a canonical-encoding check.
 */
export const NON_CANONICAL_SMALL_ORDER_ENCODINGS: Array<{ name: string, bytes: Uint8Array, equals: Uint8Array }> = [
  { name: 'identity, x = −0', bytes: hex('0100000000000000000000000000000000000000000000000000000000000080'), equals: hex('0100000000000000000000000000000000000000000000000000000000000000') },
  { name: 'order 2, x = −0', bytes: hex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'), equals: hex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f') },
  { name: 'order 4, y = p', bytes: hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'), equals: hex('0000000000000000000000000000000000000000000000000000000000000000') },
  { name: 'order 4, y = p, x sign', bytes: hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'), equals: hex('0000000000000000000000000000000000000000000000000000000000000080') },
  { name: 'identity, y = p + 1', bytes: hex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'), equals: hex('0100000000000000000000000000000000000000000000000000000000000000') },
  { name: 'identity, y = p + 1, x = −0', bytes: hex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'), equals: hex('0100000000000000000000000000000000000000000000000000000000000000') }
]

/**
 * Signs with explicit scalars and points, bypassing every safety of a real signer:
 * A and R are given as bytes (any encoding), `a` is A's discrete log minus any torsion part,
 * and S = r + k·a mod L with k over the bytes as given. `sOverride` replaces S afterwards.
 */
export function forge (opts: { aBytes: Uint8Array, a: bigint, rBytes: Uint8Array, r: bigint, message: Uint8Array }): { signature: Uint8Array, k: bigint } {
  const k = challenge(opts.rBytes, opts.aBytes, opts.message)
  const s = modL(opts.r + k * opts.a)
  return { signature: concat(opts.rBytes, numberToBytesLE(s)), k }
}

/**
 * Finds a message (by counter, deterministic) whose challenge k for these R and A bytes satisfies
 * `predicate(k)`. Used to steer k mod 8 when building mixed-order cases.
 */
export function findMessage (rBytes: Uint8Array, aBytes: Uint8Array, predicate: (k: bigint) => boolean, label = 'msg'): Uint8Array {
  for (let i = 0; i < 10_000; i++) {
    const message = new TextEncoder().encode(`${label} ${i}`)
    if (predicate(challenge(rBytes, aBytes, message))) return message
  }
  throw new Error('no message found')
}

/** Point for a scalar: [n]B. */
export function basePoint (n: bigint): Point {
  return Point.BASE.multiplyUnsafe(modL(n))
}

/**
 * keyroom's rule, written independently (see the header). True = accept.
 */
export function oracleVerify (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  const s = bytesToNumberLE(signature.subarray(32))
  if (s >= L) return false
  let A: Point
  let R: Point
  try {
    A = Point.fromBytes(publicKey, false)
    R = Point.fromBytes(signature.subarray(0, 32), false)
  } catch {
    return false
  }
  if (A.multiplyUnsafe(8n).is0() || R.multiplyUnsafe(8n).is0()) return false
  const k = challenge(signature.subarray(0, 32), publicKey, message)
  return Point.BASE.multiplyUnsafe(s).equals(R.add(A.multiplyUnsafe(k)))
}

/**
 * noble's own verify in ZIP-215 mode: cofactored equation, lenient decoding. Used to show that a
 * constructed case is a real signature under the cofactored reading that keyroom refuses.
 */
export function nobleCofactoredAccepts (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return nobleVerify(signature, message, publicKey, { zip215: true })
  } catch {
    return false
  }
}

/** A y (< p, sign bit clear) for which no x exists: an off-curve public key. */
export function offCurveEncoding (): Uint8Array {
  for (let y = 2n; y < 1000n; y++) {
    const bytes = numberToBytesLE(y)
    try {
      Point.fromBytes(bytes, false)
    } catch {
      return bytes
    }
  }
  throw new Error('unreachable')
}

/**
 * Does `[S]B = R + [k]A` (or, with `cofactored`, `[8][S]B = [8]R + [8][k]A`) hold for these
 * bytes, decoding A and R leniently (y reduced mod p, any sign bit) and ignoring every rule about
 * order or canonicity? Shows that a rejected case would pass a lenient verifier, so its rejection
 * is the rule's doing.
 */
export function equationHolds (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, cofactored = false): boolean {
  let A: Point
  let R: Point
  try {
    A = Point.fromBytes(publicKey, true)
    R = Point.fromBytes(signature.subarray(0, 32), true)
  } catch {
    return false
  }
  const s = modL(bytesToNumberLE(signature.subarray(32)))
  const k = challenge(signature.subarray(0, 32), publicKey, message)
  const diff = Point.BASE.multiplyUnsafe(s).subtract(R).subtract(A.multiplyUnsafe(k))
  return cofactored ? diff.multiplyUnsafe(8n).is0() : diff.is0()
}

/** A deterministic scalar in [1, L) from a label. */
export function scalarFrom (label: string): bigint {
  return modL(bytesToNumberLE(nobleSha512(new TextEncoder().encode(label)))) || 1n
}
