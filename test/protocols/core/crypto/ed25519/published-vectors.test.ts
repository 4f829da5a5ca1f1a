/**
 * Published ed25519 edge-case suites, with the decision keyroom's rule makes on each.
 *
 * 1. ed25519-speccheck (Chalkias, Garillot, Nikolaenko, "Taming the many EdDSAs", SSR 2020;
 *    github.com/novifinancial/ed25519-speccheck, cases.json at commit
 *    5e4bfc4542293286e9ad3cb2b805badee00503de, Apache-2.0). Our rule gives libsodium's row of the
 *    paper's results table: only case 3 verifies. Node 20's OpenSSL 3.0 accepts 0, 1, 2, 3 and 11.
 * 2. C2SP/CCTV ed25519 vectors (fixtures/cctv-ed25519-vectors.json; see fixtures/README.md), 914
 *    signatures that all verify under ZIP-215. Accepted by our rule exactly when flagged with none
 *    of low_order_A, low_order_R, non_canonical_A, non_canonical_R, low_order_residue.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { verifySignature } from '../../../../../protocols/core/crypto/index.js'
import { hex, nobleCofactoredAccepts, oracleVerify } from './helpers.js'

interface SpeccheckCase { n: number, note: string, message: string, publicKey: string, signature: string, accept: boolean }

const SPECCHECK: SpeccheckCase[] = [
  { n: 0, note: 'S = 0, small-order A and R', message: '8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6', publicKey: 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', signature: 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a0000000000000000000000000000000000000000000000000000000000000000', accept: false },
  { n: 1, note: '0 < S < L, small-order A, mixed R', message: '9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79', publicKey: 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', signature: 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04', accept: false },
  { n: 2, note: '0 < S < L, mixed A, small-order R', message: 'aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab', publicKey: 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43', signature: 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e', accept: false },
  { n: 3, note: 'mixed A and R, both equations hold', message: '9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79', publicKey: 'cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d', signature: '9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009', accept: true },
  { n: 4, note: 'mixed A and R, cofactored only', message: 'e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c', publicKey: 'cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d', signature: '160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed5125ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09', accept: false },
  { n: 5, note: 'mixed A, large-order R, cofactored only with pre-reduced k', message: 'e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c', publicKey: 'cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d', signature: '21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405', accept: false },
  { n: 6, note: 'S > L', message: '85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40', publicKey: '442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623', signature: 'e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514', accept: false },
  { n: 7, note: 'S >> L (≥ 2^253)', message: '85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40', publicKey: '442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623', signature: '8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa19427e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22', accept: false },
  { n: 8, note: 'non-canonical R, reduced for the hash', message: '9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41', publicKey: 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43', signature: 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f', accept: false },
  { n: 9, note: 'non-canonical R, not reduced for the hash', message: '9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41', publicKey: 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43', signature: 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908', accept: false },
  { n: 10, note: 'non-canonical A, reduced for the hash', message: 'e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b', publicKey: 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', signature: 'a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04', accept: false },
  { n: 11, note: 'non-canonical A, not reduced for the hash', message: '39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f', publicKey: 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', signature: 'a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04', accept: false }
]

interface CctvFile {
  flags: string[]
  keys: string[]
  msgs: string[]
  sigs: string[]
  vectors: Array<[number, number, number, number]>
}

const cctv = JSON.parse(readFileSync(new URL('./fixtures/cctv-ed25519-vectors.json', import.meta.url), 'utf8')) as CctvFile

/** Flags that make keyroom's rule reject a CCTV vector. */
const REJECTING_FLAGS = new Set(['low_order_A', 'low_order_R', 'non_canonical_A', 'non_canonical_R', 'low_order_residue'])

function decisions (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean[] {
  return [
    verifySignature(publicKey, message, signature, { backend: 'native' }),
    verifySignature(publicKey, message, signature, { backend: 'portable' }),
    oracleVerify(publicKey, message, signature)
  ]
}

describe('ed25519-speccheck ("Taming the many EdDSAs") vectors', () => {
  for (const c of SPECCHECK) {
    it(`case ${c.n} (${c.note}): ${c.accept ? 'accepted' : 'rejected'} by both backends`, () => {
      const args = [hex(c.publicKey), hex(c.message), hex(c.signature)] as const
      expect(decisions(...args)).toEqual([c.accept, c.accept, c.accept])
    })
  }

  it('are real edge cases: ZIP-215 (cofactored, lenient) accepts all but the S ≥ L and pre-reduction ones', () => {
    const zip215 = SPECCHECK.map(c => nobleCofactoredAccepts(hex(c.publicKey), hex(c.message), hex(c.signature)))
    expect(zip215).toEqual([true, true, true, true, true, true, false, false, false, true, true, true])
  })
})

describe('C2SP/CCTV ed25519 vectors', () => {
  const vectors = cctv.vectors.map(([k, m, s, bits], number) => {
    const flags = cctv.flags.filter((_, j) => (bits >> j) & 1)
    return {
      number,
      flags,
      publicKey: hex(cctv.keys[k]!),
      message: new TextEncoder().encode(cctv.msgs[m]!),
      signature: hex(cctv.sigs[s]!),
      accept: !flags.some(f => REJECTING_FLAGS.has(f))
    }
  })

  it('loads all 914 vectors, 43 of them acceptable under our rule', () => {
    expect(vectors.length).toBe(914)
    expect(vectors.filter(v => v.accept).length).toBe(43)
  })

  it('both backends and the oracle decide every vector as the flags say', () => {
    const wrong: string[] = []
    for (const v of vectors) {
      const got = decisions(v.publicKey, v.message, v.signature)
      if (got.some(d => d !== v.accept)) wrong.push(`#${v.number} [${v.flags.join(' ')}]: expected ${v.accept}, got native/portable/oracle ${got.join('/')}`)
    }
    expect(wrong).toEqual([])
  })
})
