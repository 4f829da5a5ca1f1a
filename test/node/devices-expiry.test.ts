/**
 * Attestations that expire: a device whose attestation lapsed is no longer accepted — without any
 * revocation — and a device holding the UPK renews the user's devices' attestations before they
 * lapse, while both are online.
 */
import { describe, expect, it } from 'vitest'
import { loadIdentity } from '../../store/index.js'
import { waitFor } from '../helpers/wait-for.js'
import { everywhere, hasRoom, inviteAndJoin, linkNewDevice } from './devices-fixtures.js'
import { bodies, startNode, stopNode } from './fixtures.js'

describe('an expiring attestation', () => {
  it('lapses: the device\'s events are no longer accepted and it is no longer served, with no revocation', async () => {
    // Clocks the test moves: the members' and the device's.
    let membersAhead = 0
    let deviceAhead = 0
    const members = (): number => Date.now() + membersAhead
    const a = await startNode('a', { now: members })
    const c = await startNode('c', { now: members })
    // o watches c's store: it asks c by sync whether c holds an event.
    const o = await startNode('o', { now: members })
    const roomId = await a.createRoom()
    await inviteAndJoin(a, c, roomId)
    await inviteAndJoin(a, o, roomId)
    await o.connect(c.multiaddrs())
    await a.send(roomId, { msgtype: 'm.text', body: 'one' })
    const expiresTs = Date.now() + 60_000
    const { node: phone } = await linkNewDevice(a, 'phone', { expiresTs, now: () => Date.now() + deviceAhead })
    await hasRoom(phone, roomId, 1)
    expect((await phone.devices()).find(d => d.current)).toMatchObject({ expiresTs, revoked: false })
    await phone.connect(c.multiaddrs())
    const inTime = await phone.send(roomId, { msgtype: 'm.text', body: 'in time' })
    await everywhere([a, c], roomId, inTime)

    // Nobody renews it (the device holding the UPK is gone), and time passes the expiry.
    await stopNode(a)
    membersAhead = 120_000
    // The device's own clock lags: it still signs a message, timestamped before the expiry. c judges
    // it by its own clock and does not accept it.
    const late = await phone.send(roomId, { msgtype: 'm.text', body: 'too late' })
    await waitFor(async () => (await o.libp2p.services.sync.events(c.libp2p.peerId, roomId, [late]).catch(() => [])).length === 1,
      { message: 'the late message reaches c' })
    const fromC = await c.send(roomId, { msgtype: 'm.text', body: 'c goes on' })
    await everywhere([o], roomId, fromC)
    expect(await bodies(c, roomId)).toEqual(['one', 'in time', 'c goes on'])
    expect(await bodies(o, roomId)).toEqual(['one', 'in time', 'c goes on'])
    const seen = (await c.lookupUser(phone.userId)).devices.find(d => d.deviceId === phone.deviceId)
    expect(seen).toMatchObject({ expiresTs, revoked: false })
    // c no longer serves it the room by sync.
    await expect(phone.catchUp(roomId)).rejects.toMatchObject({ code: 'ERR_ROOM_UNREACHABLE' })
    // Once its own clock is past the expiry, the device itself refuses to sign.
    deviceAhead = 120_000
    await expect(phone.send(roomId, { msgtype: 'm.text', body: 'refused' })).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' })
  })

  it('is renewed before it lapses by a device holding the UPK, and the device goes on being accepted', async () => {
    const a = await startNode('a')
    const c = await startNode('c')
    const roomId = await a.createRoom()
    await inviteAndJoin(a, c, roomId)
    await a.send(roomId, { msgtype: 'm.text', body: 'one' })
    // A short life: renewed two thirds in (≈ 2 s), for 3 s again.
    const firstExpiry = Date.now() + 3_000
    const { node: phone, dataDir } = await linkNewDevice(a, 'phone', { expiresTs: firstExpiry })
    await hasRoom(phone, roomId, 1)
    await phone.connect(c.multiaddrs())

    const renewed = await waitFor(async () => {
      const expiry = (await phone.devices()).find(d => d.current)?.expiresTs
      return expiry !== undefined && expiry > firstExpiry ? expiry : undefined
    }, { timeout: 4_000, message: 'the phone\'s attestation is renewed' })
    // The renewed attestation is in the phone's keystore and known to the other devices.
    expect((await loadIdentity(dataDir)).attestation.expires_ts).toBe(renewed)
    await waitFor(async () => (await a.devices()).find(d => d.deviceId === phone.deviceId)?.expiresTs === renewed, { message: 'a knows the renewal' })
    // After the first expiry the phone still speaks, and every member accepts it.
    await waitFor(() => Date.now() > firstExpiry + 100, { timeout: 4_000, message: 'the first expiry passes' })
    const later = await phone.send(roomId, { msgtype: 'm.text', body: 'after the first expiry' })
    await everywhere([a, c], roomId, later)
  })
})
