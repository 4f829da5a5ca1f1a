/**
 * The `m.room.power_levels` rules (rule 10 of v1–v5 and v12, rule 9 of v6–v11) and how levels
 * are read: string levels (v1–v9), float levels (v1–v5), integer checks (v10+, MSC3667),
 * `notifications` (v6+, MSC2209), creators (v12, MSC4289).
 */
import { describe, expect, it } from 'vitest'
import { parseLevel } from '../../../../protocols/core/auth/index.js'
import { roomVersionRules } from '../../../../protocols/core/room-versions.js'
import { ALICE, BOB, CHARLIE, MATRIX_VERSIONS, Room, ruleFor, verdict, versions } from './helpers.js'

const pl = (v: string): string => ruleFor(v, { 1: '10', 6: '9', 12: '10' })
/** Sub-rule number by name, per version (v1–v9, v10–v11, v12 numberings). */
function r (v: string, name: 'int' | 'maps' | 'users' | 'creators' | 'fields' | 'eventsOld' | 'eventsNew' | 'usersOld' | 'usersNew'): string {
  const n = Number(v)
  const table = n >= 12
    ? { int: 1, maps: 2, users: 3, creators: 4, fields: 6, eventsOld: 7, eventsNew: 8, usersOld: 9, usersNew: 10 }
    : n >= 10
      ? { int: 1, maps: 2, users: 3, creators: NaN, fields: 5, eventsOld: 6, eventsNew: 7, usersOld: 8, usersNew: 9 }
      : { int: NaN, maps: NaN, users: 1, creators: NaN, fields: 3, eventsOld: 4, eventsNew: 5, usersOld: 6, usersNew: 7 }
  return `${pl(v)}.${table[name]}`
}

/** Bob (level 50) changes the power levels `current` → `next` (Alice is the admin/creator). */
function bobChanges (v: string, current: Record<string, unknown>, next: Record<string, unknown>): string {
  const room = new Room(v)
  const admin = room.rules.privilegedCreators ? {} : { [ALICE]: 100 }
  const withUsers = (c: Record<string, unknown>): Record<string, unknown> => ({ ...c, users: { ...admin, [BOB]: 50, ...(c.users as object ?? {}) } })
  const state = [room.member(ALICE, 'join'), room.member(BOB, 'join'), room.powerLevels(withUsers(current))]
  return verdict(room.check(room.powerLevels(withUsers(next), BOB), state))
}

describe('reading power levels', () => {
  it('v1–v5 accept integer strings (with whitespace, sign, leading zeroes) and truncate floats', () => {
    const rules = roomVersionRules('5')
    expect(parseLevel(rules, ' +0050 ')).toBe(50)
    expect(parseLevel(rules, '-7')).toBe(-7)
    expect(parseLevel(rules, 50.9)).toBe(50)
    expect(parseLevel(rules, -50.9)).toBe(-50)
    expect(parseLevel(rules, '5.5')).toBeNull()
    expect(parseLevel(rules, 'fifty')).toBeNull()
    expect(parseLevel(rules, true)).toBeNull()
  })

  it('v6–v9 accept integer strings but no floats (canonical JSON)', () => {
    const rules = roomVersionRules('9')
    expect(parseLevel(rules, '50')).toBe(50)
    expect(parseLevel(rules, 50.5)).toBeNull()
  })

  it('v10+ accept integers only (MSC3667)', () => {
    const rules = roomVersionRules('10')
    expect(parseLevel(rules, 50)).toBe(50)
    expect(parseLevel(rules, '50')).toBeNull()
    expect(parseLevel(rules, 2 ** 53)).toBeNull()
  })
})

describe('power levels: content validation', () => {
  it.each(versions(10))('v%s .1: integer properties must be integers', (v) => {
    expect(bobChanges(v, {}, { ban: '40' })).toBe(r(v, 'int'))
    expect(bobChanges(v, {}, { kick: null })).toBe(r(v, 'int'))
    expect(bobChanges(v, {}, { ban: 40 })).toBe('allow')
  })

  it.each(versions(1, 9))('v%s: integer properties may be strings', (v) => {
    expect(bobChanges(v, {}, { ban: '40' })).toBe('allow')
    expect(bobChanges(v, { ban: '40' }, { ban: 40 })).toBe('allow')
  })

  it.each(versions(1, 5))('v%s: float levels are truncated', (v) => {
    expect(bobChanges(v, { ban: 40 }, { ban: 50.9 })).toBe('allow')
    expect(bobChanges(v, { ban: 40 }, { ban: 51.1 })).toBe(r(v, 'fields'))
  })

  it.each(versions(6, 9))('v%s: a float level is not a level and cannot be compared', (v) => {
    expect(bobChanges(v, { ban: 40 }, { ban: 45.5 })).toBe(r(v, 'fields'))
  })

  it.each(versions(10))('v%s .2: events and notifications must be objects of integers', (v) => {
    expect(bobChanges(v, {}, { events: { 'm.room.name': '10' } })).toBe(r(v, 'maps'))
    expect(bobChanges(v, {}, { events: [] })).toBe(r(v, 'maps'))
    expect(bobChanges(v, {}, { notifications: { room: true } })).toBe(r(v, 'maps'))
    expect(bobChanges(v, {}, { events: { 'm.room.name': 10 }, notifications: { room: 20 } })).toBe('allow')
  })

  it.each(MATRIX_VERSIONS)('v%s users: keys must be user IDs and values levels', (v) => {
    expect(bobChanges(v, {}, { users: { bob: 10 } })).toBe(r(v, 'users'))
    expect(bobChanges(v, {}, { users: { [CHARLIE]: 'ten' } })).toBe(r(v, 'users'))
    expect(bobChanges(v, {}, { users: { [CHARLIE]: '10' } })).toBe(Number(v) >= 10 ? r(v, 'users') : 'allow')
    expect(bobChanges(v, {}, { users: { [CHARLIE]: 10 } })).toBe('allow')
  })

  it('v12 .4: the creators may not be listed in users (MSC4289)', () => {
    const room = new Room('12', { room_version: '12', additional_creators: [CHARLIE] })
    const state = [room.member(ALICE, 'join')]
    expect(verdict(room.check(room.powerLevels({ users: { [ALICE]: 100 } }), state))).toBe('10.4')
    expect(verdict(room.check(room.powerLevels({ users: { [CHARLIE]: 100 } }), state))).toBe('10.4')
    expect(verdict(room.check(room.powerLevels({ users: { [BOB]: 100 } }), state))).toBe('allow')
  })

  it.each(versions(1, 11))('v%s: the creator may be listed in users', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.powerLevels({ users: { [ALICE]: 100 } }), [room.member(ALICE, 'join')]))).toBe('allow')
  })
})

describe('power levels: changes', () => {
  it.each(MATRIX_VERSIONS)('v%s: the first power levels event is allowed without comparison', (v) => {
    const room = new Room(v)
    const users = room.rules.privilegedCreators ? { [BOB]: 1000 } : { [ALICE]: 100, [BOB]: 1000 }
    expect(verdict(room.check(room.powerLevels({ users, ban: 1000 }), [room.member(ALICE, 'join')]))).toBe('allow')
  })

  it.each(MATRIX_VERSIONS)('v%s fields: current and new values must not exceed the sender', (v) => {
    expect(bobChanges(v, { ban: 60 }, { ban: 50 })).toBe(r(v, 'fields'))
    expect(bobChanges(v, { ban: 40 }, { ban: 60 })).toBe(r(v, 'fields'))
    expect(bobChanges(v, { ban: 40 }, { ban: 50 })).toBe('allow')
    expect(bobChanges(v, { invite: 60 }, {})).toBe(r(v, 'fields'))
  })

  it.each(MATRIX_VERSIONS)('v%s fields: an added or removed property is compared on the side that has it', (v) => {
    // ban defaults to 50, but an absent current value is not compared: Bob may add ban: 10.
    expect(bobChanges(v, {}, { ban: 10 })).toBe('allow')
    expect(bobChanges(v, {}, { state_default: 51 })).toBe(r(v, 'fields'))
    expect(bobChanges(v, { kick: 20 }, {})).toBe('allow')
  })

  it.each(MATRIX_VERSIONS)('v%s events: entries above the sender may not be changed, removed or set', (v) => {
    expect(bobChanges(v, { events: { 'm.room.name': 60 } }, { events: { 'm.room.name': 10 } })).toBe(r(v, 'eventsOld'))
    expect(bobChanges(v, { events: { 'm.room.name': 60 } }, { events: {} })).toBe(r(v, 'eventsOld'))
    expect(bobChanges(v, { events: {} }, { events: { 'm.room.topic': 70 } })).toBe(r(v, 'eventsNew'))
    expect(bobChanges(v, { events: { 'm.room.name': 50 } }, { events: { 'm.room.name': 10, 'm.room.topic': 50 } })).toBe('allow')
  })

  it.each(MATRIX_VERSIONS)('v%s notifications are guarded like events from v6 on (MSC2209)', (v) => {
    const guarded = Number(v) >= 6
    expect(bobChanges(v, {}, { notifications: { room: 100 } })).toBe(guarded ? r(v, 'eventsNew') : 'allow')
    expect(bobChanges(v, { notifications: { room: 100 } }, { notifications: { room: 0 } })).toBe(guarded ? r(v, 'eventsOld') : 'allow')
    expect(bobChanges(v, { notifications: { room: 50 } }, { notifications: { room: 0 } })).toBe('allow')
  })

  it.each(MATRIX_VERSIONS)('v%s users: others at or above the sender may not be changed; no one raised above the sender', (v) => {
    expect(bobChanges(v, { users: { [CHARLIE]: 50 } }, { users: { [CHARLIE]: 0 } })).toBe(r(v, 'usersOld'))
    expect(bobChanges(v, { users: { [CHARLIE]: 50 } }, { users: {} })).toBe(r(v, 'usersOld'))
    expect(bobChanges(v, { users: { [CHARLIE]: 10 } }, { users: { [CHARLIE]: 51 } })).toBe(r(v, 'usersNew'))
    expect(bobChanges(v, { users: { [CHARLIE]: 10 } }, { users: { [CHARLIE]: 50 } })).toBe('allow')
    // The sender's own entry may go down.
    expect(bobChanges(v, {}, { users: { [BOB]: 20 } })).toBe('allow')
  })

  it.each(MATRIX_VERSIONS)('v%s: the power levels event needs its own required level first', (v) => {
    expect(bobChanges(v, { events: { 'm.room.power_levels': 60 } }, { events: { 'm.room.power_levels': 60 }, ban: 10 }))
      .toBe(ruleFor(v, { 1: '8', 6: '7', 12: '8' }))
  })

  it('v12: a creator has infinite power and can demote an admin at 100 (MSC4289)', () => {
    const room = new Room('12')
    const state = [room.member(ALICE, 'join'), room.member(BOB, 'join'), room.powerLevels({ users: { [BOB]: 100 } })]
    expect(verdict(room.check(room.powerLevels({ users: { [BOB]: 0 } }), state))).toBe('allow')
  })

  it('v11: an admin at 100 cannot demote another admin at 100, even the creator', () => {
    const room = new Room('11')
    const state = [room.member(ALICE, 'join'), room.member(BOB, 'join'), room.powerLevels({ users: { [ALICE]: 100, [BOB]: 100 } })]
    expect(verdict(room.check(room.powerLevels({ users: { [ALICE]: 100, [BOB]: 0 } }), state))).toBe('9.8')
  })
})
