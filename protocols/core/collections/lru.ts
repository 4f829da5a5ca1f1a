/**
 * A map bounded by total weight that evicts its least recently used entries — every cache of
 * keyroom (imported `node:crypto` keys, the store's state roots and state-trie nodes, the node's
 * event positions and event bytes). `Map` keeps insertion order, so re-inserting an entry on
 * access keeps the oldest one first. Deterministic: eviction depends only on the sequence of calls.
 */
export class Lru<V> {
  readonly #map = new Map<string, { value: V, weight: number }>()
  readonly #budget: number
  #total = 0

  /**
   * `budget`: the most total weight held (each entry weighs 1 unless `set` says otherwise, so a
   * budget of N holds N entries); a positive integer, else `RangeError`.
   */
  constructor (budget: number) {
    if (!Number.isInteger(budget) || budget < 1) throw new RangeError('an LRU budget must be a positive integer')
    this.#budget = budget
  }

  /** The budget given at construction. */
  get budget (): number {
    return this.#budget
  }

  /** Entries held. */
  get size (): number {
    return this.#map.size
  }

  /** The value, marking it recently used. */
  get (key: string): V | undefined {
    const hit = this.#map.get(key)
    if (hit === undefined) return undefined
    this.#map.delete(key)
    this.#map.set(key, hit)
    return hit.value
  }

  /** The value, without touching its recency. */
  peek (key: string): V | undefined {
    return this.#map.get(key)?.value
  }

  has (key: string): boolean {
    return this.#map.has(key)
  }

  /** Sets an entry of `weight` (an entry heavier than the whole budget is not kept). */
  set (key: string, value: V, weight = 1): void {
    this.delete(key)
    if (weight > this.#budget) return
    this.#map.set(key, { value, weight })
    this.#total += weight
    while (this.#total > this.#budget) {
      const first = this.#map.entries().next()
      if (first.done === true) break
      this.#map.delete(first.value[0])
      this.#total -= first.value[1].weight
    }
  }

  delete (key: string): boolean {
    const old = this.#map.get(key)
    if (old === undefined) return false
    this.#map.delete(key)
    this.#total -= old.weight
    return true
  }

  clear (): void {
    this.#map.clear()
    this.#total = 0
  }
}
