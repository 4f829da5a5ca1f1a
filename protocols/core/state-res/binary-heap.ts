/**
 * A binary min-heap with an explicit comparator (no default ordering anywhere): Kahn's algorithm
 * in state resolution pops the smallest ready event in O(log n); the sync server's ancestor walk
 * (node/departed-access.ts) takes the deepest event first.
 */
export class BinaryHeap<T> {
  readonly #items: T[] = []
  readonly #less: (a: T, b: T) => boolean

  /** @param compare - negative when `a` must come out before `b`; a total order. */
  constructor (compare: (a: T, b: T) => number) {
    this.#less = (a, b) => compare(a, b) < 0
  }

  get size (): number {
    return this.#items.length
  }

  /** The smallest item, left in place; `undefined` when empty. */
  peek (): T | undefined {
    return this.#items[0]
  }

  push (item: T): void {
    const items = this.#items
    items.push(item)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.#less(items[i]!, items[parent]!)) break
      ;[items[i], items[parent]] = [items[parent]!, items[i]!]
      i = parent
    }
  }

  /** Remove and return the smallest item, or `undefined` when empty. */
  pop (): T | undefined {
    const items = this.#items
    if (items.length === 0) return undefined
    const top = items[0]
    const last = items.pop()!
    if (items.length > 0) {
      items[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < items.length && this.#less(items[l]!, items[m]!)) m = l
        if (r < items.length && this.#less(items[r]!, items[m]!)) m = r
        if (m === i) break
        ;[items[i], items[m]] = [items[m]!, items[i]!]
        i = m
      }
    }
    return top
  }
}
