/**
 * The recovery phrase: the UPK seed written as 24 BIP39 English words (DESIGN §1: "Its seed is
 * shown once as a recovery phrase (BIP39 words) and is enough to restore the identity on any
 * device").
 *
 * The phrase encodes the 32-byte ed25519 seed itself as BIP39 *entropy* (256 bits + an 8-bit
 * checksum = 24 × 11 bits). It does not go through BIP39's PBKDF2 `mnemonicToSeed`: the words are
 * the key, reversibly, so a phrase can be shown again from a stored seed and the same words
 * always give the same UPK.
 *
 * Input is normalised before decoding — surrounding and repeated whitespace (spaces, tabs, line
 * breaks) collapse, and ASCII letters are lower-cased — because people copy phrases from paper,
 * password managers and chat windows. Nothing else is repaired: an unknown word, a wrong word
 * count or a checksum mismatch is an `ERR_INVALID_RECOVERY_PHRASE`. Error messages name word
 * positions, never the words, so a phrase does not leak into logs.
 */
import { entropyToMnemonic, mnemonicToEntropy } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { ErrorCode, KeyroomError } from '../errors.js'

/** Words in a recovery phrase: 32 bytes of seed = 256 bits + 8 checksum bits = 24 × 11 bits. */
export const RECOVERY_PHRASE_WORDS = 24

/** Length of the seed a recovery phrase encodes. */
export const RECOVERY_SEED_LENGTH = 32

const WORDS = new Set(wordlist)

/** Formats a 32-byte UPK seed as its 24-word recovery phrase (single spaces, lower case). */
export function seedToRecoveryPhrase (seed: Uint8Array): string {
  if (!(seed instanceof Uint8Array) || seed.length !== RECOVERY_SEED_LENGTH) {
    throw new KeyroomError(ErrorCode.InvalidKeyMaterial, `a recovery phrase encodes a ${RECOVERY_SEED_LENGTH}-byte seed`)
  }
  return entropyToMnemonic(seed, wordlist)
}

/**
 * Normalises a recovery phrase as typed: collapses whitespace, lower-cases ASCII letters. Returns
 * the words joined by single spaces; does not check them.
 */
export function normaliseRecoveryPhrase (phrase: string): string {
  // toLowerCase on the BIP39 English alphabet (a–z) is locale-independent; non-ASCII input is
  // left for the word check to refuse.
  return phrase.trim().split(/\s+/u).filter((w) => w.length > 0).join(' ').toLowerCase()
}

/** Parses a recovery phrase back into the 32-byte UPK seed; throws `ERR_INVALID_RECOVERY_PHRASE`. */
export function recoveryPhraseToSeed (phrase: unknown): Uint8Array {
  if (typeof phrase !== 'string') {
    throw new KeyroomError(ErrorCode.InvalidRecoveryPhrase, 'the recovery phrase must be text')
  }
  const normal = normaliseRecoveryPhrase(phrase)
  const words = normal.length === 0 ? [] : normal.split(' ')
  if (words.length !== RECOVERY_PHRASE_WORDS) {
    throw new KeyroomError(ErrorCode.InvalidRecoveryPhrase,
      `expected ${RECOVERY_PHRASE_WORDS} words in the recovery phrase, got ${words.length}`)
  }
  const unknown: number[] = []
  words.forEach((w, i) => { if (!WORDS.has(w)) unknown.push(i + 1) })
  if (unknown.length > 0) {
    throw new KeyroomError(ErrorCode.InvalidRecoveryPhrase,
      `${unknown.length === 1 ? 'word' : 'words'} ${unknown.join(', ')} of the recovery phrase ` +
      `${unknown.length === 1 ? 'is' : 'are'} not in the BIP39 English word list`)
  }
  let seed: Uint8Array
  try {
    seed = mnemonicToEntropy(normal, wordlist)
  } catch (cause) {
    // Every word is known and the count is right, so the library can only object to the checksum.
    throw new KeyroomError(ErrorCode.InvalidRecoveryPhrase,
      'the recovery phrase checksum does not match: a word is probably mistyped or out of order', { cause })
  }
  return seed
}
