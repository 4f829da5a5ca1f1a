/**
 * Group commit, observed at the key-value layer: how many batches, how big, and when the callers'
 * promises resolve relative to the batch write.
 */
import { describe, expect, it } from 'vitest'
import { MemoryKv } from '../../store/memory.js'
import { openKvRoomStore } from '../../store/room-store.js'
import { Table } from '../../store/keys.js'
import { makeEvent } from './conformance.js'
import type { KvOp } from '../../store/kv.js'

/** A MemoryKv that records each batch and can hold or fail the next writes. */
class WatchedKv extends MemoryKv {
  readonly batches: Array<{ events: number, sync: boolean }> = []
  hold?: Promise<void>
  failNext = false

  override async write (ops: readonly KvOp[], options: { sync: boolean }): Promise<void> {
    this.batches.push({ events: ops.filter(o => o.key[0] === Table.Event).length, sync: options.sync })
    if (this.hold !== undefined) await this.hold
    if (this.failNext) { this.failNext = false; throw new Error('disk full') }
    await super.write(ops, options)
  }
}

async function open (init: Parameters<typeof openKvRoomStore>[1] = {}): Promise<{ kv: WatchedKv, store: Awaited<ReturnType<typeof openKvRoomStore>> }> {
  const kv = new WatchedKv()
  kv.acquire()
  const store = await openKvRoomStore(kv, init)
  kv.batches.length = 0
  return { kv, store }
}

describe('group commit', () => {
  it('coalesces writes issued together into one fsynced batch', async () => {
    const { kv, store } = await open()
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.writeEvent(makeEvent('!r', `$${i}`, i))))
    expect(kv.batches).toEqual([{ events: 100, sync: true }])
    await store.close()
  })

  it('a caller that awaits each write gets batches of one', async () => {
    const { kv, store } = await open()
    for (let i = 0; i < 5; i++) await store.writeEvent(makeEvent('!r', `$${i}`, i))
    expect(kv.batches.map(b => b.events)).toEqual([1, 1, 1, 1, 1])
    await store.close()
  })

  it('bounds a batch by write count and by event bytes', async () => {
    const byCount = await open({ maxBatchWrites: 16 })
    await Promise.all(Array.from({ length: 100 }, (_, i) => byCount.store.writeEvent(makeEvent('!r', `$${i}`, i))))
    expect(byCount.kv.batches.map(b => b.events)).toEqual([16, 16, 16, 16, 16, 16, 4])
    await byCount.store.close()

    const bySize = await open({ maxBatchBytes: 10_000, sync: false })
    const big = (i: number): ReturnType<typeof makeEvent> => ({ ...makeEvent('!r', `$${i}`, i), bytes: new Uint8Array(3000).fill(i) })
    await Promise.all(Array.from({ length: 10 }, (_, i) => bySize.store.writeEvent(big(i))))
    expect(bySize.kv.batches.map(b => b.events)).toEqual([3, 3, 3, 1])
    expect(bySize.kv.batches.every(b => !b.sync)).toBe(true)
    // One event larger than the budget still goes through, alone.
    await bySize.store.writeEvent({ ...makeEvent('!r', '$huge', 99), bytes: new Uint8Array(50_000) })
    expect(bySize.kv.batches.at(-1)?.events).toBe(1)
    await bySize.store.close()
  })

  it('resolves a write only after its batch is written; later calls queue for the next batch', async () => {
    const { kv, store } = await open()
    let release!: () => void
    kv.hold = new Promise(r => { release = r })
    let resolved = false
    const first = store.writeEvent(makeEvent('!r', '$1', 1)).then(() => { resolved = true })
    await new Promise(r => setTimeout(r, 20))
    expect(kv.batches).toHaveLength(1)
    expect(resolved).toBe(false)
    const later = Array.from({ length: 10 }, (_, i) => store.writeEvent(makeEvent('!r', `$later${i}`, 2 + i)))
    kv.hold = undefined
    release()
    await first
    await Promise.all(later)
    expect(kv.batches.map(b => b.events)).toEqual([1, 10])
    await store.close()
  })

  it('a failed batch write rejects every write in it; the store goes on working', async () => {
    const { kv, store } = await open()
    kv.failNext = true
    const withState = (i: number): ReturnType<typeof makeEvent> => makeEvent('!r', `$${i}`, i, { state: { base: null, changes: new Map([['k', `$${i}`]]) } })
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => store.writeEvent(withState(i))))
    expect(results.map(r => r.status)).toEqual(Array(5).fill('rejected'))
    expect(await store.hasEvent('$0')).toBe(false)
    // The retry must write the state nodes again: nothing of the failed batch may be assumed stored.
    expect(await store.writeEvent(withState(0))).toEqual({ written: true })
    await store.close()
    kv.acquire()
    const reopened = await openKvRoomStore(kv)
    expect(await reopened.getStateAt('$0')).toEqual(new Map([['k', '$0']]))
    await reopened.close()
  })
})
