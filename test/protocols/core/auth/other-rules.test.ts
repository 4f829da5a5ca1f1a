/**
 * The remaining rules: `m.federate`, `m.room.aliases` (v1–v5), "sender not joined",
 * `m.room.third_party_invite`, the required power level, user-ID state keys, `m.room.redaction`
 * (v1–v2), levels without a power levels event, and "otherwise, allow".
 */
import { describe, expect, it } from 'vitest'
import { ALICE, BOB, CHARLIE, EVE, MATRIX_VERSIONS, Room, ruleFor, verdict, versions } from './helpers.js'

const joined = (v: string): string => ruleFor(v, { 1: '6', 6: '5', 12: '6' })
const tpi = (v: string): string => ruleFor(v, { 1: '7', 6: '6', 12: '7' })
const required = (v: string): string => ruleFor(v, { 1: '8', 6: '7', 12: '8' })
const userKey = (v: string): string => ruleFor(v, { 1: '9', 6: '8', 12: '9' })

describe('m.federate', () => {
  it.each(MATRIX_VERSIONS)('v%s: a non-federated room rejects senders of another server, member events included', (v) => {
    const create = { ...(new Room(v).create.content), 'm.federate': false }
    const room = new Room(v, create)
    const federate = ruleFor(v, { 1: '3', 12: '4' })
    expect(verdict(room.check(room.member(EVE, 'join'), room.state()))).toBe(federate)
    expect(verdict(room.check(room.event('m.room.message', EVE, {}), room.state(room.member(EVE, 'join'))))).toBe(federate)
    expect(verdict(room.check(room.member(BOB, 'join'), room.state()))).toBe('allow')
  })

  it.each(MATRIX_VERSIONS)('v%s: only the value false restricts', (v) => {
    const room = new Room(v, { ...(new Room(v).create.content), 'm.federate': 'no' })
    expect(verdict(room.check(room.member(EVE, 'join'), room.state()))).toBe('allow')
  })
})

describe('m.room.aliases (v1–v5)', () => {
  it.each(versions(1, 5))('v%s: 4.1 needs a state_key, 4.2 equal to the sender\'s domain; 4.3 allows even a non-member', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.event('m.room.aliases', BOB, { aliases: [] }), room.state()))).toBe('4.1')
    expect(verdict(room.check(room.event('m.room.aliases', BOB, { aliases: [] }, 'other.org'), room.state()))).toBe('4.2')
    expect(verdict(room.check(room.event('m.room.aliases', BOB, { aliases: [] }, 'example.com'), room.state()))).toBe('allow')
  })

  it.each(versions(6))('v%s: aliases are ordinary state events (MSC2432)', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.event('m.room.aliases', BOB, { aliases: [] }, 'example.com'), room.state()))).toBe(joined(v))
    expect(verdict(room.check(room.event('m.room.aliases', ALICE, { aliases: [] }, 'other.org'), room.state()))).toBe('allow')
  })
})

describe('sender not joined', () => {
  it.each(MATRIX_VERSIONS)('v%s: events of a user who is not joined are rejected', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.event('m.room.message', BOB, {}), room.state()))).toBe(joined(v))
    expect(verdict(room.check(room.event('m.room.message', BOB, {}), room.state(room.member(BOB, 'invite', ALICE))))).toBe(joined(v))
    expect(verdict(room.check(room.event('m.room.message', BOB, {}), room.state(room.member(BOB, 'join'))))).toBe('allow')
  })
})

describe('m.room.third_party_invite', () => {
  it.each(MATRIX_VERSIONS)('v%s: allowed iff the sender has the invite level', (v) => {
    const room = new Room(v)
    const state = room.state(room.member(BOB, 'join'), room.adminPowerLevels({ [BOB]: 10 }, { invite: 20, state_default: 0 }))
    expect(verdict(room.check(room.event('m.room.third_party_invite', BOB, {}, 'tok'), state))).toBe(`${tpi(v)}.1`)
    expect(verdict(room.check(room.event('m.room.third_party_invite', ALICE, {}, 'tok'), state))).toBe('allow')
  })
})

describe('required power level', () => {
  it.each(MATRIX_VERSIONS)('v%s: state events need state_default (50) unless events overrides; messages events_default', (v) => {
    const room = new Room(v)
    const member = room.member(BOB, 'join')
    expect(verdict(room.check(room.event('m.room.name', BOB, {}, ''), room.state(member)))).toBe(required(v))
    const lowered = room.adminPowerLevels({}, { events: { 'm.room.name': 0 }, events_default: 10 })
    expect(verdict(room.check(room.event('m.room.name', BOB, {}, ''), [room.member(ALICE, 'join'), member, lowered]))).toBe('allow')
    expect(verdict(room.check(room.event('m.room.message', BOB, {}), [room.member(ALICE, 'join'), member, lowered]))).toBe(required(v))
  })

  it.each(versions(1, 11))('v%s: without a power levels event the creator has 100, others 0', (v) => {
    const room = new Room(v)
    const state = [room.member(ALICE, 'join'), room.member(BOB, 'join')]
    expect(verdict(room.check(room.event('m.room.name', ALICE, {}, ''), state))).toBe('allow')
    expect(verdict(room.check(room.event('m.room.name', BOB, {}, ''), state))).toBe(required(v))
    expect(verdict(room.check(room.event('m.room.message', BOB, {}), state))).toBe('allow')
  })

  it('v12: additional creators have infinite power without any power levels event (MSC4289)', () => {
    const room = new Room('12', { room_version: '12', additional_creators: [CHARLIE] })
    const state = [room.member(ALICE, 'join'), room.member(CHARLIE, 'join'), room.member(BOB, 'join'), room.powerLevels({ events: { 'm.room.tombstone': 150 } })]
    expect(verdict(room.check(room.event('m.room.tombstone', CHARLIE, {}, ''), state))).toBe('allow')
    expect(verdict(room.check(room.event('m.room.name', BOB, {}, ''), state))).toBe('8')
  })

  it.each(versions(1, 9))('v%s: a malformed level in the power levels event rejects where it is needed', (v) => {
    const room = new Room(v)
    const state = [room.member(ALICE, 'join'), room.member(BOB, 'join'), room.powerLevels({ users: { [ALICE]: 100 }, state_default: 'high' })]
    expect(verdict(room.check(room.event('m.room.name', ALICE, {}, ''), state))).toBe(required(v))
    expect(verdict(room.check(room.event('m.room.message', BOB, {}), state))).toBe('allow')
  })
})

describe('state keys that are user IDs', () => {
  it.each(MATRIX_VERSIONS)('v%s: a state_key starting with @ must be the sender', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.event('org.example.profile', ALICE, {}, BOB), room.state()))).toBe(userKey(v))
    expect(verdict(room.check(room.event('org.example.profile', ALICE, {}, ALICE), room.state()))).toBe('allow')
    expect(verdict(room.check(room.event('org.example.profile', ALICE, {}, 'x@y'), room.state()))).toBe('allow')
  })
})

describe('m.room.redaction', () => {
  it.each(versions(1, 2))('v%s rule 11: redact level, or the same event-ID domain', (v) => {
    const room = new Room(v)
    const state = room.state(room.member(BOB, 'join'))
    const redaction = (sender: string, redacts: string): ReturnType<Room['event']> =>
      room.event('m.room.redaction', sender, {}, undefined, { event_id: '$r:example.com', redacts })
    expect(verdict(room.check(redaction(BOB, '$x:other.org'), state))).toBe('11.3')
    expect(verdict(room.check(redaction(BOB, '$x:example.com'), state))).toBe('allow')
    expect(verdict(room.check(redaction(ALICE, '$x:other.org'), state))).toBe('allow')
  })

  it.each(versions(3))('v%s: redactions follow the usual rules (the redact level is not an auth rule)', (v) => {
    const room = new Room(v)
    const redaction = room.event('m.room.redaction', BOB, { redacts: '$x' }, undefined, { redacts: '$x' })
    expect(verdict(room.check(redaction, room.state(room.member(BOB, 'join'))))).toBe('allow')
    const strict = room.adminPowerLevels({}, { events: { 'm.room.redaction': 50 } })
    expect(verdict(room.check(redaction, [room.member(ALICE, 'join'), room.member(BOB, 'join'), strict]))).toBe(required(v))
  })
})

describe('otherwise, allow', () => {
  it.each(MATRIX_VERSIONS)('v%s: a joined member\'s message passes', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.event('m.room.message', ALICE, { body: 'hi' }), room.state()))).toBe('allow')
  })
})
