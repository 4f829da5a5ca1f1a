/**
 * Bans and power levels name users (UPKs), so a ban covers every device of the banned user: the
 * devices they had, and the ones they link or restore afterwards.
 */
import { describe, expect, it } from 'vitest'
import { buildDeviceAttestation, buildMessage, canonicalJsonBytes } from '../../node/index.js'
import { loadIdentity } from '../../store/index.js'
import { waitFor } from '../helpers/wait-for.js'
import { everywhere, hasRoom, inviteAndJoin, linkNewDevice, relay, snapshot } from './devices-fixtures.js'
import { bodies, startNode } from './fixtures.js'

describe('a banned user', () => {
  it('is refused on their other devices and on devices linked or restored after the ban', async () => {
    const a = await startNode('a')
    const b = await startNode('b')
    // c watches a's store: it asks a by sync whether a holds an event.
    const c = await startNode('c')
    const roomId = await a.createRoom({ name: 'moderated' })
    await inviteAndJoin(a, b, roomId)
    await inviteAndJoin(a, c, roomId)
    // b's second device, linked while b is a member.
    const { node: tablet } = await linkNewDevice(b, 'tablet')
    await hasRoom(tablet, roomId, 0)
    await tablet.connect(a.multiaddrs())
    const hello = await tablet.send(roomId, { msgtype: 'm.text', body: 'tablet says hi' })
    await everywhere([a], roomId, hello)
    // What b's devices know of the room before the ban (a message is the only head).
    const { context, state } = await snapshot(b, a, roomId)

    await a.ban(roomId, b.userId, 'spam')
    for (const n of [b, tablet]) {
      await waitFor(async () => (await n.members(roomId)).find(m => m.userId === b.userId)?.membership === 'ban', { message: 'the ban reaches b\'s devices' })
    }
    // The device b had: refused by its own node's rules.
    await expect(tablet.send(roomId, { msgtype: 'm.text', body: 'still here?' })).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' })

    // A device linked after the ban: nobody lists the room for it, and a will not let it in. (It
    // may read the room up to the ban — sync serves a departed user that much, as Matrix shows a
    // user the history up to their removal — so it learns the ban and the join is forbidden.)
    const { node: laptop, dataDir: laptopDir } = await linkNewDevice(b, 'laptop')
    await laptop.connect(a.multiaddrs())
    await waitFor(() => a.peers().some(p => p.deviceId === laptop.deviceId && p.userId === b.userId), { message: 'a meets the laptop' })
    await expect(laptop.join(a.roomUri(roomId))).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' })
    expect((await laptop.rooms()).find(r => r.roomId === roomId)?.membership).toBe('ban')

    // A device restored from b's phrase: the same.
    const restored = await startNode('restored', { recoveryPhrase: b.recoveryPhrase! })
    await restored.connect(a.multiaddrs())
    await expect(restored.join(a.roomUri(roomId))).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' })
    expect((await restored.rooms()).find(r => r.roomId === roomId)?.membership).toBe('ban')

    // Hand-made events by the new device (its attestation, then a message), built on the room as it
    // was before the ban and relayed to a: neither is accepted.
    const identity = await loadIdentity(laptopDir)
    const device = { userId: identity.userId, deviceSeed: identity.udkSeed, attestation: identity.attestation }
    const attest = buildDeviceAttestation(device, context, { originServerTs: Date.now(), attestation: identity.attestation })
    state.apply(attest)
    const message = buildMessage(device, { ...context, prevEvents: [attest.eventId], depth: context.depth + 1 }, { originServerTs: Date.now(), msgtype: 'm.text', body: 'ban evasion' })
    const m = await relay([a], roomId)
    for (const event of [attest, message]) expect((await m.libp2p.services.roomGossip.publish(roomId, canonicalJsonBytes(event.event))).status).toBe('sent')
    await waitFor(async () => (await c.libp2p.services.sync.events(a.libp2p.peerId, roomId, [attest.eventId, message.eventId]).catch(() => [])).length === 2,
      { message: 'a stored the relayed events' })
    const after = await a.send(roomId, { msgtype: 'm.text', body: 'moderator here' })
    await everywhere([a, c], roomId, after)
    expect(await bodies(a, roomId)).toEqual(['tablet says hi', 'moderator here'])
    expect(await bodies(c, roomId)).toEqual(['tablet says hi', 'moderator here'])
    expect((await a.members(roomId)).find(x => x.userId === b.userId)?.membership).toBe('ban')
  })
})
