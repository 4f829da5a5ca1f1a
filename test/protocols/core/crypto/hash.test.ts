/**
 * SHA-256 and SHA-512 (FIPS 180-4 examples, NIST CSRC), through node:crypto and through the
 * @noble/hashes fallback used where node:crypto is absent.
 */
import fc from 'fast-check'
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { hashImplementation, sha256, sha512 } from '../../../../protocols/core/crypto/hash.js'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const toHex = (b: Uint8Array): string => Array.from(b, x => x.toString(16).padStart(2, '0')).join('')

const ABC = enc('abc')
const TWO_BLOCK_256 = enc('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')
const TWO_BLOCK_512 = enc('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu')

const VECTORS_256: Array<[Uint8Array, string]> = [
  [new Uint8Array(), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  [ABC, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  [TWO_BLOCK_256, '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1']
]
const VECTORS_512: Array<[Uint8Array, string]> = [
  [new Uint8Array(), 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e'],
  [ABC, 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f'],
  [TWO_BLOCK_512, '8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909']
]

const proc = process as unknown as { getBuiltinModule?: unknown }
const original = proc.getBuiltinModule
afterEach(() => {
  proc.getBuiltinModule = original
  vi.resetModules()
})

describe('sha256 / sha512', () => {
  it('uses node:crypto here', () => {
    expect(hashImplementation).toBe('node:crypto')
  })

  it('match the FIPS 180-4 examples', () => {
    for (const [input, digest] of VECTORS_256) expect(toHex(sha256(input))).toBe(digest)
    for (const [input, digest] of VECTORS_512) expect(toHex(sha512(input))).toBe(digest)
  })

  it('return plain Uint8Arrays that own their memory', () => {
    const d = sha256(ABC)
    expect(d.constructor).toBe(Uint8Array)
    expect(d.buffer.byteLength).toBe(32)
    expect(sha512(ABC).buffer.byteLength).toBe(64)
  })

  it('hash exactly the view they are given (subarrays)', () => {
    const big = enc('xxabcyy')
    expect(toHex(sha256(big.subarray(2, 5)))).toBe(VECTORS_256[1]![1])
  })

  it('agree with @noble/hashes on random input', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
      expect(sha256(data)).toEqual(nobleSha256(data))
      expect(sha512(data)).toEqual(nobleSha512(data))
    }), { numRuns: 200 })
  })

  it('fall back to @noble/hashes where node:crypto is absent, with the same results', async () => {
    proc.getBuiltinModule = undefined
    vi.resetModules()
    const mod = await import('../../../../protocols/core/crypto/hash.js')
    proc.getBuiltinModule = original
    expect(mod.hashImplementation).toBe('@noble/hashes')
    for (const [input, digest] of VECTORS_256) expect(toHex(mod.sha256(input))).toBe(digest)
    for (const [input, digest] of VECTORS_512) expect(toHex(mod.sha512(input))).toBe(digest)
  })
})
