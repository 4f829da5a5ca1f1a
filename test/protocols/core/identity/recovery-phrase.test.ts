import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import {
  normaliseRecoveryPhrase, recoveryPhraseToSeed, seedToRecoveryPhrase
} from '../../../../protocols/core/identity/recovery-phrase.js'

const bad = expect.objectContaining({ code: 'ERR_INVALID_RECOVERY_PHRASE' })

describe('recovery phrase', () => {
  it('matches the BIP39 reference vector for 32 bytes of 0x7f', () => {
    // Trezor python-mnemonic vectors.json, entropy 7f…7f (256 bits).
    const seed = new Uint8Array(32).fill(0x7f)
    const phrase = seedToRecoveryPhrase(seed)
    expect(phrase).toBe('legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth title')
    expect(recoveryPhraseToSeed(phrase)).toEqual(seed)
  })

  it('round-trips any 32-byte seed through 24 words', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
      const phrase = seedToRecoveryPhrase(seed)
      expect(phrase.split(' ')).toHaveLength(24)
      expect(recoveryPhraseToSeed(phrase)).toEqual(seed)
    }), { numRuns: 50 })
  })

  it('normalises whitespace and case', () => {
    const seed = Uint8Array.from({ length: 32 }, (_, i) => i)
    const phrase = seedToRecoveryPhrase(seed)
    const messy = '  ' + phrase.toUpperCase().split(' ').join(' \t\n ') + '\r\n'
    expect(normaliseRecoveryPhrase(messy)).toBe(phrase)
    expect(recoveryPhraseToSeed(messy)).toEqual(seed)
  })

  it('refuses seeds of the wrong length', () => {
    expect(() => seedToRecoveryPhrase(new Uint8Array(16))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY_MATERIAL' }))
  })

  it('refuses a wrong word count, unknown words and a bad checksum, naming positions not words', () => {
    const seed = new Uint8Array(32).fill(3)
    const words = seedToRecoveryPhrase(seed).split(' ')
    expect(() => recoveryPhraseToSeed(words.slice(0, 23).join(' '))).toThrow(/expected 24 words.*got 23/)
    expect(() => recoveryPhraseToSeed(words.slice(0, 12).join(' '))).toThrow(bad)
    expect(() => recoveryPhraseToSeed([...words, 'abandon'].join(' '))).toThrow(/got 25/)
    expect(() => recoveryPhraseToSeed('')).toThrow(/got 0/)
    expect(() => recoveryPhraseToSeed(undefined)).toThrow(bad)

    const typo = [...words]
    typo[4] = 'notaword'
    expect(() => recoveryPhraseToSeed(typo.join(' '))).toThrow(bad)
    expect(() => recoveryPhraseToSeed(typo.join(' '))).toThrow(/word 5 of the recovery phrase is not in the BIP39/)
    try {
      recoveryPhraseToSeed(typo.join(' '))
    } catch (err) {
      expect((err as Error).message).not.toContain('notaword')
    }

    // Swap one valid word for another valid word: every word is known but the checksum breaks.
    const swapped = [...words]
    swapped[0] = swapped[0] === wordlist[0] ? wordlist[1]! : wordlist[0]!
    expect(() => recoveryPhraseToSeed(swapped.join(' '))).toThrow(bad)
    expect(() => recoveryPhraseToSeed(swapped.join(' '))).toThrow(/checksum/)
  })

  it('refuses words from another BIP39 language', () => {
    const spanishish = Array.from({ length: 24 }, () => 'ábaco').join(' ')
    expect(() => recoveryPhraseToSeed(spanishish)).toThrow(/words 1, 2, 3/)
  })
})
