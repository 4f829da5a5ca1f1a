import { describe, expect, it } from 'vitest'
import { Lru } from '../../../../protocols/core/collections/lru.js'

describe('Lru', () => {
  it('evicts the least recently used entries once the total weight passes the budget', () => {
    const lru = new Lru<number>(3)
    lru.set('a', 1)
    lru.set('b', 2)
    lru.set('c', 3)
    expect(lru.get('a')).toBe(1) // a is now the most recent
    lru.set('d', 4)
    expect(lru.has('b')).toBe(false)
    expect([lru.has('a'), lru.has('c'), lru.has('d')]).toEqual([true, true, true])
    expect(lru.size).toBe(3)
  })

  it('weighs entries: a heavy entry evicts several, one heavier than the budget is not kept', () => {
    const lru = new Lru<string>(10)
    lru.set('a', 'x', 4)
    lru.set('b', 'y', 4)
    lru.set('c', 'z', 6)
    expect(lru.has('a')).toBe(false)
    expect(lru.has('b')).toBe(true)
    lru.set('huge', 'w', 11)
    expect(lru.has('huge')).toBe(false)
    expect(lru.has('b') && lru.has('c')).toBe(true)
  })

  it('peek does not refresh recency; set replaces and re-weighs; delete and clear free the budget', () => {
    const lru = new Lru<number>(2)
    lru.set('a', 1)
    lru.set('b', 2)
    expect(lru.peek('a')).toBe(1)
    lru.set('c', 3) // a was only peeked: it goes first
    expect(lru.has('a')).toBe(false)
    lru.set('b', 20, 2) // replaces b, which now fills the budget alone
    expect(lru.has('c')).toBe(false)
    expect(lru.get('b')).toBe(20)
    expect(lru.delete('b')).toBe(true)
    expect(lru.delete('b')).toBe(false)
    lru.set('x', 1)
    lru.set('y', 1)
    lru.clear()
    expect(lru.size).toBe(0)
    lru.set('z', 1, 2)
    expect(lru.get('z')).toBe(1)
  })
})

describe('Lru budget', () => {
  it('refuses a budget that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new Lru(bad)).toThrow(RangeError)
    expect(new Lru(7).budget).toBe(7)
  })
})
