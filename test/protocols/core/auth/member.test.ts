/**
 * The `m.room.member` rules (rule 5 of v1–v5 and v12, rule 4 of v6–v11): each sub-rule with a
 * rejecting and an allowing case, across the versions where it exists or changes (knocking v7+,
 * restricted v8+, knock_restricted v10+, creator = sender v11+).
 */
import { describe, expect, it } from 'vitest'
import { publicKeyFromSeed } from '../../../../protocols/core/crypto/index.js'
import { toBase64 } from '../../../../protocols/core/encoding/base64.js'
import { signJson } from '../../../../protocols/core/signing/index.js'
import { ALICE, BOB, CHARLIE, MATRIX_VERSIONS, Room, ruleFor, verdict, versions } from './helpers.js'

const member = (v: string): string => ruleFor(v, { 1: '5', 6: '4', 12: '5' })
const sub = (v: string, table: Record<number, string>): string => `${member(v)}.${ruleFor(v, table)}`
const JOIN = { 1: '2', 8: '3' }
const INVITE = { 1: '3', 8: '4' }
const LEAVE = { 1: '4', 8: '5' }
const BAN = { 1: '5', 8: '6' }
const KNOCK = { 7: '6', 8: '7' }
const UNKNOWN = { 1: '6', 7: '7', 8: '8' }
const joinOtherwise = (v: string): string => `${sub(v, JOIN)}.${Number(v) >= 8 ? 7 : 6}`

describe('member: x.1 state_key and membership are required', () => {
  it.each(MATRIX_VERSIONS)('v%s', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.event('m.room.member', BOB, { membership: 'join' }), room.state()))).toBe(`${member(v)}.1`)
    expect(verdict(room.check(room.event('m.room.member', BOB, {}, BOB), room.state()))).toBe(`${member(v)}.1`)
    expect(verdict(room.check(room.member(BOB, 'join'), room.state()))).toBe('allow')
  })
})

describe('member: unknown membership', () => {
  it.each(MATRIX_VERSIONS)('v%s rejects membership "foo" and a non-string membership', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.member(BOB, 'foo'), room.state()))).toBe(sub(v, UNKNOWN))
    expect(verdict(room.check(room.event('m.room.member', BOB, { membership: 7 }, BOB), room.state()))).toBe(sub(v, UNKNOWN))
  })

  it.each(versions(1, 6))('v%s: knock is an unknown membership before v7', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.member(BOB, 'knock'), [room.member(ALICE, 'join'), room.joinRules('knock')]))).toBe(sub(v, UNKNOWN))
  })
})

describe('member join', () => {
  it.each(MATRIX_VERSIONS)('v%s .1: the creator\'s first join (only prev event is the create event) is allowed with no other state', (v) => {
    const room = new Room(v)
    const join = { ...room.member(ALICE, 'join'), prev_events: ['$create'] }
    expect(verdict(room.check(join, []))).toBe('allow')
    // Not the only previous event: the other rules apply, and without join rules only an invite lets in.
    expect(verdict(room.check({ ...join, prev_events: ['$create', '$other'] }, []))).toBe(joinOtherwise(v))
    // Not the creator.
    expect(verdict(room.check({ ...room.member(BOB, 'join'), prev_events: ['$create'] }, []))).toBe(joinOtherwise(v))
  })

  it.each(versions(1, 10))('v%s .1: the creator is content.creator, not the sender of the create event', (v) => {
    const room = new Room(v, { creator: BOB })
    expect(verdict(room.check({ ...room.member(BOB, 'join'), prev_events: ['$create'] }, []))).toBe('allow')
    expect(verdict(room.check({ ...room.member(ALICE, 'join'), prev_events: ['$create'] }, []))).toBe(joinOtherwise(v))
  })

  it.each(versions(11))('v%s .1: the creator is the sender of the create event (MSC2175)', (v) => {
    const room = new Room(v, { creator: BOB })
    expect(verdict(room.check({ ...room.member(ALICE, 'join'), prev_events: ['$create'] }, []))).toBe('allow')
    expect(verdict(room.check({ ...room.member(BOB, 'join'), prev_events: ['$create'] }, []))).toBe(joinOtherwise(v))
  })

  it.each(MATRIX_VERSIONS)('v%s .2: rejects a join sent for someone else', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.member(BOB, 'join', ALICE), room.state()))).toBe(`${sub(v, JOIN)}.2`)
  })

  it.each(MATRIX_VERSIONS)('v%s .3: rejects a banned user\'s join', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.member(BOB, 'join'), room.state(room.member(BOB, 'ban', ALICE))))).toBe(`${sub(v, JOIN)}.3`)
    expect(verdict(room.check(room.member(BOB, 'join'), room.state(room.member(BOB, 'leave', ALICE))))).toBe('allow')
  })

  it.each(MATRIX_VERSIONS)('v%s .4: invite rule lets invited or joined users join, no one else', (v) => {
    const room = new Room(v)
    const base = [room.member(ALICE, 'join'), room.joinRules('invite')]
    expect(verdict(room.check(room.member(BOB, 'join'), [...base, room.member(BOB, 'invite', ALICE)]))).toBe('allow')
    expect(verdict(room.check(room.member(BOB, 'join'), [...base, room.member(BOB, 'join')]))).toBe('allow')
    expect(verdict(room.check(room.member(BOB, 'join'), base))).toBe(joinOtherwise(v))
  })

  it.each(MATRIX_VERSIONS)('v%s .4: no join rules event counts as invite', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.member(BOB, 'join'), [room.member(ALICE, 'join'), room.member(BOB, 'invite', ALICE)]))).toBe('allow')
    expect(verdict(room.check(room.member(BOB, 'join'), [room.member(ALICE, 'join')]))).toBe(joinOtherwise(v))
  })

  it.each(MATRIX_VERSIONS)('v%s .4: knock rule lets invited users join from v7 on', (v) => {
    const room = new Room(v)
    const state = [room.member(ALICE, 'join'), room.joinRules('knock'), room.member(BOB, 'invite', ALICE)]
    expect(verdict(room.check(room.member(BOB, 'join'), state))).toBe(Number(v) >= 7 ? 'allow' : joinOtherwise(v))
  })

  it.each(versions(8))('v%s .5 restricted: a joined or invited user may join', (v) => {
    const room = new Room(v)
    const state = [room.member(ALICE, 'join'), room.adminPowerLevels(), room.joinRules('restricted'), room.member(BOB, 'invite', ALICE)]
    expect(verdict(room.check(room.member(BOB, 'join'), state))).toBe('allow')
  })

  it.each(versions(8))('v%s .5 restricted: join_authorised_via_users_server must be joined and able to invite', (v) => {
    const room = new Room(v)
    const r = `${sub(v, JOIN)}.5.2`
    const pl = room.adminPowerLevels({ [CHARLIE]: 0 }, { invite: 50 })
    const base = [room.member(ALICE, 'join'), pl, room.joinRules('restricted')]
    const viaAlice = room.member(BOB, 'join', BOB, { join_authorised_via_users_server: ALICE })
    const viaCharlie = room.member(BOB, 'join', BOB, { join_authorised_via_users_server: CHARLIE })
    expect(verdict(room.check(viaAlice, base))).toBe('allow')
    expect(verdict(room.check(room.member(BOB, 'join'), base))).toBe(r)
    expect(verdict(room.check(viaCharlie, base))).toBe(r)
    expect(verdict(room.check(viaCharlie, [...base, room.member(CHARLIE, 'join')]))).toBe(r)
    expect(verdict(room.check(viaAlice, [room.member(ALICE, 'leave'), pl, room.joinRules('restricted')]))).toBe(r)
  })

  it.each(versions(1, 7))('v%s: restricted is an unknown join rule before v8', (v) => {
    const room = new Room(v)
    const join = room.member(BOB, 'join', BOB, { join_authorised_via_users_server: ALICE })
    expect(verdict(room.check(join, [room.member(ALICE, 'join'), room.adminPowerLevels(), room.joinRules('restricted')]))).toBe(joinOtherwise(v))
  })

  it.each(versions(8))('v%s: knock_restricted works like restricted from v10 on', (v) => {
    const room = new Room(v)
    const join = room.member(BOB, 'join', BOB, { join_authorised_via_users_server: ALICE })
    const result = verdict(room.check(join, [room.member(ALICE, 'join'), room.adminPowerLevels(), room.joinRules('knock_restricted')]))
    expect(result).toBe(Number(v) >= 10 ? 'allow' : joinOtherwise(v))
  })

  it.each(versions(8))('v%s .2: the join_authorised_via_users_server signature hook rejects when it says no', (v) => {
    const room = new Room(v)
    const join = room.member(BOB, 'join', BOB, { join_authorised_via_users_server: ALICE })
    const state = [room.member(ALICE, 'join'), room.adminPowerLevels(), room.joinRules('restricted')]
    expect(verdict(room.check(join, state, { verifyJoinAuthorisedVia: () => false }))).toBe(`${member(v)}.2.1`)
    expect(verdict(room.check(join, state, { verifyJoinAuthorisedVia: (_e, user) => user === ALICE }))).toBe('allow')
    const notAUser = room.member(BOB, 'join', BOB, { join_authorised_via_users_server: 42 })
    expect(verdict(room.check(notAUser, state))).toBe(`${member(v)}.2.1`)
  })

  it.each(MATRIX_VERSIONS)('v%s .public: anyone may join a public room; other join rules reject', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.member(BOB, 'join'), room.state()))).toBe('allow')
    expect(verdict(room.check(room.member(BOB, 'join'), [room.member(ALICE, 'join'), room.joinRules('private')]))).toBe(joinOtherwise(v))
  })
})

describe('member invite (third party)', () => {
  const seed = new Uint8Array(32).fill(7)
  const publicKey = toBase64(publicKeyFromSeed(seed))
  const signed = (mxid: string, token = 'tok'): Record<string, unknown> =>
    signJson({ mxid, token, sender: ALICE }, 'id.example.org', 'ed25519:0', seed) as Record<string, unknown>

  function setup (v: string): { room: Room, base: ReturnType<Room['state']>, i: string } {
    const room = new Room(v)
    const tpi = room.event('m.room.third_party_invite', ALICE, { public_key: publicKey, public_keys: [{ public_key: 'AAAA' }] }, 'tok')
    return { room, base: room.state(tpi), i: sub(v, INVITE) }
  }
  const invite = (room: Room, tpi: unknown, sender = ALICE, target = BOB): ReturnType<Room['member']> =>
    room.member(target, 'invite', sender, { third_party_invite: tpi })

  it.each(MATRIX_VERSIONS)('v%s .1.7: a signature by a key of the m.room.third_party_invite event allows', (v) => {
    const { room, base } = setup(v)
    expect(verdict(room.check(invite(room, { display_name: 'b', signed: signed(BOB) }), base))).toBe('allow')
  })

  it.each(MATRIX_VERSIONS)('v%s .1.1–.1.8: each check rejects', (v) => {
    const { room, base, i } = setup(v)
    expect(verdict(room.check(invite(room, { signed: signed(BOB) }), [...base, room.member(BOB, 'ban', ALICE)]))).toBe(`${i}.1.1`)
    expect(verdict(room.check(invite(room, {}), base))).toBe(`${i}.1.2`)
    expect(verdict(room.check(invite(room, 'x'), base))).toBe(`${i}.1.2`)
    expect(verdict(room.check(invite(room, { signed: { token: 'tok' } }), base))).toBe(`${i}.1.3`)
    expect(verdict(room.check(invite(room, { signed: signed(CHARLIE) }), base))).toBe(`${i}.1.4`)
    expect(verdict(room.check(invite(room, { signed: signed(BOB, 'other') }), base))).toBe(`${i}.1.5`)
    expect(verdict(room.check(invite(room, { signed: signed(BOB) }, CHARLIE), [...base, room.member(CHARLIE, 'join')]))).toBe(`${i}.1.6`)
    const forged = { ...signed(BOB), mxid: BOB, token: 'tok', extra: 'changed after signing' }
    expect(verdict(room.check(invite(room, { signed: forged }), base))).toBe(`${i}.1.8`)
  })

  it('the signature check can be injected', () => {
    const { room, base } = setup('10')
    const tpi = { signed: { mxid: BOB, token: 'tok', signatures: {} } }
    expect(verdict(room.check(invite(room, tpi), base, { verifyThirdPartyInvite: (_s, keys) => keys.includes(publicKey) }))).toBe('allow')
    expect(verdict(room.check(invite(room, tpi), base))).toBe('4.4.1.8')
  })
})

describe('member invite', () => {
  it.each(MATRIX_VERSIONS)('v%s .2: the sender must be joined', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.member(BOB, 'invite', CHARLIE), room.state()))).toBe(`${sub(v, INVITE)}.2`)
    expect(verdict(room.check(room.member(BOB, 'invite', CHARLIE), room.state(room.member(CHARLIE, 'join'))))).toBe('allow')
  })

  it.each(MATRIX_VERSIONS)('v%s .3: the target must not be joined or banned', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.member(BOB, 'invite', ALICE), room.state(room.member(BOB, 'join'))))).toBe(`${sub(v, INVITE)}.3`)
    expect(verdict(room.check(room.member(BOB, 'invite', ALICE), room.state(room.member(BOB, 'ban', ALICE))))).toBe(`${sub(v, INVITE)}.3`)
    expect(verdict(room.check(room.member(BOB, 'invite', ALICE), room.state(room.member(BOB, 'leave'))))).toBe('allow')
  })

  it.each(MATRIX_VERSIONS)('v%s .4/.5: the sender needs the invite level', (v) => {
    const room = new Room(v)
    const state = [room.member(ALICE, 'join'), room.member(CHARLIE, 'join'), room.adminPowerLevels({ [CHARLIE]: 10 }, { invite: 20 })]
    expect(verdict(room.check(room.member(BOB, 'invite', CHARLIE), state))).toBe(`${sub(v, INVITE)}.5`)
    expect(verdict(room.check(room.member(BOB, 'invite', ALICE), state))).toBe('allow')
  })
})

describe('member leave', () => {
  it.each(MATRIX_VERSIONS)('v%s .1: a user may leave from invite or join, not from leave or ban', (v) => {
    const room = new Room(v)
    const r = `${sub(v, LEAVE)}.1`
    expect(verdict(room.check(room.member(BOB, 'leave'), room.state(room.member(BOB, 'join'))))).toBe('allow')
    expect(verdict(room.check(room.member(BOB, 'leave'), room.state(room.member(BOB, 'invite', ALICE))))).toBe('allow')
    expect(verdict(room.check(room.member(BOB, 'leave'), room.state(room.member(BOB, 'leave'))))).toBe(r)
    expect(verdict(room.check(room.member(BOB, 'leave'), room.state(room.member(BOB, 'ban', ALICE))))).toBe(r)
    expect(verdict(room.check(room.member(BOB, 'leave'), room.state()))).toBe(r)
  })

  it.each(MATRIX_VERSIONS)('v%s .1: leaving from knock (rescinding) is allowed from v7 on', (v) => {
    const room = new Room(v)
    const result = verdict(room.check(room.member(BOB, 'leave'), room.state(room.member(BOB, 'knock'))))
    expect(result).toBe(Number(v) >= 7 ? 'allow' : `${sub(v, LEAVE)}.1`)
  })

  it.each(MATRIX_VERSIONS)('v%s .2: a kicker must be joined', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.member(BOB, 'leave', CHARLIE), room.state(room.member(BOB, 'join'))))).toBe(`${sub(v, LEAVE)}.2`)
  })

  it.each(MATRIX_VERSIONS)('v%s .3: unbanning needs the ban level', (v) => {
    const room = new Room(v)
    const state = [room.member(ALICE, 'join'), room.member(CHARLIE, 'join'), room.member(BOB, 'ban', ALICE), room.adminPowerLevels({ [CHARLIE]: 60 }, { ban: 70, kick: 50 })]
    expect(verdict(room.check(room.member(BOB, 'leave', CHARLIE), state))).toBe(`${sub(v, LEAVE)}.3`)
    expect(verdict(room.check(room.member(BOB, 'leave', ALICE), state))).toBe('allow')
  })

  it.each(MATRIX_VERSIONS)('v%s .4/.5: kicking needs the kick level and a target below the sender', (v) => {
    const room = new Room(v)
    const state = [room.member(ALICE, 'join'), room.member(CHARLIE, 'join'), room.member(BOB, 'join'), room.adminPowerLevels({ [CHARLIE]: 50, [BOB]: 50 })]
    expect(verdict(room.check(room.member(BOB, 'leave', ALICE), state))).toBe('allow')
    expect(verdict(room.check(room.member(BOB, 'leave', CHARLIE), state))).toBe(`${sub(v, LEAVE)}.5`)
    expect(verdict(room.check(room.member(ALICE, 'leave', CHARLIE), state))).toBe(`${sub(v, LEAVE)}.5`)
  })
})

describe('member ban', () => {
  it.each(MATRIX_VERSIONS)('v%s .1: the banner must be joined', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.member(BOB, 'ban', CHARLIE), room.state()))).toBe(`${sub(v, BAN)}.1`)
  })

  it.each(MATRIX_VERSIONS)('v%s .2/.3: banning needs the ban level and a target below the sender', (v) => {
    const room = new Room(v)
    const state = [room.member(ALICE, 'join'), room.member(CHARLIE, 'join'), room.adminPowerLevels({ [CHARLIE]: 50, [BOB]: 50 }, { ban: 60 })]
    expect(verdict(room.check(room.member(BOB, 'ban', ALICE), state))).toBe('allow')
    expect(verdict(room.check(room.member(BOB, 'ban', CHARLIE), state))).toBe(`${sub(v, BAN)}.3`)
    expect(verdict(room.check(room.member('@nobody:example.com', 'ban', CHARLIE), state))).toBe(`${sub(v, BAN)}.3`)
  })
})

describe('member knock (v7+)', () => {
  const k = (v: string): string => sub(v, KNOCK)

  it.each(versions(7))('v%s .1: the join rule must be knock (v10+: or knock_restricted)', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.member(BOB, 'knock'), room.state()))).toBe(`${k(v)}.1`)
    expect(verdict(room.check(room.member(BOB, 'knock'), [room.member(ALICE, 'join'), room.joinRules('knock')]))).toBe('allow')
    const restricted = verdict(room.check(room.member(BOB, 'knock'), [room.member(ALICE, 'join'), room.joinRules('knock_restricted')]))
    expect(restricted).toBe(Number(v) >= 10 ? 'allow' : `${k(v)}.1`)
  })

  it.each(versions(7))('v%s .2: one knocks for oneself only', (v) => {
    const room = new Room(v)
    expect(verdict(room.check(room.member(BOB, 'knock', ALICE), [room.member(ALICE, 'join'), room.joinRules('knock')]))).toBe(`${k(v)}.2`)
  })

  it.each(versions(7))('v%s .3/.4: knocking from ban, invite or join is rejected; from leave allowed', (v) => {
    const room = new Room(v)
    const base = [room.member(ALICE, 'join'), room.joinRules('knock')]
    for (const current of ['ban', 'invite', 'join']) {
      expect(verdict(room.check(room.member(BOB, 'knock'), [...base, room.member(BOB, current, ALICE)]))).toBe(`${k(v)}.4`)
    }
    expect(verdict(room.check(room.member(BOB, 'knock'), [...base, room.member(BOB, 'leave')]))).toBe('allow')
  })
})
