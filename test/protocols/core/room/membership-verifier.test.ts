/**
 * MSC3917 membership verification: one test per flowchart branch (named after the flowchart
 * node), then memoisation, incremental feeding, slices, missing events and revocations.
 */
import { describe, expect, it } from 'vitest'
import { createRevocation } from '../../../../protocols/core/identity/index.js'
import { signJson } from '../../../../protocols/core/signing/index.js'
import {
  MembershipVerifier, buildDeviceAttestation, buildDeviceRevocation, buildEvent, buildInvite, buildInviteLink, buildJoin, buildJoinRules,
  buildLeave, buildSpaceChild, buildVerifiedRoom, membershipProof, scenarioSeed, signInviteLinkClaim
} from '../../../../protocols/core/room/index.js'
import type { IdentifiedEvent, MemberVerification, RoomEvent, ScenarioUser } from '../../../../protocols/core/room/index.js'
import { T0, TestRoom, alice, bob, carol, dave, deviceIdOf, mallory, resign, resignContent, user } from './fixtures.js'
import { roomVersionRules } from '../../../../protocols/core/room-versions.js'

/** A member event with arbitrary content, signed by `who` and stored in the room (not applied). */
function memberEvent (room: TestRoom, who: ScenarioUser, stateKey: string, content: Record<string, unknown>): IdentifiedEvent {
  return room.record(buildEvent(who.device, room.ctx(), { type: 'm.room.member', state_key: stateKey, content }, room.ts()))
}

/** The fields every valid join of `who` carries. */
function joinContent (room: TestRoom, who: ScenarioUser, parent: string): Record<string, unknown> {
  return { membership: 'join', user_key: who.userId, room_root_key: room.roomId.slice(1), sender_key: who.device.attestation, parent_event_id: parent }
}

/** Verifies `entry` (a join of its state key) as the member's cause of membership. */
function verifyJoin (room: TestRoom, entry: IdentifiedEvent): ReturnType<MembershipVerifier['verifyEvent']> {
  const verifier = new MembershipVerifier({ roomId: room.roomId, getEvent: room.getEvent })
  return verifier.verifyCause(entry.eventId, entry.event.state_key!)
}

function unverified (result: ReturnType<MembershipVerifier['verifyEvent']>): { reason: string, step: string } {
  if (result.ok) throw new Error('expected a failure')
  return { reason: result.reason, step: result.step }
}

describe('flowchart: m.room.create', () => {
  it('accept: the creator\'s create event has the room\'s RRK, their UPK and a valid RRK signature', () => {
    const room = new TestRoom()
    const create = room.state.entry('m.room.create', '')!
    const verifier = room.verifier()
    expect(verifier.verifyCause(create.eventId, alice.userId)).toMatchObject({ ok: true, basis: 'creator' })
    expect(verifier.member(alice.userId)).toMatchObject({ verified: true, basis: 'creator', membership: 'join' })
  })

  it('create_rrk: another RRK, or another creator, fails', () => {
    const room = new TestRoom()
    const create = room.state.entry('m.room.create', '')!
    const wrongRrk = room.record(resignContent(alice, create, { room_root_key: new TestRoom(alice, { label: 'x' }).roomId.slice(1) }))
    expect(unverified(verifyJoin(room, { ...wrongRrk, event: { ...wrongRrk.event, state_key: alice.userId } })))
      .toEqual({ reason: 'wrong-rrk', step: 'create_rrk' })
    const verifier = new MembershipVerifier({ roomId: room.roomId, getEvent: room.getEvent })
    expect(unverified(verifier.verifyCause(create.eventId, bob.userId))).toEqual({ reason: 'wrong-user', step: 'create_rrk' })
    const otherCreator = room.record(resign(bob, create, { sender: bob.userId }))
    expect(unverified(verifier.verifyEvent(otherCreator.eventId))).toEqual({ reason: 'wrong-user', step: 'create_rrk' })
  })

  it('create_sig: an RRK signature by another key fails', () => {
    const room = new TestRoom()
    const create = room.state.entry('m.room.create', '')!
    const { signatures: _drop, ...body } = create.event.content
    const forgedContent = signJson(body, room.roomId, 'ed25519:rrk', scenarioSeed('not the rrk'))
    const forged = room.record(resign(alice, create, { content: forgedContent }))
    const verifier = new MembershipVerifier({ roomId: room.roomId, getEvent: room.getEvent })
    expect(unverified(verifier.verifyEvent(forged.eventId))).toEqual({ reason: 'bad-rrk-signature', step: 'create_sig' })
  })
})

describe('flowchart: join', () => {
  it('join_rrk: a join with another room\'s RRK or another user\'s UPK fails', () => {
    const room = new TestRoom()
    const { join } = room.inviteAndJoin(alice, bob)
    expect(unverified(verifyJoin(room, room.record(resignContent(bob, join, { room_root_key: 'AAAA' }))))).toEqual({ reason: 'wrong-rrk', step: 'join_rrk' })
    expect(unverified(verifyJoin(room, room.record(resignContent(bob, join, { user_key: carol.userId }))))).toEqual({ reason: 'wrong-user', step: 'join_rrk' })
  })

  it('join_sig: a join whose UDK signature does not verify fails', () => {
    const room = new TestRoom()
    const { join } = room.inviteAndJoin(alice, bob)
    const [device] = Object.keys(join.event.signatures!)
    const otherSig = Object.values(resignContent(bob, join, { displayname: 'x' }).event.signatures!)[0]!
    const tampered: RoomEvent = { ...join.event, signatures: { [device!]: otherSig } }
    room.events.set(join.eventId, tampered)
    expect(unverified(verifyJoin(room, { ...join, event: tampered }))).toEqual({ reason: 'bad-signature', step: 'join_sig' })
  })

  it('join_rsk_msk: a join whose sender_key does not attest its signing UDK for the user fails', () => {
    const room = new TestRoom()
    const { join } = room.inviteAndJoin(alice, bob)
    expect(unverified(verifyJoin(room, room.record(resignContent(bob, join, { sender_key: carol.device.attestation })))))
      .toEqual({ reason: 'bad-attestation', step: 'join_rsk_msk' })
    const expiring = user('bob', { issuedTs: 0, expiresTs: T0 })
    expect(unverified(verifyJoin(room, room.record(resignContent(expiring, join, { sender_key: expiring.device.attestation })))))
      .toEqual({ reason: 'attestation-expired', step: 'join_rsk_msk' })
  })
})

describe('flowchart: join through an invite', () => {
  it('accept: invite by a verified member, for this user, with the room\'s RRK', () => {
    const room = new TestRoom()
    room.inviteAndJoin(alice, bob)
    expect(room.verifier().member(bob.userId)).toMatchObject({ verified: true, basis: 'invite' })
  })

  it('invite_rrk: a join citing an invite of another user fails; so does an invite with another RRK', () => {
    const room = new TestRoom()
    const invite = room.add(buildInvite(alice.device, room.ctx(), { ...room.ts(), target: carol.userId }))
    const join = memberEvent(room, bob, bob.userId, joinContent(room, bob, invite.eventId))
    expect(unverified(verifyJoin(room, join))).toEqual({ reason: 'invite-wrong-user', step: 'invite_rrk' })
    const badInvite = room.record(resignContent(alice, invite, { room_root_key: 'AAAA', user_key: carol.userId }))
    const carolJoin = memberEvent(room, carol, carol.userId, joinContent(room, carol, badInvite.eventId))
    expect(unverified(verifyJoin(room, carolJoin))).toEqual({ reason: 'wrong-rrk', step: 'invite_rrk' })
  })

  it('check_sender: an invite whose signature does not verify fails', () => {
    const room = new TestRoom()
    const { invite, join } = room.inviteAndJoin(alice, bob)
    const otherSig = Object.values(resignContent(alice, invite, { reason: 'x' }).event.signatures!)[0]!
    room.events.set(invite.eventId, { ...invite.event, signatures: { [deviceIdOf(alice)]: otherSig } })
    expect(unverified(verifyJoin(room, join))).toEqual({ reason: 'bad-signature', step: 'check_sender' })
  })

  it('sender_rsk_msk: an invite whose sender_key is not the inviter\'s attestation of its signer fails', () => {
    const room = new TestRoom()
    const invite = room.record(resignContent(alice, buildInvite(alice.device, room.ctx(), { ...room.ts(), target: bob.userId }), { sender_key: bob.device.attestation }))
    const join = memberEvent(room, bob, bob.userId, joinContent(room, bob, invite.eventId))
    expect(unverified(verifyJoin(room, join))).toEqual({ reason: 'bad-attestation', step: 'sender_rsk_msk' })
  })

  it('lookup_sender_cause: an invite citing someone else\'s cause of membership fails', () => {
    const room = new TestRoom()
    const { join: bobJoin } = room.inviteAndJoin(alice, bob)
    // Carol (never a member) invites Dave, citing Bob's join as her own cause.
    const invite = room.record(buildEvent(carol.device, room.ctx(), {
      type: 'm.room.member',
      state_key: dave.userId,
      content: { membership: 'invite', user_key: dave.userId, room_root_key: room.roomId.slice(1), sender_key: carol.device.attestation, parent_event_id: bobJoin.eventId }
    }, room.ts()))
    const join = memberEvent(room, dave, dave.userId, joinContent(room, dave, invite.eventId))
    expect(unverified(verifyJoin(room, join))).toEqual({ reason: 'not-sender-cause', step: 'lookup_sender_cause' })
  })

  it('sender_recurse: a member invited by an unverified member is unverified, with the inviter\'s reason', () => {
    const room = new TestRoom()
    const { join: bobJoin } = room.inviteAndJoin(alice, bob)
    const badBobJoin = room.record(resignContent(bob, bobJoin, { room_root_key: 'AAAA' }))
    const invite = room.record(buildEvent(bob.device, room.ctx(), {
      type: 'm.room.member',
      state_key: carol.userId,
      content: { membership: 'invite', user_key: carol.userId, room_root_key: room.roomId.slice(1), sender_key: bob.device.attestation, parent_event_id: badBobJoin.eventId }
    }, room.ts()))
    const join = memberEvent(room, carol, carol.userId, joinContent(room, carol, invite.eventId))
    const result = verifyJoin(room, join)
    expect(result).toMatchObject({ ok: false, reason: 'wrong-rrk', step: 'join_rrk', eventId: badBobJoin.eventId })
  })
})

describe('flowchart: join through an invite link (third-party invite)', () => {
  function linkRoom (): { room: TestRoom, linkSeed: Uint8Array, link: IdentifiedEvent } {
    const room = new TestRoom()
    const linkSeed = scenarioSeed('verifier/link')
    const link = room.add(buildInviteLink(alice.device, room.ctx(), { ...room.ts(), linkSeed }))
    return { room, linkSeed, link }
  }

  it('accept: the claim is signed by the link key, for this user, and the link\'s sender verifies', () => {
    const { room, linkSeed } = linkRoom()
    room.join(bob, { kind: 'invite-link', linkSeed })
    expect(room.verifier().member(bob.userId)).toMatchObject({ verified: true, basis: 'invite-link' })
  })

  it('idserver_sig: a claim not signed by the link key fails; a join without a claim too', () => {
    const { room, link } = linkRoom()
    const claim = signInviteLinkClaim({ linkSeed: scenarioSeed('someone else'), userId: bob.userId, roomId: room.roomId })
    const join = memberEvent(room, bob, bob.userId, { ...joinContent(room, bob, link.eventId), third_party_invite: { signed: { ...claim, token: link.event.state_key } } })
    expect(unverified(verifyJoin(room, join))).toEqual({ reason: 'link-bad-signature', step: 'idserver_sig' })
    const bare = memberEvent(room, bob, bob.userId, joinContent(room, bob, link.eventId))
    expect(unverified(verifyJoin(room, bare))).toEqual({ reason: 'link-malformed', step: 'idserver_sig' })
  })

  it('threepid_signed_msk: a claim for another user fails', () => {
    const { room, linkSeed, link } = linkRoom()
    const claim = signInviteLinkClaim({ linkSeed, userId: carol.userId, roomId: room.roomId })
    const join = memberEvent(room, bob, bob.userId, { ...joinContent(room, bob, link.eventId), third_party_invite: { signed: claim } })
    expect(unverified(verifyJoin(room, join))).toEqual({ reason: 'link-wrong-user', step: 'threepid_signed_msk' })
  })

  it('threepid_token: a claim for another link fails', () => {
    const { room, link } = linkRoom()
    const otherSeed = scenarioSeed('verifier/other-link')
    const claim = signInviteLinkClaim({ linkSeed: otherSeed, userId: bob.userId, roomId: room.roomId })
    const join = memberEvent(room, bob, bob.userId, { ...joinContent(room, bob, link.eventId), third_party_invite: { signed: claim } })
    expect(unverified(verifyJoin(room, join))).toEqual({ reason: 'link-token-mismatch', step: 'threepid_token' })
  })
})

describe('flowchart: join through the join rules', () => {
  it('public: accept on the rule\'s sender', () => {
    const room = new TestRoom(alice, { joinRule: 'public' })
    room.join(bob, { kind: 'public' })
    expect(room.verifier().member(bob.userId)).toMatchObject({ verified: true, basis: 'public-join-rule' })
  })

  it('join_rule_type: a join citing an invite-only rule fails', () => {
    const room = new TestRoom()
    const rules = room.state.entry('m.room.join_rules', '')!
    const join = memberEvent(room, bob, bob.userId, joinContent(room, bob, rules.eventId))
    expect(unverified(verifyJoin(room, join))).toEqual({ reason: 'join-rule-not-open', step: 'join_rule_type' })
  })

  function restricted (allow: string[]): { room: TestRoom, other: TestRoom, proof: RoomEvent[] } {
    const other = new TestRoom(alice, { label: 'space' })
    other.inviteAndJoin(alice, bob)
    const room = new TestRoom(alice, { joinRule: 'restricted', allowRooms: allow.map((id) => id === 'other' ? other.roomId : id) })
    return { room, other, proof: membershipProof(other.state, other.getEvent, bob.userId) }
  }

  it('restricted: accept with a proof of membership in an allowed room (join_state, joinrule_match)', () => {
    const { room, proof } = restricted(['other'])
    room.join(bob, { kind: 'restricted', proof, authorisedVia: alice.userId })
    expect(room.verifier().member(bob.userId)).toMatchObject({ verified: true, basis: 'restricted-join-rule' })
  })

  it('any_old_rooms: a rule naming a room whose ID is not an RRK accepts on the sender alone', () => {
    const { room } = restricted(['other', '!legacy:example.org'])
    room.join(bob, { kind: 'restricted', proof: [], authorisedVia: alice.userId })
    expect(room.verifier().member(bob.userId)).toMatchObject({ verified: true, basis: 'restricted-legacy-room' })
  })

  it('join_state: no proof, or a proof that does not verify, fails (transiently)', () => {
    const { room, proof } = restricted(['other'])
    const noProof = room.join(bob, { kind: 'restricted', proof: [], authorisedVia: alice.userId })
    expect(verifyJoin(room, noProof)).toMatchObject({ ok: false, reason: 'restricted-no-proof', step: 'join_state', transient: true })
    const broken = [...proof]
    broken[1] = { ...broken[1]!, content: { ...broken[1]!.content, room_root_key: 'AAAA' } }
    const badProof = room.record({ ...noProof, event: { ...noProof.event, unsigned: { membership_events: broken } } })
    const result = verifyJoin(room, badProof)
    expect(result).toMatchObject({ ok: false, reason: 'restricted-bad-proof', step: 'join_state', transient: true })
    expect(!result.ok && result.inner).toMatchObject({ ok: false })
  })

  it('joinrule_match: a proof for a room the rule does not allow fails', () => {
    const { room, other } = restricted(['other'])
    const elsewhere = new TestRoom(alice, { label: 'elsewhere' })
    elsewhere.inviteAndJoin(alice, bob)
    const proof = membershipProof(elsewhere.state, elsewhere.getEvent, bob.userId)
    expect(other.roomId).not.toBe(elsewhere.roomId)
    const join = room.join(bob, { kind: 'restricted', proof, authorisedVia: alice.userId })
    expect(unverified(verifyJoin(room, join))).toEqual({ reason: 'restricted-room-not-allowed', step: 'joinrule_match' })
  })
})

describe('flowchart: why_join — parents that cannot allow a join', () => {
  it('a non-creator citing the create event, or a join citing a message, fails', () => {
    const room = new TestRoom()
    const create = room.state.entry('m.room.create', '')!
    expect(unverified(verifyJoin(room, memberEvent(room, bob, bob.userId, joinContent(room, bob, create.eventId))))).toEqual({ reason: 'bad-parent', step: 'why_join' })
    const message = room.add(buildEvent(alice.device, room.ctx(), { type: 'm.room.message', content: { body: 'x' } }, room.ts()))
    expect(unverified(verifyJoin(room, memberEvent(room, bob, bob.userId, joinContent(room, bob, message.eventId))))).toEqual({ reason: 'bad-parent', step: 'why_join' })
  })
})

describe('MembershipVerifier: members, memoisation, slices', () => {
  it('reports every member, in code-point order, with leave and ban as not members', () => {
    const room = new TestRoom()
    room.inviteAndJoin(alice, bob)
    room.inviteAndJoin(alice, carol)
    room.add(buildLeave(carol.device, room.ctx(), room.ts()))
    room.add(buildInvite(bob.device, room.ctx(), { ...room.ts(), target: dave.userId }))
    const verifier = room.verifier()
    const members = verifier.allMembers()
    expect(members.map((m) => m.userId)).toEqual([alice.userId, bob.userId, carol.userId, dave.userId].sort())
    const byUser = new Map(members.map((m) => [m.userId, m]))
    expect(byUser.get(carol.userId)).toMatchObject({ verified: false, reason: 'not-a-member', membership: 'leave' })
    expect(byUser.get(dave.userId)).toMatchObject({ verified: true, basis: 'invited', membership: 'invite' })
    expect(verifier.member(mallory.userId)).toBeUndefined()
  })

  it('checks each event once: N members cost O(N) event checks, and asking again costs nothing', () => {
    const room = buildVerifiedRoom(12, { shape: 'tree', fanout: 3, label: 'memo' })
    const verifier = new MembershipVerifier({ roomId: room.roomId, getEvent: room.getEvent })
    for (const entry of room.state.ofType('m.room.member')) verifier.applyState(entry)
    expect(verifier.allMembers().every((m) => m.verified)).toBe(true)
    // create + creator's join + (invite + join) per member.
    expect(verifier.stats.eventsChecked).toBe(2 + 2 * 12)
    expect(verifier.stats.eventSignatures).toBe(2 + 2 * 12)
    verifier.allMembers()
    expect(verifier.stats.eventsChecked).toBe(2 + 2 * 12)
  })

  it('works in bounded slices and resumes where it stopped', async () => {
    const room = buildVerifiedRoom(10, { shape: 'chain', label: 'slices' })
    const verifier = new MembershipVerifier({ roomId: room.roomId, getEvent: room.getEvent })
    for (const entry of room.state.ofType('m.room.member')) verifier.applyState(entry)
    let slices = 0
    while (!verifier.step({ maxEvents: 3 })) slices++
    expect(slices).toBeGreaterThanOrEqual(Math.floor((2 + 2 * 10) / 3) - 1)
    expect(verifier.stats.eventsChecked).toBe(2 + 2 * 10)
    expect(verifier.pending).toBe(0)
    expect(verifier.allMembers().every((m) => m.verified)).toBe(true)
    expect(verifier.stats.eventsChecked).toBe(2 + 2 * 10)

    const again = new MembershipVerifier({ roomId: room.roomId, getEvent: room.getEvent })
    for (const entry of room.state.ofType('m.room.member')) again.applyState(entry)
    let yields = 0
    await again.verifyAll({ maxEvents: 4, yieldControl: async () => { yields++ } })
    expect(yields).toBeGreaterThan(2)
    expect(again.allMembers().every((m) => m.verified)).toBe(true)
    let asked = 0
    const third = new MembershipVerifier({ roomId: room.roomId, getEvent: room.getEvent })
    for (const entry of room.state.ofType('m.room.member')) third.applyState(entry)
    expect(third.step({ maxEvents: 1000, shouldYield: () => ++asked > 2 })).toBe(false)
    expect(third.stats.eventsChecked).toBe(2)
  })

  it('follows a long invitation chain without recursion', () => {
    const room = buildVerifiedRoom(400, { shape: 'chain', label: 'deep' })
    const verifier = new MembershipVerifier({ roomId: room.roomId, getEvent: room.getEvent })
    for (const entry of room.state.ofType('m.room.member')) verifier.applyState(entry)
    const last = room.members[room.members.length - 1]!
    expect(verifier.member(last.userId)).toMatchObject({ verified: true })
    // The whole chain: every member's invite and join, and the create event.
    expect(verifier.stats.eventsChecked).toBe(1 + 2 * 400)
  })

  it('marks a member with a missing parent unverified (transient), and verifies once the event arrives', () => {
    const room = new TestRoom()
    const { invite } = room.inviteAndJoin(alice, bob)
    const known = new Map(room.events)
    known.delete(invite.eventId)
    const verifier = new MembershipVerifier({ roomId: room.roomId, getEvent: (id) => known.get(id) })
    for (const entry of room.state.ofType('m.room.member')) verifier.applyState(entry)
    expect(verifier.member(bob.userId)).toMatchObject({ verified: false, reason: 'missing-event', failedEventId: invite.eventId, transient: true })
    verifier.addEvent(invite.event)
    expect(verifier.member(bob.userId)).toMatchObject({ verified: true })
  })

  it('ends a lying store\'s loop of parents unverified instead of looping', () => {
    // Bob joins on Carol's invite, Carol joins on Bob's invite, and Bob's invite cites a
    // placeholder the store answers with Bob's join: a loop no honest hash chain can make.
    const room = new TestRoom()
    const placeholder = '$' + 'A'.repeat(43)
    const inviteCarol = memberEvent(room, bob, carol.userId, {
      membership: 'invite', user_key: carol.userId, room_root_key: room.roomId.slice(1), sender_key: bob.device.attestation, parent_event_id: placeholder
    })
    const joinCarol = memberEvent(room, carol, carol.userId, joinContent(room, carol, inviteCarol.eventId))
    const inviteBob = memberEvent(room, carol, bob.userId, {
      membership: 'invite', user_key: bob.userId, room_root_key: room.roomId.slice(1), sender_key: carol.device.attestation, parent_event_id: joinCarol.eventId
    })
    const joinBob = memberEvent(room, bob, bob.userId, joinContent(room, bob, inviteBob.eventId))
    const verifier = new MembershipVerifier({ roomId: room.roomId, getEvent: (id) => id === placeholder ? joinBob.event : room.getEvent(id) })
    expect(verifier.verifyCause(joinBob.eventId, bob.userId)).toMatchObject({ ok: false, reason: 'event-id-mismatch', eventId: placeholder })
    expect(verifier.verifyEvent(joinCarol.eventId)).toMatchObject({ ok: false, reason: 'event-id-mismatch' })
  })

  it('refuses events of another room in a chain', () => {
    const room = new TestRoom()
    const other = new TestRoom(alice, { label: 'other' })
    const { invite } = other.inviteAndJoin(alice, bob)
    room.events.set(invite.eventId, invite.event)
    const join = memberEvent(room, bob, bob.userId, joinContent(room, bob, invite.eventId))
    expect(unverified(verifyJoin(room, join))).toEqual({ reason: 'wrong-room', step: 'start' })
  })

  it('applies revocations in the current state to every chain through the revoked device, without re-verifying', () => {
    const room = new TestRoom()
    room.inviteAndJoin(alice, bob)
    const phone = user('bob', { deviceIndex: 1 })
    room.add(buildDeviceAttestation(bob.device, room.ctx(), { ...room.ts(), attestation: phone.device.attestation }))
    // Bob's phone invites Carol (the invite carries the phone's attestation).
    const invite = room.add(buildInvite(phone.device, room.ctx(), { ...room.ts(), target: carol.userId }))
    room.add(buildJoin(carol.device, room.ctx(), { ...room.ts(), via: { kind: 'invite' } }))
    const verifier = room.verifier()
    expect(verifier.member(carol.userId)).toMatchObject({ verified: true })
    const checked = verifier.stats.eventsChecked
    const inviteTs = invite.event.origin_server_ts
    // Revoked only after the invite: Carol stays verified.
    const later = room.add(buildDeviceRevocation(bob.device, room.ctx(), { ...room.ts(), revocation: createRevocation({ upkSeed: bob.upkSeed, udk: deviceIdOf(phone), revokedTs: inviteTs + 1 }) }))
    verifier.applyState(later)
    expect(verifier.member(carol.userId)).toMatchObject({ verified: true })
    // A revocation covering the invite (state resolution can hand a node such a state).
    const covering = buildDeviceRevocation(bob.device, room.ctx(), { ...room.ts(), revocation: createRevocation({ upkSeed: bob.upkSeed, udk: deviceIdOf(phone), revokedTs: inviteTs }) })
    verifier.applyState(covering)
    const carolResult: MemberVerification | undefined = verifier.member(carol.userId)
    expect(carolResult).toMatchObject({ verified: false, reason: 'revoked-device', step: 'revocation', failedEventId: invite.eventId })
    expect(verifier.member(bob.userId)).toMatchObject({ verified: true })
    expect(verifier.stats.eventsChecked).toBe(checked)
  })

  it('verifies a space child link back to its sender\'s membership', () => {
    const room = new TestRoom()
    room.inviteAndJoin(alice, bob)
    const child = room.add(buildSpaceChild(bob.device, room.ctx(), { ...room.ts(), childRoomId: new TestRoom(alice, { label: 'child' }).roomId, via: ['x'] }))
    const rules = room.add(buildJoinRules(bob.device, room.ctx(), { ...room.ts(), joinRule: 'public' }))
    const verifier = room.verifier()
    expect(verifier.verifyEvent(child.eventId)).toMatchObject({ ok: true })
    expect(verifier.verifyEvent(rules.eventId)).toMatchObject({ ok: true })
    const forged = room.record(resignContent(mallory, child, { sender_key: mallory.device.attestation }))
    expect(verifier.verifyEvent(forged.eventId)).toMatchObject({ ok: false, reason: 'bad-attestation', step: 'sender_rsk_msk' })
  })

  it('only verifies keyroom.1 rooms', () => {
    expect(() => new MembershipVerifier({ roomId: '!x', rules: roomVersionRules('12') }))
      .toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_ROOM_VERSION' }))
  })
})

describe('restricted proofs are transient', () => {
  it('re-verifies a restricted join when a copy with a proof arrives', () => {
    const other = new TestRoom(alice, { label: 'space2' })
    other.inviteAndJoin(alice, bob)
    const room = new TestRoom(alice, { joinRule: 'restricted', allowRooms: [other.roomId] })
    const proof = membershipProof(other.state, other.getEvent, bob.userId)
    const withProof = buildJoin(bob.device, room.ctx(), { ...room.ts(), via: { kind: 'restricted', proof, authorisedVia: alice.userId } })
    const { unsigned: _u, ...stripped } = withProof.event
    room.add({ eventId: withProof.eventId, event: stripped as RoomEvent })
    const verifier = room.verifier()
    expect(verifier.member(bob.userId)).toMatchObject({ verified: false, reason: 'restricted-no-proof', transient: true })
    verifier.addEvent(withProof.event, withProof.eventId)
    expect(verifier.member(bob.userId)).toMatchObject({ verified: true, basis: 'restricted-join-rule' })
  })
})

