/**
 * Several real nodes on 127.0.0.1: invites reach the invitee's device, joins fetch the room through
 * sync, messages travel by gossip, and every node ends with the same history in the same order.
 */
import { describe, expect, it } from 'vitest'
import { parseJson } from '../../node/index.js'
import { userRecordKey } from '../../protocols/identity-dht/index.js'
import { waitFor } from '../helpers/wait-for.js'
import { bodies, startNode } from './fixtures.js'
import type { KeyroomNode, MembershipChange } from '../../node/index.js'

/** Connect every pair of nodes and wait until each knows the others' users (hello). */
async function mesh (nodes: KeyroomNode[]): Promise<void> {
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) await nodes[j]!.connect(nodes[i]!.multiaddrs())
  }
  await waitFor(() => nodes.every(n => n.peers().filter(p => p.userId !== undefined).length >= nodes.length - 1), { message: 'hello between all nodes' })
}

async function historyOf (node: KeyroomNode, roomId: string): Promise<string[]> {
  return (await node.messages(roomId, { limit: 1000 })).map(m => m.eventId)
}

describe('three nodes', () => {
  it('create, invite, join, chat: all see the same history in the same order, and all members verified', async () => {
    const [a, b, c] = [await startNode('a'), await startNode('b'), await startNode('c')]
    await mesh([a, b, c])
    const roomId = await a.createRoom({ name: 'trio' })

    const invites: MembershipChange[] = []
    b.addEventListener('membership', (e) => { invites.push(e.detail) })
    await a.invite(roomId, b.userId)
    await a.invite(roomId, c.userId)
    await waitFor(() => invites.some(i => i.roomId === roomId && i.membership === 'invite' && i.direct === true), { message: 'invite reaches b' })
    expect(await b.rooms()).toContainEqual({ roomId, membership: 'invite' })
    await waitFor(async () => (await c.rooms()).some(r => r.roomId === roomId && r.membership === 'invite'), { message: 'invite reaches c' })

    expect(await b.join(roomId)).toBe(roomId)
    expect(await c.join(roomId)).toBe(roomId)
    // join() is idempotent.
    expect(await c.join(roomId)).toBe(roomId)

    const joined = async (n: KeyroomNode): Promise<boolean> => (await n.members(roomId)).filter(m => m.membership === 'join').length === 3
    await waitFor(async () => (await joined(a)) && (await joined(b)) && (await joined(c)), { message: 'all three joined everywhere' })

    const sent = [
      await a.send(roomId, { msgtype: 'm.text', body: 'hello from a' }),
      await b.send(roomId, { msgtype: 'm.text', body: 'hello from b' }),
      await c.send(roomId, { msgtype: 'm.text', body: 'hello from c' })
    ]
    await waitFor(async () => {
      const all = await Promise.all([a, b, c].map(async n => await historyOf(n, roomId)))
      return all.every(h => h.length === 3) ? all : undefined
    }, { message: 'three messages everywhere' })
    const histories = await Promise.all([a, b, c].map(async n => await historyOf(n, roomId)))
    expect(histories[1]).toEqual(histories[0])
    expect(histories[2]).toEqual(histories[0])
    expect([...histories[0]!].sort()).toEqual([...sent].sort())
    expect(await bodies(b, roomId)).toEqual(await bodies(a, roomId))
    for (const [n, node] of [a, b, c].entries()) {
      const own = await node.messages(roomId)
      expect(own.find(m => m.eventId === sent[n])?.sender).toBe(node.userId)
    }

    for (const node of [a, b, c]) {
      const members = await node.members(roomId)
      expect(members.map(m => m.userId).sort()).toEqual([a.userId, b.userId, c.userId].sort())
      expect(members.every(m => m.membership === 'join' && m.verified)).toBe(true)
    }
  })
})

describe('the identity directory', () => {
  it('reaches an invitee\'s device the node is not connected to, through the directory port and peer routing', async () => {
    const b = await startNode('b')
    const hub = await startNode('hub')
    const asked: string[] = []
    const directory = {
      devicesOf: async (userId: string) => {
        asked.push(userId)
        return userId === b.userId ? [{ deviceId: b.deviceId, revoked: false }] : []
      }
    }
    const a = await startNode('a', { directory })
    await a.connect(hub.multiaddrs())
    await b.connect(hub.multiaddrs())
    // The DHT must know b before a can find it (a's routing table fills through the hub).
    await waitFor(async () => (await a.libp2p.peerRouting.findPeer(b.libp2p.peerId, { signal: AbortSignal.timeout(2_000) })).multiaddrs.length > 0,
      { timeout: 8_000, message: 'a finds b through the DHT' })
    // Finding b may have connected to it: drop that, so the directory is what leads a to b.
    await a.libp2p.hangUp(b.libp2p.peerId)
    const roomId = await a.createRoom()
    expect((await a.lookupUser(b.userId)).devices).toEqual([expect.objectContaining({ deviceId: b.deviceId, revoked: false })])
    await a.invite(roomId, b.userId)
    await waitFor(async () => (await b.rooms()).some(r => r.roomId === roomId && r.membership === 'invite'), { message: 'invite delivered' })
    expect(asked).toContain(b.userId)
    expect(await b.join(roomId)).toBe(roomId)
    await waitFor(async () => (await a.members(roomId)).some(m => m.userId === b.userId && m.membership === 'join' && m.verified), { message: 'b joined' })
  })

  it('publishes the user\'s record, with this device, to the DHT once a DHT peer connects', async () => {
    const a = await startNode('a')
    const hub = await startNode('hub')
    await a.connect(hub.multiaddrs())
    const record = await waitFor(async () => {
      for await (const event of hub.libp2p.services.dht.get(userRecordKey(a.userId), { signal: AbortSignal.timeout(2_000) })) {
        if (event.name === 'VALUE') return parseJson(event.value) as { upk: string, seq: number, devices: Array<{ udk: string }> }
      }
      return undefined
    }, { timeout: 8_000, message: 'the hub finds a\'s record' })
    expect(record).toMatchObject({ upk: a.userId, seq: 1, devices: [{ udk: a.deviceId }] })
  })
})
