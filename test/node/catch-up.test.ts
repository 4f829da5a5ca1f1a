/**
 * Catching up: a node that was offline gets what it missed when it comes back on the same data
 * dir, and a late joiner gets the room's whole history — in the order every node lists.
 */
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait-for.js'
import { bodies, inviteAndJoin, startNode, stopNode, tempDir } from './fixtures.js'
import type { KeyroomNode, SyncProgress } from '../../node/index.js'

async function ids (node: KeyroomNode, roomId: string): Promise<string[]> {
  return (await node.messages(roomId, { limit: 1000 })).map(m => m.eventId)
}

describe('catch-up', () => {
  it('a node that was offline catches up when it restarts on the same data dir', async () => {
    const a = await startNode('a')
    const b = await startNode('b')
    const cDir = await tempDir()
    let c = await startNode('c', { dataDir: cDir })
    const roomId = await a.createRoom({ name: 'offline' })
    await inviteAndJoin(a, b, roomId)
    await inviteAndJoin(a, c, roomId)
    await a.send(roomId, { msgtype: 'm.text', body: 'before' })
    await waitFor(async () => (await ids(c, roomId)).length === 1, { message: 'c has the first message' })
    const cUser = c.userId

    await stopNode(c)
    for (const body of ['while away 1', 'while away 2']) await a.send(roomId, { msgtype: 'm.text', body })
    // b answers once it has a's messages, so the history is one line (no fork to order by ID).
    await waitFor(async () => (await ids(b, roomId)).length === 3, { message: 'b has a\'s messages' })
    await b.send(roomId, { msgtype: 'm.text', body: 'while away 3' })
    await waitFor(async () => (await ids(a, roomId)).length === 4, { message: 'a has b\'s message' })

    c = await startNode('c2', { dataDir: cDir })
    expect(c.userId).toBe(cUser)
    const progress: SyncProgress[] = []
    c.addEventListener('sync', (e) => { progress.push(e.detail) })
    await c.connect(a.multiaddrs())
    await waitFor(async () => (await ids(c, roomId)).length === 4, { message: 'c caught up' })
    expect(await ids(c, roomId)).toEqual(await ids(a, roomId))
    expect(await bodies(c, roomId)).toEqual(['before', 'while away 1', 'while away 2', 'while away 3'])
    expect(progress.some(p => p.roomId === roomId && p.phase === 'done' && (p.stored ?? 0) >= 3)).toBe(true)

    // And it is back on the room's gossip: a new message reaches it, and its own reaches the others.
    await a.send(roomId, { msgtype: 'm.text', body: 'welcome back' })
    const back = await c.send(roomId, { msgtype: 'm.text', body: 'thanks' })
    await waitFor(async () => (await ids(c, roomId)).length === 6 && (await ids(b, roomId)).includes(back), { message: 'live again' })
    expect(await ids(b, roomId)).toEqual(await ids(c, roomId))
  })

  it('a late joiner gets the history, in the same order as everyone', async () => {
    const a = await startNode('a')
    const b = await startNode('b')
    const roomId = await a.createRoom({ name: 'history' })
    await inviteAndJoin(a, b, roomId)
    for (let i = 0; i < 5; i++) await (i % 2 === 0 ? a : b).send(roomId, { msgtype: 'm.text', body: `m${i}` })
    await waitFor(async () => (await ids(a, roomId)).length === 5 && (await ids(b, roomId)).length === 5, { message: 'both have five' })

    const late = await startNode('late')
    await late.connect(b.multiaddrs())
    await inviteAndJoin(a, late, roomId)
    // Sends from two nodes may fork (same depth): the order is then by event ID, the same everywhere.
    expect([...await bodies(late, roomId)].sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
    expect(await ids(late, roomId)).toEqual(await ids(a, roomId))
    expect(await ids(late, roomId)).toEqual(await ids(b, roomId))
    const members = await late.members(roomId)
    expect(members.map(m => [m.userId, m.membership, m.verified]).sort()).toEqual(
      [[a.userId, 'join', true], [b.userId, 'join', true], [late.userId, 'join', true]].sort())
  })

  it('joins by room ID alone after the connection dropped: it dials the device that delivered the invite', async () => {
    const a = await startNode('a')
    const b = await startNode('b')
    const roomId = await a.createRoom()
    await a.send(roomId, { msgtype: 'm.text', body: 'waiting for you' })
    await b.connect(a.multiaddrs())
    await waitFor(() => a.peers().some(p => p.userId === b.userId), { message: 'hello' })
    await a.invite(roomId, b.userId)
    await waitFor(async () => (await b.rooms()).some(r => r.roomId === roomId && r.membership === 'invite'), { message: 'invite delivered' })
    await b.libp2p.hangUp(a.libp2p.peerId)
    await waitFor(() => b.libp2p.getConnections().length === 0, { message: 'b alone' })
    expect(await b.join(roomId)).toBe(roomId)
    expect(await bodies(b, roomId)).toEqual(['waiting for you'])
    expect(await b.rooms()).toEqual([{ roomId, membership: 'join' }])
  })

  it('joins a public room by its keyroom: link without an invite', async () => {
    const a = await startNode('a')
    const roomId = await a.createRoom({ name: 'open', joinRule: 'public' })
    await a.send(roomId, { msgtype: 'm.text', body: 'anyone here?' })
    const b = await startNode('b')
    expect(await b.join(a.roomUri(roomId))).toBe(roomId)
    expect(await bodies(b, roomId)).toEqual(['anyone here?'])
    await waitFor(async () => (await a.members(roomId)).some(m => m.userId === b.userId && m.membership === 'join' && m.verified), { message: 'a sees b joined' })
    const reply = await b.send(roomId, { msgtype: 'm.text', body: 'me' })
    await waitFor(async () => (await ids(a, roomId)).includes(reply), { message: 'reply reaches a' })
  })

  it('anti-entropy: an event gossip never delivered arrives by the periodic heads check, with no reconnect and nothing sent after it', async () => {
    const a = await startNode('a', { syncIntervalMs: 300 })
    const b = await startNode('b', { syncIntervalMs: 300 })
    const c = await startNode('c', { syncIntervalMs: 0 })
    const roomId = await a.createRoom()
    await inviteAndJoin(a, b, roomId)
    await inviteAndJoin(a, c, roomId)
    // b and c off the room's topic: gossip cannot bring them a's message.
    b.libp2p.services.roomGossip.unsubscribe(roomId)
    c.libp2p.services.roomGossip.unsubscribe(roomId)
    const missed = await a.send(roomId, { msgtype: 'm.text', body: 'while you were away' })
    await waitFor(async () => (await ids(b, roomId)).includes(missed), { timeout: 5_000, message: 'b gets the message by the heads check' })
    // c checks nothing by itself (syncIntervalMs 0): still without it.
    expect(await ids(c, roomId)).not.toContain(missed)
  }, 30_000)
})
