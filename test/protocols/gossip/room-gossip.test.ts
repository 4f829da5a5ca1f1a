/**
 * Room gossip over real keyroom libp2p nodes on loopback: delivery through a relay, rejection with
 * a score penalty, a burst without loss, and the publish outcomes.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '../../helpers/wait-for.js'
import { OTHER_ROOM, ROOM, fakeEvent, gossipNode } from './fixtures.js'
import type { GossipTestNode } from './fixtures.js'
import type { RoomGossipInit } from '../../../protocols/gossip/index.js'

const running: GossipTestNode[] = []
afterEach(async () => {
  for (const n of running.splice(0).reverse()) await n.node.stop()
})

async function start (name: string, overrides: Partial<RoomGossipInit> = {}): Promise<GossipTestNode> {
  const n = await gossipNode(name, overrides)
  running.push(n)
  return n
}

/** Connect `a` to `b` and wait until each sees the other subscribed to `roomId`. */
async function link (a: GossipTestNode, b: GossipTestNode, roomId = ROOM): Promise<void> {
  await a.node.dial(b.node.getMultiaddrs())
  await waitFor(() =>
    a.node.services.roomGossip.subscribers(roomId).some(p => p.equals(b.node.peerId)) &&
    b.node.services.roomGossip.subscribers(roomId).some(p => p.equals(a.node.peerId)),
  { timeout: 5_000, message: 'mutual subscription' })
}

describe('room gossip', () => {
  it('carries an event from A to C through B (A — B — C)', async () => {
    const [a, b, c] = [await start('a'), await start('b'), await start('c')]
    for (const n of [a, b, c]) n.node.services.roomGossip.subscribe(ROOM)
    await link(a, b)
    await link(b, c)

    const outcome = await a.node.services.roomGossip.publish(ROOM, fakeEvent('$one'))
    expect(outcome.status).toBe('sent')

    await waitFor(() => c.ports.received.length === 1, { timeout: 5_000, message: 'C receives the event' })
    expect(b.ports.received.map(r => r.eventId)).toEqual(['$one'])
    expect(c.ports.received[0]).toMatchObject({ roomId: ROOM, eventId: '$one' })
    // C is not connected to A: the event reached it through B.
    expect(c.ports.received[0]?.from.equals(b.node.peerId)).toBe(true)
    expect(a.ports.received).toEqual([])
  })

  it('rejects an invalid event, does not deliver it, and lowers the sender\'s score', async () => {
    const [a, b] = [await start('a'), await start('b')]
    a.node.services.roomGossip.subscribe(ROOM)
    b.node.services.roomGossip.subscribe(ROOM)
    await link(a, b)
    expect(a.node.services.roomGossip.scoreOf(b.node.peerId)).toBeGreaterThanOrEqual(0)

    // B's own publishes are not validated by B; A's validator rejects.
    const outcome = await b.node.services.roomGossip.publish(ROOM, fakeEvent('$bad', ROOM, { valid: false }))
    expect(outcome.status).toBe('sent')

    const score = await waitFor(() => {
      const s = a.node.services.roomGossip.scoreOf(b.node.peerId)
      return s !== undefined && s < 0 ? s : undefined
    }, { timeout: 5_000, message: 'A scores B below zero' })
    expect(score).toBeLessThanOrEqual(-5)
    expect(a.ports.validated).toBe(1)
    expect(a.ports.received).toEqual([])
  })

  it('delivers a burst of 500 publishes complete, to a direct and a relayed peer', async () => {
    const [a, b, c] = [await start('a'), await start('b'), await start('c')]
    for (const n of [a, b, c]) n.node.services.roomGossip.subscribe(ROOM)
    await link(a, b)
    await link(b, c)

    const ids = Array.from({ length: 500 }, (_, i) => `$burst${i}`)
    const outcomes = await Promise.all(ids.map(id => a.node.services.roomGossip.publish(ROOM, fakeEvent(id, ROOM, { body: 'x'.repeat(5_000) }))))
    expect(outcomes.every(o => o.status === 'sent')).toBe(true)

    await waitFor(() => b.ports.received.length === 500 && c.ports.received.length === 500, { timeout: 15_000, message: 'all 500 at B and C' })
    expect(new Set(b.ports.received.map(r => r.eventId))).toEqual(new Set(ids))
    expect(new Set(c.ports.received.map(r => r.eventId))).toEqual(new Set(ids))
  })

  it('does not let an event replayed on another room\'s topic shadow the real one', async () => {
    const [a, b] = [await start('a'), await start('b')]
    for (const n of [a, b]) {
      n.node.services.roomGossip.subscribe(ROOM)
      n.node.services.roomGossip.subscribe(OTHER_ROOM)
    }
    await link(a, b, ROOM)
    await link(a, b, OTHER_ROOM)

    const event = fakeEvent('$moved', ROOM)
    // On the wrong topic: A rejects it (the room does not match)…
    expect((await b.node.services.roomGossip.publish(OTHER_ROOM, event)).status).toBe('sent')
    await waitFor(() => a.ports.validated === 1, { timeout: 5_000 })
    expect(a.ports.received).toEqual([])
    // …and the same bytes on the right topic still arrive: the wrong-topic copy had another message ID.
    expect((await b.node.services.roomGossip.publish(ROOM, event)).status).toBe('sent')
    await waitFor(() => a.ports.received.length === 1, { timeout: 5_000, message: 'the real event arrives' })
    expect(a.ports.received[0]).toMatchObject({ roomId: ROOM, eventId: '$moved' })
  })

  it('ignores (without penalty) an event whose validation throws', async () => {
    let calls = 0
    const a = await start('a', { validate: () => { calls++; throw new Error('validator bug') } })
    const b = await start('b')
    a.node.services.roomGossip.subscribe(ROOM)
    b.node.services.roomGossip.subscribe(ROOM)
    await link(a, b)
    await b.node.services.roomGossip.publish(ROOM, fakeEvent('$x'))
    await b.node.services.roomGossip.publish(ROOM, fakeEvent('$y'))
    await waitFor(() => calls === 2, { timeout: 5_000, message: 'A validated both' })
    expect(a.ports.received).toEqual([])
    // Scores are cached for one heartbeat (200 ms here): look after it has passed.
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(a.node.services.roomGossip.scoreOf(b.node.peerId)).toBeGreaterThanOrEqual(0)
  })
})

describe('room gossip: publish outcomes', () => {
  it('reports no-peers when nobody subscribes within the wait', async () => {
    const a = await start('a')
    a.node.services.roomGossip.subscribe(ROOM)
    const started = Date.now()
    expect(await a.node.services.roomGossip.publish(ROOM, fakeEvent('$alone'), { waitForPeersTimeout: 150 })).toEqual({ status: 'no-peers' })
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('reports duplicate for an event already published', async () => {
    const [a, b] = [await start('a'), await start('b')]
    a.node.services.roomGossip.subscribe(ROOM)
    b.node.services.roomGossip.subscribe(ROOM)
    await link(a, b)
    expect((await a.node.services.roomGossip.publish(ROOM, fakeEvent('$twice'))).status).toBe('sent')
    expect(await a.node.services.roomGossip.publish(ROOM, fakeEvent('$twice'))).toEqual({ status: 'duplicate' })
  })

  it('throws ERR_GOSSIP_MESSAGE_TOO_LARGE for an oversized event', async () => {
    const a = await start('a')
    await expect(a.node.services.roomGossip.publish(ROOM, new Uint8Array(65_537))).rejects.toMatchObject({ code: 'ERR_GOSSIP_MESSAGE_TOO_LARGE' })
  })

  it('honours the caller\'s signal while waiting for peers', async () => {
    const a = await start('a')
    const controller = new AbortController()
    const pending = a.node.services.roomGossip.publish(ROOM, fakeEvent('$cancel'), { signal: controller.signal, waitForPeersTimeout: 10_000 })
    setTimeout(() => { controller.abort(new Error('stop waiting')) }, 50)
    await expect(pending).rejects.toThrow('stop waiting')
  })

  it('throws ERR_NOT_STARTED after stop, and for malformed room IDs ERR_INVALID_KEY', async () => {
    const a = await start('a')
    expect(() => { a.node.services.roomGossip.subscribe('not-a-room') }).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY' }))
    await a.node.stop()
    expect(() => { a.node.services.roomGossip.subscribe(ROOM) }).toThrow(expect.objectContaining({ code: 'ERR_NOT_STARTED' }))
    await expect(a.node.services.roomGossip.publish(ROOM, fakeEvent('$late'))).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' })
  })
})
