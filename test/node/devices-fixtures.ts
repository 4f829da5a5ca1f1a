/**
 * Fixtures of the device tests: linking a new device, inviting and joining, a peer that gossips
 * hand-made events, and reading a stopped node's stored event.
 */
import { join } from 'node:path'
import { expect } from 'vitest'
import { RoomState, STORE_DIR_NAME, parseJson } from '../../node/index.js'
import { openLevelStore } from '../../store/index.js'
import { waitFor } from '../helpers/wait-for.js'
import { bodies, startNode, tempDir } from './fixtures.js'
export { inviteAndJoin } from './fixtures.js'
import type { CreateNodeOptions, KeyroomNode, RoomContext, RoomEvent } from '../../node/index.js'

/**
 * Starts a device waiting to be linked and links it from `holder` (which holds the UPK). Resolves
 * with the new device's running node and its data directory.
 */
export async function linkNewDevice (
  holder: KeyroomNode, name: string, options: { expiresTs?: number } & Partial<CreateNodeOptions> = {}
): Promise<{ node: KeyroomNode, dataDir: string }> {
  const { expiresTs, ...nodeOptions } = options
  let text: string | undefined
  const dataDir = await tempDir()
  const pending = startNode(name, { ...nodeOptions, dataDir, link: { onRequest: (request) => { text = request.text } } })
  const linkText = await waitFor(() => text, { message: 'the new device shows its link' })
  const linked = await holder.linkDevice(linkText, expiresTs === undefined ? {} : { expiresTs })
  const node = await pending
  expect(linked.deviceId).toBe(node.deviceId)
  return { node, dataDir }
}

/** Waits until `node` holds `roomId` as joined with `count` messages. */
export async function hasRoom (node: KeyroomNode, roomId: string, count: number): Promise<void> {
  await waitFor(async () => (await node.rooms()).some(r => r.roomId === roomId && r.membership === 'join') && (await bodies(node, roomId)).length >= count,
    { message: 'the room and its history reach the device' })
}

/** Waits until every node lists the message `eventId`. */
export async function everywhere (nodes: KeyroomNode[], roomId: string, eventId: string): Promise<void> {
  await waitFor(async () => {
    for (const n of nodes) if (!(await n.messages(roomId)).some(m => m.eventId === eventId)) return false
    return true
  }, { message: 'the message reaches every node' })
}

/** A fresh node connected to `nodes`, seeing them subscribed to the room's topic: it can gossip hand-made events to them. */
export async function relay (nodes: KeyroomNode[], roomId: string): Promise<KeyroomNode> {
  const m = await startNode('relay')
  for (const n of nodes) await m.connect(n.multiaddrs())
  // Flood publishing reaches the subscribers the router has an outbound stream to (see test/node/adversarial.test.ts).
  const outbound = (m.libp2p.services.pubsub as unknown as { streamsOutbound: Map<string, unknown> }).streamsOutbound
  await waitFor(() => m.libp2p.services.roomGossip.subscribers(roomId).length === nodes.length &&
    nodes.every(n => outbound.has(n.libp2p.peerId.toString())), { message: 'the relay sees the subscribers' })
  return m
}

/** The stored bytes of an event in a stopped node's data directory. */
export async function storedEventBytes (dataDir: string, eventId: string): Promise<Uint8Array> {
  const store = await openLevelStore(join(dataDir, STORE_DIR_NAME), { sync: false })
  try {
    const stored = await store.getEvent(eventId)
    if (stored === undefined) throw new Error(`event ${eventId} is not stored in ${dataDir}`)
    return stored.bytes
  } finally {
    await store.close()
  }
}

/** The room's current state and single head as a member can fetch them from a peer (the head must be a message). */
export async function snapshot (member: KeyroomNode, from: KeyroomNode, roomId: string): Promise<{ context: RoomContext, state: RoomState }> {
  const sync = member.libp2p.services.sync
  const peer = from.libp2p.peerId
  const heads = await sync.heads(peer, roomId)
  expect(heads).toHaveLength(1)
  const [headBytes] = await sync.events(peer, roomId, heads)
  const head = parseJson(headBytes!.bytes) as RoomEvent
  const { stateIds } = await sync.stateAt(peer, roomId, heads[0]!)
  const events = await sync.events(peer, roomId, stateIds)
  const state = new RoomState(events.map(e => ({ eventId: e.eventId, event: parseJson(e.bytes) as RoomEvent })))
  return { context: { roomId, prevEvents: heads, depth: head.depth + 1, state }, state }
}
