/**
 * The `native` backend: ed25519 through `node:crypto` (OpenSSL).
 *
 * OpenSSL's verify (crypto/ec/curve25519.c, `ossl_ed25519_verify`) checks S < L, decodes A
 * (rejecting off-curve y), computes encode([S]B − [k]A) and compares it with the R bytes: exactly
 * rule 5 of strict-rule.ts. What OpenSSL decides beyond that (small-order A and R, non-canonical
 * A) has changed between versions, so the caller's pre-checks (rules 1–4) settle those inputs
 * before OpenSSL sees them; then every OpenSSL version answers the same.
 *
 * Keys reach OpenSSL as DER that we build from exactly 32 raw bytes (RFC 8410 §4 SPKI, §7 PKCS #8):
 * `node:crypto` silently truncates a raw key with trailing bytes inside an SPKI wrapper, so we
 * never hand it anything but the exact structure.
 */
import type { NodeCrypto } from '../node-crypto.js'
import type { KeyObject } from 'node:crypto'
import type { Ed25519Implementation } from './backend.js'
import { Lru } from '../../collections/lru.js'

/**
 * How many public-key KeyObjects the native backend keeps. A room's members' devices, the keys
 * of a few rooms and their attestations fit; a flood of one-off keys only costs re-imports.
 */
export const KEY_OBJECT_CACHE_SIZE = 4096

/** RFC 8410 §4: SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (33 bytes: 0 unused bits ‖ key) }. */
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])
/**
 * RFC 8410 §7: OneAsymmetricKey { version 0, AlgorithmIdentifier { OID 1.3.101.112 },
 * OCTET STRING { OCTET STRING (32 bytes: the seed) } }.
 */
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20
])

/**
 * DER = prefix ‖ key. Typed as `Buffer` only because @types/node narrows the `key` of
 * `createPublicKey`/`createPrivateKey` to `string | Buffer`; Node documents and accepts any
 * TypedArray there, and no `Buffer` global is needed.
 */
function withPrefix (prefix: Uint8Array, key: Uint8Array): Buffer {
  const der = new Uint8Array(prefix.length + key.length)
  der.set(prefix, 0)
  der.set(key, prefix.length)
  return der as Buffer
}

/** The cache key of 32 raw key bytes: a one-byte-per-char string (cheap to build and hash). */
function cacheKey (publicKey: Uint8Array): string {
  let s = ''
  for (let i = 0; i < publicKey.length; i++) s += String.fromCharCode(publicKey[i]!)
  return s
}

/** Builds the native backend over a `node:crypto` module. */
export function createNativeEd25519 (crypto: NodeCrypto, cacheSize = KEY_OBJECT_CACHE_SIZE): Ed25519Implementation & { readonly keyCache: Lru<KeyObject> } {
  const keyCache = new Lru<KeyObject>(cacheSize)

  function publicKeyObject (publicKey: Uint8Array): KeyObject | undefined {
    const key = cacheKey(publicKey)
    const cached = keyCache.get(key)
    if (cached !== undefined) return cached
    try {
      const keyObject = crypto.createPublicKey({ key: withPrefix(SPKI_PREFIX, publicKey), format: 'der', type: 'spki' })
      keyCache.set(key, keyObject)
      return keyObject
    } catch {
      return undefined
    }
  }

  // Importing a private key costs ~100 µs, as much as the signature; a node signs with the same
  // few seeds (its device key) on every send. Cached by the seed *array* (a WeakMap: no copy of
  // the secret, no key in a string, gone with the array), with the seed's SHA-256 to notice an
  // array overwritten in place (zeroised or reused) and import again.
  const privateKeys = new WeakMap<Uint8Array, { key: KeyObject, digest: Uint8Array }>()
  function privateKeyObject (seed: Uint8Array): KeyObject {
    const digest = crypto.createHash('sha256').update(seed).digest()
    const cached = privateKeys.get(seed)
    if (cached !== undefined && crypto.timingSafeEqual(cached.digest, digest)) return cached.key
    const key = crypto.createPrivateKey({ key: withPrefix(PKCS8_PREFIX, seed), format: 'der', type: 'pkcs8' })
    privateKeys.set(seed, { key, digest })
    return key
  }

  return {
    keyCache,
    verifyEquation (publicKey, message, signature) {
      const keyObject = publicKeyObject(publicKey)
      if (keyObject === undefined) return false
      try {
        return crypto.verify(null, message, keyObject, signature)
      } catch {
        return false
      }
    },
    sign (seed, message) {
      return new Uint8Array(crypto.sign(null, message, privateKeyObject(seed)))
    },
    publicKey (seed) {
      const der = crypto.createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' })
      if (der.length !== SPKI_PREFIX.length + 32) throw new Error(`unexpected SPKI length ${der.length}`)
      for (let i = 0; i < SPKI_PREFIX.length; i++) {
        if (der[i] !== SPKI_PREFIX[i]) throw new Error('unexpected SPKI prefix')
      }
      return new Uint8Array(der.subarray(SPKI_PREFIX.length))
    }
  }
}
