/**
 * A small least-recently-used map with a fixed capacity.
 *
 * Used for `node:crypto` KeyObjects: importing a raw ed25519 key (DER parse, EVP_PKEY allocation)
 * costs about as much as a verification, and a room sees the same few hundred device keys over and
 * over. A `Map` keeps insertion order, so re-inserting on a hit makes the first key the least
 * recently used one, which is evicted when the map is full.
 */
export class BoundedCache<V> {
  readonly capacity: number
  readonly #map = new Map<string, V>()

  constructor (capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer')
    this.capacity = capacity
  }

  /** Number of entries held. */
  get size (): number {
    return this.#map.size
  }

  /** The value for `key`, marking it most recently used; `undefined` when absent. */
  get (key: string): V | undefined {
    const value = this.#map.get(key)
    if (value !== undefined) {
      this.#map.delete(key)
      this.#map.set(key, value)
    }
    return value
  }

  /** Stores `value`, evicting the least recently used entry when full. */
  set (key: string, value: V): void {
    this.#map.delete(key)
    if (this.#map.size >= this.capacity) {
      const oldest = this.#map.keys().next()
      if (oldest.done !== true) this.#map.delete(oldest.value)
    }
    this.#map.set(key, value)
  }

  /** True when `key` is held (does not change recency). */
  has (key: string): boolean {
    return this.#map.has(key)
  }

  /** Drops every entry. */
  clear (): void {
    this.#map.clear()
  }
}
