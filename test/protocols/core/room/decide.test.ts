import { describe, expect, it } from 'vitest'
import { createRevocation } from '../../../../protocols/core/identity/index.js'
import {
  RoomState, authLookupOf, buildBan, buildDeviceAttestation, buildDeviceRevocation, buildEvent, buildInvite, buildJoin, buildMessage, decide, passesInState
} from '../../../../protocols/core/room/index.js'
import { T0, TestRoom, alice, bob, carol, deviceIdOf, resign, user } from './fixtures.js'

describe('decide: accepted', () => {
  it('accepts every event of an honestly built room, in order', () => {
    const room = new TestRoom(alice, { name: 'n' })
    room.inviteAndJoin(alice, bob)
    room.add(buildMessage(bob.device, room.ctx(), { ...room.ts(), body: 'hi' }))
    const replay = new RoomState()
    for (const entry of room.log) {
      const decision = decide(entry.event, {
        eventId: entry.eventId, getEvent: room.getEvent, stateBefore: authLookupOf(replay), currentState: authLookupOf(replay), now: T0 + 1e6
      })
      expect(decision, entry.event.type).toEqual({ outcome: 'accepted' })
      replay.apply(entry)
    }
  })

  it('computes the event ID when it is not given', () => {
    const room = new TestRoom()
    const invite = buildInvite(alice.device, room.ctx(), { ...room.ts(), target: bob.userId })
    expect(decide(invite.event, { getEvent: room.getEvent, stateBefore: authLookupOf(room.state), now: T0 })).toEqual({ outcome: 'accepted' })
  })
})

describe('decide: rejected against the event\'s auth events', () => {
  it('rejects auth events the selection does not name, duplicates, and missing or rejected ones', () => {
    const room = new TestRoom()
    room.inviteAndJoin(alice, bob)
    const message = buildMessage(bob.device, room.ctx(), { ...room.ts(), body: 'hi' })
    const joinRules = room.state.entry('m.room.join_rules', '')!.eventId
    const extra = resign(bob, message, { auth_events: [...message.event.auth_events, joinRules] })
    expect(room.decide(extra)).toMatchObject({ outcome: 'rejected', against: 'auth-events', rule: expect.stringMatching(/^3\.2: /) })
    const twice = resign(bob, message, { auth_events: [...message.event.auth_events, message.event.auth_events[0]] })
    expect(room.decide(twice)).toMatchObject({ outcome: 'rejected', rule: expect.stringMatching(/^3\.1: /) })
    const missing = resign(bob, message, { auth_events: [...message.event.auth_events.slice(0, 2), '$nothere'] })
    expect(room.decide(missing)).toMatchObject({ outcome: 'rejected', rule: expect.stringMatching(/unavailable/) })
    const rejectedId = message.event.auth_events[2]!
    expect(decide(message.event, {
      eventId: message.eventId, getEvent: room.getEvent, isRejected: (id) => id === rejectedId, stateBefore: authLookupOf(room.state), now: T0
    })).toMatchObject({ outcome: 'rejected', rule: expect.stringMatching(/^3\.3: /) })
  })

  it('rejects an event its own auth events do not allow (a non-member speaking)', () => {
    const room = new TestRoom()
    const message = buildMessage(carol.device, room.ctx(), { ...room.ts(), body: 'let me in' })
    // Carol has no member event; her device is attested nowhere in the room.
    expect(room.decide(message)).toMatchObject({ outcome: 'rejected', against: 'auth-events' })
  })
})

describe('decide: rejected against the state before the event', () => {
  it('rejects an event that its auth events allow but the state at its prev events does not', () => {
    const room = new TestRoom()
    room.inviteAndJoin(alice, bob)
    const beforeBan = room.state.clone()
    const ban = room.add(buildBan(alice.device, room.ctx(), { ...room.ts(), target: bob.userId }))
    // Bob's message cites his old join as auth event but follows the ban in the DAG.
    const message = buildMessage(bob.device, { ...room.ctx(), state: beforeBan }, { ...room.ts(), body: 'still here' })
    expect(message.event.prev_events).toEqual([ban.eventId])
    expect(room.decide(message)).toMatchObject({ outcome: 'rejected', against: 'state-before', rule: expect.stringMatching(/sender not joined/) })
  })
})

describe('decide: soft-failed against the current state', () => {
  it('soft-fails a banned user\'s late fork', () => {
    const room = new TestRoom()
    room.inviteAndJoin(alice, bob)
    const fork = room.ctx()
    const forkState = room.state.clone()
    room.add(buildBan(alice.device, room.ctx(), { ...room.ts(), target: bob.userId }))
    const late = buildMessage(bob.device, { ...fork, state: forkState }, { ...room.ts(), body: 'from the fork' })
    expect(room.decide(late, { stateBefore: forkState })).toMatchObject({ outcome: 'soft-failed', against: 'current-state', rule: expect.stringMatching(/sender not joined/) })
    // Without a current state (backfill), the same event is accepted.
    expect(room.decide(late, { stateBefore: forkState, currentState: null })).toEqual({ outcome: 'accepted' })
  })

  it('soft-fails a revoked device that keeps sending on a fork, even back-dated', () => {
    const room = new TestRoom()
    room.inviteAndJoin(alice, bob)
    const phone = user('bob', { deviceIndex: 1 })
    room.add(buildDeviceAttestation(bob.device, room.ctx(), { ...room.ts(), attestation: phone.device.attestation }))
    const fork = { ...room.ctx(), state: room.state.clone() }
    const forkState = fork.state
    const revokedTs = T0 + 100_000
    room.add(buildDeviceRevocation(bob.device, room.ctx(), { ...room.ts(), revocation: createRevocation({ upkSeed: bob.upkSeed, udk: deviceIdOf(phone), revokedTs }) }))
    const now = revokedTs + 1
    const after = buildMessage(phone.device, fork, { originServerTs: revokedTs + 1, body: 'thief' })
    expect(room.decide(after, { stateBefore: forkState, now })).toMatchObject({ outcome: 'soft-failed', rule: 'keyroom.device.revoked' })
    const backdated = buildMessage(phone.device, fork, { originServerTs: revokedTs - 50_000, body: 'thief, back-dated' })
    expect(room.decide(backdated, { stateBefore: forkState, now })).toMatchObject({ outcome: 'soft-failed', rule: 'keyroom.device.revoked' })
    // Building on the revocation itself gets the event rejected outright.
    const onTop = buildMessage(phone.device, room.ctx(), { originServerTs: revokedTs + 2, body: 'thief' })
    expect(room.decide(onTop, { now })).toMatchObject({ outcome: 'rejected', rule: 'keyroom.device.revoked' })
  })

  it('soft-fails an event whose device attestation has expired by now', () => {
    const room = new TestRoom()
    const temp = user('temp', { issuedTs: T0, expiresTs: T0 + 50_000 })
    room.add(buildInvite(alice.device, room.ctx(), { ...room.ts(), target: temp.userId }))
    room.add(buildJoin(temp.device, room.ctx(), { ...room.ts(), via: { kind: 'invite' } }))
    const message = buildMessage(temp.device, room.ctx(), { originServerTs: T0 + 40_000, body: 'hi' })
    expect(room.decide(message, { now: T0 + 45_000 })).toEqual({ outcome: 'accepted' })
    expect(room.decide(message, { now: T0 + 50_000 })).toMatchObject({ outcome: 'soft-failed', rule: 'keyroom.attestation.expired' })
  })

  it('rejects a malformed event', () => {
    const room = new TestRoom()
    const message = buildEvent(alice.device, room.ctx(), { type: 'm.room.message', content: { body: 'x' } }, room.ts())
    const broken = { ...message.event, content: 'not an object' } as never
    expect(decide(broken, { eventId: message.eventId, getEvent: room.getEvent, stateBefore: authLookupOf(room.state), now: T0 }))
      .toMatchObject({ outcome: 'rejected', against: 'event' })
  })
})

describe('passesInState', () => {
  it('judges an event in any given state: a member\'s message passes while the member is in, fails once banned', () => {
    const room = new TestRoom()
    room.inviteAndJoin(alice, bob)
    const message = buildMessage(bob.device, room.ctx(), { ...room.ts(), body: 'hi' })
    const whileIn = room.state.clone()
    room.add(buildBan(alice.device, room.ctx(), { ...room.ts(), target: bob.userId }))
    expect(passesInState(message.event, { eventId: message.eventId, state: authLookupOf(whileIn) })).toEqual({ ok: true })
    expect(passesInState(message.event, { state: authLookupOf(room.state) })).toMatchObject({ ok: false, rule: expect.stringMatching(/not joined/) })
  })

  it('refuses a malformed event with a rule, without throwing', () => {
    const room = new TestRoom()
    const message = buildMessage(alice.device, room.ctx(), { ...room.ts(), body: 'hi' })
    const broken = { ...message.event, prev_events: 'not a list' } as unknown as typeof message.event
    expect(passesInState(broken, { eventId: message.eventId, state: authLookupOf(room.state) })).toMatchObject({ ok: false, rule: expect.stringMatching(/^malformed/) })
  })
})
