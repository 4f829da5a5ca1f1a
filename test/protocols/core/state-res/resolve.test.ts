/**
 * resolveState's edges and building blocks: state map keys, inputs without conflicts, room
 * versions, the auth difference, the tie-breaks of both orderings, rejected and malformed events,
 * and the benchmark scenario at a small size.
 */
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../../protocols/core/errors.js'
import { parseStateMapKey, resolveState, stateMapKey } from '../../../../protocols/core/state-res/index.js'
import { ALICE, BOB, CHARLIE, EventFactory, buildStateResScenario } from './fixtures.js'

describe('stateMapKey', () => {
  it('documents its format and round-trips', () => {
    expect(stateMapKey('m.room.member', '@alice:example.org')).toBe('13:m.room.member@alice:example.org')
    expect(stateMapKey('m.room.power_levels', '')).toBe('19:m.room.power_levels')
    for (const [t, k] of [['a', 'bc'], ['ab', 'c'], ['', ''], ['1:x', ''], ['x', '1:'], ['😀', '\u0000']] as const) {
      expect(parseStateMapKey(stateMapKey(t, k))).toEqual([t, k])
    }
  })

  it('is injective where a separator would not be', () => {
    expect(stateMapKey('a', 'bc')).not.toBe(stateMapKey('ab', 'c'))
    expect(stateMapKey('a:b', '')).not.toBe(stateMapKey('a', ':b'))
  })

  it('rejects keys it did not make', () => {
    for (const bad of ['m.room.topic', '99:short', ':x', '01:a', '-1:x']) {
      expect(() => parseStateMapKey(bad)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidEvent }))
    }
  })
})

/** A small public room: Alice (admin), Bob (moderator, 50) and Charlie joined; room version 10. */
function room (version = '10'): EventFactory {
  const f = new EventFactory(version)
  f.add({ id: 'CREATE', sender: ALICE, type: 'm.room.create', stateKey: '', content: { creator: ALICE, room_version: version } })
  f.add({ id: 'MA', sender: ALICE, type: 'm.room.member', stateKey: ALICE, content: { membership: 'join' }, auth: ['CREATE'], prev: ['CREATE'] })
  f.add({ id: 'PL', sender: ALICE, type: 'm.room.power_levels', stateKey: '', content: { users: { [ALICE]: 100, [BOB]: 50 } }, auth: ['CREATE', 'MA'], prev: ['MA'] })
  f.add({ id: 'JR', sender: ALICE, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'public' }, auth: ['CREATE', 'MA', 'PL'], prev: ['PL'] })
  f.add({ id: 'MB', sender: BOB, type: 'm.room.member', stateKey: BOB, content: { membership: 'join' }, auth: ['CREATE', 'PL', 'JR'], prev: ['JR'] })
  f.add({ id: 'MC', sender: CHARLIE, type: 'm.room.member', stateKey: CHARLIE, content: { membership: 'join' }, auth: ['CREATE', 'PL', 'JR'], prev: ['MB'] })
  return f
}
const BASE = ['CREATE', 'MA', 'PL', 'JR', 'MB', 'MC']

describe('resolveState: inputs', () => {
  it('no state sets resolve to the empty state; one state set to itself', () => {
    const f = room()
    expect(resolveState('10', [], f.getEvent).size).toBe(0)
    const s = f.state(...BASE)
    expect(resolveState('10', [s], f.getEvent)).toEqual(s)
  })

  it('identical state sets are unconflicted and returned as they are, even with events that are unknown', () => {
    const f = room()
    const s = f.state(...BASE)
    s.set(stateMapKey('m.room.topic', ''), '$not-in-the-store')
    expect(resolveState('10', [s, new Map(s)], f.getEvent)).toEqual(s)
  })

  it('throws ERR_UNSUPPORTED_STATE_RESOLUTION for room version 1 and ERR_UNKNOWN_ROOM_VERSION for unknown versions', () => {
    expect(() => resolveState('1', [], () => undefined)).toThrow(expect.objectContaining({ code: ErrorCode.UnsupportedStateResolution }))
    expect(() => resolveState('13', [], () => undefined)).toThrow(expect.objectContaining({ code: ErrorCode.UnknownRoomVersion }))
  })

  it('a key missing from one state set is conflicted: the event is re-authorised, and kept when it passes', () => {
    const f = room()
    f.add({ id: 'TOPIC', sender: ALICE, type: 'm.room.topic', stateKey: '', content: { topic: 'x' }, auth: ['CREATE', 'PL', 'MA'], prev: ['MC'] })
    const resolved = resolveState('10', [f.state(...BASE, 'TOPIC'), f.state(...BASE)], f.getEvent)
    expect(f.names(resolved)).toEqual([...BASE, 'TOPIC'].sort())
  })
})

describe('resolveState: orderings and tie-breaks', () => {
  it('power ordering: higher sender power first, so the admin\'s demotion precedes the moderator\'s kick, which then fails', () => {
    const f = room()
    // Bob (50) kicks Charlie; Alice (100) demotes Bob. Alice's event sorts first although later.
    f.add({ id: 'KICK', sender: BOB, type: 'm.room.member', stateKey: CHARLIE, content: { membership: 'leave' }, auth: ['CREATE', 'PL', 'MB', 'MC'], prev: ['MC'], ts: 100 })
    f.add({ id: 'DEMOTE', sender: ALICE, type: 'm.room.power_levels', stateKey: '', content: { users: { [ALICE]: 100 } }, auth: ['CREATE', 'PL', 'MA'], prev: ['MC'], ts: 200 })
    const resolved = resolveState('10', [f.state(...BASE, 'KICK'), f.state('CREATE', 'MA', 'DEMOTE', 'JR', 'MB', 'MC')], f.getEvent)
    expect(f.names(resolved)).toEqual(['CREATE', 'DEMOTE', 'JR', 'MA', 'MB', 'MC'])
  })

  it('power ordering: equal power, lower origin_server_ts first; equal timestamps, lower event ID first', () => {
    // Two join rules changes by Alice: the one applied last wins.
    const f = room()
    f.add({ id: 'JR_B', sender: ALICE, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'invite' }, auth: ['CREATE', 'PL', 'MA'], prev: ['MC'], ts: 10 })
    f.add({ id: 'JR_A', sender: ALICE, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'knock' }, auth: ['CREATE', 'PL', 'MA'], prev: ['MC'], ts: 20 })
    const sets = [f.state('CREATE', 'MA', 'PL', 'JR_A', 'MB', 'MC'), f.state('CREATE', 'MA', 'PL', 'JR_B', 'MB', 'MC')]
    expect(f.names(resolveState('10', sets, f.getEvent))).toContain('JR_A')
    f.events.get(f.id('JR_A'))!.origin_server_ts = 5
    expect(f.names(resolveState('10', sets, f.getEvent))).toContain('JR_B')
    f.events.get(f.id('JR_A'))!.origin_server_ts = 10
    expect(f.names(resolveState('10', sets, f.getEvent))).toContain('JR_B')
  })

  it('mainline ordering: an event with no power levels in its auth chain sorts first, so it loses', () => {
    const f = room()
    f.add({ id: 'T_OLD', sender: ALICE, type: 'm.room.topic', stateKey: '', content: {}, auth: ['CREATE', 'MA'], prev: ['MC'], ts: 500 })
    f.add({ id: 'T_NEW', sender: ALICE, type: 'm.room.topic', stateKey: '', content: {}, auth: ['CREATE', 'PL', 'MA'], prev: ['MC'], ts: 100 })
    const sets = [f.state(...BASE, 'T_OLD'), f.state(...BASE, 'T_NEW')]
    expect(f.names(resolveState('10', sets, f.getEvent))).toContain('T_NEW')
  })

  it('mainline ordering: same position, lower origin_server_ts first; same timestamp, lower event ID first (code point order)', () => {
    const f = room()
    f.add({ id: 'T\u{1F600}', sender: ALICE, type: 'm.room.topic', stateKey: '', content: {}, auth: ['CREATE', 'PL', 'MA'], prev: ['MC'], ts: 7 })
    f.add({ id: 'T\u{FFFD}', sender: ALICE, type: 'm.room.topic', stateKey: '', content: {}, auth: ['CREATE', 'PL', 'MA'], prev: ['MC'], ts: 7 })
    const sets = [f.state(...BASE, 'T\u{1F600}'), f.state(...BASE, 'T\u{FFFD}')]
    // U+1F600 > U+FFFD by code point (though not by UTF-16 code unit): applied last, it wins.
    expect(f.names(resolveState('10', sets, f.getEvent))).toContain('T\u{1F600}')
    f.events.get(f.id('T\u{1F600}'))!.origin_server_ts = 6
    expect(f.names(resolveState('10', sets, f.getEvent))).toContain('T\u{FFFD}')
  })
})

describe('resolveState: auth difference', () => {
  it('events in only some auth chains are replayed: a topic authorised by a power levels event only one fork knows', () => {
    // Fork A: Alice raises the topic level (PL2) and sets a topic citing PL2. Fork B only saw PL.
    // PL2 is in fork A's auth chains only: it is replayed (auth difference) and, as a power event,
    // decides the order: T_B (mainline position of PL, 1) is applied before T_A (PL2, 0).
    const f = room()
    f.add({ id: 'PL2', sender: ALICE, type: 'm.room.power_levels', stateKey: '', content: { users: { [ALICE]: 100, [BOB]: 50 }, events: { 'm.room.topic': 50 } }, auth: ['CREATE', 'PL', 'MA'], prev: ['MC'], ts: 10 })
    f.add({ id: 'T_A', sender: ALICE, type: 'm.room.topic', stateKey: '', content: {}, auth: ['CREATE', 'PL2', 'MA'], prev: ['PL2'], ts: 11 })
    f.add({ id: 'T_B', sender: CHARLIE, type: 'm.room.topic', stateKey: '', content: {}, auth: ['CREATE', 'PL', 'MC'], prev: ['MC'], ts: 50 })
    const a = f.state('CREATE', 'MA', 'PL2', 'JR', 'MB', 'MC', 'T_A')
    const b = f.state(...BASE, 'T_B')
    const resolved = resolveState('10', [a, b], f.getEvent)
    expect(f.names(resolved)).toEqual(['CREATE', 'JR', 'MA', 'MB', 'MC', 'PL2', 'T_A'])
    // Charlie (level 0) may not set the topic once PL2 applies, whatever the order of the sets.
    expect(resolveState('10', [b, a], f.getEvent)).toEqual(resolved)
  })
})

describe('resolveState: rejected and malformed events', () => {
  it('a rejected auth event is not used: the event it authorised fails when the state lacks the key', () => {
    const f = room('12')
    f.add({ id: 'CREATE', sender: ALICE, type: 'm.room.create', stateKey: '', content: { room_version: '12' } })
    f.add({ id: 'MA', sender: ALICE, type: 'm.room.member', stateKey: ALICE, content: { membership: 'join' }, prev: ['CREATE'] })
    f.add({ id: 'JR', sender: ALICE, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'public' }, auth: ['MA'], prev: ['MA'] })
    f.add({ id: 'JR2', sender: ALICE, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'invite' }, auth: ['MA'], prev: ['MA'] })
    const sets = [f.state('CREATE', 'MA', 'JR'), f.state('CREATE', 'MA', 'JR2')]
    // v2.1 starts from an empty state: the join rules take Alice's membership from their auth events.
    expect(f.names(resolveState('12', sets, f.getEvent))).toEqual(['CREATE', 'JR2', 'MA'])
    const rejected = (id: string): boolean => id === f.id('MA')
    expect(f.names(resolveState('12', sets, f.getEvent, { isRejected: rejected }))).toEqual(['CREATE', 'MA'])
  })

  it('a rejected conflicted event is still handled as usual (re-authorised)', () => {
    const f = room()
    f.add({ id: 'TOPIC', sender: ALICE, type: 'm.room.topic', stateKey: '', content: {}, auth: ['CREATE', 'PL', 'MA'], prev: ['MC'] })
    const sets = [f.state(...BASE, 'TOPIC'), f.state(...BASE)]
    expect(f.names(resolveState('10', sets, f.getEvent, { isRejected: (id) => id === f.id('TOPIC') }))).toContain('TOPIC')
  })

  it('malformed or missing conflicted events fail auth and never throw', () => {
    const f = room()
    const malformed: unknown[] = [
      null, 'event', [], { type: 'm.room.topic' }, { type: 'm.room.topic', state_key: '', sender: ALICE, content: [], prev_events: [], auth_events: [], origin_server_ts: 1 },
      { type: 'm.room.topic', state_key: 5, sender: ALICE, content: {}, prev_events: [], auth_events: [], origin_server_ts: 1 },
      { type: 'm.room.topic', state_key: '', sender: ALICE, content: {}, prev_events: [{}], auth_events: [], origin_server_ts: 1 },
      { type: 'm.room.topic', state_key: '', sender: ALICE, content: {}, prev_events: [], auth_events: 'x', origin_server_ts: 1 },
      { type: 'm.room.topic', state_key: '', sender: ALICE, content: {}, prev_events: [], auth_events: [], origin_server_ts: '1' },
      { event_id: '$someone-else', type: 'm.room.topic', state_key: '', sender: ALICE, content: {}, prev_events: [], auth_events: [], origin_server_ts: 1 }
    ]
    for (const bad of malformed) {
      const getEvent = (id: string): object | undefined => (id === '$bad' ? bad as object : f.getEvent(id))
      const a = f.state(...BASE)
      a.set(stateMapKey('m.room.topic', ''), '$bad')
      const resolved = resolveState('10', [a, f.state(...BASE)], getEvent)
      expect(resolved.has(stateMapKey('m.room.topic', ''))).toBe(false)
    }
  })

  it('an auth-event cycle (impossible with hash IDs) does not hang: its power events miss step 1 and are ordered by the mainline in step 3', () => {
    const f = room()
    f.add({ id: 'X', sender: ALICE, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'invite' }, auth: ['CREATE', 'PL', 'MA', 'Y'], prev: ['MC'] })
    f.add({ id: 'Y', sender: ALICE, type: 'm.room.power_levels', stateKey: '', content: { users: { [ALICE]: 100 } }, auth: ['CREATE', 'PL', 'MA', 'X'], prev: ['MC'] })
    const resolved = resolveState('10', [f.state('CREATE', 'MA', 'X', 'Y', 'MB', 'MC'), f.state(...BASE)], f.getEvent)
    // PL and JR (conflicted) are applied in step 1; X and Y, never ready in Kahn's algorithm,
    // are "remaining events" and pass their checks in step 4.
    expect(f.names(resolved)).toEqual(['CREATE', 'MA', 'MB', 'MC', 'X', 'Y'])
  })
})

describe('buildStateResScenario (the benchmark room)', () => {
  it.each(['12', '10'])('room version %s, 300 members: bans, kicks, renames and late joins apply; fork A\'s topic wins', (version) => {
    const s = buildStateResScenario(300, version)
    const resolved = resolveState(s.roomVersion, s.stateSets, s.getEvent)
    const membership = (user: string): unknown => s.getEvent(resolved.get(stateMapKey('m.room.member', user))!)?.content.membership
    expect(s.banned.map(membership)).toEqual(s.banned.map(() => 'ban'))
    expect(s.kicked.map(membership)).toEqual(s.kicked.map(() => 'leave'))
    expect(s.lateJoiners.map(membership)).toEqual(s.lateJoiners.map(() => 'join'))
    expect(resolved.get(stateMapKey('m.room.topic', ''))).toBe(s.topicA)
    expect(resolved.size).toBe(300 + 3 + 4 + s.lateJoiners.length)
    // The resolution does not depend on the order of the state sets.
    expect(resolveState(s.roomVersion, [s.stateSets[1], s.stateSets[0]], s.getEvent)).toEqual(resolved)
  })
})
