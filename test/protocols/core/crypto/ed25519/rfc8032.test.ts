/**
 * RFC 8032 §7.1 "Test Vectors for Ed25519": key derivation, deterministic signing and
 * verification, on both backends.
 */
import { describe, expect, it } from 'vitest'
import { isBackendAvailable, publicKeyFromSeed, signBytes, verifySignature } from '../../../../../protocols/core/crypto/index.js'
import type { Ed25519Backend } from '../../../../../protocols/core/crypto/index.js'
import { sha512 } from '../../../../../protocols/core/crypto/hash.js'
import { hex, toHex } from './helpers.js'
import { RFC8032_TEST_1024_MESSAGE } from './rfc8032-message-1024.js'

const VECTORS = [
  {
    name: 'TEST 1 (empty message)',
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'
  },
  {
    name: 'TEST 2 (one byte)',
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'
  },
  {
    name: 'TEST 3 (two bytes)',
    seed: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'
  },
  {
    name: 'TEST 1024 (1023 bytes)',
    seed: 'f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5',
    publicKey: '278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e',
    message: RFC8032_TEST_1024_MESSAGE,
    signature: '0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03'
  },
  {
    name: 'TEST SHA(abc) (message = SHA-512("abc"))',
    seed: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    publicKey: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    message: toHex(sha512(new TextEncoder().encode('abc'))),
    signature: 'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704'
  }
]

const BACKENDS: Ed25519Backend[] = ['native', 'portable']

describe('RFC 8032 §7.1 test vectors', () => {
  it('runs with node:crypto here, so both backends are exercised', () => {
    expect(isBackendAvailable('native')).toBe(true)
    expect(RFC8032_TEST_1024_MESSAGE.length).toBe(2 * 1023)
  })

  for (const backend of BACKENDS) {
    describe(backend, () => {
      for (const v of VECTORS) {
        it(`${v.name}: derives the public key, signs deterministically, verifies`, () => {
          const seed = hex(v.seed)
          const message = hex(v.message)
          expect(toHex(publicKeyFromSeed(seed, { backend }))).toBe(v.publicKey)
          const signature = signBytes(seed, message, { backend })
          expect(signature).toBeInstanceOf(Uint8Array)
          expect(toHex(signature)).toBe(v.signature)
          expect(verifySignature(hex(v.publicKey), message, hex(v.signature), { backend })).toBe(true)
          // Any other message fails.
          expect(verifySignature(hex(v.publicKey), new Uint8Array([...message, 0]), hex(v.signature), { backend })).toBe(false)
        })
      }
    })
  }
})
