/**
 * Membership changes across nodes: leave, kick, ban — and a banned user's message written on a
 * fork before the ban, which honest nodes soft-fail: kept in the DAG, never shown or passed on.
 */
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait-for.js'
import { bodies, inviteAndJoin, membershipOf, startNode } from './fixtures.js'

describe('membership changes', () => {
  it('leave, kick and ban reach every node; the removed users can no longer send', async () => {
    const a = await startNode('a')
    const b = await startNode('b')
    const c = await startNode('c')
    const roomId = await a.createRoom()
    await inviteAndJoin(a, b, roomId)
    await inviteAndJoin(a, c, roomId)

    await b.leave(roomId)
    await waitFor(async () => await membershipOf(a, roomId, b.userId) === 'leave', { message: 'a sees b leave' })
    expect(await b.rooms()).toContainEqual(expect.objectContaining({ roomId, membership: 'leave' }))
    await expect(b.send(roomId, { msgtype: 'm.text', body: 'gone' })).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' })

    await a.kick(roomId, c.userId, 'bye')
    await waitFor(async () => await membershipOf(c, roomId, c.userId) === 'leave', { message: 'c learns it was kicked' })
    await expect(c.send(roomId, { msgtype: 'm.text', body: 'still here?' })).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' })

    await a.ban(roomId, b.userId)
    // c was kicked: it is off the room's topic and no longer told (sync serves a departed user the
    // room only up to its own removal).
    const members = await a.members(roomId)
    expect(members.find(m => m.userId === b.userId)).toMatchObject({ membership: 'ban', verified: false, reason: 'not-a-member' })
    expect(members.find(m => m.userId === a.userId)).toMatchObject({ membership: 'join', verified: true })
    // A banned user cannot be invited back.
    await expect(a.invite(roomId, b.userId)).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' })
  })

  it('soft-fails a message a banned user wrote on a fork before the ban reached it', async () => {
    const a = await startNode('a')
    const b = await startNode('b')
    const c = await startNode('c')
    const roomId = await a.createRoom()
    await inviteAndJoin(a, b, roomId)
    await inviteAndJoin(a, c, roomId)
    await c.connect(b.multiaddrs())
    await a.send(roomId, { msgtype: 'm.text', body: 'base' })
    await waitFor(async () => (await bodies(b, roomId)).length === 1 && (await bodies(c, roomId)).length === 1, { message: 'base everywhere' })

    // A partition: {a} | {b, c}. b writes on its side; a bans b on the other.
    for (const peer of [b, c]) await a.libp2p.hangUp(peer.libp2p.peerId)
    await waitFor(() => a.libp2p.getConnections().length === 0, { message: 'a is alone' })
    const forked = await b.send(roomId, { msgtype: 'm.text', body: 'written before the ban' })
    await waitFor(async () => (await bodies(c, roomId)).includes('written before the ban'), { message: 'c accepts it (b is a member there)' })
    await a.ban(roomId, b.userId)

    // The partition heals through c: a catches up from c and meets b's message, which its own past
    // allows but the room as it is now (b banned) does not. c catches up the ban from a.
    await a.connect(c.multiaddrs())
    await waitFor(async () => await membershipOf(c, roomId, b.userId) === 'ban', { message: 'c learns of the ban' })
    await waitFor(async () => (await a.catchUp(roomId)) === 0, { message: 'a has everything c has' })
    expect(await membershipOf(a, roomId, b.userId)).toBe('ban')
    expect(await bodies(a, roomId)).toEqual(['base'])
    expect((await a.messages(roomId)).some(m => m.eventId === forked)).toBe(false)
    // …yet a holds it (soft-failed events stay in the DAG): it serves it to a member who asks.
    const held = await c.libp2p.services.sync.events(a.libp2p.peerId, roomId, [forked])
    expect(held.map(e => e.eventId)).toEqual([forked])
    // c had accepted it before it knew of the ban, as Matrix servers do: soft failure is decided on arrival.
    expect((await c.messages(roomId)).some(m => m.eventId === forked)).toBe(true)

    // The room goes on from a's side and reaches c.
    const after = await a.send(roomId, { msgtype: 'm.text', body: 'after' })
    await waitFor(async () => (await c.messages(roomId)).some(m => m.eventId === after), { message: 'c gets a\'s next message' })
    expect(await bodies(a, roomId)).toEqual(['base', 'after'])
  })
})
