/**
 * The validator's high-water `seq` across restarts: the datastore-backed store round-trips and
 * skips what it cannot read; a validator built on the same store after a "restart" refuses a replay
 * of an older record it has never seen in this process; the memory and the store stay bounded;
 * storage faults are reported and do not stop validation.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { describe, expect, it } from 'vitest'
import {
  createUserRecord, datastoreHighWaterStore, encodeUserRecord, HIGH_WATER_DATASTORE_PREFIX, identityDhtRecords, userRecordKey
} from '../../../protocols/identity-dht/index.js'
import { openLevelStore } from '../../../store/index.js'
import { attest, user } from './fixtures.js'
import type { IdentityDhtRecordsInit, SeqHighWaterStore } from '../../../protocols/identity-dht/index.js'

const alice = user(1)
const bob = user(2)
const carol = user(3)
const rec = (who: { seed: Uint8Array }, seq: number): Uint8Array => encodeUserRecord(createUserRecord({ upkSeed: who.seed, seq, devices: [attest(1, 3)].filter(() => who === alice) }))
const keyOf = (who: { upk: string }): Uint8Array => userRecordKey(who.upk)

function validator (init: IdentityDhtRecordsInit): { validate: (who: { upk: string }, value: Uint8Array) => Promise<void>, records: ReturnType<typeof identityDhtRecords> } {
  const records = identityDhtRecords(init)
  const fn = records.validators.keyroom!
  return { validate: async (who, v) => { await fn(keyOf(who), v) }, records }
}

async function stored (store: SeqHighWaterStore): Promise<Array<readonly [string, number]>> {
  const out: Array<readonly [string, number]> = []
  for await (const pair of await store.load()) out.push(pair)
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

describe('datastoreHighWaterStore', () => {
  it('saves, replaces, forgets, and loads (upk, seq) pairs under its prefix', async () => {
    const datastore = new MemoryDatastore()
    const store = datastoreHighWaterStore(datastore)
    await store.save(alice.upk, 3)
    await store.save(alice.upk, 7)
    await store.save(bob.upk, 1)
    await store.forget(carol.upk)
    expect(new Map(await stored(store))).toEqual(new Map([[alice.upk, 7], [bob.upk, 1]]))
    expect(new TextDecoder().decode(await datastore.get(new Key(`${HIGH_WATER_DATASTORE_PREFIX}/${alice.upk}`)))).toBe('7')
    await store.forget(alice.upk)
    expect(await stored(store)).toEqual([[bob.upk, 1]])
  })

  it('skips keys that are not user IDs and values that are not a seq in its one byte form', async () => {
    const datastore = new MemoryDatastore()
    const put = async (name: string, value: string): Promise<void> => { await datastore.put(new Key(`${HIGH_WATER_DATASTORE_PREFIX}/${name}`), new TextEncoder().encode(value)) }
    await put(alice.upk, '007')
    await put(bob.upk, '0')
    await put(carol.upk, '9007199254740993')
    await put('~not-a-key', '5')
    await put(`${alice.upk}/x`, '5')
    await put(user(4).upk, '-1')
    await put(user(5).upk, '12')
    await datastore.put(new Key(`${HIGH_WATER_DATASTORE_PREFIX}-other/${user(6).upk}`), new TextEncoder().encode('4'))
    expect(await stored(datastoreHighWaterStore(datastore))).toEqual([[user(5).upk, 12]])
  })
})

describe('validator with a high-water store', () => {
  it('a restarted validator refuses a replay of an older record it has not seen since the restart', async () => {
    const datastore = new MemoryDatastore()
    const before = validator({ highWaterStore: datastoreHighWaterStore(datastore) })
    await before.validate(alice, rec(alice, 5))
    await before.records.flush()
    // Restart: a new validator (new memo, new memory) on the same datastore.
    const after = validator({ highWaterStore: datastoreHighWaterStore(datastore) })
    await expect(after.validate(alice, rec(alice, 4))).rejects.toMatchObject({ code: 'ERR_DHT_STALE_RECORD' })
    expect(after.records.highestSeq(alice.upk)).toBe(5)
    await expect(after.validate(alice, rec(alice, 5))).resolves.toBeUndefined()
    // Without the store the same replay passes: the window the store closes.
    const amnesiac = validator({})
    await expect(amnesiac.validate(alice, rec(alice, 4))).resolves.toBeUndefined()
  })

  it('validation waits for the load; load() is shared and idempotent', async () => {
    let release = (): void => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    let loads = 0
    const store: SeqHighWaterStore = {
      load: async () => { loads++; await gate; return [[alice.upk, 9]] },
      save: async () => {},
      forget: async () => {}
    }
    const { validate, records } = validator({ highWaterStore: store })
    let judged = false
    const pending = validate(alice, rec(alice, 8)).finally(() => { judged = true })
    const explicit = records.load()
    await Promise.resolve()
    expect(judged).toBe(false)
    release()
    await expect(pending).rejects.toMatchObject({ code: 'ERR_DHT_STALE_RECORD' })
    await explicit
    await records.load()
    expect(loads).toBe(1)
  })

  it('memory and store stay bounded: an evicted user is forgotten in the store too', async () => {
    const datastore = new MemoryDatastore()
    const store = datastoreHighWaterStore(datastore)
    const { validate, records } = validator({ highWaterStore: store, highWaterEntries: 2 })
    await validate(alice, rec(alice, 1))
    await validate(bob, rec(bob, 1))
    await validate(carol, rec(carol, 2))
    await records.flush()
    expect(records.highestSeq(alice.upk)).toBeUndefined()
    expect((await stored(store)).map(([upk]) => upk).sort()).toEqual([bob.upk, carol.upk].sort())
  })

  it('a store holding more than the bound is trimmed at load', async () => {
    const datastore = new MemoryDatastore()
    const store = datastoreHighWaterStore(datastore)
    for (const [who, seq] of [[alice, 1], [bob, 2], [carol, 3]] as const) await store.save(who.upk, seq)
    const { records } = validator({ highWaterStore: store, highWaterEntries: 2 })
    await records.load()
    await records.flush()
    const kept = await stored(store)
    expect(kept).toHaveLength(2)
    for (const [upk, seq] of kept) expect(records.highestSeq(upk)).toBe(seq)
  })

  it('only raises are written, coalesced per user and in order', async () => {
    const writes: Array<[string, number | null]> = []
    let slow = Promise.resolve()
    const store: SeqHighWaterStore = {
      load: async () => [],
      save: async (upk, seq) => { await slow; writes.push([upk, seq]) },
      forget: async (upk) => { writes.push([upk, null]) }
    }
    const { validate, records } = validator({ highWaterStore: store })
    await records.load()
    let open = (): void => {}
    slow = new Promise(resolve => { open = resolve })
    await validate(alice, rec(alice, 1))
    await validate(alice, rec(alice, 2))
    await validate(alice, rec(alice, 3))
    await validate(alice, rec(alice, 3))
    await validate(bob, rec(bob, 1))
    open()
    await records.flush()
    // The first write (seq 1) was already under way; 2 was replaced by 3 while waiting.
    expect(writes).toEqual([[alice.upk, 1], [alice.upk, 3], [bob.upk, 1]])
  })

  it('storage faults are reported and validation goes on from memory', async () => {
    const errors: string[] = []
    const store: SeqHighWaterStore = {
      load: async () => { throw new Error('disk on fire') },
      save: async () => { throw new Error('disk full') },
      forget: async () => {}
    }
    const { validate, records } = validator({ highWaterStore: store, onStoreError: (err) => { errors.push((err as Error).message) } })
    await expect(validate(alice, rec(alice, 2))).resolves.toBeUndefined()
    await expect(validate(alice, rec(alice, 1))).rejects.toMatchObject({ code: 'ERR_DHT_STALE_RECORD' })
    await records.flush()
    expect(errors).toEqual(['disk on fire', 'disk full'])
  })
})

describe('on the node\'s own datastore (LevelDB)', () => {
  it('a validator on a reopened data directory still refuses the replay', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyroom-high-water-'))
    try {
      const first = await openLevelStore(dir)
      const before = validator({ highWaterStore: datastoreHighWaterStore(first.datastore) })
      await before.validate(alice, rec(alice, 3))
      await before.records.flush()
      await first.close()
      const second = await openLevelStore(dir)
      try {
        const after = validator({ highWaterStore: datastoreHighWaterStore(second.datastore) })
        await expect(after.validate(alice, rec(alice, 2))).rejects.toMatchObject({ code: 'ERR_DHT_STALE_RECORD' })
      } finally {
        await second.close()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
