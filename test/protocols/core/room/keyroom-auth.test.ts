import { describe, expect, it } from 'vitest'
import { createAttestation, createRevocation } from '../../../../protocols/core/identity/index.js'
import { signJson } from '../../../../protocols/core/signing/index.js'
import { roomVersionRules } from '../../../../protocols/core/room-versions.js'
import {
  AttestationCache, attestationInForceAt, buildDeviceAttestation, buildDeviceRevocation, buildEvent, buildInvite, buildInviteLink, buildJoin, buildJoinRules, buildMessage,
  buildPowerLevels, buildSpaceChild, checkKeyroomAuth, checkRoomAuth, inviteLinkKeys, pduOf, scenarioSeed, signInviteLinkClaim
} from '../../../../protocols/core/room/index.js'
import type { IdentifiedEvent, RoomState } from '../../../../protocols/core/room/index.js'
import { T0, TestRoom, alice, bob, carol, deviceIdOf, mallory, resign, resignContent, signRaw, user } from './fixtures.js'

const rules = roomVersionRules('keyroom.1')

/** The keyroom additions alone, against the room's current state. */
function keyroom (room: TestRoom, entry: IdentifiedEvent, state: RoomState = room.state, now?: number): ReturnType<typeof checkKeyroomAuth> {
  return checkKeyroomAuth(entry.event, state.lookup, now === undefined ? {} : { now })
}

/** A room with alice (creator) and bob joined. */
function twoMemberRoom (): TestRoom {
  const room = new TestRoom()
  room.inviteAndJoin(alice, bob)
  return room
}

describe('K1: exactly one signature, by a UDK', () => {
  it('accepts a plain message', () => {
    const room = twoMemberRoom()
    expect(keyroom(room, buildMessage(bob.device, room.ctx(), { ...room.ts(), body: 'hi' }))).toEqual({ ok: true })
  })

  it('refuses an event signed by two devices', () => {
    const room = twoMemberRoom()
    const message = buildMessage(bob.device, room.ctx(), { ...room.ts(), body: 'hi' })
    const twice = signJson(message.event, deviceIdOf(alice), 'ed25519', alice.device.deviceSeed)
    expect(keyroom(room, { ...message, event: twice })).toEqual({ ok: false, rule: 'keyroom.signature.several-signatures' })
  })

  it('refuses an unsigned event, a signer that is not a device, and a key ID other than ed25519', () => {
    const room = twoMemberRoom()
    const message = buildMessage(bob.device, room.ctx(), { ...room.ts(), body: 'hi' })
    const { signatures, ...unsigned } = message.event
    expect(keyroom(room, { ...message, event: unsigned })).toEqual({ ok: false, rule: 'keyroom.signature.no-signature' })
    const sig = Object.values(signatures!)[0]!.ed25519!
    expect(keyroom(room, { ...message, event: { ...unsigned, signatures: { [bob.userId]: { ed25519: sig } } } }))
      .toEqual({ ok: false, rule: 'keyroom.signature.not-a-device' })
    expect(keyroom(room, { ...message, event: { ...unsigned, signatures: { [deviceIdOf(bob)]: { 'ed25519:1': sig } } } }))
      .toEqual({ ok: false, rule: 'keyroom.signature.bad-key-id' })
  })
})

describe('K2, K3: sender, room and the RRK-signed create event', () => {
  it('refuses a sender that is not a UPK and a room ID that is not an RRK', () => {
    const room = twoMemberRoom()
    const message = buildMessage(bob.device, room.ctx(), { ...room.ts(), body: 'hi' })
    expect(keyroom(room, resign(bob, message, { sender: '@bob:example.org' }))).toEqual({ ok: false, rule: 'keyroom.sender' })
    expect(keyroom(room, resign(bob, message, { room_id: '!abc:example.org' }))).toEqual({ ok: false, rule: 'keyroom.room_id' })
  })

  it('checks the create event\'s own MSC3917 fields and RRK signature', () => {
    const room = new TestRoom()
    const create = room.state.entry('m.room.create', '')!
    const empty = new TestRoom().state.clone()
    empty.delete('m.room.create', '')
    expect(keyroom(room, create, empty)).toEqual({ ok: true })
    expect(keyroom(room, resignContent(alice, create, { room_root_key: 'x' }), empty)).toEqual({ ok: false, rule: 'keyroom.create.room_root_key' })
    expect(keyroom(room, resignContent(alice, create, { creator_key: bob.userId }), empty)).toEqual({ ok: false, rule: 'keyroom.create.creator_key' })
    expect(keyroom(room, resignContent(alice, create, { room_version: '12' }), empty)).toEqual({ ok: false, rule: 'keyroom.create.room_version' })
    // Content changed after the RRK signed it: the signature no longer covers it.
    expect(keyroom(room, resignContent(alice, create, { 'm.federate': false }), empty)).toEqual({ ok: false, rule: 'keyroom.create.rrk_signature' })
  })

  it('refuses events of a room whose create event is missing, of another room, or not RRK-signed', () => {
    const room = twoMemberRoom()
    const message = buildMessage(bob.device, room.ctx(), { ...room.ts(), body: 'hi' })
    const state = room.state.clone()
    state.delete('m.room.create', '')
    expect(keyroom(room, message, state)).toEqual({ ok: false, rule: 'keyroom.create.missing' })
    const other = new TestRoom(alice, { label: 'other' })
    const mixed = room.state.clone()
    mixed.apply(other.state.entry('m.room.create', '')!)
    expect(keyroom(room, message, mixed)).toEqual({ ok: false, rule: 'keyroom.create.room_id' })
    const forged = room.state.clone()
    const create = room.state.entry('m.room.create', '')!
    forged.apply(resignContent(alice, create, { topic: 'added later' }))
    expect(keyroom(room, message, forged)).toEqual({ ok: false, rule: 'keyroom.create.rrk_signature' })
  })
})

describe('K4: the signing UDK is attested by the sender, unrevoked, in force', () => {
  it('refuses a device the sender never attested', () => {
    const room = twoMemberRoom()
    // Mallory's device signs an event claiming to be from Bob.
    const forged = signRaw(mallory, { ...buildMessage(bob.device, room.ctx(), { ...room.ts(), body: 'hi' }).event, signatures: undefined, hashes: undefined })
    expect(keyroom(room, forged)).toEqual({ ok: false, rule: 'keyroom.attestation.missing' })
  })

  it('finds a second device in its keyroom.device record, and introduces a device in its own keyroom.device event', () => {
    const room = twoMemberRoom()
    const phone = user('bob', { deviceIndex: 1 })
    const message = buildMessage(phone.device, room.ctx(), { ...room.ts(), body: 'from my phone' })
    expect(keyroom(room, message)).toEqual({ ok: false, rule: 'keyroom.attestation.missing' })
    const introduction = buildDeviceAttestation(phone.device, room.ctx(), { ...room.ts(), attestation: phone.device.attestation })
    expect(checkRoomAuth(rules, { ...pduOf(introduction.event, introduction.eventId)!, signatures: introduction.event.signatures }, room.state.lookup as never))
      .toEqual({ ok: true })
    room.add(introduction)
    expect(keyroom(room, buildMessage(phone.device, room.ctx(), { ...room.ts(), body: 'from my phone' }))).toEqual({ ok: true })
  })

  it('lets an own join introduce its device', () => {
    const room = new TestRoom()
    room.add(buildInvite(alice.device, room.ctx(), { ...room.ts(), target: bob.userId }))
    const phone = user('bob', { deviceIndex: 1 })
    expect(keyroom(room, buildJoin(phone.device, room.ctx(), { ...room.ts(), via: { kind: 'invite' } }))).toEqual({ ok: true })
  })

  it('refuses a device revoked before the event, and accepts its events from before the revocation', () => {
    const room = twoMemberRoom()
    const phone = user('bob', { deviceIndex: 1 })
    room.add(buildDeviceAttestation(bob.device, room.ctx(), { ...room.ts(), attestation: phone.device.attestation }))
    const early = buildMessage(phone.device, room.ctx(), { ...room.ts(), body: 'before' })
    const revokedTs = early.event.origin_server_ts + 500
    room.add(buildDeviceRevocation(bob.device, room.ctx(), { ...room.ts(), revocation: createRevocation({ upkSeed: bob.upkSeed, udk: deviceIdOf(phone), revokedTs }) }))
    const late = buildMessage(phone.device, room.ctx(), { ...room.ts(), body: 'after' })
    expect(keyroom(room, late)).toEqual({ ok: false, rule: 'keyroom.device.revoked' })
    // The revocation record carries the attestation it ends: earlier events still check out.
    expect(keyroom(room, early)).toEqual({ ok: true })
    // Judged now (the soft-fail check), the revocation covers back-dated events too.
    expect(keyroom(room, early, room.state, revokedTs)).toEqual({ ok: false, rule: 'keyroom.device.revoked' })
  })

  it('refuses an expired attestation at the event\'s timestamp, and at now when now is given', () => {
    const room = new TestRoom()
    const shortLived = user('dave', { issuedTs: T0, expiresTs: T0 + 10_000 })
    room.add(buildInvite(alice.device, room.ctx(), { ...room.ts(), target: shortLived.userId }))
    room.add(buildJoin(shortLived.device, room.ctx(), { ...room.ts(), via: { kind: 'invite' } }))
    const inTime = buildMessage(shortLived.device, room.ctx(), { originServerTs: T0 + 5_000, body: 'in time' })
    expect(keyroom(room, inTime)).toEqual({ ok: true })
    expect(keyroom(room, inTime, room.state, T0 + 10_000)).toEqual({ ok: false, rule: 'keyroom.attestation.expired' })
    const late = buildMessage(shortLived.device, room.ctx(), { originServerTs: T0 + 10_000, body: 'late' })
    expect(keyroom(room, late)).toEqual({ ok: false, rule: 'keyroom.attestation.expired' })
  })
})

describe('K5: MSC3917 fields', () => {
  it('requires user_key = state key, the room\'s room_root_key, the signer\'s sender_key and a parent on invites', () => {
    const room = twoMemberRoom()
    const invite = buildInvite(alice.device, room.ctx(), { ...room.ts(), target: carol.userId })
    expect(keyroom(room, invite)).toEqual({ ok: true })
    expect(keyroom(room, resignContent(alice, invite, { user_key: bob.userId }))).toEqual({ ok: false, rule: 'keyroom.msc3917.user_key' })
    expect(keyroom(room, resignContent(alice, invite, { room_root_key: 'AAAA' }))).toEqual({ ok: false, rule: 'keyroom.msc3917.room_root_key' })
    expect(keyroom(room, resignContent(alice, invite, { sender_key: bob.device.attestation }))).toEqual({ ok: false, rule: 'keyroom.msc3917.sender_key' })
    expect(keyroom(room, resignContent(alice, invite, { parent_event_id: undefined }))).toEqual({ ok: false, rule: 'keyroom.msc3917.parent_event_id' })
  })

  it('requires sender fields on public join rules, invite links and space children', () => {
    const room = twoMemberRoom()
    const rules = buildJoinRules(alice.device, room.ctx(), { ...room.ts(), joinRule: 'public' })
    expect(keyroom(room, rules)).toEqual({ ok: true })
    expect(keyroom(room, resignContent(alice, rules, { sender_key: undefined }))).toEqual({ ok: false, rule: 'keyroom.msc3917.sender_key' })
    // An invite-only rule needs no MSC3917 fields.
    expect(keyroom(room, resignContent(alice, rules, { join_rule: 'invite', sender_key: undefined, parent_event_id: undefined }))).toEqual({ ok: true })

    const link = buildInviteLink(alice.device, room.ctx(), { ...room.ts(), linkSeed: scenarioSeed('auth/link') })
    expect(keyroom(room, link)).toEqual({ ok: true })
    expect(keyroom(room, resign(alice, link, { state_key: 'another-token' }))).toEqual({ ok: false, rule: 'keyroom.msc3917.token' })
    expect(keyroom(room, resignContent(alice, link, { public_key: 'not base64!' }))).toEqual({ ok: false, rule: 'keyroom.msc3917.public_key' })
    expect(keyroom(room, resign(alice, link, { content: {} }))).toEqual({ ok: true })

    const child = new TestRoom(alice, { label: 'child' }).roomId
    const space = buildSpaceChild(alice.device, room.ctx(), { ...room.ts(), childRoomId: child, via: ['x'] })
    expect(keyroom(room, space)).toEqual({ ok: true })
    expect(keyroom(room, resignContent(alice, space, { room_root_key: room.roomId.slice(1) }))).toEqual({ ok: false, rule: 'keyroom.msc3917.room_root_key' })
  })
})

describe('K6: keyroom.device records', () => {
  const phone = user('bob', { deviceIndex: 1 })

  it('is open to a joined member whatever state_default says (room-auth override)', () => {
    const room = twoMemberRoom()
    room.add(buildPowerLevels(alice.device, room.ctx(), { ...room.ts(), content: { users: {}, state_default: 100, events: {} } }))
    const record = buildDeviceAttestation(bob.device, room.ctx(), { ...room.ts(), attestation: phone.device.attestation })
    const view = { ...pduOf(record.event, record.eventId)!, signatures: record.event.signatures }
    expect(checkRoomAuth(rules, view, room.state.lookup as never)).toEqual({ ok: true })
    // Any other state event of Bob's is governed by state_default.
    const topic = buildEvent(bob.device, room.ctx(), { type: 'm.room.topic', state_key: '', content: { topic: 'x' } }, room.ts())
    const result = checkRoomAuth(rules, { ...pduOf(topic.event, topic.eventId)!, signatures: topic.event.signatures }, room.state.lookup as never)
    expect(result.ok).toBe(false)
  })

  it('refuses records from non-members, about non-devices, or about another user\'s key', () => {
    const room = twoMemberRoom()
    const record = buildDeviceAttestation(bob.device, room.ctx(), { ...room.ts(), attestation: phone.device.attestation })
    // The phone introduces itself (K4 passes on its own attestation), but Bob is no member.
    const selfIntroduced = buildDeviceAttestation(phone.device, room.ctx(), { ...room.ts(), attestation: phone.device.attestation })
    const state = room.state.clone()
    state.delete('m.room.member', bob.userId)
    expect(keyroom(room, selfIntroduced, state)).toEqual({ ok: false, rule: 'keyroom.device.not_joined' })
    expect(keyroom(room, selfIntroduced)).toEqual({ ok: true })
    expect(keyroom(room, resign(bob, record, { state_key: bob.userId }))).toEqual({ ok: false, rule: 'keyroom.device.state_key' })
    // Bob records Alice's device: the attestation is by Alice, not Bob.
    expect(keyroom(room, resign(bob, record, { state_key: deviceIdOf(alice), content: { attestation: alice.device.attestation } })))
      .toEqual({ ok: false, rule: 'keyroom.device.attestation' })
    expect(keyroom(room, resignContent(bob, record, { note: 'x' }))).toEqual({ ok: false, rule: 'keyroom.device.content' })
    expect(keyroom(room, resign(bob, record, { content: {} }))).toEqual({ ok: false, rule: 'keyroom.device.content' })
  })

  it('keeps a record to its owner and never re-attests a revoked device', () => {
    const room = twoMemberRoom()
    const record = room.add(buildDeviceAttestation(bob.device, room.ctx(), { ...room.ts(), attestation: phone.device.attestation }))
    // Alice cannot overwrite Bob's record, even with a revocation of her own.
    const aliceRevokes = createRevocation({ upkSeed: alice.upkSeed, udk: deviceIdOf(phone), revokedTs: T0 })
    expect(keyroom(room, buildDeviceRevocation(alice.device, room.ctx(), { ...room.ts(), revocation: aliceRevokes })))
      .toEqual({ ok: false, rule: 'keyroom.device.other_user' })
    const revocation = createRevocation({ upkSeed: bob.upkSeed, udk: deviceIdOf(phone), revokedTs: T0 + 1e9 })
    room.add(buildDeviceRevocation(bob.device, room.ctx(), { ...room.ts(), revocation }))
    expect(keyroom(room, resign(bob, record, { origin_server_ts: T0 + 50_000 }))).toEqual({ ok: false, rule: 'keyroom.device.already_revoked' })
    // A revocation must be the sender's own statement about that device.
    const wrong = createRevocation({ upkSeed: bob.upkSeed, udk: deviceIdOf(alice), revokedTs: T0 })
    const fresh = twoMemberRoom()
    const bad = buildDeviceRevocation(bob.device, fresh.ctx(), { ...fresh.ts(), revocation: wrong })
    expect(keyroom(fresh, resign(bob, bad, { state_key: deviceIdOf(phone) }))).toEqual({ ok: false, rule: 'keyroom.device.revocation' })
  })

  it('refuses an attestation that lacks the device\'s counter-signature (proof of possession)', () => {
    const room = twoMemberRoom()
    const aliceDevice = deviceIdOf(alice)
    const claim = signJson({ upk: bob.userId, udk: aliceDevice, issued_ts: T0 }, bob.userId, 'ed25519', bob.upkSeed)
    const record = buildEvent(bob.device, room.ctx(), { type: 'keyroom.device', state_key: aliceDevice, content: { attestation: claim } }, room.ts())
    expect(keyroom(room, record)).toEqual({ ok: false, rule: 'keyroom.device.attestation' })
  })
})

describe('invite-link joins (room-auth override)', () => {
  function linkRoom (): { room: TestRoom, linkSeed: Uint8Array } {
    const room = new TestRoom()
    const linkSeed = scenarioSeed('auth/link-join')
    room.add(buildInviteLink(alice.device, room.ctx(), { ...room.ts(), linkSeed }))
    return { room, linkSeed }
  }
  function auth (room: TestRoom, entry: IdentifiedEvent): ReturnType<typeof checkRoomAuth> {
    return checkRoomAuth(rules, { ...pduOf(entry.event, entry.eventId)!, signatures: entry.event.signatures }, room.state.lookup as never)
  }

  it('lets the holder of the link join an invite-only room', () => {
    const { room, linkSeed } = linkRoom()
    expect(auth(room, buildJoin(bob.device, room.ctx(), { ...room.ts(), via: { kind: 'invite-link', linkSeed } }))).toEqual({ ok: true })
  })

  it('refuses a claim made for someone else, a claim by another key, and a revoked link', () => {
    const { room, linkSeed } = linkRoom()
    const join = buildJoin(bob.device, room.ctx(), { ...room.ts(), via: { kind: 'invite-link', linkSeed } })
    const stolen = resignContent(mallory, join, {}) // Mallory re-signs Bob's join: not her attestation
    expect(auth(room, stolen).ok).toBe(false)
    const forCarol = signInviteLinkClaim({ linkSeed, userId: carol.userId, roomId: room.roomId })
    expect(auth(room, resignContent(bob, join, { third_party_invite: { signed: forCarol } })))
      .toEqual({ ok: false, rule: 'keyroom.link.5: invite link claim wrong-user' })
    const otherKey = signInviteLinkClaim({ linkSeed: scenarioSeed('auth/other-link'), userId: bob.userId, roomId: room.roomId })
    expect(auth(room, resignContent(bob, join, { third_party_invite: { signed: { ...otherKey, token: inviteLinkKeys(linkSeed).token } } })))
      .toEqual({ ok: false, rule: 'keyroom.link.5: invite link claim bad-signature' })
    room.add(buildEvent(alice.device, room.ctx(), { type: 'm.room.third_party_invite', state_key: inviteLinkKeys(linkSeed).token, content: {} }, room.ts()))
    expect(auth(room, join)).toEqual({ ok: false, rule: 'keyroom.link.5: invite link claim token-mismatch' })
  })

  it('refuses a banned user', () => {
    const { room, linkSeed } = linkRoom()
    room.add(buildEvent(alice.device, room.ctx(), { type: 'm.room.member', state_key: bob.userId, content: { membership: 'ban' } }, room.ts()))
    expect(auth(room, buildJoin(bob.device, room.ctx(), { ...room.ts(), via: { kind: 'invite-link', linkSeed } })))
      .toEqual({ ok: false, rule: 'keyroom.link.2: target user is banned' })
  })
})

describe('AttestationCache', () => {
  it('verifies a statement once however many objects carry it, and keeps time out of the verdict', () => {
    const cache = new AttestationCache()
    const statement = createAttestation({ upkSeed: bob.upkSeed, udkSeed: bob.device.deviceSeed, issuedTs: 5, expiresTs: 10 })
    const first = cache.attestation(statement)
    expect(first.ok).toBe(true)
    expect(cache.stats).toEqual({ verified: 1, hits: 0 })
    // A copy (as parsed from another event): found by canonical bytes.
    expect(cache.attestation(JSON.parse(JSON.stringify(statement)))).toEqual(first)
    // The same object again: found by identity.
    expect(cache.attestation(statement)).toBe(first)
    expect(cache.stats).toEqual({ verified: 1, hits: 2 })
    if (first.ok) {
      expect(attestationInForceAt(first.attestation, 9)).toBe(true)
      expect(attestationInForceAt(first.attestation, 10)).toBe(false)
    }
  })

  it('remembers bad statements too, and keys RRK checks by room', () => {
    const cache = new AttestationCache()
    const tampered = { ...bob.device.attestation, issued_ts: 6 }
    expect(cache.attestation(tampered)).toEqual({ ok: false, status: 'bad-signature' })
    expect(cache.attestation({ ...tampered })).toEqual({ ok: false, status: 'bad-signature' })
    expect(cache.stats.verified).toBe(1)
    const room = new TestRoom()
    const content = room.state.get('m.room.create', '')!.content
    expect(cache.rrkSignature(content, room.roomId)).toBe(true)
    expect(cache.rrkSignature(content, new TestRoom(alice, { label: 'other' }).roomId)).toBe(false)
  })
})
