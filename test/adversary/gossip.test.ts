/**
 * An adversarial peer on a room's gossip topic, against three honest nodes: forged signatures,
 * events from non-members, replays, oversized and deeply nested events, out-of-order and duplicate
 * delivery, a withheld ban, and forks from a banned user. Each test states the outcome; in every
 * one the honest nodes stay responsive (a send returns within 2 s and reaches the others) and end
 * with the same members.
 *
 * Stale or forged identity records in the DHT are the identity directory's tests
 * (`test/protocols/identity-dht/`), not repeated here.
 */
import { describe, expect, it } from 'vitest'
import {
  RoomEventType, buildCreateRoom, buildEvent, buildMessage, buildTopic, canonicalJsonBytes, scenarioUser, toBase64
} from '../../node/index.js'
import { Partition } from '../fuzz/network.js'
import { waitFor } from '../helpers/wait-for.js'
import {
  bodies, deviceOf, gossipRaw, headContext, ingestAt, membersText, penalisedEverywhere, readyToGossip, roomWithMallory, startNode, stillResponsive, worstScore
} from './fixtures.js'
import type { KeyroomNode, RoomEvent } from '../../node/index.js'

/** Whether `node` stores `eventId` (asked by sync from another member in `peers`). */
async function stores (peers: readonly KeyroomNode[], node: KeyroomNode, roomId: string, eventId: string): Promise<boolean> {
  const asker = peers.find(p => p !== node)!
  return (await asker.libp2p.services.sync.events(node.libp2p.peerId, roomId, [eventId])).length > 0
}

/** Every honest node lists the same members (and verdicts). */
async function sameMembers (honest: readonly KeyroomNode[], roomId: string): Promise<string> {
  const texts = await Promise.all(honest.map(async n => await membersText(n, roomId)))
  for (const t of texts) expect(t).toBe(texts[0])
  return texts[0]!
}

describe('an adversarial peer on the room\'s gossip topic', () => {
  it('forged signature: a copy of a genuine event with a bad signature is rejected by every member and never stored; the genuine event still reaches everyone', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(false)
    const [a, b, c] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    const { context } = await headContext(b, a, roomId)
    const genuine = buildMessage(await deviceOf(a), context, { originServerTs: Date.now(), body: 'signed by a' })
    const forged = structuredClone(genuine.event) as RoomEvent & { signatures: Record<string, Record<string, string>> }
    for (const keys of Object.values(forged.signatures)) keys.ed25519 = toBase64(new Uint8Array(64).fill(7))
    await readyToGossip(mallory, honest, roomId)
    expect(await gossipRaw(mallory, roomId, canonicalJsonBytes(forged))).toBe(3)
    await penalisedEverywhere(honest, mallory)
    for (const n of honest) expect(await stores(honest, n, roomId, genuine.eventId)).toBe(false)

    // a takes the genuine event (as from a peer, so a does not gossip it) and then says something
    // on top of it: the others fetch it by sync under a's next message. (Gossiping it works too:
    // see the next test.)
    expect(await ingestAt(a, b, roomId, genuine.event)).toBe('accept')
    await a.send(roomId, { msgtype: 'm.text', body: 'after the forgery' })
    await waitFor(async () => {
      for (const n of [b, c]) if (!(await bodies(n, roomId)).includes('signed by a')) return false
      return true
    }, { message: 'the genuine event everywhere' })
    for (const n of honest) expect(await bodies(n, roomId)).toEqual(['genuine', 'signed by a', 'after the forgery'])
    await stillResponsive(b, honest, roomId)
  })

  it('forged signature gossiped first: the forged copy has its own message ID, so it does not shadow the genuine event, which the author then gossips to everyone', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(false)
    const [a, b, c] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    const { context } = await headContext(b, a, roomId)
    const genuine = buildMessage(await deviceOf(a), context, { originServerTs: Date.now(), body: 'signed by a' })
    const forged = structuredClone(genuine.event) as RoomEvent & { signatures: Record<string, Record<string, string>> }
    for (const keys of Object.values(forged.signatures)) keys.ed25519 = toBase64(new Uint8Array(64).fill(7))
    await readyToGossip(mallory, honest, roomId)
    await gossipRaw(mallory, roomId, canonicalJsonBytes(forged))
    await penalisedEverywhere(honest, mallory)
    expect(await ingestAt(a, b, roomId, genuine.event)).toBe('accept')
    // a publishes the genuine event. The event ID does not cover signatures, but the message ID
    // also covers the bytes (protocols/gossip/message-id.ts), so the rejected forged copy left
    // another ID in gossipsub's seen caches: a's publish is sent, not a "duplicate", and every
    // honest node gets the genuine event by gossip.
    const outcome = await a.libp2p.services.roomGossip.publish(roomId, canonicalJsonBytes(genuine.event))
    expect(outcome.status).toBe('sent')
    await waitFor(async () => (await stores(honest, b, roomId, genuine.eventId)) && (await stores(honest, c, roomId, genuine.eventId)), { timeout: 3_000, message: 'the genuine event gossiped' })
  })

  it('events for non-members: a validly signed topic change and invite by a user who is not in the room are rejected everywhere; the state does not change', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(false)
    const [a, b] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    const before = await sameMembers(honest, roomId)
    const { context, state } = await headContext(b, a, roomId)
    const outsider = scenarioUser('adversary/outsider')
    const topic = buildTopic(outsider.device, context, { originServerTs: Date.now(), topic: 'taken over' })
    const friend = scenarioUser('adversary/friend')
    const invite = buildEvent(outsider.device, context, {
      type: RoomEventType.Member,
      state_key: friend.userId,
      content: { membership: 'invite', user_key: friend.userId, room_root_key: roomId.slice(1), sender_key: outsider.device.attestation, parent_event_id: state.entry(RoomEventType.Create, '')!.eventId }
    }, { originServerTs: Date.now() })
    await readyToGossip(mallory, honest, roomId)
    await gossipRaw(mallory, roomId, canonicalJsonBytes(topic.event))
    await penalisedEverywhere(honest, mallory)
    const afterOne = worstScore(honest, mallory)
    await gossipRaw(mallory, roomId, canonicalJsonBytes(invite.event))
    await penalisedEverywhere(honest, mallory, afterOne)
    for (const n of honest) {
      expect(await stores(honest, n, roomId, topic.eventId)).toBe(true) // stored as rejected: part of what the node saw
      expect((await n.members(roomId)).some(m => m.userId === friend.userId || m.userId === outsider.userId)).toBe(false)
    }
    expect(await sameMembers(honest, roomId)).toBe(before)
    // The rejected topic never becomes state: an honest moderator's topic builds on the real state.
    const { state: after } = await headContext(b, a, roomId)
    expect(after.entry(RoomEventType.Topic, '')?.eventId).not.toBe(topic.eventId)
    await stillResponsive(a, honest, roomId)
  })

  it('oversized event: more than 64 KiB on the topic is rejected on its size (never parsed), stored nowhere, and costs the sender score', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(true)
    const [a, b] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    const { context } = await headContext(b, a, roomId)
    const big = buildMessage(await deviceOf(mallory), context, { originServerTs: Date.now(), body: 'x'.repeat(70_000) })
    const bytes = canonicalJsonBytes(big.event)
    expect(bytes.byteLength).toBeGreaterThan(65_536)
    await readyToGossip(mallory, honest, roomId)
    await gossipRaw(mallory, roomId, bytes)
    await penalisedEverywhere(honest, mallory)
    for (const n of honest) expect(await stores(honest, n, roomId, big.eventId)).toBe(false)
    await stillResponsive(a, honest, roomId)
  })

  it('deeply nested event: 30 000 levels of arrays (within the size bound) are rejected by the strict parser without exhausting the stack', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(true)
    const [a, b] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    const { context } = await headContext(b, a, roomId)
    const shallow = buildMessage(await deviceOf(mallory), context, { originServerTs: Date.now(), body: 'nested', content: { deep: 'HOLE' } })
    const depth = 30_000
    const text = new TextDecoder().decode(canonicalJsonBytes(shallow.event)).replace('"HOLE"', '['.repeat(depth) + ']'.repeat(depth))
    const bytes = new TextEncoder().encode(text)
    expect(bytes.byteLength).toBeLessThanOrEqual(65_536)
    await readyToGossip(mallory, honest, roomId)
    await gossipRaw(mallory, roomId, bytes)
    await penalisedEverywhere(honest, mallory)
    for (const n of honest) expect(await bodies(n, roomId)).not.toContain('nested')
    await stillResponsive(b, honest, roomId)
  })

  it('out-of-order and duplicate delivery: a five-event chain gossiped child-first, by two peers, is fetched and decided parents-first and stored once everywhere', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(true)
    const [a, b] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    const echo = await startNode('echo')
    for (const n of honest) await echo.connect(n.multiaddrs())
    const device = await deviceOf(mallory)
    let { context } = await headContext(b, a, roomId)
    const chain = []
    for (let i = 1; i <= 5; i++) {
      const built = buildMessage(device, context, { originServerTs: Date.now(), body: `chain ${i}` })
      chain.push(built)
      context = { ...context, prevEvents: [built.eventId], depth: context.depth + 1 }
    }
    // Mallory's own node holds the chain (so it can answer the fetches of the missing parents)
    // without having published any of it.
    for (const built of chain) expect(await ingestAt(mallory, a, roomId, built.event)).toBe('accept')
    await readyToGossip(mallory, honest, roomId)
    await readyToGossip(echo, honest, roomId)
    for (const built of [...chain].reverse()) {
      await gossipRaw(mallory, roomId, canonicalJsonBytes(built.event))
      await gossipRaw(echo, roomId, canonicalJsonBytes(built.event))
    }
    const expected = ['genuine', 'chain 1', 'chain 2', 'chain 3', 'chain 4', 'chain 5']
    await waitFor(async () => {
      for (const n of honest) if ((await bodies(n, roomId)).join() !== expected.join()) return false
      return true
    }, { message: 'the chain everywhere, in order' })
    const ids = await Promise.all(honest.map(async n => (await n.messages(roomId, { limit: 1000 })).map(m => m.eventId).join()))
    expect(new Set(ids).size).toBe(1)
    // Valid events delivered late or twice cost nobody anything.
    for (const n of honest) expect(n.libp2p.services.roomGossip.scoreOf(mallory.libp2p.peerId) ?? 0).toBeGreaterThanOrEqual(0)
    await stillResponsive(a, honest, roomId)
  })

  it('withheld ban: a member cut off with one honest node keeps talking there; once the ban arrives the honest node resolves the member to banned, and the member\'s later events are soft-failed everywhere', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(true)
    const [a, b, c] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    // a and c on one side; b alone with mallory, who withholds the ban from it.
    const partition = new Partition()
    const all = [a, b, c, mallory]
    all.forEach((n, i) => { partition.register(n.peerId, { kind: 'node', index: i }) })
    for (const n of all) partition.install(n.libp2p)
    partition.split([[0, 2], [1, 3]])
    for (const n of all) await partition.enforce(n.libp2p)
    const ban = await a.ban(roomId, mallory.userId)
    await waitFor(async () => (await c.members(roomId)).some(m => m.userId === mallory.userId && m.membership === 'ban'), { message: 'c has the ban' })
    await mallory.send(roomId, { msgtype: 'm.text', body: 'fork while b does not know' })
    await waitFor(async () => (await bodies(b, roomId)).includes('fork while b does not know'), { message: 'b took the fork' })
    expect((await b.members(roomId)).find(m => m.userId === mallory.userId)?.membership).toBe('join')
    // Mallory's fork as b holds it: where mallory goes on writing after the heal.
    const fork = await headContext(mallory, b, roomId)

    partition.heal()
    await b.connect(a.multiaddrs())
    await b.connect(c.multiaddrs())
    await waitFor(async () => (await b.members(roomId)).find(m => m.userId === mallory.userId)?.membership === 'ban', { message: 'b resolves mallory to banned' })
    expect(await stores(honest, b, roomId, ban)).toBe(true)
    // Mallory's node learns its ban on reconnecting (sync serves a banned member the room up to
    // its ban), so its API refuses to send; a mallory that goes on writing on its fork by hand is
    // shown by nobody — valid against its own past, so soft-failed, at no score cost.
    for (const n of [a, c]) await mallory.connect(n.multiaddrs())
    await waitFor(async () => (await mallory.rooms()).find(r => r.roomId === roomId)?.membership === 'ban', { message: 'mallory learns its ban' })
    await expect(mallory.send(roomId, { msgtype: 'm.text', body: 'refused' })).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' })
    await readyToGossip(mallory, honest, roomId)
    const built = buildMessage(await deviceOf(mallory), fork.context, { originServerTs: Date.now(), body: 'after the ban' })
    expect(await gossipRaw(mallory, roomId, canonicalJsonBytes(built.event))).toBeGreaterThan(0)
    const later = built.eventId
    await waitFor(async () => {
      for (const n of honest) if (!(await stores(honest, n, roomId, later))) return false
      return true
    }, { message: 'every honest node took mallory\'s later event into its DAG' })
    await stillResponsive(c, honest, roomId)
    for (const n of honest) {
      expect(await bodies(n, roomId)).not.toContain('after the ban')
      expect((await n.members(roomId)).find(m => m.userId === mallory.userId)?.membership).toBe('ban')
      expect(n.libp2p.services.roomGossip.scoreOf(mallory.libp2p.peerId) ?? 0).toBeGreaterThanOrEqual(0)
    }
    await sameMembers(honest, roomId)
    // What b accepted before the ban reached it stays shown there (Matrix soft-fail is decided on receipt).
    expect(await bodies(b, roomId)).toContain('fork while b does not know')
  })

  it('forks from a banned user: a message and a profile change built on a head from before the ban are soft-failed everywhere (no penalty), and the member stays banned', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(true)
    const [a, b] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    const before = await headContext(b, a, roomId)
    const ownJoin = before.state.entry(RoomEventType.Member, mallory.userId)!
    await a.ban(roomId, mallory.userId)
    await waitFor(async () => {
      for (const n of honest) if ((await n.members(roomId)).find(m => m.userId === mallory.userId)?.membership !== 'ban') return false
      return true
    }, { message: 'the ban everywhere' })
    const device = await deviceOf(mallory)
    const message = buildMessage(device, before.context, { originServerTs: Date.now(), body: 'forked past the ban' })
    const profile = buildEvent(device, before.context, {
      type: RoomEventType.Member, state_key: mallory.userId, content: { ...ownJoin.event.content, displayname: 'still here' }
    }, { originServerTs: Date.now() })
    await readyToGossip(mallory, honest, roomId)
    await gossipRaw(mallory, roomId, canonicalJsonBytes(message.event))
    await gossipRaw(mallory, roomId, canonicalJsonBytes(profile.event))
    await waitFor(async () => {
      for (const n of honest) if (!(await stores(honest, n, roomId, profile.eventId))) return false
      return true
    }, { message: 'every node took the fork into its DAG' })
    for (const n of honest) {
      expect(await bodies(n, roomId)).not.toContain('forked past the ban')
      const member = (await n.members(roomId)).find(m => m.userId === mallory.userId)
      expect(member?.membership).toBe('ban')
      expect(member?.displayName).toBeUndefined()
      // Soft-failed, not rejected: valid against its own past, so no score lost.
      expect(n.libp2p.services.roomGossip.scoreOf(mallory.libp2p.peerId) ?? 0).toBeGreaterThanOrEqual(0)
    }
    await sameMembers(honest, roomId)
    await stillResponsive(b, honest, roomId)
  })

  it('replays: a stored event gossiped again is a duplicate (ignored, no penalty, stored once); an event of another room replayed onto this topic is rejected', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(false)
    const [a, b, c] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    const { head } = await headContext(b, a, roomId)
    await readyToGossip(mallory, honest, roomId)
    // The genuine head again: every node has it already.
    await gossipRaw(mallory, roomId, canonicalJsonBytes(head.event))
    await stillResponsive(c, honest, roomId)
    for (const n of honest) expect(n.libp2p.services.roomGossip.scoreOf(mallory.libp2p.peerId) ?? 0).toBeGreaterThanOrEqual(0)
    for (const n of honest) expect((await bodies(n, roomId)).filter(x => x === 'genuine')).toHaveLength(1)
    // A validly signed event of another room (another RRK), onto this room's topic.
    const elsewhere = buildCreateRoom({ device: scenarioUser('adversary/elsewhere').device, rrkSeed: new Uint8Array(32).fill(3), originServerTs: Date.now() })
    const message = buildMessage(scenarioUser('adversary/elsewhere').device, elsewhere.next, { originServerTs: Date.now(), body: 'from elsewhere' })
    await gossipRaw(mallory, roomId, canonicalJsonBytes(message.event))
    await penalisedEverywhere(honest, mallory)
    for (const n of honest) expect(await bodies(n, roomId)).not.toContain('from elsewhere')
    await stillResponsive(b, honest, roomId)
  })
})
