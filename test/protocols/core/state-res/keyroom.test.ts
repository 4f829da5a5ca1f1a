/**
 * keyroom.1 conflicts in state resolution, with real signed events (room/ builders): the auth
 * events selection names the signing device's `keyroom.device` record and an invite-link join's
 * link, so the iterative auth checks judge a forked event by the *resolved* record, not by the
 * one its own auth events cite. Each test is named after the conflict and states the outcome.
 */
import { describe, expect, it } from 'vitest'
import { createRevocation } from '../../../../protocols/core/identity/index.js'
import { roomVersionRules } from '../../../../protocols/core/room-versions.js'
import {
  authStateOfAuthEvents, buildDeviceAttestation, buildDeviceRevocation, buildInviteLink, buildJoin, buildJoinRules, buildKick, buildName,
  buildRevokeInviteLink, buildTopic, checkRoomAuth, inviteLinkKeys, keyroomAuthHooks, pduOf, scenarioSeed
} from '../../../../protocols/core/room/index.js'
import type { IdentifiedEvent, RoomState } from '../../../../protocols/core/room/index.js'
import { resolveState, stateMapKey } from '../../../../protocols/core/state-res/index.js'
import { T0, TestRoom, fork, alice, bob, carol, deviceIdOf, mallory, signRaw, user, xavier } from '../room/fixtures.js'

const rules = roomVersionRules('keyroom.1')

/** The state as state resolution takes it: state map key → event ID. */
function stateMap (state: RoomState): Map<string, string> {
  const map = new Map<string, string>()
  for (const entry of state.entries()) map.set(stateMapKey(entry.event.type, entry.event.state_key!), entry.eventId)
  return map
}

/** Resolves two forks in both orders with the default hooks; asserts both agree and match explicit hooks. */
function resolveBothWays (room: TestRoom, a: RoomState, b: RoomState): Map<string, string> {
  const ab = resolveState('keyroom.1', [stateMap(a), stateMap(b)], room.getEvent)
  const ba = resolveState('keyroom.1', [stateMap(b), stateMap(a)], room.getEvent)
  const explicit = resolveState('keyroom.1', [stateMap(a), stateMap(b)], room.getEvent, { authHooks: keyroomAuthHooks({ getEvent: room.getEvent }) })
  expect(ba).toEqual(ab)
  expect(explicit).toEqual(ab)
  return ab
}

/** The event ID at `(type, stateKey)` of a resolved state. */
function at (resolved: Map<string, string>, type: string, stateKey: string): string | undefined {
  return resolved.get(stateMapKey(type, stateKey))
}

/** Whether `entry` passes the keyroom.1 rules against its own auth events (receipt check 4). */
function allowedByOwnAuthEvents (room: TestRoom, entry: IdentifiedEvent): boolean {
  const pdu = pduOf(entry.event, entry.eventId)!
  return checkRoomAuth(rules, pdu, authStateOfAuthEvents(rules, pdu, { getEvent: room.getEvent })).ok
}

/** Bob (moderator, 50) in Alice's room, with a second device (his phone) recorded in `keyroom.device`. */
function roomWithBobsPhone (phoneOptions: { issuedTs?: number, expiresTs?: number } = {}): { room: TestRoom, phone: ReturnType<typeof user>, record: IdentifiedEvent } {
  const room = new TestRoom(alice, { powerLevels: { users: { [bob.userId]: 50 } } })
  room.inviteAndJoin(alice, bob)
  room.inviteAndJoin(alice, carol)
  const phone = user('bob', { deviceIndex: 3, ...phoneOptions })
  const record = room.add(buildDeviceAttestation(bob.device, room.ctx(), { ...room.ts(), attestation: phone.device.attestation }))
  return { room, phone, record }
}

describe('keyroom.1 state resolution: the resolved device record judges a forked event', () => {
  it('a device revoked on one fork while it sets the topic on the other: the revocation stands and the revoked device\'s topic does not win', () => {
    const { room, phone, record } = roomWithBobsPhone()
    const branch = fork(room)
    const revokedTs = T0 + 100_000
    const revocation = room.add(buildDeviceRevocation(bob.device, room.ctx(), {
      originServerTs: revokedTs, revocation: createRevocation({ upkSeed: bob.upkSeed, udk: deviceIdOf(phone), revokedTs })
    }))
    // The thief keeps the phone; a peer withholds the revocation from the phone's fork.
    const topic = branch.add(buildTopic(phone.device, branch.ctx(), { originServerTs: revokedTs + 10, topic: 'stolen' }))
    expect(topic.event.auth_events).toContain(record.eventId)
    // On its own auth events (the phone's old record) the topic is allowed: only the resolved record refuses it.
    expect(allowedByOwnAuthEvents(room, topic)).toBe(true)
    const resolved = resolveBothWays(room, room.state, branch.state)
    expect(at(resolved, 'keyroom.device', deviceIdOf(phone))).toBe(revocation.eventId)
    expect(at(resolved, 'm.room.topic', '')).toBeUndefined()
  })

  it('a device revoked (back-dated) on one fork while it renames the room on the other, timestamped before the revocation event but after revoked_ts: the name does not win', () => {
    const { room, phone } = roomWithBobsPhone()
    const branch = fork(room)
    // Bob revokes the lost phone from the moment he lost it, some time before he sends the revocation.
    const revokedTs = T0 + 100_000
    const revocation = room.add(buildDeviceRevocation(bob.device, room.ctx(), {
      originServerTs: revokedTs + 50_000, revocation: createRevocation({ upkSeed: bob.upkSeed, udk: deviceIdOf(phone), revokedTs })
    }))
    const name = branch.add(buildName(phone.device, branch.ctx(), { originServerTs: revokedTs + 10, name: 'stolen' }))
    expect(allowedByOwnAuthEvents(room, name)).toBe(true)
    const resolved = resolveBothWays(room, room.state, branch.state)
    expect(at(resolved, 'keyroom.device', deviceIdOf(phone))).toBe(revocation.eventId)
    expect(at(resolved, 'm.room.name', '')).toBeUndefined()
  })

  it('a device revoked on one fork while it kicks a member on the other: the revocation resolves with the power events and the kick does not win', () => {
    const { room, phone } = roomWithBobsPhone()
    const branch = fork(room)
    const carolJoin = room.state.entry('m.room.member', carol.userId)!.eventId
    const revokedTs = T0 + 100_000
    room.add(buildDeviceRevocation(bob.device, room.ctx(), {
      originServerTs: revokedTs, revocation: createRevocation({ upkSeed: bob.upkSeed, udk: deviceIdOf(phone), revokedTs })
    }))
    const kick = branch.add(buildKick(phone.device, branch.ctx(), { originServerTs: revokedTs + 10, target: carol.userId }))
    expect(allowedByOwnAuthEvents(room, kick)).toBe(true)
    const resolved = resolveBothWays(room, room.state, branch.state)
    expect(at(resolved, 'm.room.member', carol.userId)).toBe(carolJoin)
  })

  it('a device revoked on one fork while it opens the room on the other, after the revocation event: the join rules change does not win', () => {
    const { room, phone } = roomWithBobsPhone()
    const joinRules = room.state.entry('m.room.join_rules', '')!.eventId
    const branch = fork(room)
    const revokedTs = T0 + 100_000
    room.add(buildDeviceRevocation(bob.device, room.ctx(), {
      originServerTs: revokedTs, revocation: createRevocation({ upkSeed: bob.upkSeed, udk: deviceIdOf(phone), revokedTs })
    }))
    const open = branch.add(buildJoinRules(phone.device, branch.ctx(), { originServerTs: revokedTs + 10, joinRule: 'public' }))
    expect(allowedByOwnAuthEvents(room, open)).toBe(true)
    const resolved = resolveBothWays(room, room.state, branch.state)
    expect(at(resolved, 'm.room.join_rules', '')).toBe(joinRules)
  })

  it('a device revoked on one fork while it opens the room on the other, timestamped between revoked_ts and the revocation event: ordered first among one sender\'s power events, the join rules change still wins (timestamps are self-asserted)', () => {
    const { room, phone } = roomWithBobsPhone()
    const branch = fork(room)
    const revokedTs = T0 + 100_000
    room.add(buildDeviceRevocation(bob.device, room.ctx(), {
      originServerTs: revokedTs + 50_000, revocation: createRevocation({ upkSeed: bob.upkSeed, udk: deviceIdOf(phone), revokedTs })
    }))
    const open = branch.add(buildJoinRules(phone.device, branch.ctx(), { originServerTs: revokedTs + 10, joinRule: 'public' }))
    const resolved = resolveBothWays(room, room.state, branch.state)
    // docs/threats.md, "A revoked device keeps sending": the window left to a back-dating thief.
    expect(at(resolved, 'm.room.join_rules', '')).toBe(open.eventId)
  })

  it('the same device sending before revoked_ts on the other fork: its topic still wins (a revocation applies from revoked_ts on)', () => {
    const { room, phone } = roomWithBobsPhone()
    const branch = fork(room)
    const revokedTs = T0 + 100_000
    room.add(buildDeviceRevocation(bob.device, room.ctx(), {
      originServerTs: revokedTs, revocation: createRevocation({ upkSeed: bob.upkSeed, udk: deviceIdOf(phone), revokedTs })
    }))
    const topic = branch.add(buildTopic(phone.device, branch.ctx(), { originServerTs: revokedTs - 10, topic: 'before I lost it' }))
    const resolved = resolveBothWays(room, room.state, branch.state)
    expect(at(resolved, 'm.room.topic', '')).toBe(topic.eventId)
  })

  it('an attestation shortened on one fork, expired at the event\'s timestamp on the other: the later topic does not win, the earlier name does', () => {
    // The phone's first record never expires; on fork A Bob re-attests it until `expiry`.
    const { room } = roomWithBobsPhone()
    const phone = user('bob', { deviceIndex: 3 })
    const expiry = T0 + 200_000
    const shortLived = user('bob', { deviceIndex: 3, issuedTs: T0, expiresTs: expiry })
    const branch = fork(room)
    const shortened = room.add(buildDeviceAttestation(bob.device, room.ctx(), { originServerTs: T0 + 100_000, attestation: shortLived.device.attestation }))
    // On fork B the phone names the room before the new expiry and sets the topic after it.
    const name = branch.add(buildName(phone.device, branch.ctx(), { originServerTs: expiry - 10, name: 'in time' }))
    const topic = branch.add(buildTopic(phone.device, branch.ctx(), { originServerTs: expiry + 10, topic: 'too late' }))
    expect(allowedByOwnAuthEvents(room, topic)).toBe(true)
    const resolved = resolveBothWays(room, room.state, branch.state)
    expect(at(resolved, 'keyroom.device', deviceIdOf(phone))).toBe(shortened.eventId)
    expect(at(resolved, 'm.room.name', '')).toBe(name.eventId)
    expect(at(resolved, 'm.room.topic', '')).toBeUndefined()
  })
})

describe('keyroom.1 state resolution: the resolved invite link judges an invite-link join', () => {
  it('an invite link revoked on one fork while someone joins through it on the other: the revocation stands and the join does not', () => {
    const room = new TestRoom()
    const linkSeed = scenarioSeed('state-res/link')
    const link = room.add(buildInviteLink(alice.device, room.ctx(), { ...room.ts(), linkSeed }))
    const branch = fork(room)
    const revoke = room.add(buildRevokeInviteLink(alice.device, room.ctx(), { ...room.ts(), token: inviteLinkKeys(linkSeed).token }))
    const join = branch.add(buildJoin(xavier.device, branch.ctx(), { ...room.ts(), via: { kind: 'invite-link', linkSeed } }))
    expect(join.event.auth_events).toContain(link.eventId)
    expect(allowedByOwnAuthEvents(room, join)).toBe(true)
    const resolved = resolveBothWays(room, room.state, branch.state)
    expect(at(resolved, 'm.room.third_party_invite', inviteLinkKeys(linkSeed).token)).toBe(revoke.eventId)
    expect(at(resolved, 'm.room.member', xavier.userId)).toBeUndefined()
  })

  it('an invite link still live on both forks: the join through it wins', () => {
    const room = new TestRoom()
    const linkSeed = scenarioSeed('state-res/live-link')
    room.add(buildInviteLink(alice.device, room.ctx(), { ...room.ts(), linkSeed }))
    const branch = fork(room)
    room.add(buildName(alice.device, room.ctx(), { ...room.ts(), name: 'meanwhile' }))
    const join = branch.add(buildJoin(xavier.device, branch.ctx(), { ...room.ts(), via: { kind: 'invite-link', linkSeed } }))
    const resolved = resolveBothWays(room, room.state, branch.state)
    expect(at(resolved, 'm.room.member', xavier.userId)).toBe(join.eventId)
  })
})

describe('keyroom.1 state resolution: the room version\'s hooks by default', () => {
  it('without authHooks, a keyroom.1 resolution applies the keyroom rules: a device record exempt from state_default resolves in, a topic signed by a device the sender never attested does not', () => {
    // Bob is at 0 < state_default: only keyroom.1's override lets his device record in.
    const room = new TestRoom()
    room.inviteAndJoin(alice, bob)
    const branch = fork(room)
    room.add(buildName(alice.device, room.ctx(), { ...room.ts(), name: 'meanwhile' }))
    const phone = user('bob', { deviceIndex: 4 })
    const record = branch.add(buildDeviceAttestation(bob.device, branch.ctx(), { ...room.ts(), attestation: phone.device.attestation }))
    // A peer's device signs a topic "by Alice" (the Matrix rules never look at the signer).
    const forged = branch.add(signRaw(mallory, { ...buildTopic(alice.device, branch.ctx(), { ...room.ts(), topic: 'forged' }).event, signatures: undefined, hashes: undefined }))
    const sets = [stateMap(room.state), stateMap(branch.state)]
    const resolved = resolveState('keyroom.1', sets, room.getEvent)
    expect(at(resolved, 'keyroom.device', deviceIdOf(phone))).toBe(record.eventId)
    expect(at(resolved, 'm.room.topic', '')).toBeUndefined()
    // Explicitly empty hooks are the bare Matrix rules (the caller's choice): the record fails
    // state_default and the forged topic passes — what a node that forgot the hooks used to get.
    const bare = resolveState('keyroom.1', sets, room.getEvent, { authHooks: {} })
    expect(at(bare, 'keyroom.device', deviceIdOf(phone))).toBeUndefined()
    expect(at(bare, 'm.room.topic', '')).toBe(forged.eventId)
  })
})
