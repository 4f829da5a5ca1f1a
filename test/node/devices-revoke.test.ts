/**
 * Revoking a device — here one that is offline, as a lost or stolen one is: the revocation reaches
 * every member, the device's later events are not accepted anywhere, and honest peers stop talking
 * to it (connection, sync, gossip).
 */
import { describe, expect, it } from 'vitest'
import { parseJson } from '../../node/index.js'
import { userRecordKey } from '../../protocols/identity-dht/index.js'
import { waitFor } from '../helpers/wait-for.js'
import { everywhere, hasRoom, inviteAndJoin, linkNewDevice, relay, storedEventBytes } from './devices-fixtures.js'
import { bodies, startNode, stopNode } from './fixtures.js'

describe('revoking a device', () => {
  it('from another device while it is offline: its later events are soft-failed everywhere and nobody serves it', async () => {
    const a = await startNode('a')
    const c = await startNode('c')
    const roomId = await a.createRoom({ name: 'household' })
    await inviteAndJoin(a, c, roomId)
    await a.send(roomId, { msgtype: 'm.text', body: 'one' })

    const { node: phone, dataDir: phoneDir } = await linkNewDevice(a, 'phone')
    await hasRoom(phone, roomId, 1)
    await phone.connect(c.multiaddrs())
    const genuine = await phone.send(roomId, { msgtype: 'm.text', body: 'from the phone' })
    await everywhere([a, c], roomId, genuine)

    // Nobody revokes another user's device.
    await expect(a.revokeDevice(c.deviceId)).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' })
    // The phone is lost (offline); the user revokes it from the other device.
    await stopNode(phone)
    const revoked = await a.revokeDevice(phone.deviceId, { reason: 'lost' })
    expect(revoked).toMatchObject({ deviceId: phone.deviceId, rooms: 1 })
    // Idempotent: the same revocation, recorded nowhere again.
    expect(await a.revokeDevice(phone.deviceId)).toEqual({ ...revoked, rooms: 0 })
    const mine = await a.devices()
    expect(mine.find(d => d.deviceId === phone.deviceId)).toMatchObject({ revoked: true, revokedTs: revoked.revokedTs, current: false })
    expect(mine.find(d => d.deviceId === a.deviceId)).toMatchObject({ revoked: false, current: true })
    await waitFor(async () => (await c.lookupUser(a.userId)).devices.find(d => d.deviceId === phone.deviceId)?.revoked, { message: 'c learns the revocation' })
    const after = await a.send(roomId, { msgtype: 'm.text', body: 'after the revocation' })
    await everywhere([a, c], roomId, after)

    // The thief starts the phone: no honest node talks to it any more.
    const thief = await startNode('thief', { dataDir: phoneDir })
    expect(thief.deviceId).toBe(phone.deviceId)
    for (const n of [a, c]) await thief.connect(n.multiaddrs()).catch(() => {})
    await thief.catchUp(roomId).catch(() => 0)
    expect(a.peers().some(p => p.deviceId === thief.deviceId)).toBe(false)
    expect(c.peers().some(p => p.deviceId === thief.deviceId)).toBe(false)
    expect(await bodies(thief, roomId)).not.toContain('after the revocation')

    // Its node does not know of the revocation and takes a new message; relayed to the members by
    // someone else, it is not accepted (soft-failed: valid by its own past, not by the room now).
    const stolen = await thief.send(roomId, { msgtype: 'm.text', body: 'from the thief' })
    await stopNode(thief)
    const bytes = await storedEventBytes(phoneDir, stolen)
    const m = await relay([a, c], roomId)
    expect((await m.libp2p.services.roomGossip.publish(roomId, bytes)).status).toBe('sent')
    // Both stored it (each serves it to the other by sync) — and neither shows it.
    await waitFor(async () => {
      for (const [asker, holder] of [[a, c], [c, a]] as const) {
        const got = await asker.libp2p.services.sync.events(holder.libp2p.peerId, roomId, [stolen]).catch(() => [])
        if (got.length !== 1) return false
      }
      return true
    }, { message: 'a and c stored the relayed event' })
    const last = await c.send(roomId, { msgtype: 'm.text', body: 'still here' })
    await everywhere([a, c], roomId, last)
    for (const n of [a, c]) {
      expect(await bodies(n, roomId)).toEqual(['one', 'from the phone', 'after the revocation', 'still here'])
    }

    // The user's DHT record carries the revocation and no longer lists the phone.
    await waitFor(async () => {
      for await (const event of c.libp2p.services.dht.get(userRecordKey(a.userId), { signal: AbortSignal.timeout(2_000) })) {
        if (event.name !== 'VALUE') continue
        const record = parseJson(event.value) as { devices: Array<{ udk: string }>, revocations: Array<{ udk: string }> }
        if (record.revocations.some(r => r.udk === phone.deviceId)) return !record.devices.some(d => d.udk === phone.deviceId)
      }
      return false
    }, { timeout: 8_000, message: 'the DHT record carries the revocation' })
  })
})
