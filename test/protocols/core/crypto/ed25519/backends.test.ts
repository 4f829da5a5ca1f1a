/**
 * Backend selection, availability without node:crypto, seed validation and the KeyObject cache.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  defaultBackend,
  isBackendAvailable,
  publicKeyFromSeed,
  signBytes,
  verifySignature
} from '../../../../../protocols/core/crypto/index.js'
import type { Ed25519Backend } from '../../../../../protocols/core/crypto/index.js'
import type * as CryptoModule from '../../../../../protocols/core/crypto/index.js'
import { createNativeEd25519 } from '../../../../../protocols/core/crypto/ed25519/native.js'
import { loadNodeCrypto, nodeCrypto } from '../../../../../protocols/core/crypto/node-crypto.js'
import { basePoint, hex, toHex } from './helpers.js'

const SEED = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60')
const PUBLIC_KEY = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'

type GetBuiltin = (id: string) => unknown
const proc = process as unknown as { getBuiltinModule?: GetBuiltin }
const originalGetBuiltin = proc.getBuiltinModule

afterEach(() => {
  proc.getBuiltinModule = originalGetBuiltin
  vi.resetModules()
})

/** Loads a fresh copy of the crypto module with `process.getBuiltinModule` replaced. */
async function loadWith (getBuiltin: GetBuiltin | undefined): Promise<typeof CryptoModule> {
  proc.getBuiltinModule = getBuiltin
  vi.resetModules()
  try {
    return await import('../../../../../protocols/core/crypto/index.js')
  } finally {
    proc.getBuiltinModule = originalGetBuiltin
  }
}

describe('ed25519 backends', () => {
  it('uses node:crypto by default on Node ≥ 22.3', () => {
    expect(nodeCrypto).toBeDefined()
    expect(isBackendAvailable('native')).toBe(true)
    expect(isBackendAvailable('portable')).toBe(true)
    expect(defaultBackend()).toBe('native')
    expect(isBackendAvailable('quantum' as Ed25519Backend)).toBe(false)
  })

  it('loads and works in a runtime without node:crypto, falling back to portable', async () => {
    const mod = await loadWith(undefined)
    expect(mod.defaultBackend()).toBe('portable')
    expect(mod.isBackendAvailable('native')).toBe(false)
    expect(mod.isBackendAvailable('portable')).toBe(true)
    expect(toHex(mod.publicKeyFromSeed(SEED))).toBe(PUBLIC_KEY)
    const sig = mod.signBytes(SEED, new Uint8Array())
    expect(mod.verifySignature(hex(PUBLIC_KEY), new Uint8Array(), sig)).toBe(true)
    expect(toHex(mod.sha256(new TextEncoder().encode('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    // Asking for native there is misuse: a named error, not a silent fallback.
    expect(() => mod.verifySignature(hex(PUBLIC_KEY), new Uint8Array(), sig, { backend: 'native' }))
      .toThrow(expect.objectContaining({ code: 'ERR_BACKEND_UNAVAILABLE' }))
    expect(() => mod.signBytes(SEED, new Uint8Array(), { backend: 'native' }))
      .toThrow(expect.objectContaining({ code: 'ERR_BACKEND_UNAVAILABLE' }))
  })

  it('treats a getBuiltinModule that throws, or a partial node:crypto stand-in, as absent', async () => {
    proc.getBuiltinModule = () => { throw new Error('nope') }
    expect(loadNodeCrypto()).toBeUndefined()
    proc.getBuiltinModule = () => ({ createHash: () => undefined })
    expect(loadNodeCrypto()).toBeUndefined()
    proc.getBuiltinModule = originalGetBuiltin
    expect(loadNodeCrypto()).toBeDefined()
    const mod = await loadWith(() => ({}))
    expect(mod.defaultBackend()).toBe('portable')
  })

  it('rejects an unknown backend name with a named error', () => {
    const backend = 'openssl' as Ed25519Backend
    expect(() => verifySignature(new Uint8Array(32), new Uint8Array(), new Uint8Array(64), { backend }))
      .toThrow(expect.objectContaining({ code: 'ERR_BACKEND_UNAVAILABLE' }))
  })

  for (const backend of ['native', 'portable'] as const) {
    it(`${backend}: refuses seeds that are not 32 bytes (ERR_INVALID_KEY_MATERIAL)`, () => {
      for (const n of [0, 16, 31, 33, 64]) {
        const seed = new Uint8Array(n)
        expect(() => signBytes(seed, new Uint8Array(), { backend })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY_MATERIAL' }))
        expect(() => publicKeyFromSeed(seed, { backend })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY_MATERIAL' }))
      }
      expect(() => publicKeyFromSeed('00'.repeat(32) as unknown as Uint8Array, { backend })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY_MATERIAL' }))
    })

    it(`${backend}: returns plain Uint8Arrays of the right length`, () => {
      const pk = publicKeyFromSeed(SEED, { backend })
      const sig = signBytes(SEED, Uint8Array.of(1), { backend })
      expect(pk.constructor).toBe(Uint8Array)
      expect(sig.constructor).toBe(Uint8Array)
      expect(pk.length).toBe(32)
      expect(sig.length).toBe(64)
      expect(sig.buffer.byteLength).toBe(64) // owns its memory, not a view into a Buffer pool
    })
  }
})

describe('native KeyObject cache', () => {
  it('imports each key once and stays bounded', () => {
    const native = createNativeEd25519(nodeCrypto!, 3)
    const keys = [1n, 2n, 3n, 4n].map(n => basePoint(n).toBytes())
    const sig = new Uint8Array(64)
    sig.set(basePoint(99n).toBytes())
    for (const k of keys) native.verifyEquation(k, new Uint8Array(), sig)
    expect(native.keyCache.size).toBe(3)
    // Cached objects answer like fresh ones: a real signature still verifies after eviction churn.
    const pk = hex(PUBLIC_KEY)
    const good = signBytes(SEED, Uint8Array.of(5))
    for (let i = 0; i < 3; i++) {
      expect(native.verifyEquation(pk, Uint8Array.of(5), good)).toBe(true)
      for (const k of keys) native.verifyEquation(k, new Uint8Array(), sig)
    }
    expect(native.keyCache.size).toBe(3)
  })
})

describe('native private-key cache', () => {
  it('signs again with the same seed array, and with the new key once the array is overwritten in place', () => {
    const native = createNativeEd25519(nodeCrypto!)
    const seed = new Uint8Array(32).fill(1)
    const first = native.sign(seed, Uint8Array.of(1))
    expect(native.sign(seed, Uint8Array.of(1))).toEqual(first)
    const before = native.publicKey(seed)
    seed.fill(2)
    const after = native.publicKey(seed)
    expect(after).not.toEqual(before)
    const signature = native.sign(seed, Uint8Array.of(1))
    expect(native.verifyEquation(after, Uint8Array.of(1), signature)).toBe(true)
    expect(native.verifyEquation(before, Uint8Array.of(1), signature)).toBe(false)
  })
})
