/**
 * A member removed while it is cut off learns it after the heal (fuzzer seeds 3, 4, 8, 9): sync
 * serves a departed member the room up to and including the member event that removed it, so the
 * removed node's catch-up on reconnect brings it its kick or ban. Without that it kept believing
 * it was joined (sync refused it, its gossip was soft-failed), its sends acknowledged and shown
 * nowhere. Three nodes in one process; the partition is the fuzzer's connection gater.
 */
import { describe, expect, it } from 'vitest'
import { roomTopic } from '../../protocols/gossip/index.js'
import { Partition } from '../fuzz/network.js'
import { waitFor } from '../helpers/wait-for.js'
import { inviteAndJoin, membershipOf, startNode } from './fixtures.js'
import type { KeyroomNode, MembershipChange } from '../../node/index.js'

/** How long a healed node may take to learn its removal (a greeting's catch-up: well under a second here). */
const LEARN_BOUND_MS = 8_000

/** a creates a room, b and c join; all connected, each under the partition's gater (a=0, b=1, c=2). */
async function threeInARoom (): Promise<{ a: KeyroomNode, b: KeyroomNode, c: KeyroomNode, roomId: string, partition: Partition }> {
  const a = await startNode('a')
  const b = await startNode('b')
  const c = await startNode('c')
  const partition = new Partition()
  for (const [i, node] of [a, b, c].entries()) {
    partition.register(node.peerId, { kind: 'node', index: i })
    partition.install(node.libp2p)
  }
  const roomId = await a.createRoom({ name: 'partitioned' })
  await inviteAndJoin(a, b, roomId)
  await inviteAndJoin(a, c, roomId)
  await c.connect(b.multiaddrs())
  await waitFor(async () => {
    for (const n of [a, b, c]) if ((await n.members(roomId)).filter(m => m.membership === 'join').length !== 3) return false
    return true
  }, { timeout: 10_000, message: 'three joined everywhere' })
  return { a, b, c, roomId, partition }
}

/** Cuts b off from a and c. */
async function isolateB (nodes: { a: KeyroomNode, b: KeyroomNode, c: KeyroomNode }, partition: Partition): Promise<void> {
  partition.split([[0, 2], [1]])
  for (const node of [nodes.a, nodes.b, nodes.c]) await partition.enforce(node.libp2p)
  await waitFor(() => nodes.b.peers().length === 0, { message: 'b cut off' })
}

/** Heals the partition and reconnects b (a greeting: hello, then catch-up of b's joined rooms). */
async function heal (nodes: { a: KeyroomNode, b: KeyroomNode, c: KeyroomNode }, partition: Partition): Promise<void> {
  partition.heal()
  await nodes.b.connect(nodes.a.multiaddrs())
  await nodes.b.connect(nodes.c.multiaddrs())
}

/** Resolves with the membership change the node announces for its own user becoming `membership`. */
function ownChange (node: KeyroomNode, roomId: string, membership: string): Promise<MembershipChange> {
  return new Promise(resolve => {
    node.addEventListener('membership', (e) => {
      if (e.detail.roomId === roomId && e.detail.userId === node.userId && e.detail.membership === membership) resolve(e.detail)
    })
  })
}

describe('removed behind a partition', () => {
  it('kick: the kicked node learns it after the heal, leaves the room and can no longer send', async () => {
    const { a, b, c, roomId, partition } = await threeInARoom()
    await isolateB({ a, b, c }, partition)
    const kickId = await a.kick(roomId, b.userId, 'while you were away')
    const afterKick = await a.send(roomId, { msgtype: 'm.text', body: 'after the kick' })
    await waitFor(async () => await membershipOf(c, roomId, b.userId) === 'leave', { message: 'c sees the kick' })
    // b does not know: its send is acknowledged locally (the bug's symptom).
    const stale = await b.send(roomId, { msgtype: 'm.text', body: 'still here?' })
    expect(typeof stale).toBe('string')
    expect(await membershipOf(b, roomId, b.userId)).toBe('join')

    const announced = ownChange(b, roomId, 'leave')
    const t0 = Date.now()
    await heal({ a, b, c }, partition)
    await waitFor(async () => (await b.rooms()).some(r => r.roomId === roomId && r.membership === 'leave'), { timeout: LEARN_BOUND_MS, message: 'b lists the room as left' })
    expect(Date.now() - t0).toBeLessThan(LEARN_BOUND_MS)
    expect(await announced).toMatchObject({ eventId: kickId, sender: a.userId, previous: 'join' })
    expect(await membershipOf(b, roomId, b.userId)).toBe('leave')
    await expect(b.send(roomId, { msgtype: 'm.text', body: 'hello?' })).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' })
    // Off the room's topic.
    await waitFor(() => !b.libp2p.services.pubsub.getTopics().includes(roomTopic(roomId)), { message: 'b left the topic' })
    // Up to the kick, not past it: the message a wrote after the kick is not b's to read.
    expect((await b.messages(roomId, { limit: 100 })).map(m => m.eventId)).not.toContain(afterKick)
  }, 60_000)

  it('ban: the banned node learns its ban after the heal', async () => {
    const { a, b, c, roomId, partition } = await threeInARoom()
    await isolateB({ a, b, c }, partition)
    const banId = await a.ban(roomId, b.userId)
    const announced = ownChange(b, roomId, 'ban')
    await heal({ a, b, c }, partition)
    await waitFor(async () => (await b.rooms()).some(r => r.roomId === roomId && r.membership === 'ban'), { timeout: LEARN_BOUND_MS, message: 'b lists the room as banned' })
    expect((await announced).eventId).toBe(banId)
    await expect(b.send(roomId, { msgtype: 'm.text', body: 'let me in' })).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' })
  }, 60_000)

  it('sync serves a departed member the room up to its removal only: heads are the removal, later events are refused', async () => {
    const { a, b, c, roomId, partition } = await threeInARoom()
    const before = await a.send(roomId, { msgtype: 'm.text', body: 'before' })
    await waitFor(async () => (await b.messages(roomId, { limit: 10 })).some(m => m.eventId === before), { message: 'b has "before"' })
    await isolateB({ a, b, c }, partition)
    const kickId = await a.kick(roomId, b.userId)
    const after = await a.send(roomId, { msgtype: 'm.text', body: 'after' })
    await heal({ a, b, c }, partition)
    const sync = b.libp2p.services.sync
    const aPeer = b.libp2p.getPeers().find(p => p.toString() === a.peerId)!
    expect(await sync.heads(aPeer, roomId)).toEqual([kickId])
    const got = await sync.events(aPeer, roomId, [kickId, before, after])
    expect(got.map(e => e.eventId)).toEqual([kickId, before])
    await expect(sync.stateAt(aPeer, roomId, after)).rejects.toMatchObject({ code: 'ERR_SYNC_NOT_FOUND' })
    expect((await sync.stateAt(aPeer, roomId, kickId)).stateIds.length).toBeGreaterThan(0)
    const missing = await sync.missing(aPeer, roomId, { earliest: [], latest: [after], limit: 100 })
    expect(missing).toEqual([])
  }, 60_000)

  it('a user who never was a member is still refused, banned ahead of time or not', async () => {
    const { a, roomId } = await threeInARoom()
    const stranger = await startNode('stranger')
    await stranger.connect(a.multiaddrs())
    await waitFor(() => a.peers().some(p => p.userId === stranger.userId), { message: 'hello' })
    const aPeer = stranger.libp2p.getPeers().find(p => p.toString() === a.peerId)!
    await expect(stranger.libp2p.services.sync.heads(aPeer, roomId)).rejects.toMatchObject({ code: 'ERR_SYNC_NOT_FOUND' })
    await a.ban(roomId, stranger.userId)
    expect(await membershipOf(a, roomId, stranger.userId)).toBe('ban')
    await expect(stranger.libp2p.services.sync.heads(aPeer, roomId)).rejects.toMatchObject({ code: 'ERR_SYNC_NOT_FOUND' })
  }, 60_000)
})
