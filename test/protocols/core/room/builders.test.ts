import { describe, expect, it } from 'vitest'
import { checkEventIntegrity, eventIdFor } from '../../../../protocols/core/events/index.js'
import { createRevocation, parseDeviceId, parseRoomId, roomKeyPair } from '../../../../protocols/core/identity/index.js'
import { verifyJson } from '../../../../protocols/core/signing/index.js'
import {
  AttestationCache, buildBan, buildCreateRoom, buildDeviceAttestation, buildDeviceRevocation, buildInvite, buildInviteLink, buildJoin,
  buildJoinRules, buildKick, buildLeave, buildMessage, buildName, buildRedaction, buildRevokeInviteLink, buildSpaceChild, buildTopic,
  buildUnban, causeOfMembership, checkInviteLinkClaim, inviteLinkKeys, membershipProof, scenarioSeed
} from '../../../../protocols/core/room/index.js'
import type { IdentifiedEvent } from '../../../../protocols/core/room/index.js'
import { T0, TestRoom, alice, bob, carol, deviceIdOf, user } from './fixtures.js'

/** The ingest check a node runs on every event: the signing UDK's key is its own text form. */
function integrity (entry: IdentifiedEvent): ReturnType<typeof checkEventIntegrity> {
  return checkEventIntegrity(entry.event, 'keyroom.1', { publicKeyFor: (entity) => parseDeviceId(entity), expectedEventId: entry.eventId })
}

describe('buildCreateRoom', () => {
  const rrkSeed = scenarioSeed('builders/rrk')
  const room = buildCreateRoom({ device: alice.device, rrkSeed, originServerTs: T0, name: 'Lounge', topic: 'chat' })
  const [create, join, powerLevels, joinRules, history, name, topic] = room.events

  it('makes the room ID the RRK (MSC3917 "Rooms as Keys")', () => {
    expect(room.roomId).toBe(roomKeyPair(rrkSeed).roomId)
    expect(create!.event.room_id).toBe(room.roomId)
  })

  it('puts room_root_key, creator_key, sender_key and an RRK signature in the create content', () => {
    const content = create!.event.content
    expect(content.room_version).toBe('keyroom.1')
    expect(content.room_root_key).toBe(room.roomId.slice(1))
    expect(content.creator_key).toBe(alice.userId)
    expect(content.sender_key).toEqual(alice.device.attestation)
    expect(verifyJson(content, room.roomId, 'ed25519:rrk', parseRoomId(room.roomId))).toBe(true)
    expect(new AttestationCache().rrkSignature(content, room.roomId)).toBe(true)
  })

  it('sends the initial events in Matrix createRoom order, each signed by the creator\'s device', () => {
    expect(room.events.map((e) => e.event.type)).toEqual([
      'm.room.create', 'm.room.member', 'm.room.power_levels', 'm.room.join_rules', 'm.room.history_visibility', 'm.room.name', 'm.room.topic'
    ])
    for (const entry of room.events) {
      expect(integrity(entry)).toEqual({ ok: true, eventId: entry.eventId })
      expect(Object.keys(entry.event.signatures!)).toEqual([deviceIdOf(alice)])
      expect(entry.event.sender).toBe(alice.userId)
    }
    expect(name!.event.content).toEqual({ name: 'Lounge' })
    expect(topic!.event.content).toEqual({ topic: 'chat' })
    expect(history!.event.content).toEqual({ history_visibility: 'shared' })
  })

  it('chains the events: prev_events and depth', () => {
    expect(create!.event.prev_events).toEqual([])
    expect(create!.event.depth).toBe(1)
    expect(join!.event.prev_events).toEqual([create!.eventId])
    expect(join!.event.depth).toBe(2)
    expect(topic!.event.depth).toBe(7)
    expect(room.next.prevEvents).toEqual([topic!.eventId])
    expect(room.next.depth).toBe(8)
  })

  it('joins the creator with the create event as parent', () => {
    expect(join!.event.state_key).toBe(alice.userId)
    expect(join!.event.content).toMatchObject({
      membership: 'join', user_key: alice.userId, room_root_key: room.roomId.slice(1), parent_event_id: create!.eventId
    })
    expect(join!.event.auth_events).toEqual([create!.eventId])
  })

  it('leaves the creator out of power levels users (room version 12 creator privileges)', () => {
    expect(powerLevels!.event.content.users).toEqual({})
    expect(powerLevels!.event.auth_events).toEqual([create!.eventId, join!.eventId])
  })

  it('gives the join rules the creator\'s cause of membership (the create event) as parent', () => {
    expect(joinRules!.event.content).toMatchObject({ join_rule: 'invite', parent_event_id: create!.eventId, sender_key: alice.device.attestation })
  })

  it('is deterministic: the same inputs give the same event IDs', () => {
    const again = buildCreateRoom({ device: alice.device, rrkSeed, originServerTs: T0, name: 'Lounge', topic: 'chat' })
    expect(again.events.map((e) => e.eventId)).toEqual(room.events.map((e) => e.eventId))
    expect(eventIdFor(create!.event, 'keyroom.1')).toBe(create!.eventId)
  })

  it('refuses a device whose attestation is for another key', () => {
    const wrong = { ...alice.device, attestation: bob.device.attestation }
    expect(() => buildCreateRoom({ device: wrong, rrkSeed, originServerTs: T0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY_MATERIAL' }))
  })
})

describe('membership builders', () => {
  it('builds an invite with the MSC3917 fields and the inviter\'s cause as parent', () => {
    const room = new TestRoom()
    const invite = buildInvite(alice.device, room.ctx(), { ...room.ts(), target: bob.userId })
    expect(invite.event.state_key).toBe(bob.userId)
    expect(invite.event.content).toMatchObject({
      membership: 'invite', user_key: bob.userId, room_root_key: room.roomId.slice(1), sender_key: alice.device.attestation,
      parent_event_id: causeOfMembership(room.state, alice.userId)
    })
    // Matrix selection: create, power levels, sender's member, target's member (none), join rules.
    const create = room.state.entry('m.room.create', '')!.eventId
    expect(invite.event.auth_events).toEqual([
      create, room.state.entry('m.room.power_levels', '')!.eventId, room.state.entry('m.room.member', alice.userId)!.eventId,
      room.state.entry('m.room.join_rules', '')!.eventId
    ])
    expect(integrity(invite).ok).toBe(true)
  })

  it('builds a join through an invite, citing the invite', () => {
    const room = new TestRoom()
    const invite = room.add(buildInvite(alice.device, room.ctx(), { ...room.ts(), target: bob.userId }))
    const join = buildJoin(bob.device, room.ctx(), { ...room.ts(), via: { kind: 'invite' }, displayName: 'Bob' })
    expect(join.event.content).toMatchObject({ membership: 'join', user_key: bob.userId, parent_event_id: invite.eventId, displayname: 'Bob' })
    expect(join.event.auth_events).toContain(invite.eventId)
  })

  it('refuses a join through an invite that does not exist', () => {
    const room = new TestRoom()
    expect(() => buildJoin(bob.device, room.ctx(), { ...room.ts(), via: { kind: 'invite' } })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
  })

  it('builds a join through a public join rule, citing the join rules event', () => {
    const room = new TestRoom(alice, { joinRule: 'public' })
    const join = buildJoin(bob.device, room.ctx(), { ...room.ts(), via: { kind: 'public' } })
    expect(join.event.content.parent_event_id).toBe(room.state.entry('m.room.join_rules', '')!.eventId)
    expect(() => buildJoin(bob.device, new TestRoom().ctx(), { ...room.ts(), via: { kind: 'public' } })).toThrow(/not public/)
  })

  it('builds a restricted join with the proof in unsigned.membership_events', () => {
    const other = new TestRoom(alice, { label: 'other' })
    other.inviteAndJoin(alice, bob)
    const room = new TestRoom(alice, { joinRule: 'restricted', allowRooms: [other.roomId] })
    const proof = membershipProof(other.state, other.getEvent, bob.userId)
    expect(proof.map((e) => e.type)).toEqual(['m.room.member', 'm.room.member', 'm.room.create'])
    const join = buildJoin(bob.device, room.ctx(), { ...room.ts(), via: { kind: 'restricted', proof, authorisedVia: alice.userId } })
    expect(join.event.content.join_authorised_via_users_server).toBe(alice.userId)
    expect(join.event.unsigned).toEqual({ membership_events: proof })
    expect(join.event.auth_events).toContain(room.state.entry('m.room.member', alice.userId)!.eventId)
    // unsigned is outside the signature and the ID: the proof can be attached by anyone.
    expect(integrity(join).ok).toBe(true)
  })

  it('builds an invite link and a join through it', () => {
    const room = new TestRoom()
    const linkSeed = scenarioSeed('builders/link')
    const link = room.add(buildInviteLink(alice.device, room.ctx(), { ...room.ts(), linkSeed }))
    const { token, publicKey } = inviteLinkKeys(linkSeed)
    expect(link.event.state_key).toBe(token)
    expect(link.event.content).toMatchObject({ public_key: publicKey, parent_event_id: causeOfMembership(room.state, alice.userId) })
    const join = buildJoin(bob.device, room.ctx(), { ...room.ts(), via: { kind: 'invite-link', linkSeed } })
    expect(join.event.content.parent_event_id).toBe(link.eventId)
    expect(join.event.auth_events).toContain(link.eventId)
    const claim = (join.event.content.third_party_invite as { signed: unknown }).signed
    expect(checkInviteLinkClaim(claim, { stateKey: token, content: link.event.content }, { userId: bob.userId, roomId: room.roomId })).toEqual({ ok: true })
    expect(checkInviteLinkClaim(claim, { stateKey: token, content: link.event.content }, { userId: carol.userId, roomId: room.roomId }))
      .toEqual({ ok: false, problem: 'wrong-user' })
    room.add(buildRevokeInviteLink(alice.device, room.ctx(), { ...room.ts(), token }))
    expect(room.state.get('m.room.third_party_invite', token)!.content).toEqual({})
    expect(() => buildJoin(bob.device, room.ctx(), { ...room.ts(), via: { kind: 'invite-link', linkSeed } })).toThrow(/no live invite link/)
  })

  it('builds leave, kick, ban and unban', () => {
    const room = new TestRoom()
    room.inviteAndJoin(alice, bob)
    const leave = buildLeave(bob.device, room.ctx(), { ...room.ts(), reason: 'bye' })
    expect(leave.event.content).toEqual({ membership: 'leave', sender_key: bob.device.attestation, reason: 'bye' })
    expect(buildKick(alice.device, room.ctx(), { ...room.ts(), target: bob.userId }).event.content).toEqual({ membership: 'leave' })
    const ban = room.add(buildBan(alice.device, room.ctx(), { ...room.ts(), target: bob.userId, reason: 'spam' }))
    expect(ban.event.content).toEqual({ membership: 'ban', reason: 'spam' })
    const unban = buildUnban(alice.device, room.ctx(), { ...room.ts(), target: bob.userId })
    expect(unban.event).toMatchObject({ state_key: bob.userId, content: { membership: 'leave' } })
  })

  it('refuses an invite by a user who is not joined', () => {
    const room = new TestRoom()
    expect(() => buildInvite(bob.device, room.ctx(), { ...room.ts(), target: carol.userId })).toThrow(/not joined/)
  })
})

describe('state and timeline builders', () => {
  it('builds join rules, name, topic, message and redaction', () => {
    const room = new TestRoom()
    room.inviteAndJoin(alice, bob)
    const rules = buildJoinRules(alice.device, room.ctx(), { ...room.ts(), joinRule: 'restricted', allowRooms: ['!x'] })
    expect(rules.event.content).toMatchObject({ join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: '!x' }] })
    expect(buildName(alice.device, room.ctx(), { ...room.ts(), name: 'n' }).event.state_key).toBe('')
    expect(buildTopic(alice.device, room.ctx(), { ...room.ts(), topic: 't' }).event.content).toEqual({ topic: 't' })
    const message = room.add(buildMessage(bob.device, room.ctx(), { ...room.ts(), body: 'hi' }))
    expect(message.event.content).toEqual({ msgtype: 'm.text', body: 'hi' })
    expect('state_key' in message.event).toBe(false)
    // Non-state events list create, power levels and the sender's membership (which carries the attestation).
    expect(message.event.auth_events).toEqual([
      room.state.entry('m.room.create', '')!.eventId, room.state.entry('m.room.power_levels', '')!.eventId,
      room.state.entry('m.room.member', bob.userId)!.eventId
    ])
    const redaction = buildRedaction(alice.device, room.ctx(), { ...room.ts(), redacts: message.eventId, reason: 'oops' })
    expect(redaction.event.content).toEqual({ redacts: message.eventId, reason: 'oops' })
  })

  it('builds a space child with the child\'s room_root_key', () => {
    const room = new TestRoom()
    const child = roomKeyPair(scenarioSeed('builders/child')).roomId
    const entry = buildSpaceChild(alice.device, room.ctx(), { ...room.ts(), childRoomId: child, via: ['/ip4/1.2.3.4/tcp/1'] })
    expect(entry.event.state_key).toBe(child)
    expect(entry.event.content).toMatchObject({ room_root_key: child.slice(1), via: ['/ip4/1.2.3.4/tcp/1'] })
  })

  it('records a second device, lists it in that device\'s auth events, and carries the attestation into a revocation', () => {
    const room = new TestRoom()
    const phone = user('alice', { deviceIndex: 1 })
    const record = room.add(buildDeviceAttestation(alice.device, room.ctx(), { ...room.ts(), attestation: phone.device.attestation }))
    expect(record.event.state_key).toBe(deviceIdOf(phone))
    const message = buildMessage(phone.device, room.ctx(), { ...room.ts(), body: 'from my phone' })
    expect(message.event.auth_events).toContain(record.eventId)
    const revocation = createRevocation({ upkSeed: alice.upkSeed, udk: deviceIdOf(phone), revokedTs: T0 + 1e6 })
    const revoke = buildDeviceRevocation(alice.device, room.ctx(), { ...room.ts(), revocation })
    expect(revoke.event.content).toEqual({ revocation, attestation: phone.device.attestation })
  })
})
