/**
 * Rule 1 (`m.room.create`) and the rules about the `auth_events` list (v1–v11 rule 2, v12 rules
 * 2–3), with the auth events selection. Each rule: a rejecting and an allowing case, per version
 * where the rule differs.
 */
import { describe, expect, it } from 'vitest'
import {
  authStateFromAuthEvents, authTypesForEvent, checkAuth, checkAuthEvents
} from '../../../../protocols/core/auth/index.js'
import type { PduLike } from '../../../../protocols/core/auth/index.js'
import { ALICE, BOB, MATRIX_VERSIONS, Room, ruleFor, verdict, versions } from './helpers.js'

function createEvent (room: Room, fields: Partial<PduLike>): PduLike {
  return { ...room.create, ...fields }
}

describe('rule 1: m.room.create', () => {
  it.each(MATRIX_VERSIONS)('v%s: a well-formed create event is allowed', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.create, []))).toBe('allow')
  })

  it.each(MATRIX_VERSIONS)('v%s: 1.1 rejects a create event with prev_events', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(createEvent(room, { prev_events: ['$x'] }), []))).toBe('1.1')
  })

  it.each(versions(1, 11))('v%s: 1.2 rejects a room_id whose domain is not the sender\'s', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(createEvent(room, { room_id: '!room:other.org' }), []))).toBe('1.2')
    expect(verdict(room.check(createEvent(room, { room_id: undefined }), []))).toBe('1.2')
    expect(verdict(room.check(createEvent(room, { room_id: '!elsewhere:example.com' }), []))).toBe('allow')
  })

  it('v12: 1.2 rejects a create event that has a room_id (the room ID is its hash)', () => {
    const room = new Room('12')
    expect(verdict(room.check(createEvent(room, { room_id: '!create' }), []))).toBe('1.2')
  })

  it.each(MATRIX_VERSIONS)('v%s: 1.3 rejects an unknown room_version, allows a known one or none', (v) => {
    const room = new Room(v)
    const content = room.create.content
    expect(verdict(room.check(createEvent(room, { content: { ...content, room_version: '99' } }), []))).toBe('1.3')
    expect(verdict(room.check(createEvent(room, { content: { ...content, room_version: 12 } }), []))).toBe('1.3')
    expect(verdict(room.check(createEvent(room, { content: { ...content, room_version: '9' } }), []))).toBe('allow')
    const { room_version: _omit, ...noVersion } = content
    expect(verdict(room.check(createEvent(room, { content: noVersion }), []))).toBe('allow')
  })

  it.each(versions(1, 10))('v%s: 1.4 rejects content without creator', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(createEvent(room, { content: { room_version: v } }), []))).toBe('1.4')
  })

  it('v11 (MSC2175): no creator property is needed, the sender is the creator', () => {
    const room = new Room('11')
    expect(verdict(room.check(createEvent(room, { content: { room_version: '11' } }), []))).toBe('allow')
  })

  it('v12 (MSC4289): 1.4 rejects additional_creators that is not an array of valid user IDs', () => {
    const room = new Room('12')
    for (const bad of ['@bob:example.com', [1], ['bob'], ['@bob'], ['@bob:exa mple.com'], [null]]) {
      expect(verdict(room.check(createEvent(room, { content: { room_version: '12', additional_creators: bad } }), []))).toBe('1.4')
    }
    expect(verdict(room.check(createEvent(room, { content: { room_version: '12', additional_creators: [BOB, '@old:historical.example.org:8448'] } }), []))).toBe('allow')
  })

  it('v11: additional_creators has no meaning and is not checked', () => {
    const room = new Room('11')
    expect(verdict(room.check(createEvent(room, { content: { additional_creators: 'garbage' } }), []))).toBe('allow')
  })
})

describe('auth events selection', () => {
  it('v11: create, power levels and sender membership for a message', () => {
    const room = new Room('11')
    expect(authTypesForEvent(room.rules, room.event('m.room.message', ALICE, {}))).toEqual([
      ['m.room.create', ''], ['m.room.power_levels', ''], ['m.room.member', ALICE]
    ])
  })

  it('v12: no create event (the room ID implies it)', () => {
    const room = new Room('12')
    expect(authTypesForEvent(room.rules, room.event('m.room.topic', ALICE, {}, ''))).toEqual([
      ['m.room.power_levels', ''], ['m.room.member', ALICE]
    ])
  })

  it('none for m.room.create', () => {
    const room = new Room('10')
    expect(authTypesForEvent(room.rules, room.create)).toEqual([])
  })

  it('member events: target, join rules for join/invite/knock, the third-party invite token, the authorising user (v8+)', () => {
    const room = new Room('10')
    const invite = room.member(BOB, 'invite', ALICE, { third_party_invite: { signed: { token: 'tok', mxid: BOB } } })
    expect(authTypesForEvent(room.rules, invite)).toEqual([
      ['m.room.create', ''], ['m.room.power_levels', ''], ['m.room.member', ALICE], ['m.room.member', BOB],
      ['m.room.join_rules', ''], ['m.room.third_party_invite', 'tok']
    ])
    const join = room.member(BOB, 'join', BOB, { join_authorised_via_users_server: ALICE })
    expect(authTypesForEvent(room.rules, join)).toEqual([
      ['m.room.create', ''], ['m.room.power_levels', ''], ['m.room.member', BOB], ['m.room.join_rules', ''], ['m.room.member', ALICE]
    ])
    const leave = room.member(BOB, 'leave', ALICE)
    expect(authTypesForEvent(room.rules, leave)).toEqual([
      ['m.room.create', ''], ['m.room.power_levels', ''], ['m.room.member', ALICE], ['m.room.member', BOB]
    ])
  })

  it('v7: join_authorised_via_users_server selects nothing before restricted rooms exist', () => {
    const room = new Room('7')
    const join = room.member(BOB, 'join', BOB, { join_authorised_via_users_server: ALICE })
    expect(authTypesForEvent(room.rules, join)).not.toContainEqual(['m.room.member', ALICE])
  })
})

/** A room whose events live in a map, for checkAuthEvents. */
function store (room: Room, events: PduLike[]): { getEvent: (id: string) => unknown, add: (e: PduLike) => PduLike } {
  const map = new Map<string, PduLike>([[room.create.event_id, room.create]])
  for (const e of events) map.set(e.event_id, e)
  return { getEvent: (id) => map.get(id), add: (e) => { map.set(e.event_id, e); return e } }
}

describe('rules on auth_events (v1–v11 rule 2, v12 rules 2–3)', () => {
  function setup (v: string): { room: Room, join: PduLike, pl: PduLike, topic: (auth: string[]) => PduLike, s: ReturnType<typeof store> } {
    const room = new Room(v)
    const join = room.member(ALICE, 'join')
    const pl = room.adminPowerLevels()
    const s = store(room, [join, pl])
    const withCreate = (ids: string[]): string[] => room.rules.roomIdIsCreateEventHash ? ids : ['$create', ...ids]
    const topic = (auth: string[]): PduLike => room.event('m.room.topic', ALICE, { topic: 't' }, '', { auth_events: withCreate(auth) })
    return { room, join, pl, topic, s }
  }
  const n = (v: string): string => ruleFor(v, { 1: '2', 12: '3' })

  it.each(MATRIX_VERSIONS)('v%s: correct auth events pass', (v) => {
    const { room, join, pl, topic, s } = setup(v)
    expect(verdict(checkAuthEvents(room.rules, topic([join.event_id, pl.event_id]), s))).toBe('allow')
  })

  it.each(MATRIX_VERSIONS)('v%s: x.1 rejects duplicate (type, state_key) entries', (v) => {
    const { room, join, pl, topic, s } = setup(v)
    const pl2 = s.add(room.adminPowerLevels({ [BOB]: 1 }))
    expect(verdict(checkAuthEvents(room.rules, topic([join.event_id, pl.event_id, pl2.event_id]), s))).toBe(`${n(v)}.1`)
  })

  it.each(MATRIX_VERSIONS)('v%s: x.2 rejects an entry the selection does not name', (v) => {
    const { room, join, pl, topic, s } = setup(v)
    const other = s.add(room.member(BOB, 'join'))
    expect(verdict(checkAuthEvents(room.rules, topic([join.event_id, pl.event_id, other.event_id]), s))).toBe(`${n(v)}.2`)
  })

  it('v12: 3.2 rejects the create event among the auth events', () => {
    const { room, join, pl, s } = setup('12')
    const topic = room.event('m.room.topic', ALICE, {}, '', { auth_events: ['$create', join.event_id, pl.event_id] })
    expect(verdict(checkAuthEvents(room.rules, topic, s))).toBe('3.2')
  })

  it.each(MATRIX_VERSIONS)('v%s: x.3 rejects an auth event that was rejected', (v) => {
    const { room, join, pl, topic, s } = setup(v)
    const source = { getEvent: s.getEvent, isRejected: (id: string) => id === pl.event_id }
    expect(verdict(checkAuthEvents(room.rules, topic([join.event_id, pl.event_id]), source))).toBe(`${n(v)}.3`)
    expect(verdict(checkAuthEvents(room.rules, topic([join.event_id, pl.event_id]), { getEvent: s.getEvent, isRejected: () => false }))).toBe('allow')
  })

  it.each(versions(1, 11))('v%s: 2.4 rejects auth events without the create event', (v) => {
    const { room, join, pl, s } = setup(v)
    const topic = room.event('m.room.topic', ALICE, {}, '', { auth_events: [join.event_id, pl.event_id] })
    expect(verdict(checkAuthEvents(room.rules, topic, s))).toBe('2.4')
  })

  it.each(MATRIX_VERSIONS)('v%s: x.5 rejects an auth event from another room', (v) => {
    const { room, join, topic, s } = setup(v)
    const foreign = s.add({ ...room.adminPowerLevels(), room_id: '!other:example.com' })
    expect(verdict(checkAuthEvents(room.rules, topic([join.event_id, foreign.event_id]), s))).toBe(`${n(v)}.5`)
  })

  it.each(MATRIX_VERSIONS)('v%s: an auth event that cannot be loaded rejects', (v) => {
    const { room, join, topic, s } = setup(v)
    expect(verdict(checkAuthEvents(room.rules, topic([join.event_id, '$missing']), s))).toBe(n(v))
  })

  it('v12: rule 2 rejects a room_id that is not an accepted create event', () => {
    const { room, join, pl, s } = setup('12')
    const topic = (roomId: string): PduLike => ({ ...room.event('m.room.topic', ALICE, {}, '', { auth_events: [join.event_id, pl.event_id] }), room_id: roomId })
    expect(verdict(checkAuthEvents(room.rules, topic('!nothing'), s))).toBe('2')
    expect(verdict(checkAuthEvents(room.rules, topic('create'), s))).toBe('2')
    expect(verdict(checkAuthEvents(room.rules, topic('!create'), { getEvent: s.getEvent, isRejected: (id) => id === '$create' }))).toBe('2')
    expect(verdict(checkAuthEvents(room.rules, topic('!create'), s))).toBe('allow')
  })

  it('the auth state of an event\'s auth events includes the v12 create event and skips rejected ones', () => {
    const { room, join, pl, s } = setup('12')
    const topic = room.event('m.room.topic', ALICE, {}, '', { auth_events: [join.event_id, pl.event_id] })
    const state = authStateFromAuthEvents(room.rules, topic, s)
    expect(state('m.room.create', '')?.event_id).toBe('$create')
    expect(state('m.room.power_levels', '')?.event_id).toBe(pl.event_id)
    expect(verdict(checkAuth(room.rules, topic, state))).toBe('allow')
    const withoutJoin = authStateFromAuthEvents(room.rules, topic, { getEvent: s.getEvent, isRejected: (id) => id === join.event_id })
    expect(withoutJoin('m.room.member', ALICE)).toBeUndefined()
    expect(verdict(checkAuth(room.rules, topic, withoutJoin))).toBe('6')
  })

  it.each(versions(1, 11))('v%s: checkAuth without a create event in the auth state rejects under 2.4', (v) => {
    const room = new Room(v)
    const topic = room.event('m.room.topic', ALICE, {}, '')
    expect(verdict(checkAuth(room.rules, topic, () => undefined))).toBe('2.4')
  })
})
