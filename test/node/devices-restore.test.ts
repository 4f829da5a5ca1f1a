/**
 * Restoring from the recovery phrase: a fresh device with only the phrase is the same user with a
 * new device key, finds the user's rooms through a room peer (the lost device is gone), attests
 * itself there, speaks, and revokes the lost device.
 */
import { describe, expect, it } from 'vitest'
import { createNode } from '../../node/index.js'
import { waitFor } from '../helpers/wait-for.js'
import { everywhere, hasRoom, inviteAndJoin } from './devices-fixtures.js'
import { bodies, startNode, stopNode, tempDir } from './fixtures.js'

describe('restoring from the recovery phrase', () => {
  it('gives the same user on a new device key, the rooms and their history back, and the power to revoke the lost device', async () => {
    const lostDir = await tempDir()
    const a = await startNode('a', { dataDir: lostDir })
    const phrase = a.recoveryPhrase!
    expect(phrase.split(' ')).toHaveLength(24)
    const c = await startNode('c')
    const roomId = await a.createRoom({ name: 'club' })
    await inviteAndJoin(a, c, roomId)
    await a.send(roomId, { msgtype: 'm.text', body: 'before the loss' })
    // A reply to it (not a fork beside it, whose order would go by event ID).
    await waitFor(async () => (await bodies(c, roomId)).includes('before the loss'), { message: 'the message on c' })
    await c.send(roomId, { msgtype: 'm.text', body: 'reply' })
    await waitFor(async () => (await bodies(a, roomId)).length === 2, { message: 'history on a' })
    await stopNode(a)

    const restored = await startNode('restored', { recoveryPhrase: phrase })
    expect(restored.userId).toBe(a.userId)
    expect(restored.deviceId).not.toBe(a.deviceId)
    expect(restored.holdsUserKey).toBe(true)
    expect(restored.recoveryPhrase).toBeUndefined()

    // A room peer (no other device of the user is online) tells it the user's rooms.
    await restored.connect(c.multiaddrs())
    await hasRoom(restored, roomId, 2)
    expect(await bodies(restored, roomId)).toEqual(['before the loss', 'reply'])
    const back = await restored.send(roomId, { msgtype: 'm.text', body: 'I am back' })
    await everywhere([c], roomId, back)
    expect((await c.messages(roomId)).find(m => m.eventId === back)?.sender).toBe(a.userId)
    expect((await c.members(roomId)).find(m => m.userId === a.userId)).toMatchObject({ membership: 'join', verified: true })

    // The lost device is revoked from the restored one; c stops talking to it.
    expect(await restored.revokeDevice(a.deviceId, { reason: 'lost' })).toMatchObject({ rooms: 1 })
    await waitFor(async () => (await c.lookupUser(a.userId)).devices.find(d => d.deviceId === a.deviceId)?.revoked, { message: 'c learns the revocation' })
    const thief = await startNode('thief', { dataDir: lostDir })
    await thief.connect(c.multiaddrs()).catch(() => {})
    const after = await c.send(roomId, { msgtype: 'm.text', body: 'not for the thief' })
    await everywhere([restored], roomId, after)
    expect(c.peers().some(p => p.deviceId === thief.deviceId)).toBe(false)
    expect(await bodies(thief, roomId)).not.toContain('not for the thief')
  })

  it('refuses a phrase of another user on a data directory that has an identity', async () => {
    const dir = await tempDir()
    const x = await startNode('x', { dataDir: dir })
    const y = await startNode('y')
    const phrase = y.recoveryPhrase!
    await stopNode(x)
    await expect(createNode({ dataDir: dir, recoveryPhrase: phrase, listen: ['/ip4/127.0.0.1/tcp/0'] })).rejects.toMatchObject({ code: 'ERR_IDENTITY_EXISTS' })
    await expect(createNode({ dataDir: await tempDir(), recoveryPhrase: 'not a phrase', listen: ['/ip4/127.0.0.1/tcp/0'] })).rejects.toMatchObject({ code: 'ERR_INVALID_RECOVERY_PHRASE' })
  })
})
