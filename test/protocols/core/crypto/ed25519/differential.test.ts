/**
 * Differential property tests: on random keys, messages and mutations, the native backend, the
 * portable backend and the independent oracle (helpers.ts) make the same decision — and on
 * hand-built mixed-order signatures they match the closed-form answer of the cofactorless rule.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { publicKeyFromSeed, signBytes, verifySignature } from '../../../../../protocols/core/crypto/index.js'
import { L, basePoint, bytesToNumberLE, forge, numberToBytesLE, oracleVerify, torsion } from './helpers.js'

type Mutation =
  | { kind: 'none' }
  | { kind: 'flip-signature', bit: number }
  | { kind: 'flip-key', bit: number }
  | { kind: 'flip-message', bit: number }
  | { kind: 's-plus-l' }
  | { kind: 'random-key', bytes: Uint8Array }
  | { kind: 'random-r', bytes: Uint8Array }
  | { kind: 'random-signature', bytes: Uint8Array }
  | { kind: 'resize-key', length: number }
  | { kind: 'resize-signature', length: number }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.integer({ min: 0, max: 511 }).map(bit => ({ kind: 'flip-signature' as const, bit })),
  fc.integer({ min: 0, max: 255 }).map(bit => ({ kind: 'flip-key' as const, bit })),
  fc.nat().map(bit => ({ kind: 'flip-message' as const, bit })),
  fc.constant({ kind: 's-plus-l' as const }),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytes => ({ kind: 'random-key' as const, bytes })),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytes => ({ kind: 'random-r' as const, bytes })),
  fc.uint8Array({ minLength: 64, maxLength: 64 }).map(bytes => ({ kind: 'random-signature' as const, bytes })),
  fc.integer({ min: 0, max: 70 }).map(length => ({ kind: 'resize-key' as const, length })),
  fc.integer({ min: 0, max: 130 }).map(length => ({ kind: 'resize-signature' as const, length }))
)

function resize (bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length)
  out.set(bytes.subarray(0, Math.min(length, bytes.length)))
  return out
}

function apply (m: Mutation, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  const pk = Uint8Array.from(publicKey)
  const msg = Uint8Array.from(message)
  const sig = Uint8Array.from(signature)
  switch (m.kind) {
    case 'none': break
    case 'flip-signature': sig[m.bit >> 3]! ^= 1 << (m.bit & 7); break
    case 'flip-key': pk[m.bit >> 3]! ^= 1 << (m.bit & 7); break
    case 'flip-message':
      if (msg.length > 0) { const bit = m.bit % (msg.length * 8); msg[bit >> 3]! ^= 1 << (bit & 7) }
      break
    case 's-plus-l': {
      const s = bytesToNumberLE(sig.subarray(32)) + L
      sig.set(numberToBytesLE(s), 32) // S + L < 2^256 always (S < L < 2^253)
      break
    }
    case 'random-key': return [m.bytes, msg, sig]
    case 'random-r': sig.set(m.bytes, 0); break
    case 'random-signature': return [pk, msg, m.bytes]
    case 'resize-key': return [resize(pk, m.length), msg, sig]
    case 'resize-signature': return [pk, msg, resize(sig, m.length)]
  }
  return [pk, msg, sig]
}

describe('ed25519 backends agree (differential)', () => {
  it('sign and derive identically, and agree with each other and the oracle on mutated inputs', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 0, maxLength: 200 }),
      mutation,
      (seed, message, m) => {
        const publicKey = publicKeyFromSeed(seed, { backend: 'native' })
        expect(publicKeyFromSeed(seed, { backend: 'portable' })).toEqual(publicKey)
        const signature = signBytes(seed, message, { backend: 'native' })
        expect(signBytes(seed, message, { backend: 'portable' })).toEqual(signature)

        const [pk, msg, sig] = apply(m, publicKey, message, signature)
        const native = verifySignature(pk, msg, sig, { backend: 'native' })
        const portable = verifySignature(pk, msg, sig, { backend: 'portable' })
        const oracle = oracleVerify(pk, msg, sig)
        expect({ native, portable }).toEqual({ native: oracle, portable: oracle })
        if (m.kind === 'none') expect(native).toBe(true)
        if (m.kind === 's-plus-l' || m.kind === 'flip-signature' || m.kind === 'flip-key') expect(native).toBe(false)
      }
    ), { numRuns: 200 })
  })

  it('on mixed-order keys and nonces, accept exactly when the torsion parts cancel', () => {
    // A = [a]B + [ja]T8, R = [r]B + [jr]T8, S = r + k·a: [S]B − [k]A = [r]B − [k·ja]T8, which
    // equals R iff jr + k·ja ≡ 0 (mod 8). a, r ≠ 0 keep A and R of large order.
    fc.assert(fc.property(
      fc.bigInt({ min: 1n, max: L - 1n }),
      fc.bigInt({ min: 1n, max: L - 1n }),
      fc.integer({ min: 0, max: 7 }),
      fc.integer({ min: 0, max: 7 }),
      fc.uint8Array({ minLength: 0, maxLength: 64 }),
      (a, r, ja, jr, message) => {
        const aBytes = basePoint(a).add(torsion(ja)).toBytes()
        const rBytes = basePoint(r).add(torsion(jr)).toBytes()
        const { signature, k } = forge({ aBytes, a, rBytes, r, message })
        const expected = (BigInt(jr) + k * BigInt(ja)) % 8n === 0n
        expect(verifySignature(aBytes, message, signature, { backend: 'native' })).toBe(expected)
        expect(verifySignature(aBytes, message, signature, { backend: 'portable' })).toBe(expected)
        expect(oracleVerify(aBytes, message, signature)).toBe(expected)
      }
    ), { numRuns: 150 })
  })

  it('never throws on arbitrary bytes', () => {
    fc.assert(fc.property(
      fc.uint8Array({ maxLength: 40 }),
      fc.uint8Array({ maxLength: 40 }),
      fc.uint8Array({ maxLength: 70 }),
      (pk, msg, sig) => {
        const native = verifySignature(pk, msg, sig, { backend: 'native' })
        const portable = verifySignature(pk, msg, sig, { backend: 'portable' })
        expect(native).toBe(portable)
        expect(native).toBe(oracleVerify(pk, msg, sig))
      }
    ), { numRuns: 300 })
  })

  it('forge() builds honest signatures when there is no torsion (sanity of the helper)', () => {
    const a = 12345n
    const r = 67890n
    const message = Uint8Array.of(1, 2, 3)
    const { signature } = forge({ aBytes: basePoint(a).toBytes(), a, rBytes: basePoint(r).toBytes(), r, message })
    expect(verifySignature(basePoint(a).toBytes(), message, signature)).toBe(true)
  })
})
