/**
 * Shared fixtures of the room tests: named users, a small room that records every event, and a
 * way to sign arbitrary (adversarial) events with a user's device.
 */
import { signEventWithId } from '../../../../protocols/core/events/index.js'
import { deviceKeyPair } from '../../../../protocols/core/identity/index.js'
import {
  MembershipVerifier, RoomTimeline, authLookupOf, buildCreateRoom, buildInvite, buildJoin, decide, scenarioSeed, scenarioUser
} from '../../../../protocols/core/room/index.js'
import type {
  CreateRoomInput, Decision, IdentifiedEvent, JoinVia, RoomContext, RoomEvent, RoomState, ScenarioUser, ScenarioUserOptions
} from '../../../../protocols/core/room/index.js'

/** Start of every test room's clock. */
export const T0 = 1_700_000_000_000

/** A user named `name` (deterministic keys). */
export function user (name: string, options: ScenarioUserOptions = {}): ScenarioUser {
  return scenarioUser(`test/${name}`, options)
}

export const alice = user('alice')
export const bob = user('bob')
export const carol = user('carol')
export const dave = user('dave')
/** A user the attacking peer controls. */
export const mallory = user('mallory')
export const xavier = user('xavier')

/** A room under test: a timeline plus every event by ID. */
export class TestRoom {
  readonly events = new Map<string, RoomEvent>()
  readonly log: IdentifiedEvent[] = []
  readonly timeline: RoomTimeline
  readonly roomId: string
  private clock = T0

  constructor (readonly creator: ScenarioUser = alice, options: Partial<Omit<CreateRoomInput, 'device' | 'rrkSeed' | 'originServerTs'>> & { label?: string } = {}) {
    const created = buildCreateRoom({ device: creator.device, rrkSeed: scenarioSeed(`test-room/${options.label ?? 'main'}`), originServerTs: this.clock, ...options })
    this.roomId = created.roomId
    this.timeline = new RoomTimeline(created.roomId, { state: created.state, prevEvents: created.next.prevEvents, depth: created.next.depth })
    for (const entry of created.events) this.record(entry)
  }

  /** Every event by ID. */
  readonly getEvent = (eventId: string): RoomEvent | undefined => this.events.get(eventId)

  /** The current state. */
  get state (): RoomState {
    return this.timeline.state
  }

  /** The next timestamp (strictly increasing). */
  ts (): { originServerTs: number } {
    this.clock += 1000
    return { originServerTs: this.clock }
  }

  /** The context for the next event. */
  ctx (): RoomContext {
    return this.timeline.context()
  }

  /** Stores an event without making it part of the timeline or state (a fork's event). */
  record (entry: IdentifiedEvent): IdentifiedEvent {
    this.events.set(entry.eventId, entry.event)
    this.log.push(entry)
    return entry
  }

  /** Stores an event and appends it to the timeline (it becomes the tip and its state applies). */
  add (entry: IdentifiedEvent): IdentifiedEvent {
    this.record(entry)
    return this.timeline.add(entry)
  }

  /** Invites `target` (by `by`) and has them join. */
  inviteAndJoin (by: ScenarioUser, target: ScenarioUser): { invite: IdentifiedEvent, join: IdentifiedEvent } {
    const invite = this.add(buildInvite(by.device, this.ctx(), { ...this.ts(), target: target.userId }))
    const join = this.add(buildJoin(target.device, this.ctx(), { ...this.ts(), via: { kind: 'invite' } }))
    return { invite, join }
  }

  /** Joins `who` through `via`. */
  join (who: ScenarioUser, via: JoinVia): IdentifiedEvent {
    return this.add(buildJoin(who.device, this.ctx(), { ...this.ts(), via }))
  }

  /**
   * Decides `entry` the way a node holding this room would: state before = the given state (the
   * current state by default), current state = this room's state.
   */
  decide (entry: IdentifiedEvent, options: { stateBefore?: RoomState, currentState?: RoomState | null, now?: number } = {}): Decision {
    const current = options.currentState === undefined ? this.state : options.currentState
    return decide(entry.event, {
      eventId: entry.eventId,
      getEvent: this.getEvent,
      stateBefore: authLookupOf(options.stateBefore ?? this.state),
      ...(current === null ? {} : { currentState: authLookupOf(current) }),
      now: options.now ?? this.clock
    })
  }

  /** A membership verifier fed with this room's current member and device state. */
  verifier (): MembershipVerifier {
    const verifier = new MembershipVerifier({ roomId: this.roomId, getEvent: this.getEvent })
    for (const entry of this.state.ofType('m.room.member')) verifier.applyState(entry)
    for (const entry of this.state.ofType('keyroom.device')) verifier.applyState(entry)
    return verifier
  }
}

/**
 * Signs an arbitrary event object with `signer`'s device, as an attacker or a buggy peer would:
 * no field is filled in or checked. Returns it with its ID.
 */
export function signRaw (signer: ScenarioUser, event: Record<string, unknown>): IdentifiedEvent {
  const deviceId = deviceKeyPair(signer.device.deviceSeed).deviceId
  const signed = signEventWithId(withoutUndefined(event), deviceId, 'ed25519', signer.device.deviceSeed, 'keyroom.1')
  return { eventId: signed.eventId, event: signed.event as RoomEvent }
}

/** A copy without the keys whose value is `undefined` (one level, and in `content`): "delete this field". */
function withoutUndefined (event: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(event)) {
    if (value === undefined) continue
    out[key] = key === 'content' && typeof value === 'object' && value !== null ? withoutUndefined(value as Record<string, unknown>) : value
  }
  return out
}

/** A copy of `entry`'s event with `changes` applied, re-signed by `signer`. */
export function resign (signer: ScenarioUser, entry: IdentifiedEvent, changes: Record<string, unknown>): IdentifiedEvent {
  const { signatures: _signatures, hashes: _hashes, ...rest } = entry.event as unknown as Record<string, unknown>
  return signRaw(signer, { ...rest, ...changes })
}

/** A copy of `entry`'s event with `content` fields changed, re-signed by `signer`. */
export function resignContent (signer: ScenarioUser, entry: IdentifiedEvent, content: Record<string, unknown>): IdentifiedEvent {
  return resign(signer, entry, { content: { ...entry.event.content, ...content } })
}

/** The device ID of a user's device. */
export function deviceIdOf (who: ScenarioUser): string {
  return deviceKeyPair(who.device.deviceSeed).deviceId
}

/** A fork at the room's current tip: a context with a private copy of the state, and a way to extend it. */
export function fork (room: TestRoom): { ctx: () => RoomContext, state: RoomState, add: (entry: IdentifiedEvent) => IdentifiedEvent } {
  const state = room.state.clone()
  let tips = [...room.ctx().prevEvents]
  let depth = room.ctx().depth
  return {
    state,
    ctx: () => ({ roomId: room.roomId, prevEvents: tips, depth, state }),
    add: (entry) => {
      room.record(entry)
      state.apply(entry)
      tips = [entry.eventId]
      depth = entry.event.depth + 1
      return entry
    }
  }
}
