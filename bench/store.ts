/**
 * Store throughput: group-commit writes/s with 1, 10 and 100 writes in flight (LevelDB, fsync on
 * and off; memory for reference), and the cost of reading the state of a 10,000-member room.
 *
 *   npm run bench -- store     (or standalone: npx tsx bench/store.ts)
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { performance } from 'node:perf_hooks'
import { createMemoryStore } from '../store/memory.js'
import { openLevelStore } from '../store/level.js'
import type { EventWrite, RoomStore } from '../store/contract.js'

const PAD = 'x'.repeat(800)

/** A ~1 KiB event; every 4th one changes a state key (a member among 2,000), the rest are messages. */
function event (i: number): EventWrite {
  const id = `$${i.toString(36).padStart(43, 'A')}`
  const prev = `$${(i - 1).toString(36).padStart(43, 'A')}`
  return {
    eventId: id,
    roomId: '!bench',
    depth: i,
    bytes: new TextEncoder().encode(JSON.stringify({ event_id: id, depth: i, body: PAD })),
    decision: { kind: 'accepted' },
    heads: [id],
    state: i === 0
      ? { base: null, changes: new Map([['m.room.create\u0000', id]]) }
      : { base: prev, changes: new Map(i % 4 === 0 ? [[`m.room.member\u0000~user${i % 2000}`, id]] : []) },
    currentState: { base: id }
  }
}

async function throughput (store: RoomStore, inFlight: number, budgetMs: number): Promise<number> {
  let i = 0
  await store.writeEvent(event(i++))
  const t0 = performance.now()
  let writes = 0
  while (performance.now() - t0 < budgetMs) {
    const batch: Array<Promise<unknown>> = []
    for (let j = 0; j < inFlight; j++) batch.push(store.writeEvent(event(i++)))
    await Promise.all(batch)
    writes += inFlight
  }
  return writes / ((performance.now() - t0) / 1000)
}

async function withLevel<T> (sync: boolean, fn: (store: RoomStore) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'keyroom-bench-'))
  const store = await openLevelStore(dir, { sync })
  try {
    return await fn(store)
  } finally {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

/** The `store` section of `npm run bench`. */
export async function runStoreBench (): Promise<void> {
  console.log('\n# Store: group commit and state reads')
  console.log('group commit: events/s (1 KiB events, a state change every 4th), writes in flight →')
  for (const inFlight of [1, 10, 100]) {
    const synced = await withLevel(true, async s => await throughput(s, inFlight, 1500))
    const unsynced = await withLevel(false, async s => await throughput(s, inFlight, 1500))
    const mem = await createMemoryStore()
    const memory = await throughput(mem, inFlight, 1000)
    await mem.close()
    console.log(`  ${String(inFlight).padStart(3)} in flight   level fsync ${synced.toFixed(0).padStart(6)}/s   level no-fsync ${unsynced.toFixed(0).padStart(6)}/s   memory ${memory.toFixed(0).padStart(6)}/s`)
  }

  console.log('state of a 10,000-member room (LevelDB):')
  const dir = await mkdtemp(join(tmpdir(), 'keyroom-bench-'))
  try {
    let store = await openLevelStore(dir)
    const members = new Map<string, string>()
    for (let u = 0; u < 10_000; u++) members.set(`m.room.member\u0000~${u.toString(36).padStart(43, '.')}`, `$join${u.toString(36).padStart(40, 'J')}`)
    await store.writeEvent({ eventId: '$m0', roomId: '!big', depth: 0, bytes: new Uint8Array(10), decision: { kind: 'accepted' }, heads: ['$m0'], state: { base: null, changes: members } })
    const t0 = performance.now()
    const changes = 1000
    for (let k = 1; k <= changes; k += 100) {
      const batch: Array<Promise<unknown>> = []
      for (let j = k; j < k + 100; j++) {
        batch.push(store.writeEvent({
          eventId: `$m${j}`, roomId: '!big', depth: j, bytes: new Uint8Array(10), decision: { kind: 'accepted' }, heads: [`$m${j}`],
          state: { base: `$m${j - 1}`, changes: new Map([[`m.room.member\u0000~${((j * 7919) % 10_000).toString(36).padStart(43, '.')}`, `$m${j}`]]) }
        }))
      }
      await Promise.all(batch)
    }
    console.log(`  ${changes} membership changes on 10,000 members: ${((performance.now() - t0) / changes * 1000).toFixed(0)} µs each`)
    await store.close()
    store = await openLevelStore(dir)
    let t = performance.now()
    const cold = await store.getStateAt('$m500')
    console.log(`  getStateAt, cold cache: ${(performance.now() - t).toFixed(1)} ms (${cold?.size} entries)`)
    t = performance.now()
    await store.getStateAt('$m501')
    console.log(`  getStateAt, warm cache: ${(performance.now() - t).toFixed(1)} ms`)
    t = performance.now()
    for (let j = 0; j < 100; j++) await store.getStateAt(`$m${600 + j}`, { keys: ['m.room.create\u0000', `m.room.member\u0000~${(j * 31).toString(36).padStart(43, '.')}`] })
    console.log(`  getStateAt with 2 keys: ${((performance.now() - t) / 100 * 1000).toFixed(0)} µs`)
    await store.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

// Standalone (`npx tsx bench/store.ts`): run when this file is the entry point, not when imported.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await runStoreBench()
