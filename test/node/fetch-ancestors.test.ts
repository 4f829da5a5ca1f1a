/**
 * The DAG fetch walk against a fake peer: a long linear history in few requests, parents first;
 * its bounds; events that fail the ingest checks are dropped.
 */
import { describe, expect, it } from 'vitest'
import { fetchAncestors } from '../../node/fetch-ancestors.js'
import { deviceKeyFromSeed, peerIdFromDeviceKey } from '../../node/libp2p.js'
import {
  RoomTimeline, buildCreateRoom, buildMessage, canonicalJsonBytes, scenarioSeed, scenarioUser
} from '../../node/index.js'
import type { FetchAncestorsOptions } from '../../node/fetch-ancestors.js'
import type { IdentifiedEvent } from '../../node/index.js'
import { MAX_MISSING_LIMIT } from '../../protocols/sync/index.js'
import type { MissingRange, SyncedEvent } from '../../protocols/sync/index.js'

const alice = scenarioUser('fetch/alice')
const created = buildCreateRoom({ device: alice.device, rrkSeed: scenarioSeed('fetch/room'), originServerTs: 1_000 })
const roomId = created.roomId
const timeline = new RoomTimeline(roomId, { state: created.state, prevEvents: created.next.prevEvents, depth: created.next.depth })
const all: IdentifiedEvent[] = [...created.events]
for (let i = 0; i < 250; i++) all.push(timeline.add(buildMessage(alice.device, timeline.context(), { originServerTs: 2_000 + i, body: `m${i}` })))
const tip = all[all.length - 1]!.eventId
const peer = peerIdFromDeviceKey((await deviceKeyFromSeed(new Uint8Array(32).fill(9))).publicKey.raw)

/** A peer serving `served` (ID → bytes) with the sync semantics of `events` and `missing`. */
function fakePeer (served: Map<string, Uint8Array>) {
  const byId = new Map(all.map(e => [e.eventId, e.event]))
  const calls = { events: 0, missing: 0 }
  return {
    calls,
    async events (_peer: unknown, _room: string, ids: string[]): Promise<SyncedEvent[]> {
      calls.events++
      return ids.filter(id => served.has(id)).map(id => ({ eventId: id, bytes: served.get(id)! }))
    },
    async missing (_peer: unknown, _room: string, range: MissingRange): Promise<SyncedEvent[]> {
      calls.missing++
      // Breadth-first back from `latest` over prev_events, not past `earliest`, `latest` excluded.
      const stop = new Set(range.earliest)
      const seen = new Set(range.latest)
      const queue = [...range.latest]
      const found: string[] = []
      while (queue.length > 0 && found.length < (range.limit ?? 10)) {
        for (const prev of byId.get(queue.shift()!)?.prev_events ?? []) {
          if (seen.has(prev) || stop.has(prev)) continue
          seen.add(prev)
          if (found.length < (range.limit ?? 10)) found.push(prev)
          queue.push(prev)
        }
      }
      return found.reverse().filter(id => served.has(id)).map(id => ({ eventId: id, bytes: served.get(id)! }))
    }
  }
}

function options (over: Partial<FetchAncestorsOptions> = {}): FetchAncestorsOptions {
  return { maxEvents: 10_000, maxBytes: 64 << 20, isStored: async () => false, localHeads: async () => [], ...over }
}

const everything = new Map(all.map(e => [e.eventId, canonicalJsonBytes(e.event)]))

describe('fetchAncestors', () => {
  it('fetches a 255-event history behind one head in a handful of requests, parents first', async () => {
    const sync = fakePeer(everything)
    const found = await fetchAncestors(sync, peer, roomId, { ids: [tip] }, options())
    expect(found.complete).toBe(true)
    expect(found.events.map(e => e.eventId)).toEqual(all.map(e => e.eventId))
    expect(sync.calls.events + sync.calls.missing).toBeLessThanOrEqual(8)
  })

  it('walks a linear history with one `missing` answer per MAX_MISSING_LIMIT events, asking the node about IDs in batches', async () => {
    const sync = fakePeer(everything)
    const batches: number[] = []
    const found = await fetchAncestors(sync, peer, roomId, { ids: [tip] }, options({
      isStored: async () => { throw new Error('asked one ID at a time although a batch call exists') },
      areStored: async (ids) => { batches.push(ids.length); return ids.map(() => false) }
    }))
    expect(found.complete).toBe(true)
    expect(found.events).toHaveLength(all.length)
    // The tip by ID, then the whole history behind it in one walk (fewer events than the limit).
    expect(all.length).toBeLessThan(MAX_MISSING_LIMIT)
    expect(sync.calls).toEqual({ events: 1, missing: 1 })
    // A handful of batch questions, not one per event.
    expect(batches.length).toBeLessThanOrEqual(6)
    expect(batches.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(all.length)
  })

  it('stops at what is stored and fetches only the gap under a new event', async () => {
    const sync = fakePeer(everything)
    const stored = new Set(all.slice(0, 200).map(e => e.eventId))
    const newest = { eventId: tip, event: all[all.length - 1]!.event, bytes: everything.get(tip)! }
    const found = await fetchAncestors(sync, peer, roomId, { events: [newest] }, options({ isStored: async (id) => stored.has(id), localHeads: async () => [all[199]!.eventId] }))
    expect(found.complete).toBe(true)
    expect(found.events.map(e => e.eventId)).toEqual(all.slice(200, -1).map(e => e.eventId))
  })

  it('keeps to its event bound and says it is incomplete', async () => {
    const found = await fetchAncestors(fakePeer(everything), peer, roomId, { ids: [tip] }, options({ maxEvents: 50 }))
    expect(found.complete).toBe(false)
    expect(found.events).toHaveLength(50)
  })

  it('drops an event that fails the ingest checks, and everything above it stays unfetchable', async () => {
    const tampered = new Map(everything)
    const victim = all[100]!
    tampered.set(victim.eventId, canonicalJsonBytes({ ...victim.event, content: { msgtype: 'm.text', body: 'changed' } }))
    const found = await fetchAncestors(fakePeer(tampered), peer, roomId, { ids: [tip] }, options())
    expect(found.complete).toBe(false)
    expect(found.events.some(e => e.eventId === victim.eventId)).toBe(false)
  })

  it('gives up when the peer has none of what is wanted, and honours the abort signal', async () => {
    expect(await fetchAncestors(fakePeer(new Map()), peer, roomId, { ids: [tip] }, options())).toEqual({ events: [], complete: false })
    const signal = AbortSignal.abort(new Error('stop'))
    await expect(fetchAncestors(fakePeer(everything), peer, roomId, { ids: [tip] }, options({ signal }))).rejects.toThrow('stop')
  })
})
