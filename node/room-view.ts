/**
 * The engine's in-memory view of one room: what the pure core reads synchronously.
 *
 * The core is synchronous (STYLE habit 1): `decide`, `resolveState` and the membership verifier
 * read events through a lookup function. Every event they can ask for is a *state* event — auth
 * events, state sets and their auth chains, membership chains — so the view keeps every state
 * event of the room that the store holds (whatever its decision), plus the heads, the current
 * state and the rejected set. Messages stay in the store. Loading a room reads its events once.
 */
import {
  MembershipVerifier, RoomEventType, keyroomAuthHooks, pduOf, parseStateMapKey, resolveState, stateMapKey
} from '../protocols/core/index.js'
import type {
  AuthStateLookup, IdentifiedEvent, MemberVerification, RoomEvent, RoomStateView
} from '../protocols/core/index.js'
import type { DecisionKind, Membership } from '../store/index.js'

/** What a view starts from: the room's metadata, heads and current state as stored. */
export interface RoomViewInit {
  roomId: string
  roomVersion: string
  createEventId: string
  heads: readonly string[]
  current: ReadonlyMap<string, string>
}

const MEMBERSHIPS: ReadonlySet<string> = new Set(['join', 'invite', 'leave', 'ban', 'knock'])

/** A Matrix membership word, or `undefined` for anything else. */
export function asMembership (value: unknown): Membership | undefined {
  return typeof value === 'string' && MEMBERSHIPS.has(value) ? value as Membership : undefined
}

/** The in-memory view of one room. Mutated only by the engine, inside the room's queue. */
export class RoomView {
  readonly roomId: string
  readonly roomVersion: string
  readonly createEventId: string
  /** Forward extremities (sorted by code point, as the store keeps them). */
  heads: string[]
  /** The current state: state-map key → event ID. */
  current: Map<string, string>
  readonly verifier: MembershipVerifier
  /**
   * The greatest depth among the room's stored events (and those being written): an event deeper
   * than this is certainly not stored, which answers "is it stored?" for new events without a read.
   */
  maxDepth = 0
  readonly #stateEvents = new Map<string, RoomEvent>()
  readonly #rejected = new Set<string>()
  readonly #softFailed = new Set<string>()

  constructor (init: RoomViewInit) {
    this.roomId = init.roomId
    this.roomVersion = init.roomVersion
    this.createEventId = init.createEventId
    this.heads = [...init.heads]
    this.current = new Map(init.current)
    this.verifier = new MembershipVerifier({ roomId: init.roomId, getEvent: this.getEvent })
  }

  /** A state event of the room by ID (what the core's lookups read). */
  readonly getEvent = (eventId: string): RoomEvent | undefined => this.#stateEvents.get(eventId)

  /** Whether a stored event of the room was rejected. */
  readonly isRejected = (eventId: string): boolean => this.#rejected.has(eventId)

  /** Whether a stored event of the room was soft-failed or rejected (not accepted). */
  notAccepted (eventId: string): boolean {
    return this.#rejected.has(eventId) || this.#softFailed.has(eventId)
  }

  /** Records a stored event: state events are kept for the core; rejections and soft failures are remembered. */
  remember (eventId: string, event: RoomEvent, decision: DecisionKind): void {
    if (event.depth > this.maxDepth) this.maxDepth = event.depth
    if (decision === 'rejected') this.#rejected.add(eventId)
    else if (decision === 'soft-failed') this.#softFailed.add(eventId)
    if (typeof event.state_key === 'string') {
      this.#stateEvents.set(eventId, event)
      // Lets the verifier retry chains that were waiting for this event.
      if (decision !== 'rejected') this.verifier.addEvent(event, eventId)
    }
  }

  /** The auth rules' view of a state map (state-map key → event ID). */
  lookup (state: ReadonlyMap<string, string>): AuthStateLookup {
    return (type, stateKey) => {
      const id = state.get(stateMapKey(type, stateKey))
      const event = id === undefined ? undefined : this.#stateEvents.get(id)
      return event === undefined || id === undefined ? undefined : pduOf(event, id)
    }
  }

  /** The builders' view of a state map. */
  stateView (state: ReadonlyMap<string, string>): RoomStateView {
    return { entry: (type, stateKey) => this.#entry(state, type, stateKey) }
  }

  #entry (state: ReadonlyMap<string, string>, type: string, stateKey: string): IdentifiedEvent | undefined {
    const eventId = state.get(stateMapKey(type, stateKey))
    const event = eventId === undefined ? undefined : this.#stateEvents.get(eventId)
    return event === undefined || eventId === undefined ? undefined : { eventId, event }
  }

  /** The current-state event at `(type, stateKey)`. */
  entry (type: string, stateKey: string): IdentifiedEvent | undefined {
    return this.#entry(this.current, type, stateKey)
  }

  /** A user's membership in the current state. */
  membership (userId: string): Membership | undefined {
    return asMembership(this.entry(RoomEventType.Member, userId)?.event.content.membership)
  }

  /** The current join rule (`invite` when there is none, as Synapse reads a missing rule). */
  joinRule (): string {
    const rule = this.entry(RoomEventType.JoinRules, '')?.event.content.join_rule
    return typeof rule === 'string' ? rule : 'invite'
  }

  /** The current room name, if any. */
  name (): string | undefined {
    const name = this.entry(RoomEventType.Name, '')?.event.content.name
    return typeof name === 'string' ? name : undefined
  }

  /** The room's topic (`m.room.topic`), if it has one. */
  topic (): string | undefined {
    const topic = this.entry(RoomEventType.Topic, '')?.event.content.topic
    return typeof topic === 'string' ? topic : undefined
  }

  /** Every member event of the current state. */
  members (): IterableIterator<IdentifiedEvent> {
    return this.entriesOfType(RoomEventType.Member)
  }

  /** Every current-state event of one type. */
  * entriesOfType (type: string): IterableIterator<IdentifiedEvent> {
    for (const [key, eventId] of this.current) {
      if (parseStateMapKey(key)[0] !== type) continue
      const event = this.#stateEvents.get(eventId)
      if (event !== undefined) yield { eventId, event }
    }
  }

  /**
   * Merges forked states (state resolution v2.1 for keyroom.1) with the keyroom rules in the
   * iterative auth checks.
   */
  resolve (states: ReadonlyArray<ReadonlyMap<string, string>>): Map<string, string> {
    return resolveState(this.roomVersion, states, this.getEvent, {
      isRejected: this.isRejected,
      authHooks: keyroomAuthHooks({ getEvent: this.getEvent })
    })
  }

  /**
   * Makes `next` the current state and keeps the membership verifier in step: member and device
   * records that changed are fed to it, members that left the state are dropped. Returns the users
   * whose member event changed.
   */
  setCurrent (next: Map<string, string>): string[] {
    const changedMembers: string[] = []
    for (const [key, eventId] of next) {
      if (this.current.get(key) === eventId) continue
      const event = this.#stateEvents.get(eventId)
      if (event === undefined) continue
      if (event.type === RoomEventType.Member || event.type === RoomEventType.Device) this.verifier.applyState({ eventId, event })
      if (event.type === RoomEventType.Member && typeof event.state_key === 'string') changedMembers.push(event.state_key)
    }
    for (const key of this.current.keys()) {
      if (next.has(key)) continue
      const [type, stateKey] = parseStateMapKey(key)
      if (type === RoomEventType.Member) {
        this.verifier.removeMember(stateKey)
        changedMembers.push(stateKey)
      }
    }
    this.current = next
    return changedMembers
  }

  /** Feeds the whole current state to the verifier (after loading a room). */
  primeVerifier (): void {
    for (const eventId of this.current.values()) {
      const event = this.#stateEvents.get(eventId)
      if (event !== undefined && (event.type === RoomEventType.Member || event.type === RoomEventType.Device)) {
        this.verifier.applyState({ eventId, event })
      }
    }
  }

  /** The verifier's verdict on a member of the current state. */
  verification (userId: string): MemberVerification | undefined {
    return this.verifier.member(userId)
  }
}
