/**
 * A tiny seeded PRNG for the fuzzer: xoshiro128** (Blackman & Vigna, "Scrambled linear
 * pseudorandom number generators", 2018), seeded through splitmix32 so that nearby seeds
 * (1, 2, 3…) give unrelated streams. No `Math.random` anywhere in the fuzzer: a seed names one
 * action script, always the same.
 */

/** A seeded pseudo-random stream with the few draws the fuzzer needs. */
export class Prng {
  readonly #s = new Uint32Array(4)

  /** A stream for `seed` (any safe integer; its low and high 32 bits both count). */
  constructor (seed: number) {
    if (!Number.isSafeInteger(seed)) throw new Error(`a seed is a safe integer, got ${seed}`)
    // splitmix32 over the seed's two halves fills the state; never all zero (xoshiro's one bad state).
    let x = (seed >>> 0) ^ Math.floor(seed / 2 ** 32) * 0x9e3779b9
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0
      let z = x
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      this.#s[i] = (z ^ (z >>> 16)) >>> 0
    }
    if (this.#s.every(v => v === 0)) this.#s[0] = 1
  }

  /** The next 32-bit unsigned integer (xoshiro128**). */
  nextU32 (): number {
    const s = this.#s
    let s0 = s[0]!
    let s1 = s[1]!
    let s2 = s[2]!
    let s3 = s[3]!
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0
    const t = (s1 << 9) >>> 0
    s2 = (s2 ^ s0) >>> 0
    s3 = (s3 ^ s1) >>> 0
    s1 = (s1 ^ s2) >>> 0
    s0 = (s0 ^ s3) >>> 0
    s2 = (s2 ^ t) >>> 0
    s3 = rotl(s3, 11)
    s[0] = s0
    s[1] = s1
    s[2] = s2
    s[3] = s3
    return result
  }

  /** A float in [0, 1) with 32 bits of randomness. */
  next (): number {
    return this.nextU32() / 2 ** 32
  }

  /** An integer in [min, max] (inclusive), without modulo bias worth caring about at these sizes. */
  int (min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) throw new Error(`bad range [${min}, ${max}]`)
    return min + Math.floor(this.next() * (max - min + 1))
  }

  /** True with probability `p`. */
  chance (p: number): boolean {
    return this.next() < p
  }

  /** One element of a non-empty list. */
  pick<T> (items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[this.int(0, items.length - 1)]!
  }

  /** One key of `weights` (weight ≥ 0, at least one > 0), in proportion to its weight. */
  weighted<K extends string> (weights: Readonly<Record<K, number>>): K {
    // Keys in code-point order, so the draw does not depend on how the object was written.
    const keys = (Object.keys(weights) as K[]).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    const total = keys.reduce((sum, k) => sum + Math.max(0, weights[k]), 0)
    if (!(total > 0)) throw new Error('weighted pick with no positive weight')
    let r = this.next() * total
    for (const k of keys) {
      r -= Math.max(0, weights[k])
      if (r < 0) return k
    }
    return keys[keys.length - 1]!
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffle<T> (items: readonly T[]): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i)
      const tmp = out[i]!
      out[i] = out[j]!
      out[j] = tmp
    }
    return out
  }
}

function rotl (x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}
