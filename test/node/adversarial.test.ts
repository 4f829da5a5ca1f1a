/**
 * Adversarial peers against honest nodes: an uninvited user cannot get in (neither through the
 * API nor with a hand-made join gossiped to everyone), and forged or unauthorised events gossiped
 * to every member are rejected by each of them — never shown, and at a cost to the sender's score.
 */
import { describe, expect, it } from 'vitest'
import {
  RoomState, buildEvent, canonicalJsonBytes, deviceKeyPair, parseJson, rootKeyText, scenarioUser, signEventWithId
} from '../../node/index.js'
import { waitFor } from '../helpers/wait-for.js'
import { bodies, inviteAndJoin, startNode } from './fixtures.js'
import type { KeyroomNode, RoomContext, RoomEvent } from '../../node/index.js'

/** Invite and join `node` into `roomId` (connected to `inviter`). */

/** A room of three honest nodes that all see each other joined, with one message as its only head. */
async function honestRoom (): Promise<{ nodes: KeyroomNode[], roomId: string }> {
  const a = await startNode('a')
  const b = await startNode('b')
  const c = await startNode('c')
  const roomId = await a.createRoom({ name: 'guarded' })
  await inviteAndJoin(a, b, roomId)
  await inviteAndJoin(a, c, roomId)
  await c.connect(b.multiaddrs())
  const nodes = [a, b, c]
  await waitFor(async () => {
    for (const n of nodes) if ((await n.members(roomId)).filter(m => m.membership === 'join').length !== 3) return false
    return true
  }, { message: 'everyone sees three members' })
  await a.send(roomId, { msgtype: 'm.text', body: 'genuine' })
  await waitFor(async () => {
    for (const n of nodes) if ((await bodies(n, roomId)).length !== 1) return false
    return true
  }, { message: 'the message everywhere' })
  return { nodes, roomId }
}

/** What a member can learn of the room from a peer by sync: the single head and the state at it. */
async function snapshot (member: KeyroomNode, from: KeyroomNode, roomId: string): Promise<{ context: RoomContext, head: RoomEvent }> {
  const sync = member.libp2p.services.sync
  const peer = from.libp2p.peerId
  const [headId] = await sync.heads(peer, roomId)
  const [headBytes] = await sync.events(peer, roomId, [headId!])
  const head = parseJson(headBytes!.bytes) as RoomEvent
  // The head is a message, so the state before it is the current state.
  const { stateIds } = await sync.stateAt(peer, roomId, headId!)
  const events = await sync.events(peer, roomId, stateIds)
  const state = new RoomState(events.map(e => ({ eventId: e.eventId, event: parseJson(e.bytes) as RoomEvent })))
  return { context: { roomId, prevEvents: [headId!], depth: head.depth + 1, state }, head }
}

/** An attacker's node, connected to every honest node and seeing them on the room's topic. */
async function attacker (nodes: KeyroomNode[], roomId: string): Promise<KeyroomNode> {
  const m = await startNode('mallory')
  for (const n of nodes) await m.connect(n.multiaddrs())
  // Flood publishing reaches the subscribers the router has an outbound stream to: wait for all of
  // them (gossipsub keeps these streams in `streamsOutbound`; no public API says so).
  const outbound = (m.libp2p.services.pubsub as unknown as { streamsOutbound: Map<string, unknown> }).streamsOutbound
  await waitFor(() => m.libp2p.services.roomGossip.subscribers(roomId).length === nodes.length &&
    nodes.every(n => outbound.has(n.libp2p.peerId.toString())), { message: 'attacker sees the subscribers' })
  return m
}

/** Wait until every honest node has penalised the attacker's peer (a rejected delivery each). */
async function penalisedEverywhere (nodes: KeyroomNode[], m: KeyroomNode, below = 0): Promise<void> {
  await waitFor(() => nodes.every(n => (n.libp2p.services.roomGossip.scoreOf(m.libp2p.peerId) ?? 0) < below), { message: 'every node rejected the attacker\'s events' })
}

const mallory = scenarioUser('node-tests/mallory')

describe('an uninvited user', () => {
  it('cannot join through the API: no member shares the room with them', async () => {
    const { nodes: [a], roomId } = await honestRoom()
    const m = await startNode('mallory')
    await expect(m.join(a!.roomUri(roomId))).rejects.toMatchObject({ code: 'ERR_ROOM_UNREACHABLE' })
    expect((await a!.members(roomId)).some(x => x.userId === m.userId)).toBe(false)
  })

  it('gets a hand-made join gossiped to everyone rejected everywhere, and never shows as joined', async () => {
    const { nodes, roomId } = await honestRoom()
    const [a, b] = nodes as [KeyroomNode, KeyroomNode, KeyroomNode]
    const { context } = await snapshot(b, a, roomId)
    const joinRules = context.state.entry('m.room.join_rules', '')!
    // A join citing the (invite-only) join rule as its reason, well-formed and validly signed.
    const join = buildEvent(mallory.device, context, {
      type: 'm.room.member',
      state_key: mallory.userId,
      content: {
        membership: 'join', user_key: mallory.userId, room_root_key: rootKeyText(roomId), sender_key: mallory.device.attestation, parent_event_id: joinRules.eventId
      }
    }, { originServerTs: Date.now() })
    const m = await attacker(nodes, roomId)
    const outcome = await m.libp2p.services.roomGossip.publish(roomId, canonicalJsonBytes(join.event))
    expect(outcome.status === 'sent' && outcome.recipients.length).toBe(3)
    await penalisedEverywhere(nodes, m)
    for (const n of nodes) {
      const members = await n.members(roomId)
      expect(members.some(x => x.userId === mallory.userId)).toBe(false)
      expect(members.filter(x => x.membership === 'join')).toHaveLength(3)
    }
    // The room goes on: honest messages still flow, and none builds on the rejected join.
    const next = await b.send(roomId, { msgtype: 'm.text', body: 'after the attempt' })
    await waitFor(async () => {
      for (const n of nodes) if (!(await n.messages(roomId)).some(x => x.eventId === next)) return false
      return true
    }, { message: 'honest message everywhere' })
  })
})

describe('a peer gossiping forged or unauthorised events', () => {
  it('gets each rejected by every member; none is shown', async () => {
    const { nodes, roomId } = await honestRoom()
    const [a, b] = nodes as [KeyroomNode, KeyroomNode, KeyroomNode]
    const { context, head } = await snapshot(b, a, roomId)
    const m = await attacker(nodes, roomId)
    const gossip = m.libp2p.services.roomGossip

    // 1. Tampered: a's genuine message with another body (the content hash no longer matches).
    const tampered = { ...head, content: { ...head.content, body: 'tampered' } }
    const outcome = await gossip.publish(roomId, canonicalJsonBytes(tampered))
    expect(outcome.status === 'sent' && outcome.recipients.length).toBe(3)
    await penalisedEverywhere(nodes, m)
    const afterOne = Math.max(...nodes.map(n => n.libp2p.services.roomGossip.scoreOf(m.libp2p.peerId)!))

    // 2. Impersonation: "from a", signed by a device a never attested.
    const forgedDevice = deviceKeyPair(mallory.device.deviceSeed).deviceId
    const impersonated = signEventWithId({
      type: 'm.room.message', room_id: roomId, sender: a.userId, content: { msgtype: 'm.text', body: 'forged a' },
      origin_server_ts: Date.now(), depth: context.depth, prev_events: [...context.prevEvents], auth_events: head.auth_events
    }, forgedDevice, 'ed25519', mallory.device.deviceSeed, 'keyroom.1')
    expect((await gossip.publish(roomId, canonicalJsonBytes(impersonated.event))).status).toBe('sent')

    // 3. Unauthorised: a validly signed message by a user who is not in the room.
    const outsider = buildEvent(mallory.device, context, { type: 'm.room.message', content: { msgtype: 'm.text', body: 'outsider' } }, { originServerTs: Date.now() })
    expect((await gossip.publish(roomId, canonicalJsonBytes(outsider.event))).status).toBe('sent')

    // Each rejection costs the sender more (P4 grows with the square of invalid deliveries).
    await penalisedEverywhere(nodes, m, afterOne)
    for (const n of nodes) expect(await bodies(n, roomId)).toEqual(['genuine'])

    const next = await a.send(roomId, { msgtype: 'm.text', body: 'still fine' })
    await waitFor(async () => {
      for (const n of nodes) if (!(await n.messages(roomId)).some(x => x.eventId === next)) return false
      return true
    }, { message: 'honest message everywhere' })
    for (const n of nodes) expect(await bodies(n, roomId)).toEqual(['genuine', 'still fine'])
  })
})
