/**
 * `/keyroom/invite/1.0.0` between two real libp2p nodes on loopback: delivery, refusals, bounds.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { inviteDelivery } from '../../../protocols/invite/index.js'
import { gossipNode } from '../gossip/fixtures.js'
import { componentsOf } from '../hello/fixtures.js'
import type { KeyroomLibp2p } from '../../../node/libp2p.js'
import type { InviteInit } from '../../../protocols/invite/index.js'
import type { PeerId } from '@libp2p/interface'

const nodes: KeyroomLibp2p[] = []
const services: Array<{ stop: () => Promise<void> }> = []
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop()
  for (const n of nodes.splice(0).reverse()) await n.stop()
})

async function pair (onInvite: InviteInit['onInvite']): Promise<{ sender: ReturnType<ReturnType<typeof inviteDelivery>>, invitee: KeyroomLibp2p, from: PeerId }> {
  const [a, b] = [(await gossipNode('a')).node, (await gossipNode('b')).node]
  nodes.push(a, b)
  const sender = inviteDelivery({ onInvite: () => ({ ok: false, problem: 'refused', reason: 'not me' }) })(componentsOf(a))
  const receiver = inviteDelivery({ onInvite })(componentsOf(b))
  await sender.start()
  await receiver.start()
  services.push(sender, receiver)
  await a.dial(b.getMultiaddrs())
  return { sender, invitee: b, from: a.peerId }
}

const bytes = new TextEncoder().encode('{"type":"m.room.member"}')

describe('invite delivery', () => {
  it('hands the bytes and the sending peer to the invitee\'s port', async () => {
    const seen: Array<{ bytes: Uint8Array, from: string }> = []
    const { sender, invitee, from } = await pair((b, f) => { seen.push({ bytes: b, from: f.toString() }); return { ok: true } })
    await sender.deliver(invitee.peerId, bytes)
    expect(seen).toEqual([{ bytes, from: from.toString() }])
  })

  it('reports a refusal with its reason as ERR_INVITE_REFUSED', async () => {
    const { sender, invitee } = await pair(() => ({ ok: false, problem: 'refused', reason: 'the invite is for another user' }))
    await expect(sender.deliver(invitee.peerId, bytes)).rejects.toMatchObject({ code: 'ERR_INVITE_REFUSED', message: expect.stringMatching(/K_FORBIDDEN.*another user/) })
    const malformed = await pair(() => ({ ok: false, problem: 'malformed', reason: 'not an invite' }))
    await expect(malformed.sender.deliver(malformed.invitee.peerId, bytes)).rejects.toMatchObject({ code: 'ERR_INVITE_REFUSED', message: expect.stringMatching(/K_BAD_REQUEST/) })
  })

  it('answers K_UNKNOWN when the port fails, and refuses oversized invites before sending', async () => {
    const { sender, invitee } = await pair(() => { throw new Error('boom') })
    await expect(sender.deliver(invitee.peerId, bytes)).rejects.toMatchObject({ code: 'ERR_INVITE_REFUSED', message: expect.stringMatching(/K_UNKNOWN/) })
    await expect(sender.deliver(invitee.peerId, new Uint8Array(65_537))).rejects.toMatchObject({ code: 'ERR_PEER_BAD_MESSAGE' })
  })
})
