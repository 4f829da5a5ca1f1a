/**
 * Test fixtures for room gossip: fake events (JSON that names itself), fake ports that record what
 * they see, and keyroom libp2p nodes on loopback built by the real composition (node/libp2p.ts).
 */
import { randomBytes } from 'node:crypto'
import { createKeyroomLibp2p } from '../../../node/libp2p.js'
import type { KeyroomLibp2p } from '../../../node/libp2p.js'
import type { EventIdentity, GossipVerdict, RoomGossipInit } from '../../../protocols/gossip/index.js'
import type { PeerId } from '@libp2p/interface'

export const ROOM = '!cm9vbS1vbmU'
export const OTHER_ROOM = '!cm9vbS10d28'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** A fake event: `valid: false` makes the fake validator reject it. */
export function fakeEvent (id: string, roomId = ROOM, extra: Record<string, unknown> = {}): Uint8Array {
  return encoder.encode(JSON.stringify({ event_id: id, room_id: roomId, ...extra }))
}

function parse (bytes: Uint8Array): { event_id?: unknown, room_id?: unknown, valid?: unknown } {
  return JSON.parse(decoder.decode(bytes)) as { event_id?: unknown, room_id?: unknown, valid?: unknown }
}

/** What a node's ports saw. */
export interface Received { roomId: string, eventId: string, from: PeerId }

/** Fake ports: identify by the JSON fields, reject `valid: false` and room mismatches, record deliveries. */
export function fakePorts (overrides: Partial<RoomGossipInit> = {}): RoomGossipInit & { received: Received[], validated: number } {
  const state = {
    received: [] as Received[],
    validated: 0,
    identifyEvent (bytes: Uint8Array): EventIdentity | undefined {
      const e = parse(bytes)
      return typeof e.event_id === 'string' && typeof e.room_id === 'string' ? { eventId: e.event_id, roomId: e.room_id } : undefined
    },
    validate (roomId: string, bytes: Uint8Array): GossipVerdict {
      state.validated++
      const e = parse(bytes)
      return e.valid === false || e.room_id !== roomId ? 'reject' : 'accept'
    },
    onEvent (roomId: string, bytes: Uint8Array, from: PeerId): void {
      state.received.push({ roomId, eventId: String(parse(bytes).event_id), from })
    },
    ...overrides
  }
  return state
}

/** A keyroom node on loopback with fake ports; `ports` is what its gossip ports recorded. */
export interface GossipTestNode { node: KeyroomLibp2p, ports: ReturnType<typeof fakePorts> }

/** Start a node. A short gossipsub heartbeat keeps mesh maintenance (and tests) quick. */
export async function gossipNode (name: string, overrides: Partial<RoomGossipInit> = {}): Promise<GossipTestNode> {
  const ports = fakePorts(overrides)
  const node = await createKeyroomLibp2p({
    deviceSeed: randomBytes(32),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    loggerPrefix: name,
    gossip: ports,
    sync: {
      store: { getHeads: () => undefined, getEvent: () => undefined, getPrevEvents: () => undefined, getStateIdsAt: () => undefined },
      authorize: () => false
    },
    pubsub: { heartbeatInterval: 200 }
  })
  return { node, ports }
}
