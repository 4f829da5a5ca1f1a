import { describe, expect, it } from 'vitest'
import { MemoryKv, createMemoryStore } from '../../store/memory.js'
import { makeEvent, storeConformance } from './conformance.js'
import type { StoreHandle } from './conformance.js'
import type { RoomStore } from '../../store/contract.js'

storeConformance('memory', {
  async create (): Promise<StoreHandle> {
    const kv = new MemoryKv()
    let store: RoomStore = await createMemoryStore({ kv })
    const reopen = async (): Promise<RoomStore> => {
      await store.close()
      store = await createMemoryStore({ kv })
      return store
    }
    return {
      get store () { return store },
      reopen,
      async tamper (fn) {
        await store.close()
        kv.acquire()
        try { await fn(kv) } finally { await kv.close() }
        store = await createMemoryStore({ kv })
        return store
      },
      async openConcurrent () { return await createMemoryStore({ kv }) },
      async cleanup () { await store.close() }
    }
  }
})

describe('memory store', () => {
  it('a MemoryKv is the directory: separate ones are separate stores', async () => {
    const a = await createMemoryStore()
    const b = await createMemoryStore()
    await a.writeEvent(makeEvent('!r', '$1', 1))
    expect(await a.hasEvent('$1')).toBe(true)
    expect(await b.hasEvent('$1')).toBe(false)
    await a.close()
    await b.close()
  })
})
