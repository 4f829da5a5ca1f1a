/**
 * Test fixtures for the sync protocol: an in-memory {@link SyncStore} over a fake room DAG, and
 * minimal libp2p nodes on loopback (TCP + Noise + Yamux, nothing else) with a prefixed logger each.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { prefixLogger } from '@libp2p/logger'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { roomSync } from '../../../protocols/sync/index.js'
import type { RoomSync, RoomSyncInit, StateIds, SyncStore } from '../../../protocols/sync/index.js'
import type { Libp2p } from '@libp2p/interface'

export const ROOM = '!cm9vbS1vbmU'
export const OTHER_ROOM = '!cm9vbS10d28'

/** A fake event: JSON bytes that name the event and its parents (enough for transport tests). */
export interface FakeEvent { id: string, roomId: string, prevs: string[], bytes: Uint8Array }

/** Make a fake event with a deterministic body of about `size` bytes. */
export function fakeEvent (id: string, prevs: string[], roomId = ROOM, size = 0): FakeEvent {
  const body = JSON.stringify({ event_id: id, prev_events: prevs, room_id: roomId, pad: 'x'.repeat(size) })
  return { id, roomId, prevs, bytes: new TextEncoder().encode(body) }
}

/** An in-memory store over fake events, with per-method call counts and an optional gate. */
export class FakeStore implements SyncStore {
  readonly events = new Map<string, FakeEvent>()
  readonly heads = new Map<string, string[]>()
  readonly state = new Map<string, StateIds>()
  readonly calls = { getHeads: 0, getEvent: 0, getPrevEvents: 0, getStateIdsAt: 0 }
  /** When set, every call waits for it (to hold requests open in concurrency tests). */
  gate: Promise<void> | undefined

  add (...events: FakeEvent[]): this {
    for (const e of events) this.events.set(e.id, e)
    return this
  }

  async getHeads (roomId: string): Promise<string[] | undefined> {
    this.calls.getHeads++
    await this.gate
    return this.heads.get(roomId)
  }

  async getEvent (roomId: string, eventId: string): Promise<Uint8Array | undefined> {
    this.calls.getEvent++
    await this.gate
    const e = this.events.get(eventId)
    return e?.roomId === roomId ? e.bytes : undefined
  }

  async getPrevEvents (roomId: string, eventId: string): Promise<string[] | undefined> {
    this.calls.getPrevEvents++
    await this.gate
    const e = this.events.get(eventId)
    return e?.roomId === roomId ? e.prevs : undefined
  }

  async getStateIdsAt (roomId: string, eventId: string): Promise<StateIds | undefined> {
    this.calls.getStateIdsAt++
    await this.gate
    const e = this.events.get(eventId)
    return e?.roomId === roomId ? this.state.get(eventId) : undefined
  }
}

/** A node with the sync service. */
export type SyncNode = Libp2p<{ sync: RoomSync }>

/** Start a loopback node serving sync from `store`. */
export async function syncNode (name: string, store: SyncStore, init: Partial<RoomSyncInit> = {}): Promise<SyncNode> {
  return await createLibp2p({
    logger: prefixLogger(name),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { sync: roomSync({ store, authorize: () => true, ...init }) }
  })
}

/** Start a loopback node with no services (for hand-written, hostile protocol handlers). */
export async function bareNode (name: string): Promise<Libp2p> {
  return await createLibp2p({
    logger: prefixLogger(name),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}
