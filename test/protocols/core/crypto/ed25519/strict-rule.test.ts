/**
 * The byte checks of rules 1–4 (strict-rule.ts), checked against arithmetic: the small-order
 * y list against [8]P = 0, the canonical check against y < p, S < L against bigint comparison.
 */
import { Point } from '@noble/ed25519'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  L as RULE_L,
  P as RULE_P,
  SMALL_ORDER_Y,
  isCanonicalEncoding,
  isScalarBelowL,
  isSmallOrderEncoding,
  passesPrechecks
} from '../../../../../protocols/core/crypto/ed25519/strict-rule.js'
import {
  L,
  NON_CANONICAL_SMALL_ORDER_ENCODINGS,
  P,
  SMALL_ORDER_ENCODINGS,
  basePoint,
  bytesToNumberLE,
  numberToBytesLE,
  torsion
} from './helpers.js'

describe('ed25519 rule constants', () => {
  it('has the right p and L', () => {
    expect(RULE_P).toBe(P)
    expect(RULE_L).toBe(L)
    expect(RULE_L).toBe(Point.CURVE().n)
    expect(RULE_P).toBe(Point.CURVE().p)
  })

  it('lists exactly the y-coordinates of the 8 torsion points', () => {
    const ys = new Set<string>()
    for (let j = 0; j < 8; j++) {
      const t = torsion(j)
      expect(t.multiplyUnsafe(8n).is0()).toBe(true)
      const enc = t.toBytes()
      enc[31]! &= 0x7f
      ys.add(enc.join(','))
    }
    // order 8 generator really has order 8
    expect(torsion(1).multiplyUnsafe(4n).is0()).toBe(false)
    expect(ys.size).toBe(5)
    expect(new Set(SMALL_ORDER_Y.map(y => y.join(',')))).toEqual(ys)
  })
})

describe('isScalarBelowL (rule 2)', () => {
  it('decides at the boundary', () => {
    expect(isScalarBelowL(numberToBytesLE(0n))).toBe(true)
    expect(isScalarBelowL(numberToBytesLE(L - 1n))).toBe(true)
    expect(isScalarBelowL(numberToBytesLE(L))).toBe(false)
    expect(isScalarBelowL(numberToBytesLE(L + 1n))).toBe(false)
    expect(isScalarBelowL(numberToBytesLE((1n << 256n) - 1n))).toBe(false)
  })

  it('agrees with bigint comparison, with and without an offset', () => {
    const near = fc.bigInt({ min: L - (1n << 130n), max: L + (1n << 130n) })
    const any = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n })
    fc.assert(fc.property(fc.oneof(near, any), (s) => {
      const bytes = numberToBytesLE(s)
      const padded = new Uint8Array(64)
      padded.set(bytes, 32)
      return isScalarBelowL(bytes) === (s < L) && isScalarBelowL(padded, 32) === (s < L)
    }), { numRuns: 2000 })
  })
})

describe('isCanonicalEncoding and isSmallOrderEncoding (rules 3–4)', () => {
  it('flags every canonical small-order encoding as small order, and as canonical', () => {
    for (const enc of SMALL_ORDER_ENCODINGS) {
      expect(isCanonicalEncoding(enc)).toBe(true)
      expect(isSmallOrderEncoding(enc)).toBe(true)
    }
  })

  it('refuses every other spelling of a small-order point as non-canonical', () => {
    for (const { name, bytes } of NON_CANONICAL_SMALL_ORDER_ENCODINGS) {
      expect(isCanonicalEncoding(bytes), name).toBe(false)
    }
  })

  it('refuses every y in [p, 2^255), with either sign bit', () => {
    for (let y = P; y < 1n << 255n; y++) {
      const enc = numberToBytesLE(y)
      expect(isCanonicalEncoding(enc)).toBe(false)
      enc[31]! |= 0x80
      expect(isCanonicalEncoding(enc)).toBe(false)
    }
    expect(isCanonicalEncoding(numberToBytesLE(P - 1n))).toBe(true)
    expect(isCanonicalEncoding(numberToBytesLE(P - 2n))).toBe(true)
  })

  it('agrees with arithmetic on random points, with and without torsion components', () => {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: L - 1n }), fc.integer({ min: 0, max: 7 }), (a, j) => {
      const pt = basePoint(a).add(torsion(j))
      const enc = pt.toBytes()
      const y = bytesToNumberLE(enc) & ((1n << 255n) - 1n)
      return isCanonicalEncoding(enc) === (y < P) && isSmallOrderEncoding(enc) === pt.multiplyUnsafe(8n).is0()
    }), { numRuns: 300 })
  })

  it('reads at an offset', () => {
    const buf = new Uint8Array(64)
    buf.set(SMALL_ORDER_ENCODINGS[3]!, 0)
    buf.set(basePoint(5n).toBytes(), 32)
    expect(isSmallOrderEncoding(buf, 0)).toBe(true)
    expect(isSmallOrderEncoding(buf, 32)).toBe(false)
  })
})

describe('passesPrechecks (rules 1–4)', () => {
  it('refuses non-bytes without throwing', () => {
    const key = basePoint(7n).toBytes()
    const sig = new Uint8Array(64)
    sig.set(basePoint(9n).toBytes(), 0)
    expect(passesPrechecks(key, sig)).toBe(true)
    for (const bad of [undefined, null, 'x'.repeat(32), Array.from(key), key.buffer, new Uint16Array(32)]) {
      expect(passesPrechecks(bad, sig)).toBe(false)
      expect(passesPrechecks(key, bad)).toBe(false)
    }
  })
})
