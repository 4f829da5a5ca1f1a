/**
 * One node on its own: identity and data dir, rooms, sends and history, members, restart.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createNode, isDeviceId, isRoomId, isUserId, parseKeyroomUri } from '../../node/index.js'
import { waitFor } from '../helpers/wait-for.js'
import { bodies, startNode, stopNode, tempDir } from './fixtures.js'
import type { MembershipChange, RoomMessage } from '../../node/index.js'

describe('createNode', () => {
  it('creates a missing data dir with an identity, and reopens it with the same IDs after stop', async () => {
    const dataDir = join(await tempDir(), 'nested', 'node')
    const node = await startNode('a', { dataDir })
    expect(isUserId(node.userId)).toBe(true)
    expect(isDeviceId(node.deviceId)).toBe(true)
    expect(node.recoveryPhrase?.split(' ')).toHaveLength(24)
    expect((await stat(dataDir)).isDirectory()).toBe(true)
    const { userId, deviceId, peerId } = node
    const roomId = await node.createRoom({ name: 'kept' })
    const sent = await node.send(roomId, { msgtype: 'm.text', body: 'before restart' })
    await stopNode(node)

    const again = await startNode('a2', { dataDir })
    expect([again.userId, again.deviceId, again.peerId]).toEqual([userId, deviceId, peerId])
    expect(again.recoveryPhrase).toBeUndefined()
    expect((await again.messages(roomId)).map(m => m.eventId)).toEqual([sent])
    expect(await again.rooms()).toEqual([{ roomId, membership: 'join', name: 'kept' }])
  })

  it('refuses a second node on the same data dir while the first runs', async () => {
    const dataDir = await tempDir()
    await startNode('a', { dataDir })
    await expect(createNode({ dataDir, listen: ['/ip4/127.0.0.1/tcp/0'] })).rejects.toMatchObject({ code: 'ERR_STORE_LOCKED' })
  })

  it('stop() is idempotent and later calls say the node is stopped', async () => {
    const node = await startNode('a')
    await Promise.all([stopNode(node), node.stop()])
    await expect(node.createRoom()).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' })
  })
})

describe('a room on one node', () => {
  it('send() returns the event ID that messages() shows, with the UPK as sender, oldest first', async () => {
    const node = await startNode('a')
    const roomId = await node.createRoom({ name: 'solo' })
    expect(isRoomId(roomId)).toBe(true)
    const seen: RoomMessage[] = []
    node.addEventListener('message', (e) => { seen.push(e.detail) })
    const ids: string[] = []
    for (const body of ['one', 'two', 'three']) ids.push(await node.send(roomId, { msgtype: 'm.text', body }))
    const messages = await node.messages(roomId)
    expect(messages.map(m => m.eventId)).toEqual(ids)
    expect(messages.map(m => m.sender)).toEqual([node.userId, node.userId, node.userId])
    expect(messages[0]).toMatchObject({ roomId, content: { msgtype: 'm.text', body: 'one' } })
    expect(seen.map(m => m.eventId)).toEqual(ids)
    expect(await bodies(node, roomId)).toEqual(['one', 'two', 'three'])
  })

  it('pages history backwards with limit and before', async () => {
    const node = await startNode('a')
    const roomId = await node.createRoom()
    for (let i = 0; i < 7; i++) await node.send(roomId, { msgtype: 'm.text', body: `m${i}` })
    const last3 = await node.messages(roomId, { limit: 3 })
    expect(last3.map(m => m.content.body)).toEqual(['m4', 'm5', 'm6'])
    const before = await node.messages(roomId, { limit: 3, before: last3[0]!.eventId })
    expect(before.map(m => m.content.body)).toEqual(['m1', 'm2', 'm3'])
  })

  it('lists the creator as a verified joined member and gives a room link with its addresses', async () => {
    const node = await startNode('a')
    const changes: MembershipChange[] = []
    node.addEventListener('membership', (e) => { changes.push(e.detail) })
    const roomId = await node.createRoom()
    expect(await node.members(roomId)).toEqual([{ userId: node.userId, membership: 'join', verified: true }])
    expect(changes).toMatchObject([{ roomId, userId: node.userId, membership: 'join' }])
    const uri = parseKeyroomUri(node.roomUri(roomId))
    expect(uri).toMatchObject({ kind: 'room', roomId })
    expect(uri.kind === 'room' && uri.via.length > 0 && uri.via.every(a => a.includes(`/p2p/${node.peerId}`))).toBe(true)
  })

  it('refuses sends to unknown rooms and bad message content', async () => {
    const node = await startNode('a')
    const other = await startNode('b')
    const roomId = await other.createRoom()
    await expect(node.send(roomId, { msgtype: 'm.text', body: 'x' })).rejects.toMatchObject({ code: 'ERR_UNKNOWN_ROOM' })
    const own = await node.createRoom()
    await expect(node.send(own, { msgtype: 'm.text' } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_EVENT' })
  })

  it('invite() of a user is idempotent (the same invite event), and members() lists the invitee', async () => {
    const node = await startNode('a')
    const other = await startNode('b')
    const roomId = await node.createRoom()
    const first = await node.invite(roomId, other.userId)
    expect(await node.invite(roomId, other.userId)).toBe(first)
    expect(await node.members(roomId)).toContainEqual({ userId: other.userId, membership: 'invite', verified: true })
  })

  it('lookupUser() lists the own device from the room state', async () => {
    const node = await startNode('a')
    await node.createRoom()
    const found = await node.lookupUser(node.userId)
    expect(found).toEqual({ userId: node.userId, devices: [{ deviceId: node.deviceId, revoked: false, connected: false }] })
  })
})

describe('discovery', () => {
  it('connects by itself to its bootstrap peers, and learns their users', async () => {
    const a = await startNode('a')
    const b = await startNode('b', { bootstrap: a.multiaddrs() })
    await waitFor(() => b.peers().some(p => p.userId === a.userId) && a.peers().some(p => p.userId === b.userId), { message: 'b dials a by itself' })
  })
})
