/**
 * Scenario builders: deterministic rooms for tests and benchmarks (STYLE habit 14: fixtures
 * named after what they set up). Seeds derive from a label by SHA-256, so the same call builds
 * byte-identical events every time — no randomness in the core.
 */
import { sha256 } from '../crypto/index.js'
import { createAttestation, userKeyPair } from '../identity/index.js'
import type { AttestationJson, UserId } from '../identity/index.js'
import { buildCreateRoom, buildInvite, buildJoin, RoomTimeline } from './builders.js'
import type { RoomState } from './room-state.js'
import type { IdentifiedEvent, RoomEvent, SigningDevice } from './types.js'

/** A deterministic 32-byte seed for `label`. */
export function scenarioSeed (label: string): Uint8Array {
  return sha256(new TextEncoder().encode(`keyroom scenario seed\n${label}`))
}

/** A user with one device, made from labels. */
export interface ScenarioUser {
  readonly name: string
  readonly userId: UserId
  readonly upkSeed: Uint8Array
  readonly device: SigningDevice
}

/** Options of {@link scenarioUser}. */
export interface ScenarioUserOptions {
  /** Which device of the user (default 0); each gets its own UDK. */
  deviceIndex?: number
  /** Attestation times (default issued at 0, no expiry). */
  issuedTs?: number
  expiresTs?: number
}

/** A user named `name` with device `deviceIndex`, attested by the user's UPK. */
export function scenarioUser (name: string, options: ScenarioUserOptions = {}): ScenarioUser {
  const upkSeed = scenarioSeed(`user/${name}`)
  const deviceSeed = scenarioSeed(`device/${name}/${options.deviceIndex ?? 0}`)
  const userId = userKeyPair(upkSeed).userId
  const input: { upkSeed: Uint8Array, udkSeed: Uint8Array, issuedTs: number, expiresTs?: number } = {
    upkSeed, udkSeed: deviceSeed, issuedTs: options.issuedTs ?? 0
  }
  if (options.expiresTs !== undefined) input.expiresTs = options.expiresTs
  const attestation: AttestationJson = createAttestation(input)
  return { name, userId, upkSeed, device: { userId, deviceSeed, attestation } }
}

/** A room built by a scenario, with everything a verifier or a test needs. */
export interface ScenarioRoom {
  readonly roomId: string
  readonly creator: ScenarioUser
  /** Members other than the creator, in join order. */
  readonly members: readonly ScenarioUser[]
  /** Every event, by ID. */
  readonly events: ReadonlyMap<string, RoomEvent>
  /** Every event in the order built. */
  readonly timeline: readonly IdentifiedEvent[]
  /** The state after the last event. */
  readonly state: RoomState
  /** For appending more events. */
  readonly builder: RoomTimeline
  /** Events by ID, as a lookup. */
  readonly getEvent: (eventId: string) => RoomEvent | undefined
}

/** Options of {@link buildVerifiedRoom}. */
export interface VerifiedRoomOptions {
  /**
   * Who invites whom: `star` — the creator invites everyone (one inviter, shared attestation);
   * `chain` — each member invites the next (chains as deep as the room); `tree` — member i is
   * invited by member ⌊(i − 1) / fanout⌋ (default fanout 8).
   */
  shape?: 'star' | 'chain' | 'tree'
  fanout?: number
  /** Label for the seeds (different labels, different keys). Default `room`. */
  label?: string
  /** Timestamp of every event (default 1). */
  originServerTs?: number
}

/**
 * A room with `memberCount` joined members besides its creator, each invited and joined with
 * full MSC3917 chains, so every member verifies. Invites are open to every member (power level
 * `invite: 0`) so the chain and tree shapes are authorized too.
 */
export function buildVerifiedRoom (memberCount: number, options: VerifiedRoomOptions = {}): ScenarioRoom {
  const label = options.label ?? 'room'
  const shape = options.shape ?? 'star'
  const fanout = options.fanout ?? 8
  const ts = { originServerTs: options.originServerTs ?? 1 }
  const creator = scenarioUser(`${label}/creator`)
  const created = buildCreateRoom({ device: creator.device, rrkSeed: scenarioSeed(`rrk/${label}`), ...ts, powerLevels: { invite: 0 } })
  const builder = new RoomTimeline(created.roomId, { state: created.state, prevEvents: created.next.prevEvents, depth: created.next.depth })
  const timeline: IdentifiedEvent[] = [...created.events]
  const members: ScenarioUser[] = []
  for (let i = 0; i < memberCount; i++) {
    const user = scenarioUser(`${label}/member/${i}`)
    let inviter = creator
    if (shape === 'chain' && i > 0) inviter = members[i - 1]!
    if (shape === 'tree' && i > 0) inviter = members[Math.floor((i - 1) / fanout)]!
    timeline.push(builder.add(buildInvite(inviter.device, builder.context(), { ...ts, target: user.userId })))
    timeline.push(builder.add(buildJoin(user.device, builder.context(), { ...ts, via: { kind: 'invite' } })))
    members.push(user)
  }
  const events = new Map<string, RoomEvent>()
  for (const entry of timeline) events.set(entry.eventId, entry.event)
  return {
    roomId: created.roomId,
    creator,
    members,
    events,
    timeline,
    state: builder.state,
    builder,
    getEvent: (eventId) => events.get(eventId)
  }
}
