/**
 * Room administration through the embedding API: name and topic, one user's power level, and
 * unban — each a state event every member sees, judged by the same auth rules.
 */
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait-for.js'
import { inviteAndJoin, membershipOf, startNode } from './fixtures.js'

describe('room administration', () => {
  it('name and topic reach every member; a member without power cannot change them', async () => {
    const a = await startNode('admin-a')
    const b = await startNode('admin-b')
    await b.connect(a.multiaddrs())
    const roomId = await a.createRoom({ name: 'first' })
    await inviteAndJoin(a, b, roomId)
    await a.setName(roomId, 'second')
    await a.setTopic(roomId, 'what we talk about')
    await waitFor(async () => (await b.rooms()).some(r => r.roomId === roomId && r.name === 'second' && r.topic === 'what we talk about'), { message: 'b sees name and topic' })
    // Default power levels: state events need 50, b has 0.
    await expect(b.setTopic(roomId, 'mine now')).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' })
    await expect(a.setTopic(roomId, 42 as unknown as string)).rejects.toMatchObject({ code: 'ERR_INVALID_EVENT' })
  }, 30_000)

  it('setPowerLevel makes a moderator who can then kick; bad levels are refused before anything is sent', async () => {
    const a = await startNode('admin-a')
    const b = await startNode('admin-b')
    const c = await startNode('admin-c')
    await b.connect(a.multiaddrs())
    await c.connect(a.multiaddrs())
    const roomId = await a.createRoom()
    await inviteAndJoin(a, b, roomId)
    await inviteAndJoin(a, c, roomId)
    await expect(b.kick(roomId, c.userId)).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' })
    await expect(a.setPowerLevel(roomId, b.userId, 1.5)).rejects.toMatchObject({ code: 'ERR_INVALID_EVENT' })
    await expect(a.setPowerLevel(roomId, 'not-a-user', 50)).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_/) })
    await a.setPowerLevel(roomId, b.userId, 50)
    // b's node must hold the new power levels before its own rules let it kick.
    await waitFor(async () => {
      try {
        await b.kick(roomId, c.userId, 'moderated')
        return true
      } catch {
        return false
      }
    }, { message: 'b, a moderator now, kicks c' })
    await waitFor(async () => await membershipOf(a, roomId, c.userId) === 'leave', { message: 'a sees the kick' })
    // The rest of the power levels is kept: a is still the only admin.
    await expect(b.setPowerLevel(roomId, b.userId, 100)).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' })
  }, 40_000)

  it('unban lets a banned user be invited and join again', async () => {
    const a = await startNode('admin-a')
    const b = await startNode('admin-b')
    await b.connect(a.multiaddrs())
    const roomId = await a.createRoom()
    await inviteAndJoin(a, b, roomId)
    await a.ban(roomId, b.userId, 'cool off')
    await waitFor(async () => await membershipOf(b, roomId, b.userId) === 'ban', { message: 'b learns its ban' })
    await expect(a.invite(roomId, b.userId)).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' })
    await a.unban(roomId, b.userId)
    expect(await membershipOf(a, roomId, b.userId)).toBe('leave')
    await inviteAndJoin(a, b, roomId)
    await b.send(roomId, { msgtype: 'm.text', body: 'back' })
  }, 40_000)
})
