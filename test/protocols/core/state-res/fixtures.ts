/**
 * A small fixture DSL for authorization and state resolution tests (and the bench).
 *
 * Events get fake IDs (`$NAME`, or `$NAME:example.com` in room versions 1–2 whose event IDs
 * carry a domain); nothing is signed. Two ways to build a room:
 *
 * - {@link EventFactory}: every event spelled out, with explicit `auth`/`prev` lists — for
 *   hand-made state sets (e.g. MSC4297's "dodgy" partial-sync states).
 * - {@link buildDag}: events plus `prev_events` chains; each event's state before it is the
 *   resolution of its parents' states and its `auth_events` are chosen from that state by the
 *   auth events selection, like a homeserver would. Timestamps follow the processing order
 *   (a topological order of the chains, smallest name first).
 */
import { authTypesForEvent } from '../../../../protocols/core/auth/index.js'
import type { PduLike } from '../../../../protocols/core/auth/index.js'
import { roomVersionRules } from '../../../../protocols/core/room-versions.js'
import { resolveState, stateMapKey } from '../../../../protocols/core/state-res/index.js'

export const ALICE = '@alice:example.com'
export const BOB = '@bob:example.com'
export const CHARLIE = '@charlie:example.com'
export const EVELYN = '@evelyn:example.com'
export const ZARA = '@zara:example.com'

/** A mutable PDU as tests build it. */
export interface TestPdu extends PduLike {
  content: Record<string, unknown>
  origin_server_ts: number
}

/** One event of a fixture. */
export interface EventSpec {
  /** Short name; the event ID is derived from it. */
  readonly id: string
  readonly sender: string
  readonly type: string
  readonly stateKey?: string
  readonly content?: Record<string, unknown>
  /** Explicit `origin_server_ts` (default: order of creation). */
  readonly ts?: number
}

/** Explicit event construction with fake IDs. */
export class EventFactory {
  readonly roomVersion: string
  readonly events = new Map<string, TestPdu>()
  #roomId: string | undefined
  #ts = 0

  constructor (roomVersion: string, roomId?: string) {
    this.roomVersion = roomVersion
    this.#roomId = roomId
  }

  /** The event ID of a fixture name. */
  id (name: string): string {
    return roomVersionRules(this.roomVersion).eventIdFormat === 'origin' ? `$${name}:example.com` : `$${name}`
  }

  /** The room ID: in room version 12 the create event's ID with `!`; otherwise a fixed one. */
  get roomId (): string {
    if (this.#roomId !== undefined) return this.#roomId
    return '!room:example.com'
  }

  /**
   * Add an event. `auth` and `prev` are fixture names (or full IDs starting with `$`).
   * A v12 `m.room.create` gets no `room_id` and fixes the room ID to `!` + its name.
   */
  add (spec: EventSpec & { readonly auth?: readonly string[], readonly prev?: readonly string[], readonly extra?: Record<string, unknown> }): TestPdu {
    const rules = roomVersionRules(this.roomVersion)
    const isV12Create = spec.type === 'm.room.create' && rules.roomIdIsCreateEventHash
    const eventId = this.id(spec.id)
    if (isV12Create) this.#roomId = '!' + eventId.slice(1)
    const ref = (name: string): string => (name.startsWith('$') ? name : this.id(name))
    const ts = spec.ts ?? ++this.#ts
    const pdu: TestPdu = {
      event_id: eventId,
      ...(isV12Create ? {} : { room_id: this.roomId }),
      type: spec.type,
      ...(spec.stateKey === undefined ? {} : { state_key: spec.stateKey }),
      sender: spec.sender,
      content: { ...(spec.content ?? {}) },
      prev_events: (spec.prev ?? []).map(ref),
      auth_events: (spec.auth ?? []).map(ref),
      origin_server_ts: ts,
      depth: 0,
      ...(spec.extra ?? {})
    }
    this.events.set(eventId, pdu)
    return pdu
  }

  /** `getEvent` over the events added so far. */
  readonly getEvent = (eventId: string): TestPdu | undefined => this.events.get(eventId)

  /** A state map (stateMapKey → event ID) from fixture names. */
  state (...names: string[]): Map<string, string> {
    const map = new Map<string, string>()
    for (const name of names) {
      const pdu = this.events.get(this.id(name))
      if (pdu === undefined || pdu.state_key === undefined) throw new Error(`no state event ${name}`)
      map.set(stateMapKey(pdu.type, pdu.state_key), pdu.event_id)
    }
    return map
  }

  /** The fixture names of a state map's events, sorted, for readable assertions. */
  names (state: ReadonlyMap<string, string>): string[] {
    const out: string[] = []
    for (const id of state.values()) out.push(id.slice(1).replace(/:example\.com$/, ''))
    return out.sort()
  }
}

/** A room built by {@link buildDag}. */
export interface Dag {
  readonly factory: EventFactory
  /** The state after the named event (its own state event applied). */
  stateAfter (name: string): Map<string, string>
  /** The state before the named event (the resolution of its parents' states). */
  stateBefore (name: string): Map<string, string>
}

/**
 * Build a room from events and `prev_events` chains (`[A, B, C]` means A's parent is B, B's is C).
 * Events are processed in topological order, smallest name first among the ready ones; each gets
 * `origin_server_ts` = its processing index unless given, and `auth_events` from its state before.
 */
export function buildDag (roomVersion: string, events: readonly EventSpec[], chains: ReadonlyArray<readonly string[]>): Dag {
  const rules = roomVersionRules(roomVersion)
  const factory = new EventFactory(roomVersion)
  const specs = new Map(events.map((e) => [e.id, e]))
  const parents = new Map<string, Set<string>>()
  for (const e of events) parents.set(e.id, new Set())
  for (const chain of chains) {
    for (let i = 0; i + 1 < chain.length; i++) {
      const child = parents.get(chain[i]!)
      if (child === undefined || !specs.has(chain[i + 1]!)) throw new Error(`unknown event in chain ${chain.join(' → ')}`)
      child.add(chain[i + 1]!)
    }
  }
  const before = new Map<string, Map<string, string>>()
  const after = new Map<string, Map<string, string>>()
  const done = new Set<string>()
  let ts = 0
  while (done.size < specs.size) {
    const ready = [...specs.keys()].filter((name) => !done.has(name) && [...parents.get(name)!].every((p) => done.has(p)))
    if (ready.length === 0) throw new Error('prev_events chains form a cycle')
    ready.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    const name = ready[0]!
    const spec = specs.get(name)!
    const prev = [...parents.get(name)!].sort()
    const stateBefore = prev.length === 0
      ? new Map<string, string>()
      : prev.length === 1
        ? new Map(after.get(prev[0]!)!)
        : resolveState(roomVersion, prev.map((p) => after.get(p)!), factory.getEvent)
    const auth: string[] = []
    for (const [type, stateKey] of authTypesForEvent(rules, { type: spec.type, sender: spec.sender, state_key: spec.stateKey, content: spec.content ?? {} })) {
      const id = stateBefore.get(stateMapKey(type, stateKey))
      if (id !== undefined) auth.push(id)
    }
    const pdu = factory.add({ ...spec, ts: spec.ts ?? ts++, auth, prev })
    before.set(name, stateBefore)
    const stateAfter = new Map(stateBefore)
    if (pdu.state_key !== undefined) stateAfter.set(stateMapKey(pdu.type, pdu.state_key), pdu.event_id)
    after.set(name, stateAfter)
    done.add(name)
  }
  return {
    factory,
    stateAfter: (name) => new Map(after.get(name)!),
    stateBefore: (name) => new Map(before.get(name)!)
  }
}

/** The events every synapse-style scenario starts from: a public room of Alice (admin), Bob, Charlie and Zara. */
export function initialEvents (creatorContent: Record<string, unknown> = { creator: ALICE }): EventSpec[] {
  return [
    { id: 'CREATE', sender: ALICE, type: 'm.room.create', stateKey: '', content: creatorContent },
    { id: 'IMA', sender: ALICE, type: 'm.room.member', stateKey: ALICE, content: { membership: 'join' } },
    { id: 'IPOWER', sender: ALICE, type: 'm.room.power_levels', stateKey: '', content: { users: { [ALICE]: 100 } } },
    { id: 'IJR', sender: ALICE, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'public' } },
    { id: 'IMB', sender: BOB, type: 'm.room.member', stateKey: BOB, content: { membership: 'join' } },
    { id: 'IMC', sender: CHARLIE, type: 'm.room.member', stateKey: CHARLIE, content: { membership: 'join' } },
    { id: 'IMZ', sender: ZARA, type: 'm.room.member', stateKey: ZARA, content: { membership: 'join' } },
    { id: 'START', sender: ZARA, type: 'm.room.message', content: {} },
    { id: 'END', sender: ZARA, type: 'm.room.message', content: {} }
  ]
}

/** The chain of the initial events (START is the last one before a scenario forks). */
export const INITIAL_CHAIN = ['START', 'IMZ', 'IMC', 'IMB', 'IJR', 'IPOWER', 'IMA', 'CREATE'] as const

/**
 * The keys of `end` whose value changed since `start`, plus `alwaysKeys`, with their event names —
 * what a scenario states as its expected outcome.
 */
export function changedState (factory: EventFactory, start: ReadonlyMap<string, string>, end: ReadonlyMap<string, string>): string[] {
  const changed = new Map<string, string>()
  for (const [key, id] of end) if (start.get(key) !== id) changed.set(key, id)
  for (const key of start.keys()) if (!end.has(key)) changed.set(key, '$<removed>')
  return factory.names(changed)
}

/** The output of {@link buildStateResScenario}. */
export interface StateResScenario {
  readonly roomVersion: string
  /** The two forks' states, ready for `resolveState`. */
  readonly stateSets: [Map<string, string>, Map<string, string>]
  readonly getEvent: (eventId: string) => TestPdu | undefined
  /** Number of events in the room. */
  readonly eventCount: number
  /** Members banned on fork A (by the admin) and kicked on fork B (by a moderator). */
  readonly banned: readonly string[]
  readonly kicked: readonly string[]
  /** Members who joined on fork B only. */
  readonly lateJoiners: readonly string[]
  /** The topic events of forks A and B. */
  readonly topicA: string
  readonly topicB: string
}

/**
 * Two forks of a room with `members` joined members (the state resolution benchmark).
 *
 * Before the fork: Alice creates a public room, makes Bob a moderator (50), and `members` users
 * join one after another. Then, concurrently:
 * - fork A: Alice bans 1% of the members, promotes Charlie to 50, then sets the topic;
 * - fork B: Bob kicks another 1%, 1% change their display name, Bob sets the topic, and 1% new
 *   users join.
 * Expected: all bans, kicks, renames and late joins apply; fork A's power levels and topic win
 * (fork A's topic cites the newer power levels, so it is later in the mainline ordering).
 */
export function buildStateResScenario (members: number, roomVersion = '12'): StateResScenario {
  const rules = roomVersionRules(roomVersion)
  const factory = new EventFactory(roomVersion)
  const userId = (i: number): string => `@user${i}:example.com`
  const state = new Map<string, string>()
  let last: string[] = []
  let n = 0
  const emit = (s: Map<string, string>, spec: Omit<EventSpec, 'id'>, prevs: string[]): string => {
    const auth: string[] = []
    for (const [type, stateKey] of authTypesForEvent(rules, { type: spec.type, sender: spec.sender, state_key: spec.stateKey, content: spec.content ?? {} })) {
      const id = s.get(stateMapKey(type, stateKey))
      if (id !== undefined) auth.push(id)
    }
    const pdu = factory.add({ ...spec, id: `E${n++}`, auth, prev: prevs })
    if (pdu.state_key !== undefined) s.set(stateMapKey(pdu.type, pdu.state_key), pdu.event_id)
    return pdu.event_id
  }
  const step = (spec: Omit<EventSpec, 'id'>): void => { last = [emit(state, spec, last)] }

  const creatorContent: Record<string, unknown> = rules.creatorIsSender ? { room_version: roomVersion } : { creator: ALICE, room_version: roomVersion }
  step({ sender: ALICE, type: 'm.room.create', stateKey: '', content: creatorContent })
  step({ sender: ALICE, type: 'm.room.member', stateKey: ALICE, content: { membership: 'join' } })
  const users: Record<string, number> = rules.privilegedCreators ? { [BOB]: 50 } : { [ALICE]: 100, [BOB]: 50 }
  step({ sender: ALICE, type: 'm.room.power_levels', stateKey: '', content: { users } })
  step({ sender: ALICE, type: 'm.room.join_rules', stateKey: '', content: { join_rule: 'public' } })
  step({ sender: BOB, type: 'm.room.member', stateKey: BOB, content: { membership: 'join' } })
  step({ sender: CHARLIE, type: 'm.room.member', stateKey: CHARLIE, content: { membership: 'join' } })
  for (let i = 0; i < members; i++) step({ sender: userId(i), type: 'm.room.member', stateKey: userId(i), content: { membership: 'join' } })

  const slice = Math.max(1, Math.floor(members / 100))
  const fork = last
  // Fork A: Alice bans, promotes Charlie, sets the topic.
  const a = new Map(state)
  let lastA = fork
  const banned: string[] = []
  for (let i = 0; i < slice; i++) {
    banned.push(userId(i))
    lastA = [emit(a, { sender: ALICE, type: 'm.room.member', stateKey: userId(i), content: { membership: 'ban' } }, lastA)]
  }
  lastA = [emit(a, { sender: ALICE, type: 'm.room.power_levels', stateKey: '', content: { users: { ...users, [CHARLIE]: 50 } } }, lastA)]
  const topicA = emit(a, { sender: ALICE, type: 'm.room.topic', stateKey: '', content: { topic: 'fork A' } }, lastA)
  // Fork B: Bob kicks, members rename, Bob sets the topic, new users join.
  const b = new Map(state)
  let lastB = fork
  const kicked: string[] = []
  for (let i = slice; i < 2 * slice; i++) {
    kicked.push(userId(i))
    lastB = [emit(b, { sender: BOB, type: 'm.room.member', stateKey: userId(i), content: { membership: 'leave' } }, lastB)]
  }
  for (let i = 2 * slice; i < 3 * slice; i++) {
    lastB = [emit(b, { sender: userId(i), type: 'm.room.member', stateKey: userId(i), content: { membership: 'join', displayname: `user ${i}` } }, lastB)]
  }
  const topicB = emit(b, { sender: BOB, type: 'm.room.topic', stateKey: '', content: { topic: 'fork B' } }, lastB)
  lastB = [topicB]
  const lateJoiners: string[] = []
  for (let i = members; i < members + slice; i++) {
    lateJoiners.push(userId(i))
    lastB = [emit(b, { sender: userId(i), type: 'm.room.member', stateKey: userId(i), content: { membership: 'join' } }, lastB)]
  }
  return { roomVersion, stateSets: [a, b], getEvent: factory.getEvent, eventCount: factory.events.size, banned, kicked, lateJoiners, topicA, topicB }
}
