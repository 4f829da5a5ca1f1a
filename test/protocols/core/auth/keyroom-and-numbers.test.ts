/**
 * keyroom.1 (room version 12 with UPK user IDs and the Room Root Key as room ID): the domain
 * rules do not apply, user IDs are UPK text forms, the create event names the room and is listed
 * in auth events. And the rule numbering per room version, against the spec pages.
 */
import { describe, expect, it } from 'vitest'
import { checkAuth, checkAuthEvents, ruleNumbers } from '../../../../protocols/core/auth/index.js'
import type { PduLike } from '../../../../protocols/core/auth/index.js'
import { ROOM_VERSIONS, roomVersionRules } from '../../../../protocols/core/room-versions.js'
import { eventMaker, verdict } from './helpers.js'

const upk = (c: string): string => `~AQ${c.repeat(42)}`
const ALICE = upk('A')
const BOB = upk('B')
const ROOM = `!${'R'.repeat(43)}`
const rules = roomVersionRules('keyroom.1')

const ev = eventMaker(ROOM, '$k')
const create = ev('m.room.create', ALICE, { room_version: 'keyroom.1', 'm.federate': false }, '', { prev_events: [] })
function check (event: PduLike, state: PduLike[], hooks?: Parameters<typeof checkAuth>[3]): string {
  const all = [create, ...state]
  return verdict(checkAuth(rules, event, (type, key) => all.find((e) => e.type === type && e.state_key === key), hooks))
}
const aliceJoin = ev('m.room.member', ALICE, { membership: 'join' }, ALICE)
const pl = ev('m.room.power_levels', ALICE, { users: { [BOB]: 50 } }, '')
const jr = ev('m.room.join_rules', ALICE, { join_rule: 'public' }, '')

describe('keyroom.1 authorization', () => {
  it('1.2: the create event must name its room (the Room Root Key); no domain is compared', () => {
    expect(check(create, [])).toBe('allow')
    expect(check({ ...create, room_id: undefined }, [])).toBe('1.2')
  })

  it('1.4: additional_creators must be UPKs', () => {
    expect(check({ ...create, content: { additional_creators: [BOB] } }, [])).toBe('allow')
    expect(check({ ...create, content: { additional_creators: ['@bob:example.com'] } }, [])).toBe('1.4')
    expect(check({ ...create, content: { additional_creators: ['~AAnotakey'] } }, [])).toBe('1.4')
  })

  it('m.federate has no meaning without domains: it does not restrict', () => {
    expect(check(ev('m.room.member', BOB, { membership: 'join' }, BOB), [aliceJoin, pl, jr])).toBe('allow')
  })

  it('power levels users must be UPKs; the creator may not be listed', () => {
    expect(check(ev('m.room.power_levels', ALICE, { users: { '@bob:example.com': 10 } }, ''), [aliceJoin])).toBe('10.3')
    expect(check(ev('m.room.power_levels', ALICE, { users: { [ALICE]: 10 } }, ''), [aliceJoin])).toBe('10.4')
    expect(check(ev('m.room.power_levels', ALICE, { users: { [BOB]: 10 } }, ''), [aliceJoin])).toBe('allow')
  })

  it('user-ID state keys are UPKs: a state key starting with ~ must be the sender', () => {
    const bobJoin = ev('m.room.member', BOB, { membership: 'join' }, BOB)
    const state = [aliceJoin, ev('m.room.power_levels', ALICE, { users: { [BOB]: 50 }, state_default: 0 }, ''), jr, bobJoin]
    expect(check(ev('org.example.profile', BOB, {}, ALICE), state)).toBe('9')
    expect(check(ev('org.example.profile', BOB, {}, BOB), state)).toBe('allow')
  })

  it('the create event is listed in auth events (3.4 without it) and must be from the same room (3.5)', () => {
    const events = new Map([create, aliceJoin, pl].map((e) => [e.event_id, e]))
    const getEvent = (id: string): unknown => events.get(id)
    const topic = (auth: string[]): PduLike => ev('m.room.topic', ALICE, {}, '', { auth_events: auth })
    expect(verdict(checkAuthEvents(rules, topic([create.event_id, aliceJoin.event_id, pl.event_id]), { getEvent }))).toBe('allow')
    expect(verdict(checkAuthEvents(rules, topic([aliceJoin.event_id, pl.event_id]), { getEvent }))).toBe('3.4')
    const foreign = { ...pl, event_id: '$foreign', room_id: '!other' }
    events.set(foreign.event_id, foreign)
    expect(verdict(checkAuthEvents(rules, topic([create.event_id, aliceJoin.event_id, foreign.event_id]), { getEvent }))).toBe('3.5')
  })

  it('extra rules run after the Matrix rules allow, and only then', () => {
    const calls: string[] = []
    const extraRules = (_r: unknown, event: PduLike): { ok: false, rule: string } => { calls.push(event.event_id); return { ok: false, rule: 'keyroom: signing device not attested' } }
    const message = ev('m.room.message', ALICE, {})
    expect(checkAuth(rules, message, (t, k) => [create, aliceJoin].find((e) => e.type === t && e.state_key === k), { extraRules }))
      .toEqual({ ok: false, rule: 'keyroom: signing device not attested' })
    expect(check(ev('m.room.message', BOB, {}), [aliceJoin], { extraRules })).toBe('6')
    expect(calls).toEqual([message.event_id])
  })
})

describe('override hook', () => {
  it('replaces the Matrix rules for the events it decides, not for others, and never for m.room.create', () => {
    const device = ev('keyroom.device', BOB, {}, '^device')
    const bobJoin = ev('m.room.member', BOB, { membership: 'join' }, BOB)
    const state = [aliceJoin, pl, jr, bobJoin]
    const overrideRules = (_r: unknown, event: PduLike): { ok: true } | undefined => (event.type === 'keyroom.device' ? { ok: true } : undefined)
    // Bob at 10 is below state_default (50): the Matrix rules reject his device event.
    const strict = [aliceJoin, ev('m.room.power_levels', ALICE, { users: { [BOB]: 10 } }, ''), jr, bobJoin]
    expect(check(device, strict)).toBe('8')
    expect(check(device, strict, { overrideRules })).toBe('allow')
    expect(check(ev('m.room.name', BOB, {}, ''), strict, { overrideRules })).toBe('8')
    expect(check({ ...create, prev_events: ['$x'] }, state, { overrideRules: () => ({ ok: true }) })).toBe('1.1')
    const extraRules = (): { ok: false, rule: string } => ({ ok: false, rule: 'keyroom: no' })
    expect(check(device, strict, { overrideRules, extraRules })).toBe('keyroom')
  })
})

describe('rule numbers match the spec pages', () => {
  // [senderJoined, member join, member unknown, power levels users, power levels users-new, otherwise]
  const expected: Record<string, string[]> = {
    1: ['6', '5.2', '5.6', '10.1', '10.7', '12'],
    2: ['6', '5.2', '5.6', '10.1', '10.7', '12'],
    3: ['6', '5.2', '5.6', '10.1', '10.7', '11'],
    5: ['6', '5.2', '5.6', '10.1', '10.7', '11'],
    6: ['5', '4.2', '4.6', '9.1', '9.7', '10'],
    7: ['5', '4.2', '4.7', '9.1', '9.7', '10'],
    8: ['5', '4.3', '4.8', '9.1', '9.7', '10'],
    9: ['5', '4.3', '4.8', '9.1', '9.7', '10'],
    10: ['5', '4.3', '4.8', '9.3', '9.9', '10'],
    11: ['5', '4.3', '4.8', '9.3', '9.9', '10'],
    12: ['6', '5.3', '5.8', '10.3', '10.10', '11'],
    'keyroom.1': ['6', '5.3', '5.8', '10.3', '10.10', '11']
  }
  it.each(Object.entries(expected))('room version %s', (version, numbers) => {
    const r = ruleNumbers(roomVersionRules(version))
    expect([r.senderJoined, r.join, r.memberUnknown, r.plUsers, r.plUsersNew, r.otherwise]).toEqual(numbers)
  })

  it('every known room version has a numbering with distinct top-level rules', () => {
    for (const version of ROOM_VERSIONS) {
      const r = ruleNumbers(roomVersionRules(version))
      const top = [r.create, r.roomId, r.authEvents, r.federate, r.aliases, r.member, r.senderJoined, r.thirdPartyInvite, r.requiredLevel, r.userStateKey, r.powerLevels, r.redaction, r.otherwise]
        .filter((x) => x !== undefined)
      expect(new Set(top).size).toBe(top.length)
      expect(top.map(Number)).toEqual(top.map((_x, i) => i + 1))
    }
  })
})
