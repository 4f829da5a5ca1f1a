import fc from 'fast-check'
import { Key } from 'interface-datastore'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { utf8 } from '../../store/codec.js'
import { KvDatastore, sublevelPrefix } from '../../store/datastore.js'
import { MemoryKv, createMemoryStore } from '../../store/memory.js'
import { WRITE_BEHIND_FLUSH_MS, WriteBehindDatastore } from '../../store/write-behind.js'
import type { WriteBehindInit } from '../../store/write-behind.js'
import type { Batch, Pair } from 'interface-datastore'

const k = (s: string): Key => new Key(s)
const bytes = (s: string): Uint8Array => utf8(s)

async function collect<T> (it: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

/** The inner datastore (the real adapter over an in-memory kv), with its calls counted. */
function setup (init: WriteBehindInit = {}): {
  inner: KvDatastore
  ds: WriteBehindDatastore
  calls: { put: number, get: number, delete: number, commits: number, committedOps: number }
  failNextCommit: () => void
  /** Until the returned function is called, the inner datastore's gets / commits wait. */
  hold: (what: 'get' | 'commit') => () => void
} {
  const kv = new MemoryKv()
  kv.acquire()
  const inner = new KvDatastore(kv, sublevelPrefix('datastore'))
  const calls = { put: 0, get: 0, delete: 0, commits: 0, committedOps: 0 }
  let fail = false
  const gates: { get?: Promise<void>, commit?: Promise<void> } = {}
  const hold = (what: 'get' | 'commit'): () => void => {
    const { promise, resolve } = Promise.withResolvers<void>()
    gates[what] = promise
    return () => { delete gates[what]; resolve() }
  }
  const put = inner.put.bind(inner)
  const get = inner.get.bind(inner)
  const del = inner.delete.bind(inner)
  const batch = inner.batch.bind(inner)
  inner.put = async (...args) => { calls.put++; return await put(...args) }
  inner.get = async (...args) => { calls.get++; const gate = gates.get; const v = get(...args); await gate; return await v }
  inner.delete = async (...args) => { calls.delete++; await del(...args) }
  inner.batch = (): Batch => {
    const b = batch()
    let n = 0
    return {
      put: (key, value) => { n++; b.put(key, value) },
      delete: (key) => { n++; b.delete(key) },
      commit: async (options) => {
        const failing = fail
        fail = false
        const gate = gates.commit
        delete gates.commit // only the next commit waits
        await gate
        if (failing) throw new Error('disk full')
        calls.commits++
        calls.committedOps += n
        await b.commit(options)
      }
    }
  }
  return { inner, ds: new WriteBehindDatastore(inner, init), calls, failNextCommit: () => { fail = true }, hold }
}

/** What the inner datastore holds, read without the counters. */
async function stored (inner: KvDatastore): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const p of await collect<Pair>(inner.query({}))) out[p.key.toString()] = new TextDecoder().decode(p.value)
  return out
}

afterEach(() => { vi.useRealTimers() })

describe('WriteBehindDatastore', () => {
  it('coalesces writes per key: nothing is written until a flush, then one batch with the last value of each key', async () => {
    const { ds, inner, calls } = setup()
    await ds.put(k('/peers/a'), bytes('a1'))
    await ds.put(k('/peers/a'), bytes('a2'))
    await ds.put(k('/peers/b'), bytes('b1'))
    await ds.put(k('/peers/a'), bytes('a3'))
    expect(calls).toMatchObject({ put: 0, commits: 0 })
    expect(ds.pendingCount).toBe(2)
    expect(await stored(inner)).toEqual({})
    await ds.flush()
    expect(calls).toMatchObject({ put: 0, commits: 1, committedOps: 2 })
    expect(await stored(inner)).toEqual({ '/peers/a': 'a3', '/peers/b': 'b1' })
    expect(ds.pendingCount).toBe(0)
    await ds.flush() // nothing pending: no empty batch
    expect(calls.commits).toBe(1)
  })

  it('answers reads from memory once a key is read or written, absences included', async () => {
    const { ds, inner, calls } = setup()
    await inner.put(k('/peers/old'), bytes('stored'))
    calls.put = 0
    await ds.put(k('/peers/new'), bytes('fresh'))
    expect(await ds.get(k('/peers/new'))).toEqual(bytes('fresh'))
    expect(await ds.has(k('/peers/new'))).toBe(true)
    expect(calls.get).toBe(0)
    expect(await ds.get(k('/peers/old'))).toEqual(bytes('stored'))
    expect(await ds.get(k('/peers/old'))).toEqual(bytes('stored'))
    expect(calls.get).toBe(1)
    await expect(ds.get(k('/peers/none'))).rejects.toMatchObject({ name: 'NotFoundError' })
    expect(await ds.has(k('/peers/none'))).toBe(false)
    await expect(ds.get(k('/peers/none'))).rejects.toMatchObject({ name: 'NotFoundError' })
    expect(calls.get).toBe(2)
    expect(ds.stats.misses).toBe(2)
  })

  it('copies: changing a buffer after put, or one returned by get, changes nothing stored', async () => {
    const { ds, inner } = setup()
    const value = bytes('abc')
    await ds.put(k('/peers/a'), value)
    value[0] = 0x7a
    const got = await ds.get(k('/peers/a'))
    expect(got).toEqual(bytes('abc'))
    got[1] = 0x7a
    expect(await ds.get(k('/peers/a'))).toEqual(bytes('abc'))
    await ds.flush()
    expect(await stored(inner)).toEqual({ '/peers/a': 'abc' })
  })

  it('a put of the bytes a key holds (stored or pending) writes nothing', async () => {
    const { ds, inner, calls } = setup()
    await inner.put(k('/peers/a'), bytes('same'))
    await ds.get(k('/peers/a'))
    await ds.put(k('/peers/a'), bytes('same'))
    expect(ds.pendingCount).toBe(0)
    await ds.put(k('/peers/b'), bytes('x'))
    await ds.put(k('/peers/b'), bytes('x'))
    await ds.flush()
    await ds.put(k('/peers/b'), bytes('x')) // equal to what the flush wrote
    await ds.delete(k('/peers/gone'))
    await ds.flush()
    await ds.delete(k('/peers/gone')) // known absent
    expect(ds.stats).toMatchObject({ writes: 6, unchanged: 4 })
    expect(ds.pendingCount).toBe(0)
    expect(calls).toMatchObject({ commits: 2, committedOps: 2 })
    // A different length or a different byte is a change.
    await ds.put(k('/peers/b'), bytes('xy'))
    await ds.put(k('/peers/a'), bytes('samf'))
    expect(ds.pendingCount).toBe(2)
  })

  it('a delete after a put wins, also against the stored value and across a flush in progress', async () => {
    const { ds, inner } = setup()
    await inner.put(k('/peers/s'), bytes('stored'))
    await ds.put(k('/peers/s'), bytes('newer'))
    await ds.delete(k('/peers/s'))
    await ds.put(k('/peers/p'), bytes('p'))
    await ds.delete(k('/peers/p'))
    await expect(ds.get(k('/peers/s'))).rejects.toMatchObject({ name: 'NotFoundError' })
    expect(await ds.has(k('/peers/p'))).toBe(false)
    await ds.flush()
    expect(await stored(inner)).toEqual({})
    // put → flush starts → delete → flush: the delete lands after the put.
    await ds.put(k('/peers/r'), bytes('r'))
    const first = ds.flush()
    await ds.delete(k('/peers/r'))
    expect(await ds.has(k('/peers/r'))).toBe(false)
    await Promise.all([first, ds.flush()])
    expect(await stored(inner)).toEqual({})
    // And a put after a delete of a stored key.
    await inner.put(k('/peers/t'), bytes('old'))
    await ds.delete(k('/peers/t'))
    await ds.put(k('/peers/t'), bytes('new'))
    await ds.flush()
    expect(await stored(inner)).toEqual({ '/peers/t': 'new' })
  })

  it('the LRU holds at most maxEntries keys; pending writes are never evicted', async () => {
    const { ds, inner, calls } = setup({ maxEntries: 2 })
    for (const s of ['a', 'b', 'c']) await inner.put(k(`/peers/${s}`), bytes(s))
    for (const s of ['a', 'b', 'c']) await ds.get(k(`/peers/${s}`))
    expect(calls.get).toBe(3)
    await ds.get(k('/peers/c'))
    await ds.get(k('/peers/b'))
    expect(calls.get).toBe(3)
    await ds.get(k('/peers/a')) // evicted: read again
    expect(calls.get).toBe(4)
    // Five pending writes, two cache slots: every one is still read back and written.
    for (let i = 0; i < 5; i++) await ds.put(k(`/peers/w${i}`), bytes(`w${i}`))
    for (let i = 0; i < 5; i++) expect(await ds.get(k(`/peers/w${i}`))).toEqual(bytes(`w${i}`))
    expect(calls.get).toBe(4)
    await ds.flush()
    expect(Object.keys(await stored(inner))).toHaveLength(8)
  })

  it('flushes on a timer: one batch WRITE_BEHIND_FLUSH_MS after the first pending write', async () => {
    vi.useFakeTimers()
    const { ds, inner, calls } = setup()
    await ds.put(k('/peers/a'), bytes('1'))
    await vi.advanceTimersByTimeAsync(WRITE_BEHIND_FLUSH_MS - 1000)
    await ds.put(k('/peers/b'), bytes('2'))
    await vi.advanceTimersByTimeAsync(999)
    expect(calls.commits).toBe(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(calls).toMatchObject({ commits: 1, committedOps: 2 })
    expect(await stored(inner)).toEqual({ '/peers/a': '1', '/peers/b': '2' })
    await vi.advanceTimersByTimeAsync(WRITE_BEHIND_FLUSH_MS * 3) // idle: no timer, no batch
    expect(calls.commits).toBe(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a timed flush that fails is retried one period later', async () => {
    vi.useFakeTimers()
    const { ds, inner, calls, failNextCommit } = setup()
    await ds.put(k('/peers/a'), bytes('1'))
    failNextCommit()
    await vi.advanceTimersByTimeAsync(WRITE_BEHIND_FLUSH_MS)
    expect(calls.commits).toBe(0)
    expect(ds.pendingCount).toBe(1)
    await vi.advanceTimersByTimeAsync(WRITE_BEHIND_FLUSH_MS)
    expect(calls.commits).toBe(1)
    expect(await stored(inner)).toEqual({ '/peers/a': '1' })
  })

  it('flushes early once maxPending keys are pending', async () => {
    const { ds, calls } = setup({ maxPending: 3 })
    await ds.put(k('/peers/a'), bytes('1'))
    await ds.put(k('/peers/b'), bytes('2'))
    expect(calls.commits).toBe(0)
    await ds.put(k('/peers/c'), bytes('3'))
    await vi.waitFor(() => { expect(calls).toMatchObject({ commits: 1, committedOps: 3 }) })
  })

  it('close flushes, and later operations pass straight through', async () => {
    vi.useFakeTimers()
    const { ds, inner, calls } = setup()
    await ds.put(k('/peers/a'), bytes('1'))
    await ds.close()
    expect(vi.getTimerCount()).toBe(0)
    expect(await stored(inner)).toEqual({ '/peers/a': '1' })
    await ds.put(k('/peers/b'), bytes('2'))
    expect(calls.put).toBe(1)
    expect(ds.pendingCount).toBe(0)
  })

  it('a failed flush keeps its writes pending (a newer write of a key wins) and the next flush writes them', async () => {
    const { ds, inner, failNextCommit } = setup()
    await ds.put(k('/peers/a'), bytes('a1'))
    await ds.put(k('/peers/b'), bytes('b1'))
    failNextCommit()
    const failing = ds.flush()
    await ds.put(k('/peers/b'), bytes('b2'))
    await expect(failing).rejects.toThrow('disk full')
    expect(ds.pendingCount).toBe(2)
    expect(await ds.get(k('/peers/b'))).toEqual(bytes('b2'))
    await ds.flush()
    expect(await stored(inner)).toEqual({ '/peers/a': 'a1', '/peers/b': 'b2' })
  })

  it('flushes run one after another: a slow failing flush neither brings back a replaced value nor loses a key', async () => {
    const { ds, inner, failNextCommit, hold } = setup()
    await ds.put(k('/peers/a'), bytes('a1'))
    await ds.put(k('/peers/b'), bytes('b1'))
    failNextCommit()
    const release = hold('commit')
    const failing = ds.flush()
    await ds.put(k('/peers/a'), bytes('a2'))
    const second = ds.flush()
    release()
    await expect(failing).rejects.toThrow('disk full')
    await second
    await ds.flush()
    expect(await stored(inner)).toEqual({ '/peers/a': 'a2', '/peers/b': 'b1' })
    expect(await ds.get(k('/peers/a'))).toEqual(bytes('a2'))
  })

  it('a write that races a read from the inner datastore is what the read returns and what stays cached', async () => {
    const { ds, inner, hold } = setup()
    await inner.put(k('/peers/a'), bytes('old'))
    const release = hold('get')
    const reading = ds.get(k('/peers/a'))
    await ds.put(k('/peers/a'), bytes('new'))
    release()
    expect(await reading).toEqual(bytes('new'))
    expect(await ds.get(k('/peers/a'))).toEqual(bytes('new'))
  })

  it('close never rejects: a failed last flush loses only the peer records', async () => {
    const { ds, inner, failNextCommit } = setup()
    await ds.put(k('/peers/a'), bytes('a1'))
    failNextCommit()
    await expect(ds.close()).resolves.toBeUndefined()
    expect(ds.pendingCount).toBe(0)
    expect(await stored(inner)).toEqual({})
  })

  it('other keys pass through at once, unchanged', async () => {
    const { ds, inner, calls } = setup()
    await ds.put(k('/keyroom/kad/x'), bytes('dht'))
    await ds.put(k('/keyroom/dht-seq/y'), bytes('seq'))
    await ds.put(k('/peersx'), bytes('not a peer key'))
    expect(calls.put).toBe(3)
    expect(ds.pendingCount).toBe(0)
    expect(await stored(inner)).toEqual({ '/keyroom/kad/x': 'dht', '/keyroom/dht-seq/y': 'seq', '/peersx': 'not a peer key' })
    expect(await ds.get(k('/keyroom/kad/x'))).toEqual(bytes('dht'))
    expect(await ds.has(k('/keyroom/kad/x'))).toBe(true)
    await ds.delete(k('/keyroom/kad/x'))
    expect(calls).toMatchObject({ get: 1, delete: 1 })
    await expect(ds.get(k('/keyroom/kad/x'))).rejects.toMatchObject({ name: 'NotFoundError' })
  })

  it('a batch sends peer keys to the cache and commits the others together', async () => {
    const { ds, inner, calls } = setup()
    await inner.put(k('/keyroom/kad/old'), bytes('old'))
    const b = ds.batch()
    b.put(k('/peers/a'), bytes('a'))
    b.put(k('/keyroom/kad/x'), bytes('x'))
    b.delete(k('/keyroom/kad/old'))
    await b.commit()
    expect(calls).toMatchObject({ commits: 1, committedOps: 2 })
    expect(await stored(inner)).toEqual({ '/keyroom/kad/x': 'x' })
    expect(ds.pendingCount).toBe(1)
    const peersOnly = ds.batch()
    peersOnly.delete(k('/peers/a'))
    await peersOnly.commit()
    expect(calls.commits).toBe(1) // no empty batch for the other keys
    expect(await ds.has(k('/peers/a'))).toBe(false)
  })

  it('queries flush first, so they see pending writes; a query of other keys leaves them pending', async () => {
    const { ds } = setup()
    await ds.put(k('/keyroom/kad/x'), bytes('x'))
    await ds.put(k('/peers/a'), bytes('a'))
    await ds.put(k('/peers/b'), bytes('b'))
    await ds.delete(k('/peers/b'))
    expect((await collect(ds.queryKeys({ prefix: '/keyroom' }))).map(String)).toEqual(['/keyroom/kad/x'])
    expect(ds.pendingCount).toBe(2)
    const peers = await collect(ds.query({ prefix: '/peers/' }))
    expect(peers.map(p => [p.key.toString(), new TextDecoder().decode(p.value)])).toEqual([['/peers/a', 'a']])
    expect(ds.pendingCount).toBe(0)
    await ds.put(k('/peers/c'), bytes('c'))
    expect((await collect(ds.queryKeys({}))).map(String).sort()).toEqual(['/keyroom/kad/x', '/peers/a', '/peers/c'])
    await ds.put(k('/peers/d'), bytes('d'))
    expect((await collect(ds.query({ prefix: '/pe', limit: 10, filters: [p => p.key.toString() !== '/peers/a'] }))).map(p => p.key.toString()).sort())
      .toEqual(['/peers/c', '/peers/d'])
  })

  it('honours abort signals on cached keys', async () => {
    const { ds } = setup()
    const signal = AbortSignal.abort()
    await expect(ds.put(k('/peers/a'), bytes('a'), { signal })).rejects.toThrow(/abort/)
    await expect(ds.get(k('/peers/a'), { signal })).rejects.toThrow(/abort/)
    await expect(ds.has(k('/peers/a'), { signal })).rejects.toThrow(/abort/)
    await expect(ds.delete(k('/peers/a'), { signal })).rejects.toThrow(/abort/)
    expect(ds.pendingCount).toBe(0)
  })

  it('the room store flushes the peer records when it closes: a reopened store reads them', async () => {
    const kv = new MemoryKv()
    const store = await createMemoryStore({ kv })
    await store.datastore.put(k('/peers/abc'), Uint8Array.of(1, 2, 3))
    await store.close()
    const reopened = await createMemoryStore({ kv })
    try {
      expect(await reopened.datastore.get(k('/peers/abc'))).toEqual(Uint8Array.of(1, 2, 3))
    } finally {
      await reopened.close()
    }
  })

  it('behaves like a plain map under any sequence of puts, deletes, reads and flushes (model test)', async () => {
    const keyArb = fc.constantFrom('/peers/a', '/peers/b', '/peers/c', '/peers/d', '/keyroom/kad/e')
    const opArb = fc.oneof(
      fc.record({ op: fc.constant('put' as const), key: keyArb, value: fc.constantFrom('1', '2', '3') }),
      fc.record({ op: fc.constant('delete' as const), key: keyArb }),
      fc.record({ op: fc.constant('get' as const), key: keyArb }),
      fc.record({ op: fc.constant('flush' as const) }),
      fc.record({ op: fc.constant('flushInFlight' as const) })
    )
    await fc.assert(fc.asyncProperty(
      fc.dictionary(keyArb, fc.constantFrom('1', '2', '3')),
      fc.array(opArb, { maxLength: 40 }),
      fc.integer({ min: 1, max: 4 }),
      async (initial, ops, maxEntries) => {
        const { ds, inner } = setup({ maxEntries })
        const model = new Map<string, string>(Object.entries(initial))
        for (const [key, value] of model) await inner.put(k(key), bytes(value))
        const inFlight: Array<Promise<void>> = []
        for (const o of ops) {
          if (o.op === 'put') { await ds.put(k(o.key), bytes(o.value)); model.set(o.key, o.value) } else if (o.op === 'delete') { await ds.delete(k(o.key)); model.delete(o.key) } else if (o.op === 'get') {
            const want = model.get(o.key)
            if (want === undefined) expect(await ds.has(k(o.key))).toBe(false)
            else expect(await ds.get(k(o.key))).toEqual(bytes(want))
          } else if (o.op === 'flush') await ds.flush()
          else inFlight.push(ds.flush())
        }
        await Promise.all(inFlight)
        await ds.close()
        expect(await stored(inner)).toEqual(Object.fromEntries(model))
      }
    ), { numRuns: 200 })
  })
})
