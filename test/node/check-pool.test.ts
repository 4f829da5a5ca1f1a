/**
 * The check pool gives the verdicts the ingest checks give one by one — valid events, forged ones,
 * wrong IDs and rooms — whether a batch is checked here, split with the worker thread, or (the
 * worker gone) here again.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { CheckPool } from '../../node/check-pool.js'
import { checkEventBytes } from '../../node/ingest-checks.js'
import {
  RoomTimeline, buildCreateRoom, buildMessage, canonicalJsonBytes, scenarioSeed, scenarioUser
} from '../../node/index.js'
import type { CheckItem } from '../../node/check-pool.js'

const alice = scenarioUser('pool/alice')
const created = buildCreateRoom({ device: alice.device, rrkSeed: scenarioSeed('pool/room'), originServerTs: 1_000 })
const timeline = new RoomTimeline(created.roomId, { state: created.state, prevEvents: created.next.prevEvents, depth: created.next.depth })
const items: CheckItem[] = []
for (let i = 0; i < 200; i++) {
  const built = timeline.add(buildMessage(alice.device, timeline.context(), { originServerTs: 2_000 + i, body: `m${i}` }))
  items.push({ eventId: built.eventId, bytes: canonicalJsonBytes(built.event), roomId: created.roomId })
}
// Every tenth event spoiled, in three ways, in both halves of the batch.
for (let i = 5; i < items.length; i += 10) {
  const item = items[i]!
  if (i % 30 === 5) {
    const bytes = item.bytes.slice()
    const at = new TextDecoder().decode(bytes).indexOf(`m${i}`)
    bytes[at + 1] = 'x'.charCodeAt(0) // body changed: hash and signature no longer match
    items[i] = { ...item, bytes }
  } else if (i % 30 === 15) {
    items[i] = { ...item, eventId: items[i - 1]!.eventId } // sent under another event's ID
  } else {
    items[i] = { ...item, roomId: '!c29tZXdoZXJlLWVsc2UtZW50aXJlbHktZGlmZmVyZW50' } // another room expected
  }
}

const inline = items.map(item => checkEventBytes(item.bytes, { eventId: item.eventId, roomId: item.roomId }))

let pool: CheckPool | undefined
afterEach(async () => { await pool?.close() })

describe('CheckPool', () => {
  it('answers a large batch like the checks one by one, with half of it checked on the worker thread', async () => {
    pool = new CheckPool()
    const got = await pool.check(items)
    expect(got).toEqual(inline)
    expect(got.filter(c => !c.ok)).toHaveLength(20)
    expect(pool.workerChecked).toBe(100)
    // The worker stays up for the next batch.
    expect(await pool.check(items)).toEqual(inline)
    expect(pool.workerChecked).toBe(200)
  }, 30_000)

  it('checks small batches here, and everything here once closed', async () => {
    pool = new CheckPool()
    expect(await pool.check(items.slice(0, 10))).toEqual(inline.slice(0, 10))
    expect(pool.workerChecked).toBe(0)
    await pool.close()
    expect(await pool.check(items)).toEqual(inline)
    expect(pool.workerChecked).toBe(0)
  })
})
