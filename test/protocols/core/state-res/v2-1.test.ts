/**
 * State resolution v2.1 (room version 12, MSC4297) against v2 (room version 11): the two
 * "state reset" problems of MSC4297, where a state set obtained by partial synchronisation holds
 * an outdated event, and creator privileges (MSC4289) in resolution.
 *
 * Room version 12 events do not list the create event in `auth_events` (MSC4291): the room ID
 * `!CREATE` names it. The v11 twin of each scenario lists it.
 */
import { describe, expect, it } from 'vitest'
import { resolveState } from '../../../../protocols/core/state-res/index.js'
import { ALICE, BOB, CHARLIE, EventFactory, ZARA } from './fixtures.js'

const EVE = '@eve:example.com'

/** `auth` plus the create event where the room version lists it. */
function withCreate (version: string, auth: string[]): string[] {
  return version === '12' ? auth : ['CREATE', ...auth]
}

/**
 * MSC4297 problem A: Alice makes the room public, Bob and Charlie join, Alice switches the join
 * rules to invite and leaves. Bob and Charlie then change their display names on two forks; the
 * fork of Charlie was obtained by partial sync and holds the outdated "public" join rules.
 */
function problemA (version: string): { f: EventFactory, bob: Map<string, string>, charlie: Map<string, string> } {
  const f = new EventFactory(version)
  const a = (auth: string[]): string[] => withCreate(version, auth)
  f.add({ id: 'CREATE', sender: ALICE, type: 'm.room.create', stateKey: '', content: { room_version: version }, auth: [] })
  f.add({ id: 'ALICE_JOIN', sender: ALICE, type: 'm.room.member', stateKey: ALICE, content: { membership: 'join' }, auth: a([]), prev: ['CREATE'] })
  f.add({ id: 'PL', sender: ALICE, type: 'm.room.power_levels', stateKey: '', content: version === '12' ? {} : { users: { [ALICE]: 100 } }, auth: a(['ALICE_JOIN']), prev: ['ALICE_JOIN'] })
  f.add({ id: 'JR_PUBLIC', sender: ALICE, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'public' }, auth: a(['ALICE_JOIN', 'PL']), prev: ['PL'] })
  f.add({ id: 'BOB_JOIN', sender: BOB, type: 'm.room.member', stateKey: BOB, content: { membership: 'join' }, auth: a(['PL', 'JR_PUBLIC']), prev: ['JR_PUBLIC'] })
  f.add({ id: 'CHARLIE_JOIN', sender: CHARLIE, type: 'm.room.member', stateKey: CHARLIE, content: { membership: 'join' }, auth: a(['PL', 'JR_PUBLIC']), prev: ['BOB_JOIN'] })
  f.add({ id: 'JR_INVITE', sender: ALICE, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'invite' }, auth: a(['ALICE_JOIN', 'PL']), prev: ['CHARLIE_JOIN'] })
  f.add({ id: 'ALICE_LEAVE', sender: ALICE, type: 'm.room.member', stateKey: ALICE, content: { membership: 'leave' }, auth: a(['ALICE_JOIN', 'PL']), prev: ['JR_INVITE'] })
  f.add({ id: 'BOB_RENAME', sender: BOB, type: 'm.room.member', stateKey: BOB, content: { membership: 'join', displayname: 'bob++' }, auth: a(['PL', 'JR_INVITE', 'BOB_JOIN']), prev: ['ALICE_LEAVE'] })
  f.add({ id: 'CHARLIE_RENAME', sender: CHARLIE, type: 'm.room.member', stateKey: CHARLIE, content: { membership: 'join', displayname: 'charlie++' }, auth: a(['PL', 'JR_INVITE', 'CHARLIE_JOIN']), prev: ['ALICE_LEAVE'] })
  return {
    f,
    bob: f.state('CREATE', 'PL', 'JR_INVITE', 'ALICE_LEAVE', 'BOB_RENAME', 'CHARLIE_JOIN'),
    // Partial sync: the join rules are the outdated public ones.
    charlie: f.state('CREATE', 'PL', 'JR_PUBLIC', 'ALICE_LEAVE', 'BOB_JOIN', 'CHARLIE_RENAME')
  }
}

/**
 * MSC4297 problem B: Alice promotes Bob, Bob promotes Charlie; Zara joins citing the newest power
 * levels; Eve joins and renames herself. Eve's fork was obtained by partial sync and holds the
 * first power levels event.
 */
function problemB (version: string): { f: EventFactory, eve: Map<string, string>, zara: Map<string, string> } {
  const f = new EventFactory(version)
  const a = (auth: string[]): string[] => withCreate(version, auth)
  const admin = version === '12' ? {} : { [ALICE]: 100 }
  f.add({ id: 'CREATE', sender: ALICE, type: 'm.room.create', stateKey: '', content: { room_version: version }, auth: [] })
  f.add({ id: 'ALICE_JOIN', sender: ALICE, type: 'm.room.member', stateKey: ALICE, content: { membership: 'join' }, auth: a([]), prev: ['CREATE'] })
  f.add({ id: 'PL1', sender: ALICE, type: 'm.room.power_levels', stateKey: '', content: { users: admin }, auth: a(['ALICE_JOIN']), prev: ['ALICE_JOIN'] })
  f.add({ id: 'JR', sender: ALICE, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'public' }, auth: a(['ALICE_JOIN', 'PL1']), prev: ['PL1'] })
  f.add({ id: 'BOB_JOIN', sender: BOB, type: 'm.room.member', stateKey: BOB, content: { membership: 'join' }, auth: a(['PL1', 'JR']), prev: ['JR'] })
  f.add({ id: 'CHARLIE_JOIN', sender: CHARLIE, type: 'm.room.member', stateKey: CHARLIE, content: { membership: 'join' }, auth: a(['PL1', 'JR']), prev: ['BOB_JOIN'] })
  f.add({ id: 'PL2', sender: ALICE, type: 'm.room.power_levels', stateKey: '', content: { users: { ...admin, [BOB]: 50 } }, auth: a(['PL1', 'ALICE_JOIN']), prev: ['CHARLIE_JOIN'] })
  f.add({ id: 'PL3', sender: BOB, type: 'm.room.power_levels', stateKey: '', content: { users: { ...admin, [BOB]: 50, [CHARLIE]: 50 } }, auth: a(['PL2', 'BOB_JOIN']), prev: ['PL2'] })
  f.add({ id: 'ZARA_JOIN', sender: ZARA, type: 'm.room.member', stateKey: ZARA, content: { membership: 'join' }, auth: a(['PL3', 'JR']), prev: ['PL3'] })
  f.add({ id: 'EVE_JOIN', sender: EVE, type: 'm.room.member', stateKey: EVE, content: { membership: 'join' }, auth: a(['PL3', 'JR']), prev: ['PL3'] })
  f.add({ id: 'EVE_RENAME', sender: EVE, type: 'm.room.member', stateKey: EVE, content: { membership: 'join', displayname: 'eve++' }, auth: a(['PL3', 'EVE_JOIN', 'JR']), prev: ['EVE_JOIN'] })
  return {
    f,
    eve: f.state('CREATE', 'ALICE_JOIN', 'PL1', 'JR', 'BOB_JOIN', 'CHARLIE_JOIN', 'EVE_RENAME'),
    zara: f.state('CREATE', 'ALICE_JOIN', 'JR', 'BOB_JOIN', 'CHARLIE_JOIN', 'PL3', 'ZARA_JOIN')
  }
}

describe('MSC4297 problem A: conflicting join rules whose sender left (unconflicted) before', () => {
  it('v2 (room version 11) starts from the unconflicted state, where Alice has left: both join rules fail and the room loses its join rules', () => {
    const { f, bob, charlie } = problemA('11')
    const resolved = resolveState('11', [bob, charlie], f.getEvent)
    expect(f.names(resolved)).toEqual(['ALICE_LEAVE', 'BOB_RENAME', 'CHARLIE_RENAME', 'CREATE', 'PL'])
  })

  it('v2.1 (room version 12) starts from an empty state: the join rules are replayed on their auth events and "invite" wins', () => {
    const { f, bob, charlie } = problemA('12')
    const resolved = resolveState('12', [bob, charlie], f.getEvent)
    expect(f.names(resolved)).toEqual(['ALICE_LEAVE', 'BOB_RENAME', 'CHARLIE_RENAME', 'CREATE', 'JR_INVITE', 'PL'])
  })
})

describe('MSC4297 problem B: an outdated power levels event in one state set', () => {
  it('v2 (room version 11): the auth difference misses Alice\'s promotion of Bob, so Bob\'s promotion of Charlie fails and the power levels reset to PL1', () => {
    const { f, eve, zara } = problemB('11')
    const resolved = resolveState('11', [eve, zara], f.getEvent)
    expect(f.names(resolved)).toEqual(['ALICE_JOIN', 'BOB_JOIN', 'CHARLIE_JOIN', 'CREATE', 'EVE_RENAME', 'JR', 'PL1', 'ZARA_JOIN'])
  })

  it('v2.1 (room version 12): the conflicted state subgraph (PL3 → PL2 → PL1) replays PL2, so PL3 stands', () => {
    const { f, eve, zara } = problemB('12')
    const resolved = resolveState('12', [eve, zara], f.getEvent)
    expect(f.names(resolved)).toEqual(['ALICE_JOIN', 'BOB_JOIN', 'CHARLIE_JOIN', 'CREATE', 'EVE_RENAME', 'JR', 'PL3', 'ZARA_JOIN'])
  })
})

describe('v2.1: an event citing outdated auth events is replayed in its power levels epoch', () => {
  // Eve joins citing PL3, then renames citing PL1 (a "dodgy" event that indirectly cites PL3).
  // One state set holds the rename and PL1, the other PL3 and Zara's join. The conflicted state
  // subgraph pulls in Eve's first join and PL2; mainline ordering replays the rename (PL1 epoch)
  // before the join (PL3 epoch), so the join is Eve's resolved membership.
  it('resolves Eve\'s membership to her join and the power levels to PL3', () => {
    const { f } = problemB('12')
    f.add({ id: 'EVE_DODGY', sender: EVE, type: 'm.room.member', stateKey: EVE, content: { membership: 'join', displayname: 'eve?' }, auth: ['PL1', 'JR', 'EVE_JOIN'], prev: ['EVE_JOIN'] })
    const dodgy = f.state('CREATE', 'ALICE_JOIN', 'BOB_JOIN', 'CHARLIE_JOIN', 'EVE_DODGY', 'PL1', 'JR')
    const sensible = f.state('CREATE', 'ALICE_JOIN', 'BOB_JOIN', 'CHARLIE_JOIN', 'ZARA_JOIN', 'PL3', 'JR')
    const resolved = resolveState('12', [dodgy, sensible], f.getEvent)
    expect(f.names(resolved)).toEqual(['ALICE_JOIN', 'BOB_JOIN', 'CHARLIE_JOIN', 'CREATE', 'EVE_JOIN', 'JR', 'PL3', 'ZARA_JOIN'])
  })
})

describe('v2.1: outdated join rules from a partial sync, senders not in conflict', () => {
  it('replays both join rules from their auth events and keeps the newer one although Alice has since left', () => {
    const f = new EventFactory('12')
    f.add({ id: 'CREATE', sender: ALICE, type: 'm.room.create', stateKey: '', content: { room_version: '12' } })
    f.add({ id: 'MA1', sender: ALICE, type: 'm.room.member', stateKey: ALICE, content: { membership: 'join' }, prev: ['CREATE'] })
    f.add({ id: 'PL', sender: ALICE, type: 'm.room.power_levels', stateKey: '', content: { users: { [BOB]: 100 } }, auth: ['MA1'], prev: ['MA1'] })
    f.add({ id: 'JR1', sender: ALICE, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'public' }, auth: ['MA1', 'PL'], prev: ['PL'] })
    f.add({ id: 'MB', sender: BOB, type: 'm.room.member', stateKey: BOB, content: { membership: 'join' }, auth: ['PL', 'JR1'], prev: ['JR1'] })
    f.add({ id: 'JR2', sender: ALICE, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'invite' }, auth: ['MA1', 'PL'], prev: ['MB'] })
    f.add({ id: 'MA2', sender: ALICE, type: 'm.room.member', stateKey: ALICE, content: { membership: 'leave' }, auth: ['PL', 'MA1'], prev: ['JR2'] })
    const correct = f.state('CREATE', 'MA2', 'MB', 'PL', 'JR2')
    const incorrect = f.state('CREATE', 'MA2', 'MB', 'PL', 'JR1')
    expect(f.names(resolveState('12', [correct, incorrect], f.getEvent))).toEqual(['CREATE', 'JR2', 'MA2', 'MB', 'PL'])
  })
})

describe('v12 creator privileges (MSC4289) in resolution', () => {
  function room (): EventFactory {
    const f = new EventFactory('12')
    f.add({ id: 'CREATE', sender: ALICE, type: 'm.room.create', stateKey: '', content: { room_version: '12', additional_creators: [CHARLIE] } })
    f.add({ id: 'MA', sender: ALICE, type: 'm.room.member', stateKey: ALICE, content: { membership: 'join' }, prev: ['CREATE'] })
    f.add({ id: 'PL', sender: ALICE, type: 'm.room.power_levels', stateKey: '', content: { users: { [BOB]: 100 } }, auth: ['MA'], prev: ['MA'] })
    f.add({ id: 'JR', sender: ALICE, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'public' }, auth: ['MA', 'PL'], prev: ['PL'] })
    f.add({ id: 'MB', sender: BOB, type: 'm.room.member', stateKey: BOB, content: { membership: 'join' }, auth: ['PL', 'JR'], prev: ['JR'] })
    f.add({ id: 'MC', sender: CHARLIE, type: 'm.room.member', stateKey: CHARLIE, content: { membership: 'join' }, auth: ['PL', 'JR'], prev: ['MB'] })
    return f
  }

  it('a creator demotes an admin (PL 100) while the admin tries to ban the creator: the demotion wins, the ban fails', () => {
    const f = room()
    f.add({ id: 'DEMOTE', sender: ALICE, type: 'm.room.power_levels', stateKey: '', content: { users: { [BOB]: 0 } }, auth: ['MA', 'PL'], prev: ['MC'] })
    f.add({ id: 'BAN_ALICE', sender: BOB, type: 'm.room.member', stateKey: ALICE, content: { membership: 'ban' }, auth: ['PL', 'MB', 'MA'], prev: ['MC'] })
    const a = f.state('CREATE', 'MA', 'DEMOTE', 'JR', 'MB', 'MC')
    const b = f.state('CREATE', 'MA', 'PL', 'JR', 'MB', 'MC', 'BAN_ALICE')
    // Even on the fork without the demotion Bob could not ban Alice: a creator's level is
    // infinite. The demotion (sorted first: infinite sender power) applies.
    expect(f.names(resolveState('12', [a, b], f.getEvent))).toEqual(['CREATE', 'DEMOTE', 'JR', 'MA', 'MB', 'MC'])
  })

  it('an additional creator outranks a PL 100 admin: Charlie\'s topic is ordered with infinite power and Bob cannot kick Charlie', () => {
    const f = room()
    f.add({ id: 'KICK_C', sender: BOB, type: 'm.room.member', stateKey: CHARLIE, content: { membership: 'leave' }, auth: ['PL', 'MB', 'MC'], prev: ['MC'] })
    f.add({ id: 'PL_C', sender: CHARLIE, type: 'm.room.power_levels', stateKey: '', content: { users: { [BOB]: 50 } }, auth: ['PL', 'MC'], prev: ['MC'] })
    const a = f.state('CREATE', 'MA', 'PL', 'JR', 'MB', 'KICK_C')
    const b = f.state('CREATE', 'MA', 'PL_C', 'JR', 'MB', 'MC')
    expect(f.names(resolveState('12', [a, b], f.getEvent))).toEqual(['CREATE', 'JR', 'MA', 'MB', 'MC', 'PL_C'])
  })
})
