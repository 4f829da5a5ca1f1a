import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { describe, expect, it } from 'vitest'
import { LevelKv, openLevelStore } from '../../store/level.js'
import { makeEvent, storeConformance } from './conformance.js'
import type { StoreHandle } from './conformance.js'
import type { RoomStore } from '../../store/contract.js'

storeConformance('level', {
  async create (): Promise<StoreHandle> {
    const dir = await mkdtemp(join(tmpdir(), 'keyroom-store-'))
    let store: RoomStore = await openLevelStore(dir)
    const reopen = async (): Promise<RoomStore> => {
      await store.close()
      store = await openLevelStore(dir)
      return store
    }
    return {
      get store () { return store },
      reopen,
      async tamper (fn) {
        await store.close()
        const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
        await db.open()
        const kv = new LevelKv(db)
        try { await fn(kv) } finally { await kv.close() }
        store = await openLevelStore(dir)
        return store
      },
      async openConcurrent () { return await openLevelStore(dir) },
      async cleanup () {
        await store.close()
        await rm(dir, { recursive: true, force: true })
      }
    }
  }
})

describe('level store', () => {
  it('creates a missing directory (and its parents)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'keyroom-store-'))
    try {
      const store = await openLevelStore(join(root, 'a', 'b', 'db'))
      await store.writeEvent(makeEvent('!r', '$1', 1))
      await store.close()
      const again = await openLevelStore(join(root, 'a', 'b', 'db'))
      expect(await again.hasEvent('$1')).toBe(true)
      await again.close()
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})
