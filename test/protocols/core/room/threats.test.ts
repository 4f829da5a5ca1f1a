/**
 * MSC3917's threat table (and keyroom's own rows) as adversarial tests, in P2P form: "a peer"
 * replaces "the homeserver". Each test is named after its row in docs/threats.md and states what
 * keyroom does about it: reject / soft-fail on receipt (decide), resolve it away (state
 * resolution), or flag the member unverified (MSC3917 membership verification).
 */
import { describe, expect, it } from 'vitest'
import { createRevocation } from '../../../../protocols/core/identity/index.js'
import { resolveState, stateMapKey } from '../../../../protocols/core/state-res/index.js'
import { signJson } from '../../../../protocols/core/signing/index.js'
import {
  MembershipVerifier, RoomState, authLookupOf, buildBan, buildDeviceAttestation, buildDeviceRevocation, buildEvent, buildInvite, buildJoin, buildMessage,
  buildPowerLevels, decide, keyroomAuthHooks, scenarioSeed
} from '../../../../protocols/core/room/index.js'
import type { IdentifiedEvent, RoomEvent } from '../../../../protocols/core/room/index.js'
import { T0, TestRoom, fork, alice, bob, carol, deviceIdOf, mallory, resignContent, signRaw, user, xavier } from './fixtures.js'

/** The state as state resolution takes it: state map key → event ID. */
function stateMap (state: RoomState): Map<string, string> {
  const map = new Map<string, string>()
  for (const entry of state.entries()) map.set(stateMapKey(entry.event.type, entry.event.state_key!), entry.eventId)
  return map
}

/** Resolves forked states the way every node does (keyroom rules included). */
function resolve (room: TestRoom, ...states: RoomState[]): Map<string, string> {
  return resolveState('keyroom.1', states.map(stateMap), room.getEvent, { authHooks: keyroomAuthHooks({ getEvent: room.getEvent }) })
}

/** `who`'s membership in a resolved state. */
function membershipIn (room: TestRoom, resolved: Map<string, string>, who: string): string | undefined {
  const id = resolved.get(stateMapKey('m.room.member', who))
  return id === undefined ? undefined : room.getEvent(id)!.content.membership as string
}

/** `decide` with one stored event marked rejected. */
function decideWithRejected (room: TestRoom, entry: IdentifiedEvent, stateBefore: RoomState, rejectedId: string): ReturnType<typeof decide> {
  return decide(entry.event, {
    eventId: entry.eventId, getEvent: room.getEvent, isRejected: (id) => id === rejectedId, stateBefore: authLookupOf(stateBefore), currentState: authLookupOf(room.state), now: T0 + 1e9
  })
}

describe('MSC3917 threat table, P2P form', () => {
  it('a peer forges a member', () => {
    const room = new TestRoom()
    room.inviteAndJoin(alice, bob)
    // (a) The peer's own key joins an invite-only room without an invite.
    const uninvited = buildEvent(xavier.device, room.ctx(), {
      type: 'm.room.member',
      state_key: xavier.userId,
      content: { membership: 'join', user_key: xavier.userId, room_root_key: room.roomId.slice(1), sender_key: xavier.device.attestation, parent_event_id: room.state.entry('m.room.create', '')!.eventId }
    }, room.ts())
    expect(room.decide(uninvited)).toMatchObject({ outcome: 'rejected', against: 'auth-events' })
    // (b) The peer forges Alice's invite of its key: it can put Alice's UPK in `sender`, but only its own device can sign.
    const forgedInvite = signRaw(mallory, { ...buildInvite(alice.device, room.ctx(), { ...room.ts(), target: xavier.userId }).event, signatures: undefined, hashes: undefined })
    expect(room.decide(forgedInvite)).toMatchObject({ outcome: 'rejected', rule: 'keyroom.attestation.missing' })
    // (c) A lying peer hands a node a state with the forged member in it: membership verification catches it.
    room.record(forgedInvite)
    const forgedJoin = room.record(buildEvent(xavier.device, room.ctx(), {
      type: 'm.room.member',
      state_key: xavier.userId,
      content: { membership: 'join', user_key: xavier.userId, room_root_key: room.roomId.slice(1), sender_key: xavier.device.attestation, parent_event_id: forgedInvite.eventId }
    }, room.ts()))
    const verifier = room.verifier()
    verifier.applyState(forgedJoin)
    expect(verifier.member(xavier.userId)).toMatchObject({ verified: false, reason: 'bad-attestation', step: 'sender_rsk_msk', failedEventId: forgedInvite.eventId })
    expect(verifier.member(bob.userId)).toMatchObject({ verified: true })
  })

  it('a peer re-inserts a banned member by withholding the ban', () => {
    const room = new TestRoom()
    room.add(buildInvite(alice.device, room.ctx(), { ...room.ts(), target: bob.userId }))
    const branch = fork(room)
    const forkPoint = branch.state.clone()
    room.add(buildBan(alice.device, room.ctx(), { ...room.ts(), target: bob.userId }))
    // The peer withholds the ban and relays Bob's join, built where the ban is not.
    const join = branch.add(buildJoin(bob.device, branch.ctx(), { ...room.ts(), via: { kind: 'invite' } }))
    const message = branch.add(buildMessage(bob.device, branch.ctx(), { ...room.ts(), body: 'I am back' }))
    // A node that has the ban soft-fails both: not shown, not built upon.
    expect(room.decide(join, { stateBefore: forkPoint })).toMatchObject({ outcome: 'soft-failed', rule: expect.stringMatching(/banned/) })
    expect(room.decide(message, { stateBefore: branch.state })).toMatchObject({ outcome: 'soft-failed', rule: expect.stringMatching(/not joined/) })
    // A node that took the fork first resolves it away once the ban reaches it: the ban wins.
    expect(membershipIn(room, resolve(room, room.state, branch.state), bob.userId)).toBe('ban')
    expect(membershipIn(room, resolve(room, branch.state, room.state), bob.userId)).toBe('ban')
  })

  it('a banned member and a peer insert a new member', () => {
    const room = new TestRoom(alice, { powerLevels: { invite: 0 } })
    room.inviteAndJoin(alice, bob)
    const branch = fork(room)
    const forkPoint = branch.state.clone()
    room.add(buildBan(alice.device, room.ctx(), { ...room.ts(), target: bob.userId }))
    // On a fork hidden from the ban, banned Bob invites Xavier, who joins.
    const invite = branch.add(buildInvite(bob.device, branch.ctx(), { ...room.ts(), target: xavier.userId }))
    const beforeJoin = branch.state.clone()
    const join = branch.add(buildJoin(xavier.device, branch.ctx(), { ...room.ts(), via: { kind: 'invite' } }))
    // Nodes that know the ban soft-fail both events.
    expect(room.decide(invite, { stateBefore: forkPoint })).toMatchObject({ outcome: 'soft-failed', rule: expect.stringMatching(/sender not joined/) })
    expect(room.decide(join, { stateBefore: beforeJoin })).toMatchObject({ outcome: 'soft-failed' })
    // Xavier's chain is cryptographically sound: membership verification alone cannot tell.
    const verifier = new MembershipVerifier({ roomId: room.roomId, getEvent: room.getEvent })
    expect(verifier.verifyCause(join.eventId, xavier.userId)).toMatchObject({ ok: true })
    // State resolution keeps the ban; as in Matrix, Xavier's join stands on its own auth events
    // (the invite was soft-failed, not rejected), so a node that accepted the fork before it
    // learnt of the ban keeps Xavier: partially mitigated (docs/threats.md).
    const resolved = resolve(room, room.state, branch.state)
    expect(membershipIn(room, resolved, bob.userId)).toBe('ban')
    expect(membershipIn(room, resolved, xavier.userId)).toBe('join')
    // A node that rejected Bob's invite (it cited the ban's state) keeps Xavier out.
    const strict = resolveState('keyroom.1', [stateMap(room.state), stateMap(branch.state)], room.getEvent, {
      isRejected: (id) => id === invite.eventId, authHooks: keyroomAuthHooks({ getEvent: room.getEvent })
    })
    expect(membershipIn(room, strict, xavier.userId)).toBeUndefined()
  })

  it('an unprivileged member and a peer insert a member', () => {
    const room = new TestRoom()
    room.inviteAndJoin(alice, carol)
    // Carol (power 0; invite needs 50) invites Xavier; the peer relays it.
    const invite = buildInvite(carol.device, room.ctx(), { ...room.ts(), target: xavier.userId })
    expect(room.decide(invite)).toMatchObject({ outcome: 'rejected', against: 'auth-events', rule: expect.stringMatching(/invite level/) })
    const branch = fork(room)
    branch.add(invite)
    const join = branch.add(buildJoin(xavier.device, branch.ctx(), { ...room.ts(), via: { kind: 'invite' } }))
    // Xavier's join cites a rejected event.
    expect(decideWithRejected(room, join, branch.state, invite.eventId)).toMatchObject({ outcome: 'rejected', rule: expect.stringMatching(/^3\.3: /) })
    const resolved = resolveState('keyroom.1', [stateMap(room.state), stateMap(branch.state)], room.getEvent, {
      isRejected: (id) => id === invite.eventId, authHooks: keyroomAuthHooks({ getEvent: room.getEvent })
    })
    expect(membershipIn(room, resolved, xavier.userId)).toBeUndefined()
  })

  it('an unprivileged member who once could invite and a peer insert a member (a fork from before the demotion)', () => {
    const room = new TestRoom()
    room.inviteAndJoin(alice, carol)
    room.add(buildPowerLevels(alice.device, room.ctx(), { ...room.ts(), content: { users: { [carol.userId]: 50 }, invite: 50 } }))
    const branch = fork(room)
    const forkPoint = branch.state.clone()
    room.add(buildPowerLevels(alice.device, room.ctx(), { ...room.ts(), content: { users: {}, invite: 50 } }))
    const invite = branch.add(buildInvite(carol.device, branch.ctx(), { ...room.ts(), target: xavier.userId }))
    expect(room.decide(invite, { stateBefore: forkPoint })).toMatchObject({ outcome: 'soft-failed', rule: expect.stringMatching(/invite level/) })
    const join = branch.add(buildJoin(xavier.device, branch.ctx(), { ...room.ts(), via: { kind: 'invite' } }))
    const resolved = resolve(room, room.state, branch.state)
    // The demotion (a power event) resolves first; Carol's invite fails against it. As with a
    // banned member, the join can still stand on its own auth events.
    expect(room.getEvent(resolved.get(stateMapKey('m.room.power_levels', ''))!)!.content.users).toEqual({})
    expect(membershipIn(room, resolved, xavier.userId)).toBe('join')
    expect(room.decide(join, { stateBefore: branch.state })).toMatchObject({ outcome: 'soft-failed' })
  })

  it('a UDK attested by another UPK', () => {
    const room = new TestRoom()
    room.inviteAndJoin(alice, bob)
    // Mallory's device speaks as Alice, showing Mallory's own attestation of it.
    const asAlice = signRaw(mallory, {
      ...buildMessage(alice.device, room.ctx(), { ...room.ts(), body: 'I am Alice' }).event, signatures: undefined, hashes: undefined
    })
    expect(room.decide(asAlice)).toMatchObject({ outcome: 'rejected', rule: 'keyroom.attestation.missing' })
    // Mallory claims Alice's device for her UPK: without the device's counter-signature the
    // attestation is not genuine, so no room accepts it.
    room.inviteAndJoin(alice, mallory)
    const claim = signJson({ upk: mallory.userId, udk: deviceIdOf(alice), issued_ts: T0 }, mallory.userId, 'ed25519', mallory.upkSeed)
    const record = buildEvent(mallory.device, room.ctx(), { type: 'keyroom.device', state_key: deviceIdOf(alice), content: { attestation: claim } }, room.ts())
    expect(room.decide(record)).toMatchObject({ outcome: 'rejected', rule: 'keyroom.device.attestation' })
    // And an invite by Bob that carries Alice's attestation is not Bob's.
    const invite = room.record(resignContent(bob, buildInvite(bob.device, room.ctx(), { ...room.ts(), target: xavier.userId }), { sender_key: alice.device.attestation }))
    const verifier = new MembershipVerifier({ roomId: room.roomId, getEvent: room.getEvent })
    expect(verifier.verifyEvent(invite.eventId)).toMatchObject({ ok: false, reason: 'bad-attestation', step: 'sender_rsk_msk' })
  })

  it('an expired attestation', () => {
    const room = new TestRoom()
    const expiry = T0 + 60_000
    const temp = user('temp-threat', { issuedTs: T0, expiresTs: expiry })
    room.add(buildInvite(alice.device, room.ctx(), { ...room.ts(), target: temp.userId }))
    const join = room.add(buildJoin(temp.device, room.ctx(), { ...room.ts(), via: { kind: 'invite' } }))
    // Sent after expiry: rejected.
    const late = buildMessage(temp.device, room.ctx(), { originServerTs: expiry, body: 'still me' })
    expect(room.decide(late, { now: expiry })).toMatchObject({ outcome: 'rejected', rule: 'keyroom.attestation.expired' })
    // Back-dated to before expiry but received after: soft-failed.
    const backdated = buildMessage(temp.device, room.ctx(), { originServerTs: expiry - 1, body: 'still me' })
    expect(room.decide(backdated, { now: expiry + 1 })).toMatchObject({ outcome: 'soft-failed', rule: 'keyroom.attestation.expired' })
    // A join made with an expired attestation does not verify.
    const lateJoin = room.record(resignContent(temp, join, { displayname: 'x' }))
    const lateJoinEvent: RoomEvent = lateJoin.event
    const relabeled = room.record(signRaw(temp, { ...lateJoinEvent, origin_server_ts: expiry + 5, signatures: undefined, hashes: undefined }))
    const verifier = new MembershipVerifier({ roomId: room.roomId, getEvent: room.getEvent })
    expect(verifier.verifyCause(relabeled.eventId, temp.userId)).toMatchObject({ ok: false, reason: 'attestation-expired', step: 'join_rsk_msk' })
  })

  it('a revoked device keeps sending', () => {
    const room = new TestRoom(alice, { powerLevels: { invite: 0 } })
    room.inviteAndJoin(alice, bob)
    const phone = user('bob', { deviceIndex: 7 })
    room.add(buildDeviceAttestation(bob.device, room.ctx(), { ...room.ts(), attestation: phone.device.attestation }))
    const branch = fork(room)
    const revokedTs = T0 + 500_000
    room.add(buildDeviceRevocation(bob.device, room.ctx(), { ...room.ts(), revocation: createRevocation({ upkSeed: bob.upkSeed, udk: deviceIdOf(phone), revokedTs }) }))
    // The thief keeps the phone and a peer withholds the revocation from the phone's fork.
    const invite = branch.add(buildInvite(phone.device, branch.ctx(), { originServerTs: revokedTs + 10, target: xavier.userId }))
    expect(room.decide(invite, { stateBefore: fork(room).state, now: revokedTs + 20 })).toMatchObject({ outcome: 'rejected', rule: 'keyroom.device.revoked' })
    expect(room.decide(invite, { stateBefore: branch.state, now: revokedTs + 20 })).toMatchObject({ outcome: 'soft-failed', rule: 'keyroom.device.revoked' })
    const backdated = buildMessage(phone.device, branch.ctx(), { originServerTs: revokedTs - 1, body: 'back-dated' })
    expect(room.decide(backdated, { stateBefore: branch.state, now: revokedTs + 20 })).toMatchObject({ outcome: 'soft-failed', rule: 'keyroom.device.revoked' })
    // State resolution keeps the revocation; membership verification fails chains through the thief's invite.
    const join = branch.add(buildJoin(xavier.device, branch.ctx(), { originServerTs: revokedTs + 30, via: { kind: 'invite' } }))
    // The thief also renames Bob, with the phone; its own auth events (the phone's old record) allow it.
    const bobJoin = room.state.entry('m.room.member', bob.userId)!
    const rename = buildEvent(phone.device, branch.ctx(), {
      type: 'm.room.member', state_key: bob.userId, content: { ...bobJoin.event.content, sender_key: phone.device.attestation, displayname: 'not Bob' }
    }, { originServerTs: revokedTs + 40 })
    expect(room.decide(rename, { stateBefore: branch.state, currentState: null })).toEqual({ outcome: 'accepted' })
    branch.add(rename)
    const resolved = resolve(room, room.state, branch.state)
    const record = room.getEvent(resolved.get(stateMapKey('keyroom.device', deviceIdOf(phone)))!)!
    expect(record.content.revocation).toBeDefined()
    // State resolution judges the device's events by the resolved record, not the one they cite:
    // the rename does not win, Bob keeps his join.
    expect(resolved.get(stateMapKey('m.room.member', bob.userId))).toBe(bobJoin.eventId)
    // Xavier's join stands on its own auth events in state resolution (as with a banned inviter),
    // so a node that took the fork first lists him — and membership verification flags him.
    expect(membershipIn(room, resolved, xavier.userId)).toBe('join')
    const verifier = room.verifier()
    verifier.applyState(join)
    expect(verifier.member(xavier.userId)).toMatchObject({ verified: false, reason: 'revoked-device', failedEventId: invite.eventId })
  })

  it('a join whose parent invite targets another user', () => {
    const room = new TestRoom()
    const { invite } = room.inviteAndJoin(alice, bob)
    const join = buildEvent(xavier.device, room.ctx(), {
      type: 'm.room.member',
      state_key: xavier.userId,
      content: { membership: 'join', user_key: xavier.userId, room_root_key: room.roomId.slice(1), sender_key: xavier.device.attestation, parent_event_id: invite.eventId }
    }, room.ts())
    expect(room.decide(join)).toMatchObject({ outcome: 'rejected', rule: expect.stringMatching(/join_rule invite/) })
    room.record(join)
    const verifier = room.verifier()
    verifier.applyState(join)
    expect(verifier.member(xavier.userId)).toMatchObject({ verified: false, reason: 'invite-wrong-user', step: 'invite_rrk' })
  })

  it('a create whose RRK signature does not match the room ID', () => {
    // A peer claims a room ID (an RRK it does not hold) for a room it made: it can sign the
    // create content only with some other key.
    const real = new TestRoom()
    const create = real.state.entry('m.room.create', '')!
    const { signatures: _drop, ...body } = create.event.content
    const fakeContent = signJson({ ...body, creator_key: mallory.userId, sender_key: mallory.device.attestation }, real.roomId, 'ed25519:rrk', scenarioSeed('the peer\'s key'))
    const fake = signRaw(mallory, { ...create.event, sender: mallory.userId, content: fakeContent, signatures: undefined, hashes: undefined })
    expect(real.decide(fake, { stateBefore: new RoomState(), currentState: null })).toMatchObject({ outcome: 'rejected', rule: 'keyroom.create.rrk_signature' })
    const events = new Map<string, RoomEvent>([[fake.eventId, fake.event]])
    const verifier = new MembershipVerifier({ roomId: real.roomId, getEvent: (id) => events.get(id) })
    expect(verifier.verifyCause(fake.eventId, mallory.userId)).toMatchObject({ ok: false, reason: 'bad-rrk-signature', step: 'create_sig' })
    // Every event after it depends on it: an event citing the fake create is refused too.
    const joinOnFake = signRaw(mallory, {
      type: 'm.room.member', room_id: real.roomId, sender: mallory.userId, state_key: mallory.userId, origin_server_ts: T0, depth: 2,
      prev_events: [fake.eventId], auth_events: [fake.eventId],
      content: { membership: 'join', user_key: mallory.userId, room_root_key: real.roomId.slice(1), sender_key: mallory.device.attestation, parent_event_id: fake.eventId }
    })
    real.record(fake)
    expect(real.decide(joinOnFake, { stateBefore: new RoomState([fake]), currentState: null })).toMatchObject({ outcome: 'rejected', rule: 'keyroom.create.rrk_signature' })
  })
})
