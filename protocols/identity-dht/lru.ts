/**
 * A bounded map that drops its least recently used entry when full. `Map` keeps insertion order,
 * so re-inserting on access keeps the oldest entry first.
 */
export class LruMap<K, V> {
  readonly #entries = new Map<K, V>()
  readonly #capacity: number

  constructor (capacity: number) {
    this.#capacity = Math.max(1, capacity)
  }

  get size (): number {
    return this.#entries.size
  }

  /** The value, marking it recently used. */
  get (key: K): V | undefined {
    const value = this.#entries.get(key)
    if (value !== undefined) {
      this.#entries.delete(key)
      this.#entries.set(key, value)
    }
    return value
  }

  /** The value, without touching its recency. */
  peek (key: K): V | undefined {
    return this.#entries.get(key)
  }

  /** Sets the value, marking it recently used; returns the key dropped to make room, if any. */
  set (key: K, value: V): K | undefined {
    this.#entries.delete(key)
    this.#entries.set(key, value)
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next()
      if (oldest.done !== true) {
        this.#entries.delete(oldest.value)
        return oldest.value
      }
    }
    return undefined
  }

  delete (key: K): boolean {
    return this.#entries.delete(key)
  }

  clear (): void {
    this.#entries.clear()
  }

  keys (): IterableIterator<K> {
    return this.#entries.keys()
  }
}
