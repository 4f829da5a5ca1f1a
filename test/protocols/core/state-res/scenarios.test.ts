/**
 * State resolution v2 scenarios: each is named after the conflict it tests and states the
 * expected outcome. A room is built from events and `prev_events` chains (fixtures.ts,
 * `buildDag`): every merge point is resolved, every event's auth events come from the state
 * before it. The outcome checked is the state at END that changed since START.
 *
 * The scenarios are the classic conflicts of state resolution v2 (those Synapse's and ruma's
 * suites exercise): they run in room versions 2 (event IDs with a domain, state resolution v2),
 * 10 (integer power levels) and 11 (creator = sender).
 */
import { describe, expect, it } from 'vitest'
import { ALICE, BOB, CHARLIE, EVELYN, INITIAL_CHAIN, ZARA, buildDag, changedState, initialEvents } from './fixtures.js'
import type { EventSpec } from './fixtures.js'

const VERSIONS = ['2', '10', '11'] as const

function outcome (version: string, events: EventSpec[], chains: string[][]): string[] {
  const create = version === '11' ? { room_version: '11' } : { creator: ALICE }
  const dag = buildDag(version, [...initialEvents(create), ...events], [[...INITIAL_CHAIN], ...chains])
  return changedState(dag.factory, dag.stateAfter('START'), dag.stateBefore('END'))
}

const member = (id: string, sender: string, target: string, membership: string): EventSpec =>
  ({ id, sender, type: 'm.room.member', stateKey: target, content: { membership } })
const pl = (id: string, sender: string, users: Record<string, number>, extra: Record<string, unknown> = {}): EventSpec =>
  ({ id, sender, type: 'm.room.power_levels', stateKey: '', content: { users, ...extra } })
const topic = (id: string, sender: string): EventSpec => ({ id, sender, type: 'm.room.topic', stateKey: '', content: { topic: id } })

describe.each(VERSIONS)('state resolution v2 scenarios, room version %s', (version) => {
  it('ban vs power levels: Alice bans Bob while Bob changes power levels; the ban wins and Bob\'s change is dropped', () => {
    const events = [
      pl('PA', ALICE, { [ALICE]: 100, [BOB]: 50 }),
      member('MA', ALICE, ALICE, 'join'),
      member('MB', ALICE, BOB, 'ban'),
      pl('PB', BOB, { [ALICE]: 100, [BOB]: 50 })
    ]
    expect(outcome(version, events, [['END', 'MB', 'MA', 'PA', 'START'], ['END', 'PB', 'PA']])).toEqual(['MA', 'MB', 'PA'])
  })

  it('join rules evasion: Evelyn joins while Alice makes the room private; the join rules change wins, the join is dropped', () => {
    const events: EventSpec[] = [
      { id: 'JR', sender: ALICE, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'invite' } },
      member('ME', EVELYN, EVELYN, 'join')
    ]
    expect(outcome(version, events, [['END', 'JR', 'START'], ['END', 'ME', 'START']])).toEqual(['JR'])
  })

  it('join rules without a join_rule (offtopic content): treated as invite, so the concurrent join is dropped', () => {
    const events: EventSpec[] = [
      { id: 'JR', sender: ALICE, type: 'm.room.join_rules', stateKey: '', content: { join_rules: 'private' } },
      member('ME', EVELYN, EVELYN, 'join')
    ]
    expect(outcome(version, events, [['END', 'JR', 'START'], ['END', 'ME', 'START']])).toEqual(['JR'])
  })

  it('offtopic power levels: a chain of power level changes on one fork beats the stale side', () => {
    const events = [
      pl('PA', ALICE, { [ALICE]: 100, [BOB]: 50 }),
      pl('PB', BOB, { [ALICE]: 100, [BOB]: 50, [CHARLIE]: 50 }),
      pl('PC', CHARLIE, { [ALICE]: 100, [BOB]: 50, [CHARLIE]: 0 })
    ]
    expect(outcome(version, events, [['END', 'PC', 'PB', 'PA', 'START'], ['END', 'PA']])).toEqual(['PC'])
  })

  it('topic basic: Alice demotes Bob while Bob sets the topic; Alice\'s topic and power levels win', () => {
    const events = [
      topic('T1', ALICE),
      pl('PA1', ALICE, { [ALICE]: 100, [BOB]: 50 }),
      topic('T2', ALICE),
      pl('PA2', ALICE, { [ALICE]: 100, [BOB]: 0 }),
      pl('PB', BOB, { [ALICE]: 100, [BOB]: 50 }),
      topic('T3', BOB)
    ]
    expect(outcome(version, events, [['END', 'PA2', 'T2', 'PA1', 'T1', 'START'], ['END', 'T3', 'PB', 'PA1']])).toEqual(['PA2', 'T2'])
  })

  it('topic reset: Bob sets a topic and is then banned; the fork that never saw either keeps the old topic T1', () => {
    const events = [
      topic('T1', ALICE),
      pl('PA', ALICE, { [ALICE]: 100, [BOB]: 50 }),
      topic('T2', BOB),
      member('MB', ALICE, BOB, 'ban')
    ]
    expect(outcome(version, events, [['END', 'MB', 'T2', 'PA', 'T1', 'START'], ['END', 'T1']])).toEqual(['MB', 'PA', 'T1'])
  })

  it('topic with power levels: the latest topic by Alice after a message merge wins over Bob\'s', () => {
    const events: EventSpec[] = [
      topic('T1', ALICE),
      pl('PA1', ALICE, { [ALICE]: 100, [BOB]: 50 }),
      topic('T2', ALICE),
      pl('PA2', ALICE, { [ALICE]: 100, [BOB]: 0 }),
      pl('PB', BOB, { [ALICE]: 100, [BOB]: 50 }),
      topic('T3', BOB),
      { id: 'MZ1', sender: ZARA, type: 'm.room.message', content: {} },
      topic('T4', ALICE)
    ]
    const chains = [['END', 'T4', 'MZ1', 'PA2', 'T2', 'PA1', 'T1', 'START'], ['END', 'MZ1', 'T3', 'PB', 'PA1']]
    expect(outcome(version, events, chains)).toEqual(['PA2', 'T4'])
  })

  it('mainline sort: T3 cites the newest power levels, so it beats the later-sent T4 that cites older ones', () => {
    const events = [
      topic('T1', ALICE),
      pl('PA1', ALICE, { [ALICE]: 100, [BOB]: 50 }),
      topic('T2', ALICE),
      pl('PA2', ALICE, { [ALICE]: 100, [BOB]: 50 }, { events: { 'm.room.power_levels': 100 } }),
      pl('PB', BOB, { [ALICE]: 100, [BOB]: 50 }),
      topic('T3', BOB),
      topic('T4', ALICE)
    ]
    expect(outcome(version, events, [['END', 'T3', 'PA2', 'T2', 'PA1', 'T1', 'START'], ['END', 'T4', 'PB', 'PA1']])).toEqual(['PA2', 'T3'])
  })

  it('kick vs ban: Alice kicks Charlie while Bob (moderator) bans him; the ban is applied after the kick and wins', () => {
    const events = [
      pl('PA', ALICE, { [ALICE]: 100, [BOB]: 50 }),
      member('KC', ALICE, CHARLIE, 'leave'),
      member('BC', BOB, CHARLIE, 'ban')
    ]
    // Both are power events of equal… no: Alice (100) sorts before Bob (50), so KC applies first,
    // then BC (Bob may ban a user below him whatever the user's membership).
    expect(outcome(version, events, [['END', 'KC', 'PA', 'START'], ['END', 'BC', 'PA']])).toEqual(['BC', 'PA'])
  })

  it('ban in a fork: Charlie is banned on one fork and sets the topic on the other; the ban wins and the topic is dropped', () => {
    const events = [
      pl('PA', ALICE, { [ALICE]: 100, [CHARLIE]: 50 }),
      member('MC', ALICE, CHARLIE, 'ban'),
      topic('TC', CHARLIE)
    ]
    expect(outcome(version, events, [['END', 'MC', 'PA', 'START'], ['END', 'TC', 'PA']])).toEqual(['MC', 'PA'])
  })

  it('concurrent joins: Evelyn and a new user join on different forks; both joins are kept', () => {
    const events = [member('ME', EVELYN, EVELYN, 'join'), member('MX', '@xavier:example.com', '@xavier:example.com', 'join')]
    expect(outcome(version, events, [['END', 'ME', 'START'], ['END', 'MX', 'START']])).toEqual(['ME', 'MX'])
  })

  it('same timestamp: two topics by Alice with equal origin_server_ts and mainline position; the smaller event ID is applied first, the larger wins', () => {
    const events: EventSpec[] = [
      { ...topic('TB', ALICE), ts: 1000 },
      { ...topic('TA', ALICE), ts: 1000 }
    ]
    expect(outcome(version, events, [['END', 'TB', 'START'], ['END', 'TA', 'START']])).toEqual(['TB'])
  })
})
