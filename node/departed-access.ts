/**
 * Sync access for a departed member: a user who was joined (or invited) and then left, was kicked
 * or was banned may read the room *up to and including the member event that removed them*.
 *
 * Why: Matrix lets a departed user see the room's history up to their departure (client-server
 * API, "History visibility": events are visible to a user who "was a member at the time of the
 * event"; Synapse `visibility.py` `_check_membership`: "Always allow the user to see their own
 * leave events", a `leave` or `ban` whose previous membership was `join` or `invite`). In keyroom
 * this matters more than in Matrix: a node kicked or banned behind a network partition learns of
 * its removal only by reading that event from a peer, since its own gossip is soft-failed
 * ("sender not joined") and not forwarded. Refusing it sync — as for a stranger — left it believing
 * it was joined, its sends acknowledged locally and shown nowhere.
 *
 * What such a peer gets (a `SyncGrant` of the sync protocol):
 * - `heads`: the removal event alone (not the room's real forward extremities);
 * - `events`, `missing`, `state_at`: only the removal event and its ancestors; anything else is
 *   answered as not stored. The state before an ancestor and its auth chain are ancestors too.
 *
 * Bounded work: the removal event is found by walking the user's member events back through their
 * `auth_events` (each member event lists the target's previous member event — Matrix "Auth events
 * selection"), at most {@link MAX_REMOVAL_CHAIN} steps, in memory. Ancestry is decided by an
 * {@link AncestorWalk} kept per removal event: a lazy walk over `prev_events`, deepest first, that
 * only goes as deep as the requests so far needed — an ancestor of an event has a lower depth
 * (keyroom.dag.4: depth = max(prev depths) + 1), so everything at depth ≥ d is known once every
 * frontier event deeper than d has been expanded. Each ancestor is read from the store once per
 * walk, however many requests ask. (The room engine also uses the walk, bounded, to tell whether a
 * head's branch is behind the other heads.)
 */
import { BinaryHeap, RoomEventType } from '../protocols/core/index.js'
import type { IdentifiedEvent } from '../protocols/core/index.js'
import type { SyncStore } from '../protocols/sync/index.js'
import type { RoomView } from './room-view.js'
import type { AbortOptions } from '@libp2p/interface'

/**
 * Most member events walked back from a user's current one to find the removal (a user who joined,
 * was kicked, knocked, was refused, … more than this many times is refused sync; that is no
 * honest history worth the walk).
 */
export const MAX_REMOVAL_CHAIN = 64

/** Memberships that let a user read the room while they hold them (sync serves them fully). */
const READER_MEMBERSHIPS: ReadonlySet<string> = new Set(['join', 'invite'])

/** Memberships that end reading: the user's removal is one of these. */
const REMOVED_MEMBERSHIPS: ReadonlySet<string> = new Set(['leave', 'ban'])

/**
 * The member event that removed `userId` from the room: the last event of theirs in the current
 * state's chain that took them from `join` or `invite` to `leave` or `ban`. `undefined` when the
 * user's current membership is not `leave`/`ban`, or they never were a member (a stranger banned
 * ahead of time, a chain longer than {@link MAX_REMOVAL_CHAIN}).
 *
 * A ban after a kick is not the removal: the user had already left, and Matrix does not show a
 * departed user what happened after (Synapse: a `ban` over a `leave` keeps the `leave`
 * visibility). The kick is.
 */
export function removalOf (view: RoomView, userId: string): IdentifiedEvent | undefined {
  let current = view.entry(RoomEventType.Member, userId)
  if (current === undefined || !REMOVED_MEMBERSHIPS.has(String(current.event.content.membership))) return undefined
  for (let step = 0; step < MAX_REMOVAL_CHAIN; step++) {
    const previous = previousMemberEvent(view, current, userId)
    if (previous === undefined) return undefined
    const membership = String(previous.event.content.membership)
    if (READER_MEMBERSHIPS.has(membership)) return REMOVED_MEMBERSHIPS.has(String(current.event.content.membership)) ? current : undefined
    current = previous
  }
  return undefined
}

/** The target's member event among a member event's `auth_events` (the membership it replaced). */
function previousMemberEvent (view: RoomView, member: IdentifiedEvent, userId: string): IdentifiedEvent | undefined {
  for (const id of member.event.auth_events) {
    const event = view.getEvent(id)
    if (event?.type === RoomEventType.Member && event.state_key === userId && id !== member.eventId) return { eventId: id, event }
  }
  return undefined
}

/** What the walk reads of an event. */
export interface StoredPosition {
  readonly roomId: string
  readonly depth: number
  readonly prevEvents: readonly string[]
}

/**
 * Which events are ancestors of some events (`tips`) or tips themselves, answered lazily (see the
 * module comment). Concurrent questions are answered one after the other, so the walk's state is
 * only ever advanced by one of them. With `maxExpansions`, the walk reads the prev events of at
 * most that many events; past that it answers `false` and is `incomplete`.
 *
 * Only IDs reached over `prev_events` from a tip are ever answered `true`, so a wrong depth can
 * never widen the grant: at worst (a stored event rejected for a lying depth, keyroom.dag.4, among
 * the ancestors) an ancestor below it is answered `false` — refused, not leaked.
 */
export class AncestorWalk {
  readonly roomId: string
  readonly tips: readonly string[]
  readonly #maxTipDepth: number
  readonly #read: (eventId: string) => Promise<StoredPosition | undefined>
  /** Known ancestors (and the tips). */
  readonly #seen = new Set<string>()
  /** Known ancestors whose `prev_events` are not read yet, deepest first (ties: any order; the walk's answers do not depend on it). */
  readonly #frontier = new BinaryHeap<{ eventId: string, depth: number }>((a, b) => b.depth - a.depth)
  #expansionsLeft: number
  #queue: Promise<unknown> = Promise.resolve()

  constructor (init: {
    roomId: string
    tips: ReadonlyArray<{ eventId: string, depth: number }>
    read: (eventId: string) => Promise<StoredPosition | undefined>
    maxExpansions?: number
  }) {
    this.roomId = init.roomId
    this.tips = init.tips.map(t => t.eventId)
    this.#maxTipDepth = Math.max(0, ...init.tips.map(t => t.depth))
    this.#read = init.read
    this.#expansionsLeft = init.maxExpansions ?? Number.POSITIVE_INFINITY
    for (const tip of init.tips) {
      this.#seen.add(tip.eventId)
      this.#frontier.push(tip)
    }
  }

  /** Events known to be ancestors so far (for tests and logs). */
  get known (): number {
    return this.#seen.size
  }

  /** Whether `maxExpansions` ran out: a `false` answer may then be wrong. */
  get incomplete (): boolean {
    return this.#expansionsLeft <= 0 && this.#frontier.peek() !== undefined
  }

  /** Whether the event (stored at `depth`) is a tip or an ancestor of one. */
  async includes (eventId: string, depth: number, options: AbortOptions = {}): Promise<boolean> {
    if (this.#seen.has(eventId)) return true
    // An ancestor is strictly shallower than its descendant (keyroom.dag.4).
    if (depth >= this.#maxTipDepth) return false
    const run = this.#queue.then(async () => {
      await this.#expandAbove(depth, options)
      return this.#seen.has(eventId)
    })
    this.#queue = run.catch(() => {})
    return await run
  }

  /** Reads the prevs of every frontier event deeper than `depth`: then every ancestor at `depth` or deeper is known. */
  async #expandAbove (depth: number, options: AbortOptions): Promise<void> {
    for (let top = this.#frontier.peek(); top !== undefined && top.depth > depth && this.#expansionsLeft > 0; top = this.#frontier.peek()) {
      options.signal?.throwIfAborted()
      this.#frontier.pop()
      this.#expansionsLeft--
      const stored = await this.#read(top.eventId)
      if (stored === undefined || stored.roomId !== this.roomId) continue
      for (const prev of stored.prevEvents) {
        if (this.#seen.has(prev)) continue
        const position = await this.#read(prev)
        if (position === undefined || position.roomId !== this.roomId) continue
        this.#seen.add(prev)
        this.#frontier.push({ eventId: prev, depth: position.depth })
      }
    }
  }
}

/**
 * The sync store a departed member reads through: `base` limited to the walk's tip (the removal
 * event) and its ancestors, with that tip as the room's only head.
 */
export function departedSyncStore (base: SyncStore, walk: AncestorWalk, read: (eventId: string) => Promise<StoredPosition | undefined>): SyncStore {
  const allowed = async (roomId: string, eventId: string, options?: AbortOptions): Promise<boolean> => {
    if (roomId !== walk.roomId) return false
    const stored = await read(eventId)
    return stored?.roomId === roomId && await walk.includes(eventId, stored.depth, options)
  }
  return {
    getHeads: (roomId) => (roomId === walk.roomId ? [...walk.tips] : undefined),
    getEvent: async (roomId, eventId, options) => (await allowed(roomId, eventId, options) ? await base.getEvent(roomId, eventId, options) : undefined),
    getPrevEvents: async (roomId, eventId, options) => (await allowed(roomId, eventId, options) ? await base.getPrevEvents(roomId, eventId, options) : undefined),
    getStateIdsAt: async (roomId, eventId, options) => (await allowed(roomId, eventId, options) ? await base.getStateIdsAt(roomId, eventId, options) : undefined)
  }
}
