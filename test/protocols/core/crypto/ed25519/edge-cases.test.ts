/**
 * keyroom's ed25519 rule on the inputs where implementations disagree. Every case runs through
 * both backends and the independent oracle (helpers.ts), and all three must give the documented
 * decision. Cases built here say, where it matters, that a lenient verifier would accept them
 * (`equationHolds`), so a rejection is the rule's doing and not an accident of construction.
 */
import { describe, expect, it } from 'vitest'
import { publicKeyFromSeed, signBytes, verifySignature } from '../../../../../protocols/core/crypto/index.js'
import {
  L,
  NON_CANONICAL_SMALL_ORDER_ENCODINGS,
  SMALL_ORDER_ENCODINGS,
  T8,
  basePoint,
  bytesToNumberLE,
  concat,
  equationHolds,
  findMessage,
  forge,
  hex,
  nobleCofactoredAccepts,
  numberToBytesLE,
  offCurveEncoding,
  oracleVerify,
  scalarFrom,
  torsion
} from './helpers.js'

interface Case {
  name: string
  publicKey: Uint8Array
  message: Uint8Array
  signature: Uint8Array
  accept: boolean
  /** Asserted when set: the plain equation holds under lenient decoding. */
  cofactorless?: boolean
  /** Asserted when set: the cofactored equation holds under lenient decoding. */
  cofactored?: boolean
}

function decide (c: Case): { native: boolean, portable: boolean, oracle: boolean } {
  return {
    native: verifySignature(c.publicKey, c.message, c.signature, { backend: 'native' }),
    portable: verifySignature(c.publicKey, c.message, c.signature, { backend: 'portable' }),
    oracle: oracleVerify(c.publicKey, c.message, c.signature)
  }
}

function check (c: Case): void {
  const expected = { native: c.accept, portable: c.accept, oracle: c.accept }
  expect(decide(c), c.name).toEqual(expected)
  if (c.cofactorless !== undefined) expect(equationHolds(c.publicKey, c.message, c.signature, false), `${c.name}: cofactorless`).toBe(c.cofactorless)
  if (c.cofactored !== undefined) expect(equationHolds(c.publicKey, c.message, c.signature, true), `${c.name}: cofactored`).toBe(c.cofactored)
}

const withS = (signature: Uint8Array, s: bigint): Uint8Array => concat(signature.subarray(0, 32), numberToBytesLE(s))

// An honest key and signature.
const seed = hex('0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20')
const publicKey = publicKeyFromSeed(seed)
const message = new TextEncoder().encode('keyroom edge cases')
const signature = signBytes(seed, message)
const S = bytesToNumberLE(signature.subarray(32))

// Scalars for hand-built keys and nonces.
const a = scalarFrom('a')
const r = scalarFrom('r')
const primeA = basePoint(a).toBytes()
const mixedA = basePoint(a).add(T8).toBytes() // A with an order-8 component
const primeR = basePoint(r).toBytes()

/** Index j with [j]T8 = the point of these bytes (lenient), for steering k. */
function torsionIndex (bytes: Uint8Array): number {
  for (let j = 0; j < 8; j++) if (SMALL_ORDER_ENCODINGS[j]!.every((b, i) => b === bytes[i])) return j
  throw new Error('not a canonical small-order encoding')
}

describe('ed25519 rule: scalars (rule 2)', () => {
  it('accepts the honest signature (control)', () => {
    check({ name: 'valid', publicKey, message, signature, accept: true, cofactorless: true })
  })

  it('rejects S = L, S = L + small, S + L, S + 2L (≥ 2^253), and S with the top bits set', () => {
    expect(S + 2n * L >= 1n << 253n).toBe(true)
    const cases: Case[] = [
      { name: 'S = L', publicKey, message, signature: withS(signature, L), accept: false },
      { name: 'S = L + 1', publicKey, message, signature: withS(signature, L + 1n), accept: false },
      { name: 'S = L + 7', publicKey, message, signature: withS(signature, L + 7n), accept: false },
      // Same S mod L as the valid signature: a verifier that reduces S would accept (malleability).
      { name: 'S + L', publicKey, message, signature: withS(signature, S + L), accept: false, cofactorless: true },
      { name: 'S + 2L', publicKey, message, signature: withS(signature, S + 2n * L), accept: false, cofactorless: true },
      { name: 'S + 15L', publicKey, message, signature: withS(signature, S + 15n * L), accept: false, cofactorless: true },
      { name: 'S | 2^255', publicKey, message, signature: withS(signature, S | (1n << 255n)), accept: false },
      { name: 'S = 2^256 − 1', publicKey, message, signature: withS(signature, (1n << 256n) - 1n), accept: false }
    ]
    for (const c of cases) check(c)
  })
})

describe('ed25519 rule: public key A (rule 3)', () => {
  it('rejects each of the 8 small-order keys, with a signature that satisfies the plain equation', () => {
    // A = T (small order), R = [r]B, S = r: [S]B − [k]T = R exactly when [k]T = 0, so pick a
    // message with k ≡ 0 (mod 8). OpenSSL 3.0 (Node 20) accepts these; libsodium and we do not.
    for (const [j, aBytes] of SMALL_ORDER_ENCODINGS.entries()) {
      const msg = findMessage(primeR, aBytes, k => k % 8n === 0n, `small A ${j}`)
      const { signature: sig } = forge({ aBytes, a: 0n, rBytes: primeR, r, message: msg })
      check({ name: `small-order A [${j}]T8`, publicKey: aBytes, message: msg, signature: sig, accept: false, cofactorless: true })
    }
  })

  it('rejects non-canonical spellings of small-order keys (x = −0, y ≥ p), valid under lenient decoding', () => {
    for (const { name, bytes } of NON_CANONICAL_SMALL_ORDER_ENCODINGS) {
      const msg = findMessage(primeR, bytes, k => k % 8n === 0n, name)
      const { signature: sig } = forge({ aBytes: bytes, a: 0n, rBytes: primeR, r, message: msg })
      check({ name: `non-canonical A: ${name}`, publicKey: bytes, message: msg, signature: sig, accept: false, cofactorless: true })
    }
  })

  it('rejects every y ≥ p key encoding (both sign bits), whatever the signature', () => {
    for (let y = (1n << 255n) - 19n; y < 1n << 255n; y++) {
      for (const sign of [0n, 1n << 255n]) {
        check({ name: `A with y = ${y - ((1n << 255n) - 19n)} + p`, publicKey: numberToBytesLE(y | sign), message, signature, accept: false })
      }
    }
  })

  it('rejects an off-curve key', () => {
    const offCurve = offCurveEncoding()
    check({ name: 'off-curve A', publicKey: offCurve, message, signature, accept: false })
    const msg = new TextEncoder().encode('off curve')
    const { signature: sig } = forge({ aBytes: offCurve, a, rBytes: primeR, r, message: msg })
    check({ name: 'off-curve A, forged', publicKey: offCurve, message: msg, signature: sig, accept: false })
  })

  it('rejects the all-zero key (y = 0: a point of order 4) and the negated key', () => {
    check({ name: 'all-zero A', publicKey: new Uint8Array(32), message, signature, accept: false })
    const negated = Uint8Array.from(publicKey)
    negated[31]! ^= 0x80
    check({ name: '−A', publicKey: negated, message, signature, accept: false })
  })

  it('mixed-order A: accepts when the torsion part cancels ([k]T = 0), rejects a cofactored-only signature', () => {
    // A = [a]B + T8, R = [r]B, S = r + k·a  ⇒  [S]B − [k]A = R − [k]T8, which is R iff 8 | k.
    const good = findMessage(primeR, mixedA, k => k % 8n === 0n, 'mixed A ok')
    const bad = findMessage(primeR, mixedA, k => k % 8n !== 0n, 'mixed A bad')
    const goodSig = forge({ aBytes: mixedA, a, rBytes: primeR, r, message: good }).signature
    const badSig = forge({ aBytes: mixedA, a, rBytes: primeR, r, message: bad }).signature
    check({ name: 'mixed A, k ≡ 0 mod 8', publicKey: mixedA, message: good, signature: goodSig, accept: true, cofactorless: true, cofactored: true })
    check({ name: 'mixed A, k ≢ 0 mod 8', publicKey: mixedA, message: bad, signature: badSig, accept: false, cofactorless: false, cofactored: true })
    // noble's own verify (cofactored) accepts the second one: why the portable backend cannot call it.
    expect(nobleCofactoredAccepts(mixedA, bad, badSig)).toBe(true)
  })

  it('mixed-order A with each torsion component, k odd: rejected', () => {
    for (let j = 1; j < 8; j++) {
      const aBytes = basePoint(a).add(torsion(j)).toBytes()
      const msg = findMessage(primeR, aBytes, k => k % 2n === 1n, `mixed A ${j}`)
      const sig = forge({ aBytes, a, rBytes: primeR, r, message: msg }).signature
      check({ name: `A + [${j}]T8, odd k`, publicKey: aBytes, message: msg, signature: sig, accept: false, cofactorless: false, cofactored: true })
    }
  })
})

describe('ed25519 rule: R (rule 4)', () => {
  it('rejects each of the 8 small-order R, with signatures that satisfy the plain equation', () => {
    // A = [a]B + T8 (mixed, allowed), R = [j]T8, S = k·a: [S]B − [k]A = −[k]T8 = [j]T8 iff
    // k ≡ −j (mod 8). So the equation holds byte for byte; only rule 4 rejects.
    for (const [j, rBytes] of SMALL_ORDER_ENCODINGS.entries()) {
      const msg = findMessage(rBytes, mixedA, k => (k + BigInt(j)) % 8n === 0n, `small R ${j}`)
      const sig = forge({ aBytes: mixedA, a, rBytes, r: 0n, message: msg }).signature
      check({ name: `small-order R [${j}]T8`, publicKey: mixedA, message: msg, signature: sig, accept: false, cofactorless: true })
    }
  })

  it('rejects non-canonical spellings of small-order R, valid under lenient decoding', () => {
    for (const { name, bytes, equals } of NON_CANONICAL_SMALL_ORDER_ENCODINGS) {
      const j = torsionIndex(equals)
      const msg = findMessage(bytes, mixedA, k => (k + BigInt(j)) % 8n === 0n, `nc R ${name}`)
      const sig = forge({ aBytes: mixedA, a, rBytes: bytes, r: 0n, message: msg }).signature
      check({ name: `non-canonical R: ${name}`, publicKey: mixedA, message: msg, signature: sig, accept: false, cofactorless: true })
    }
  })

  it('rejects an off-curve R and an all-zero signature', () => {
    check({ name: 'off-curve R', publicKey, message, signature: concat(offCurveEncoding(), signature.subarray(32)), accept: false })
    check({ name: 'all-zero signature', publicKey, message, signature: new Uint8Array(64), accept: false })
    check({ name: 'all-zero key and signature', publicKey: new Uint8Array(32), message, signature: new Uint8Array(64), accept: false })
  })

  it('mixed-order R: rejected alone (cofactored-only), accepted when it cancels a mixed A', () => {
    // R = [r]B + T8, A = [a]B, S = r + k·a: [S]B − [k]A = [r]B ≠ R.
    const mixedR = basePoint(r).add(T8).toBytes()
    const msg = new TextEncoder().encode('mixed R')
    const sig = forge({ aBytes: primeA, a, rBytes: mixedR, r, message: msg }).signature
    check({ name: 'mixed R, prime A', publicKey: primeA, message: msg, signature: sig, accept: false, cofactorless: false, cofactored: true })
    expect(nobleCofactoredAccepts(primeA, msg, sig)).toBe(true)
    // R = [r]B + [j]T8 and A = [a]B + T8: [S]B − [k]A = [r]B − [k]T8 = R iff k ≡ −j (mod 8).
    for (let j = 1; j < 8; j++) {
      const rBytes = basePoint(r).add(torsion(j)).toBytes()
      const ok = findMessage(rBytes, mixedA, k => (k + BigInt(j)) % 8n === 0n, `cancel ${j}`)
      const no = findMessage(rBytes, mixedA, k => (k + BigInt(j)) % 8n !== 0n, `no cancel ${j}`)
      check({ name: `mixed R [${j}], mixed A, cancelling`, publicKey: mixedA, message: ok, signature: forge({ aBytes: mixedA, a, rBytes, r, message: ok }).signature, accept: true, cofactorless: true })
      check({ name: `mixed R [${j}], mixed A, not cancelling`, publicKey: mixedA, message: no, signature: forge({ aBytes: mixedA, a, rBytes, r, message: no }).signature, accept: false, cofactorless: false, cofactored: true })
    }
  })
})

describe('ed25519 rule: lengths and bad input (rule 1)', () => {
  it('rejects keys and signatures of the wrong length, never throwing', () => {
    for (const n of [0, 31, 33, 63, 65]) {
      const longKey = concat(publicKey, new Uint8Array(64)).subarray(0, n)
      const longSig = concat(signature, new Uint8Array(64)).subarray(0, n)
      check({ name: `key of ${n} bytes`, publicKey: longKey, message, signature, accept: false })
      check({ name: `signature of ${n} bytes`, publicKey, message, signature: longSig, accept: false })
    }
    // A valid key wrapped with trailing bytes (node:crypto would truncate such a key in an SPKI).
    check({ name: 'key + 1 byte', publicKey: concat(publicKey, Uint8Array.of(0)), message, signature, accept: false })
  })

  it('returns false for values that are not bytes', () => {
    for (const backend of ['native', 'portable'] as const) {
      for (const bad of [undefined, null, 42, 'abc', [1, 2, 3], {}, new ArrayBuffer(32)]) {
        const x = bad as unknown as Uint8Array
        expect(verifySignature(x, message, signature, { backend })).toBe(false)
        expect(verifySignature(publicKey, x, signature, { backend })).toBe(false)
        expect(verifySignature(publicKey, message, x, { backend })).toBe(false)
      }
    }
  })

  it('accepts byte views at an offset (subarrays and Buffers)', () => {
    const big = concat(Uint8Array.of(9, 9, 9), publicKey, message, signature, Uint8Array.of(7))
    const pk = big.subarray(3, 35)
    const msg = big.subarray(35, 35 + message.length)
    const sig = big.subarray(35 + message.length, 35 + message.length + 64)
    check({ name: 'subarrays', publicKey: pk, message: msg, signature: sig, accept: true })
    check({ name: 'Buffers', publicKey: Buffer.from(publicKey), message: Buffer.from(message), signature: Buffer.from(signature), accept: true })
  })
})

describe('ed25519 rule: flipped bits', () => {
  it('rejects every single-bit change of the signature', () => {
    for (let bit = 0; bit < 512; bit++) {
      const sig = Uint8Array.from(signature)
      sig[bit >> 3]! ^= 1 << (bit & 7)
      check({ name: `signature bit ${bit}`, publicKey, message, signature: sig, accept: false })
    }
  })

  it('rejects every single-bit change of the key and of the message', () => {
    for (let bit = 0; bit < 256; bit++) {
      const pk = Uint8Array.from(publicKey)
      pk[bit >> 3]! ^= 1 << (bit & 7)
      check({ name: `key bit ${bit}`, publicKey: pk, message, signature, accept: false })
    }
    for (let bit = 0; bit < message.length * 8; bit += 3) {
      const msg = Uint8Array.from(message)
      msg[bit >> 3]! ^= 1 << (bit & 7)
      check({ name: `message bit ${bit}`, publicKey, message: msg, signature, accept: false })
    }
  })
})
