/**
 * Linking a second device: the new device shows a link, a device holding the UPK links it, and the
 * new device becomes a full device of the same user — it gets the user's rooms and their history
 * and speaks in them — while the room's members and the DHT record learn of it.
 */
import { describe, expect, it } from 'vitest'
import { parseJson } from '../../node/index.js'
import { userRecordKey } from '../../protocols/identity-dht/index.js'
import { parseLinkText } from '../../node/link-text.js'
import { waitFor } from '../helpers/wait-for.js'
import { inviteAndJoin } from './devices-fixtures.js'
import { bodies, startNode } from './fixtures.js'

describe('linking a second device', () => {
  it('makes the new device a full device of the user: it gets the rooms and their history, and speaks in them', async () => {
    const a = await startNode('a')
    const c = await startNode('c')
    const roomId = await a.createRoom({ name: 'family' })
    await inviteAndJoin(a, c, roomId)
    await a.send(roomId, { msgtype: 'm.text', body: 'before the phone' })
    await c.send(roomId, { msgtype: 'm.text', body: 'hi from c' })
    await waitFor(async () => (await bodies(a, roomId)).length === 2, { message: 'history on a' })

    let shown: { text: string, deviceId: string } | undefined
    const pending = startNode('a2', { link: { onRequest: (request) => { shown = request } } })
    const request = await waitFor(() => shown, { message: 'the new device shows its link' })
    // The link fits a QR code and names the new device.
    expect(request.text.length).toBeLessThan(400)
    expect(parseLinkText(request.text).deviceId).toBe(request.deviceId)

    const linked = await a.linkDevice(request.text)
    expect(linked).toMatchObject({ deviceId: request.deviceId, rooms: 1 })
    const a2 = await pending
    expect(a2.userId).toBe(a.userId)
    expect(a2.deviceId).toBe(request.deviceId)
    expect(a2.holdsUserKey).toBe(false)
    expect(a2.recoveryPhrase).toBeUndefined()

    // The new device finds the user's room through the linking device and catches up its history.
    await waitFor(async () => (await a2.rooms()).some(r => r.roomId === roomId && r.membership === 'join'), { message: 'a2 has the room' })
    await waitFor(async () => (await bodies(a2, roomId)).length === 2, { message: 'a2 has the history' })
    expect(await bodies(a2, roomId)).toEqual(await bodies(a, roomId))

    // It speaks as the user; every member accepts it.
    await a2.connect(c.multiaddrs())
    const sent = await a2.send(roomId, { msgtype: 'm.text', body: 'from the phone' })
    await waitFor(async () => {
      for (const n of [a, c]) if (!(await n.messages(roomId)).some(m => m.eventId === sent)) return false
      return true
    }, { message: 'a2\'s message everywhere' })
    expect((await c.messages(roomId)).find(m => m.eventId === sent)?.sender).toBe(a.userId)
    // Messages keep flowing to it.
    const reply = await c.send(roomId, { msgtype: 'm.text', body: 'welcome, phone' })
    await waitFor(async () => (await a2.messages(roomId)).some(m => m.eventId === reply), { message: 'c\'s reply reaches a2' })
    for (const n of [a, a2, c]) {
      expect((await n.members(roomId)).filter(m => m.membership === 'join' && m.verified).map(m => m.userId).sort()).toEqual([a.userId, c.userId].sort())
    }

    // Both devices list each other; c sees both devices of the user.
    const listed = await a.devices()
    expect(listed.map(d => d.deviceId).sort()).toEqual([a.deviceId, a2.deviceId].sort())
    expect(listed.find(d => d.current)?.deviceId).toBe(a.deviceId)
    expect(listed.every(d => !d.revoked)).toBe(true)
    expect((await a2.devices()).map(d => d.deviceId).sort()).toEqual([a.deviceId, a2.deviceId].sort())
    expect((await c.lookupUser(a.userId)).devices.map(d => d.deviceId).sort()).toEqual([a.deviceId, a2.deviceId].sort())

    // The user's DHT record lists both devices.
    await waitFor(async () => {
      for await (const event of c.libp2p.services.dht.get(userRecordKey(a.userId), { signal: AbortSignal.timeout(2_000) })) {
        if (event.name !== 'VALUE') continue
        const record = parseJson(event.value) as { devices: Array<{ udk: string }> }
        if (record.devices.length === 2) return record.devices.map(d => d.udk).sort().join() === [a.deviceId, a2.deviceId].sort().join()
      }
      return false
    }, { timeout: 8_000, message: 'the DHT record lists both devices' })
  })

  it('refuses a wrong code, a device without the user key, and a revoked device', async () => {
    const a = await startNode('a')
    let text: string | undefined
    const pending = startNode('a2', { link: { onRequest: (request) => { text = request.text } } })
    const shown = await waitFor(() => text, { message: 'link shown' })
    const wrong = shown.replace(/code=[^&]+/u, `code=${'A'.repeat(22)}`)
    await expect(a.linkDevice(wrong)).rejects.toMatchObject({ code: 'ERR_LINK_REFUSED' })
    await expect(a.linkDevice('keyroom:link/^nope?code=x')).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' })
    await expect(a.linkDevice(shown, { expiresTs: Date.now() - 1 })).rejects.toMatchObject({ code: 'ERR_INVALID_EVENT' })
    await a.linkDevice(shown)
    const a2 = await pending
    await expect(a2.linkDevice(shown)).rejects.toMatchObject({ code: 'ERR_NO_USER_KEY' })
    await expect(a2.revokeDevice(a.deviceId)).rejects.toMatchObject({ code: 'ERR_NO_USER_KEY' })
    await expect(a.revokeDevice(a.deviceId)).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' })
    // Linking again after the device is linked (it dialled a back): it refuses a second link.
    await waitFor(() => a.peers().some(p => p.deviceId === a2.deviceId), { message: 'a2 dials a back' })
    await expect(a.linkDevice(shown)).rejects.toMatchObject({ code: 'ERR_LINK_REFUSED' })
    await a.revokeDevice(a2.deviceId)
    await expect(a.linkDevice(shown)).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' })
  })
})
