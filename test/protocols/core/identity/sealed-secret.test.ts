import { describe, expect, it } from 'vitest'
import { sha256 } from '../../../../protocols/core/crypto/index.js'
import {
  openSecret, SCRYPT_DEFAULTS, sealedParams, sealSecret
} from '../../../../protocols/core/identity/sealed-secret.js'
import type { ScryptParams } from '../../../../protocols/core/identity/sealed-secret.js'

/** Cheap scrypt parameters so tests stay fast; production uses SCRYPT_DEFAULTS. */
const FAST: ScryptParams = { N: 2 ** 4, r: 8, p: 1 }
const salt = Uint8Array.from({ length: 16 }, (_, i) => i)
const nonce = Uint8Array.from({ length: 24 }, (_, i) => 100 + i)
const secret = new TextEncoder().encode('{"udk_seed":"top secret"}')

const corrupt = expect.objectContaining({ code: 'ERR_CORRUPT_KEYSTORE' })
const wrong = expect.objectContaining({ code: 'ERR_WRONG_PASSPHRASE' })

function seal (passphrase = 'correct horse', params = FAST): Uint8Array {
  return sealSecret({ secret, passphrase, salt, nonce, params })
}

/** Re-stamps the trailing checksum so a test can reach the checks behind it. */
function restamp (blob: Uint8Array): Uint8Array {
  const out = blob.slice()
  out.set(sha256(out.subarray(0, out.length - 8)).subarray(0, 8), out.length - 8)
  return out
}

describe('sealed secrets (scrypt + XChaCha20-Poly1305)', () => {
  it('round-trips and is deterministic for fixed salt and nonce', () => {
    const blob = seal()
    expect(openSecret(blob, 'correct horse')).toEqual(secret)
    expect(seal()).toEqual(blob)
    expect(blob.length).toBe(80 + secret.length + 16 + 8)
  })

  it('lays the header out as documented', () => {
    const blob = seal()
    expect(Array.from(blob.subarray(0, 8))).toEqual([0x6b, 0x72, 0x73, 0x62, 0x01, 4, 8, 1])
    expect(blob.subarray(8, 24)).toEqual(salt)
    expect(blob.subarray(24, 48)).toEqual(nonce)
    expect(sealedParams(blob)).toEqual(FAST)
    // The secret does not appear in clear.
    expect(Buffer.from(blob).includes(Buffer.from('top secret'))).toBe(false)
  })

  it('uses N = 2^15, r = 8, p = 1 by default and opens such a blob', () => {
    expect(SCRYPT_DEFAULTS).toEqual({ N: 32768, r: 8, p: 1 })
    const blob = sealSecret({ secret, passphrase: 'p', salt, nonce })
    expect(sealedParams(blob)).toEqual(SCRYPT_DEFAULTS)
    expect(openSecret(blob, 'p')).toEqual(secret)
  })

  it('reports a wrong passphrase as ERR_WRONG_PASSPHRASE', () => {
    const blob = seal()
    expect(() => openSecret(blob, 'correct hors')).toThrow(wrong)
    expect(() => openSecret(blob, 'Correct horse')).toThrow(wrong)
    expect(() => openSecret(blob, '')).toThrow(wrong)
  })

  it('normalises the passphrase to NFKC', () => {
    const blob = seal('caf\u00e9')
    expect(openSecret(blob, 'cafe\u0301')).toEqual(secret)
  })

  it('reports truncation and damage as ERR_CORRUPT_KEYSTORE, before running scrypt', () => {
    const blob = seal()
    expect(() => openSecret(blob.subarray(0, blob.length - 1), 'correct horse')).toThrow(corrupt)
    expect(() => openSecret(blob.subarray(0, 50), 'correct horse')).toThrow(/shorter than the minimum/)
    expect(() => openSecret(new Uint8Array(0), 'correct horse')).toThrow(corrupt)
    for (const at of [0, 4, 5, 10, 30, 60, 90, blob.length - 1]) {
      const garbled = blob.slice()
      garbled[at] = garbled[at]! ^ 0x01
      expect(() => openSecret(garbled, 'correct horse'), `byte ${at}`).toThrow(corrupt)
    }
    expect(() => openSecret(new TextEncoder().encode('{"not":"a blob at all, just some json text","padding":"' + 'x'.repeat(100) + '"}'), 'x')).toThrow(/magic/)
  })

  it('detects deliberate tampering that fixes up the checksum', () => {
    const blob = seal()
    const tampered = blob.slice()
    tampered[85] = tampered[85]! ^ 0x80 // inside the ciphertext
    expect(() => openSecret(restamp(tampered), 'correct horse')).toThrow(corrupt)
    expect(() => openSecret(restamp(tampered), 'correct horse')).toThrow(/authentication failed/)
    // Changing the stored parameters changes the derived key: the passphrase no longer fits.
    const params = blob.slice()
    params[6] = 9
    expect(() => openSecret(restamp(params), 'correct horse')).toThrow(wrong)
    const version = blob.slice()
    version[4] = 2
    expect(() => openSecret(restamp(version), 'correct horse')).toThrow(/unknown format version 2/)
  })

  it('refuses blobs that ask for absurd scrypt work (a planted file cannot exhaust memory)', () => {
    const blob = seal()
    const huge = blob.slice()
    huge[5] = 30 // N = 2^30
    const started = Date.now()
    expect(() => openSecret(restamp(huge), 'correct horse')).toThrow(corrupt)
    expect(() => openSecret(restamp(huge), 'correct horse')).toThrow(/scrypt/)
    const zeroP = blob.slice()
    zeroP[7] = 0
    expect(() => openSecret(restamp(zeroP), 'correct horse')).toThrow(corrupt)
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('refuses bad inputs when sealing', () => {
    const misuse = expect.objectContaining({ code: 'ERR_INVALID_KEY_MATERIAL' })
    expect(() => sealSecret({ secret, passphrase: 'p', salt: salt.subarray(1), nonce, params: FAST })).toThrow(misuse)
    expect(() => sealSecret({ secret, passphrase: 'p', salt, nonce: nonce.subarray(1), params: FAST })).toThrow(misuse)
    expect(() => sealSecret({ secret, passphrase: '', salt, nonce, params: FAST })).toThrow(misuse)
    expect(() => sealSecret({ secret, passphrase: 'p', salt, nonce, params: { N: 1000, r: 8, p: 1 } })).toThrow(/power of two/)
    expect(() => sealSecret({ secret, passphrase: 'p', salt, nonce, params: { N: 2 ** 20, r: 8, p: 1 } })).toThrow(/memory/)
    expect(() => sealSecret({ secret, passphrase: 'p', salt, nonce, params: { N: 16, r: 0, p: 1 } })).toThrow(misuse)
  })
})
