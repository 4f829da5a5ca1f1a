/**
 * The room engine: the ingest pipeline of a keyroom node (STYLE "The ingest pipeline"), in one
 * direction —
 *
 *   gossip validator / sync fetch / local builder
 *     → ingest checks (ingest-checks.ts: size, strict canonical parse, hash, UDK signature, ID)
 *     → engine: one serial queue per room; unknown parents and auth events fetched first from the
 *       peer that sent the event (fetch-ancestors.ts), bounded in count and time
 *     → core: the DAG rules (depth = max(prev depths) + 1), the state before the event (the state
 *       after its single prev event, or state resolution v2.1 over its prev events' states), then
 *       `decide` (Matrix receipt checks 4–6 with the keyroom.1 rules) → accepted / rejected /
 *       soft-failed
 *     → store: one atomic `writeEvent` (bytes, decision, heads, state after, current state, room
 *       metadata, membership verifications)
 *     → typed events to the API (`message`, `membership`).
 *
 * Soft-failed events are stored (they are part of the DAG and of state resolution) but not shown,
 * not built upon (not a head) and not gossiped on. Local sends are built with the core builders
 * against the current state and go through the same decide-and-store path before they are
 * published; one that the rules refuse is not stored and throws `ERR_FORBIDDEN`.
 *
 * Writes are pipelined during catch-up: each event's state and position are kept in memory
 * (`RoomView`'s recent table) until its batch is durable, so the next event need not wait for
 * the previous fsync; the store applies writes in call order. API events are emitted only once
 * the write is durable.
 */
import { setMaxListeners } from '@libp2p/interface'
import {
  ErrorCode, KeyroomError, Lru, RoomEventType, checkCreateDagRules, checkDagRules, compareCodePoints, decide,
  defaultAttestationCache, deviceStanding, expectedDepth, parseJson, passesInState, stateMapKey
} from '../protocols/core/index.js'
import { SerialQueue } from '../protocols/gossip/index.js'
import {
  CATCH_UP_MAX_BYTES, CATCH_UP_MAX_EVENTS, CATCH_UP_TIMEOUT_MS, GAP_FILL_MAX_EVENTS, GAP_FILL_TIMEOUT_MS, MAX_PREV_EVENTS,
  EVENT_CACHE_BYTES, GAP_GRACE_MS, MAX_PENDING_RETRIES, POSITION_CACHE_ENTRIES, RETRY_CATCH_UP_DELAY_MS, ROOM_QUEUE_CAPACITY, STORE_PAGE_SIZE, SYNC_READ_AHEAD
} from './constants.js'
import { compareByDepth, stateDelta, stateKeyOf } from './dag.js'
import { AncestorWalk, departedSyncStore, removalOf } from './departed-access.js'
import { CheckPool } from './check-pool.js'
import { fetchAncestors } from './fetch-ancestors.js'
import { deviceIdOfPeer } from './peer-directory.js'
import { checkEventBytes, checkedFromBuilt } from './ingest-checks.js'
import { RoomView, asMembership } from './room-view.js'
import type { KeyroomNodeEvents, MembershipChange, RoomMessage } from './node-events.js'
import type { TypedEventTarget } from './node-events.js'
import type { CheckedEvent } from './ingest-checks.js'
import type {
  Decision as CoreDecision, IdentifiedEvent, MemberVerification, RoomContext, RoomEvent, SigningDevice
} from '../protocols/core/index.js'
import type { GossipVerdict, RoomGossip } from '../protocols/gossip/index.js'
import type { StoredPosition } from './departed-access.js'
import type { RoomSync, StateIds, SyncAccess, SyncStore } from '../protocols/sync/index.js'
import type { Decision, EventPosition, Membership, RoomMeta, RoomStore, StateUpdate, StoredEvent } from '../store/index.js'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'

/** What became of one event offered to the engine. */
export type IngestResult =
  /** Decided and stored (or, for a pipelined write, handed to the store in order). */
  | { status: 'stored', decision: Decision }
  /** Already stored. */
  | { status: 'duplicate' }
  /** Parents or auth events are not stored yet: the event cannot be decided. */
  | { status: 'missing', missing: string[] }
  /** Refused without being stored: a local event the rules do not allow, or a broken create event. */
  | { status: 'refused', rule: string }

/** The network services the engine uses once libp2p is up. */
export interface EngineNetwork {
  sync: Pick<RoomSync, 'heads' | 'events' | 'missing'>
  gossip: Pick<RoomGossip, 'subscribe' | 'unsubscribe' | 'publish'>
}

/** What the engine is built from. */
export interface RoomEngineInit {
  store: RoomStore
  /** The local device: signs local events. */
  device: SigningDevice
  /** Where API events go (the node). */
  events: TypedEventTarget<KeyroomNodeEvents>
  log: Logger
  /** The clock (ms since the epoch); the core takes time as a parameter. */
  now: () => number
  /** Who a remote peer is (its user), for sync access. */
  userOfPeer: (peer: PeerId, options?: AbortOptions) => Promise<string | undefined>
  /** Whether a device (`^…`) is revoked as far as the node knows (any room, the directory): refused sync. */
  isRevokedDevice?: (deviceId: string) => boolean
  /**
   * A `keyroom.device` or `m.room.member` event was stored as accepted or soft-failed (durable): what
   * it says about devices (revocations, the own user's attestations) is the node's to keep.
   */
  onDeviceEvent?: (roomId: string, event: RoomEvent) => void
}

/** One member as `members()` lists it. */
export interface RoomMember {
  userId: string
  membership: Membership
  /** MSC3917 membership verification: the member's chain checks back to the room's create event. */
  verified: boolean
  /** Why the member is not verified (a `UnverifiedReason` of the verifier), when not verified. */
  reason?: string
  /** Display name the member set in their member event, if any (self-asserted). */
  displayName?: string
}

/** State, position and bytes of an event whose write is not yet durable. */
interface Recent {
  roomId: string
  depth: number
  decision: Decision['kind']
  state: ReadonlyMap<string, string> | undefined
  /** Served to peers already: gossip forwards an event once decided, before it is durable. */
  served: CachedEvent
}

/** A durable event as the sync server reads it. */
interface CachedEvent {
  roomId: string
  depth: number
  bytes: Uint8Array
  prevEvents: readonly string[]
}

const textEncoder = new TextEncoder()

/** Departed members' ancestry walks kept at once (each holds the IDs of the ancestors it has met). */
const MAX_DEPARTED_WALKS = 16
/** Whether two state maps are the same. */
function sameState (a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false
  for (const [key, id] of a) if (b.get(key) !== id) return false
  return true
}

/** Events read at most when an accepted event supersedes heads behind soft-failed prev events. */
const SUPERSEDED_WALK_EVENTS = 256
/** Events of a head's own branch read at most, to tell that the branch sets no state. */
const NO_STATE_WALK_STEPS = 16
/** Heads rechecked at most when a state event is accepted (beyond that, a room is left as it is). */
const MAX_RECHECKED_HEADS = 8

function storeDecision (decision: CoreDecision): Decision {
  switch (decision.outcome) {
    case 'accepted': return { kind: 'accepted' }
    case 'rejected': return { kind: 'rejected', rule: `${decision.against}: ${decision.rule}` }
    case 'soft-failed': return { kind: 'soft-failed', rule: `${decision.against}: ${decision.rule}` }
  }
}

function encodeVerification (verification: MemberVerification): Uint8Array {
  const value: Record<string, unknown> = { event_id: verification.eventId, membership: verification.membership, verified: verification.verified }
  if (verification.verified) value.basis = verification.basis
  else Object.assign(value, { reason: verification.reason, step: verification.step, failed_event_id: verification.failedEventId, transient: verification.transient })
  return textEncoder.encode(JSON.stringify(value))
}

/** The room engine. One per node. */
export class RoomEngine {
  readonly #store: RoomStore
  readonly #device: SigningDevice
  readonly #events: TypedEventTarget<KeyroomNodeEvents>
  readonly #log: Logger
  readonly #now: () => number
  readonly #userOfPeer: RoomEngineInit['userOfPeer']
  readonly #isRevokedDevice: (deviceId: string) => boolean
  readonly #onDeviceEvent: RoomEngineInit['onDeviceEvent']
  #net: EngineNetwork | undefined
  readonly #views = new Map<string, Promise<RoomView | undefined>>()
  /** The views of `#views` that have loaded (their state events answer "is it stored?" at once). */
  readonly #loaded = new Map<string, RoomView>()
  /** Positions of durable events, most recently used first out (see POSITION_CACHE_ENTRIES). */
  readonly #positions = new Lru<{ roomId: string, depth: number }>(POSITION_CACHE_ENTRIES)
  /** Bytes and parents of durable events, for the sync server (see EVENT_CACHE_BYTES). */
  readonly #eventCache = new Lru<CachedEvent>(EVENT_CACHE_BYTES)
  /** Ingest checks of large catch-up batches, half on a worker thread. */
  readonly #checks: CheckPool
  readonly #queues = new Map<string, SerialQueue>()
  /** Writes not yet durable, by event ID (see the module comment). */
  readonly #recent = new Map<string, Recent>()
  /** Heads that failed the room's rules in its current state once (see `#retireOutdatedHeads`). */
  readonly #outdated = new Lru<true>(1024)
  /** Per room, the promise of its last write (settled, never rejecting). */
  readonly #lastWrite = new Map<string, Promise<void>>()
  /**
   * Events `receive` holds and has not finished with (fetching their gap, waiting in the room's
   * queue, being decided) and the gap events fetched for them, by event ID (IDs are hashes over
   * the room ID, so one map serves every room): settled when that `receive` returns. Gossipsub
   * validates messages concurrently, so an event often arrives while its parent is still here;
   * waiting for the parent (bounded) beats fetching it from the relayer over sync.
   */
  readonly #receiving = new Map<string, Promise<void>>()
  /** `receive` calls waiting for an event ID to arrive (see GAP_GRACE_MS), by event ID. */
  readonly #arrivals = new Map<string, Set<() => void>>()
  /** Work in flight (queue tasks, publishes, writes), awaited by `stop`. */
  readonly #inflight = new Set<Promise<unknown>>()
  /** Catch-ups scheduled after an undecidable gossiped event, by room. */
  readonly #retries = new Map<string, ReturnType<typeof setTimeout>>()
  readonly #stopping = new AbortController()
  /** Sync access of departed members: one ancestry walk per removal event (departed-access.ts). */
  readonly #departedWalks = new Lru<AncestorWalk>(MAX_DEPARTED_WALKS)

  constructor (init: RoomEngineInit) {
    this.#store = init.store
    this.#device = init.device
    this.#events = init.events
    this.#log = init.log
    this.#now = init.now
    this.#userOfPeer = init.userOfPeer
    this.#isRevokedDevice = init.isRevokedDevice ?? (() => false)
    this.#onDeviceEvent = init.onDeviceEvent
    this.#checks = new CheckPool({ log: init.log })
    setMaxListeners(Infinity, this.#stopping.signal)
  }

  /** The local user. */
  get userId (): string {
    return this.#device.userId
  }

  /** Aborted when the node stops. */
  get signal (): AbortSignal {
    return this.#stopping.signal
  }

  /** Connects the engine to libp2p's room gossip and sync, and subscribes to the rooms it is joined to. */
  async attach (net: EngineNetwork): Promise<void> {
    this.#net = net
    for (const roomId of await this.#store.listRooms()) {
      const meta = await this.#store.getRoomMeta(roomId)
      if (meta?.localMembership === 'join') net.gossip.subscribe(roomId)
    }
  }

  /** Stops taking work, lets running work settle, and leaves the store to the caller. */
  async stop (): Promise<void> {
    this.#stopping.abort(new KeyroomError(ErrorCode.NotStarted, 'the node is stopping'))
    for (const timer of this.#retries.values()) clearTimeout(timer)
    this.#retries.clear()
    const stopped = new KeyroomError(ErrorCode.NotStarted, 'the node stopped')
    for (const queue of this.#queues.values()) queue.close(stopped)
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight])
    await this.#checks.close()
  }

  #track<T> (promise: Promise<T>): Promise<T> {
    this.#inflight.add(promise)
    void promise.then(() => this.#inflight.delete(promise), () => this.#inflight.delete(promise))
    return promise
  }

  /** Runs `task` in the room's serial queue (after every task queued before it). */
  async #run<T> (roomId: string, task: () => Promise<T>, options: AbortOptions & { urgent?: boolean } = {}): Promise<T> {
    if (this.#stopping.signal.aborted) throw new KeyroomError(ErrorCode.NotStarted, 'the node is stopped')
    let queue = this.#queues.get(roomId)
    if (queue === undefined) {
      const created = new SerialQueue(ROOM_QUEUE_CAPACITY, () => {
        if (this.#queues.get(roomId) === created) this.#queues.delete(roomId)
      })
      this.#queues.set(roomId, created)
      queue = created
    }
    return await this.#track(queue.add(task, options))
  }

  // -------------------------------------------------------------------------------------------
  // Rooms in memory

  /** The room's view, loading it from the store on first use; `undefined` for a room the node does not hold. */
  async room (roomId: string): Promise<RoomView | undefined> {
    let pending = this.#views.get(roomId)
    if (pending === undefined) {
      pending = this.#load(roomId)
      this.#setView(roomId, pending)
    }
    return await pending
  }

  /** Installs a (loading) view; it joins `#loaded` once it has loaded, unless replaced meanwhile. */
  #setView (roomId: string, pending: Promise<RoomView | undefined>): void {
    this.#views.set(roomId, pending)
    this.#loaded.delete(roomId)
    pending.then(view => {
      if (this.#views.get(roomId) !== pending) return
      if (view === undefined) this.#views.delete(roomId)
      else this.#loaded.set(roomId, view)
    }, () => { if (this.#views.get(roomId) === pending) this.#views.delete(roomId) })
  }

  /** Drops a view that ran ahead of the store: the next use reloads what is durable. */
  #dropView (roomId: string): void {
    this.#views.delete(roomId)
    this.#loaded.delete(roomId)
  }

  /** The room's view, or `ERR_UNKNOWN_ROOM`. */
  async requireRoom (roomId: string): Promise<RoomView> {
    const view = await this.room(roomId)
    if (view === undefined) throw new KeyroomError(ErrorCode.UnknownRoom, `room ${roomId} is not known to this node`, { hint: 'join it first (keyroom:r/… link), or accept an invite' })
    return view
  }

  async #load (roomId: string): Promise<RoomView | undefined> {
    const meta = await this.#store.getRoomMeta(roomId)
    if (meta === undefined) return undefined
    const view = new RoomView({
      roomId,
      roomVersion: meta.roomVersion,
      createEventId: meta.createEventId,
      heads: await this.#store.getHeads(roomId),
      current: await this.#store.getCurrentState(roomId) ?? new Map()
    })
    // Every state event (whatever its decision) is what the core can ask for; read the room once.
    let after: EventPosition | undefined
    for (;;) {
      const page = await this.#store.roomEvents(roomId, { limit: STORE_PAGE_SIZE, direction: 'forward', ...(after === undefined ? {} : { after }) })
      if (page.length === 0) break
      for (const entry of page) {
        const stored = await this.#store.getEvent(entry.eventId)
        if (stored === undefined) continue
        view.remember(entry.eventId, parseJson(stored.bytes) as RoomEvent, entry.decision)
      }
      after = page[page.length - 1]
    }
    view.primeVerifier()
    return view
  }

  async #storedPosition (eventId: string): Promise<{ roomId: string, depth: number } | undefined> {
    const known = this.#recent.get(eventId) ?? this.#positions.get(eventId)
    if (known !== undefined) return known
    const stored = await this.#store.getEvent(eventId)
    if (stored === undefined) return undefined
    const position = { roomId: stored.roomId, depth: stored.depth }
    this.#positions.set(eventId, position)
    return position
  }

  /** Whether the engine knows, without reading the store, that it holds (or is writing) an event. */
  #knownHere (eventId: string): boolean {
    if (this.#recent.has(eventId) || this.#positions.has(eventId)) return true
    // State events of loaded rooms (auth events always are).
    for (const view of this.#loaded.values()) if (view.getEvent(eventId) !== undefined) return true
    return false
  }

  async #isStored (eventId: string): Promise<boolean> {
    return this.#knownHere(eventId) || await this.#store.hasEvent(eventId)
  }

  /**
   * True when `event` is certainly not stored: deeper than every event its (loaded) room holds.
   * A new event at the head of a room is, so gossip's "is it a duplicate?" needs no store read.
   */
  #certainlyNew (event: RoomEvent): boolean {
    const view = this.#loaded.get(event.room_id)
    return view !== undefined && event.depth > view.maxDepth
  }

  /** `#isStored` for many events, with one store read for those not known in memory. */
  async #areStored (eventIds: readonly string[]): Promise<boolean[]> {
    const out = eventIds.map(id => this.#knownHere(id))
    const ask: number[] = []
    for (let i = 0; i < out.length; i++) if (!out[i]) ask.push(i)
    if (ask.length === 0) return out
    const found = await this.#store.hasEvents(ask.map(i => eventIds[i]!))
    for (let j = 0; j < ask.length; j++) out[ask[j]!] = found[j] === true || this.#knownHere(eventIds[ask[j]!]!)
    return out
  }

  /**
   * The heads an accepted event supersedes: its prev events and, behind any prev event that was
   * soft-failed or rejected here (which therefore never replaced its own prev events as a head),
   * the prev events of that one, on up through further soft-failed or rejected events (Synapse
   * does the same). Without this, an accepted event whose only child was soft-failed would stay a
   * head after a later accepted event was built past it, and this node alone would keep resolving
   * the room's state over that old branch. The walk reads at most {@link SUPERSEDED_WALK_EVENTS}.
   */
  async #supersededHeads (view: RoomView, prevEvents: readonly string[]): Promise<ReadonlySet<string>> {
    const out = new Set(prevEvents)
    const heads = new Set(view.heads)
    let frontier = prevEvents.filter(id => !heads.has(id) && view.notAccepted(id))
    let budget = SUPERSEDED_WALK_EVENTS
    while (frontier.length > 0 && budget > 0) {
      const next: string[] = []
      for (const id of frontier) {
        if (budget-- <= 0) break
        for (const prev of (await this.#positionOf(view, id))?.prevEvents ?? []) {
          if (!out.has(prev)) {
            out.add(prev)
            if (!heads.has(prev) && view.notAccepted(prev)) next.push(prev)
          }
        }
      }
      frontier = next
    }
    return out
  }

  /**
   * After a state event (`newHead`) is accepted while the room has several heads (`all`; `states`:
   * each head's state after; `current`: their resolution), retires the older heads that went out of
   * date: a retired head is no longer a head (not built upon, its state no longer resolved into
   * the room's) but stays accepted and shown. A head goes out of date in two steps:
   * 1. it fails the room's rules in the current state — a node that learnt of the other branches
   *    first soft-failed it (say, a message its sender wrote while being removed). It is noted
   *    (in memory) and stays a head for now: while its state changes nothing, the next event
   *    merges it and brings it to the nodes that missed it, as in Matrix. A head not noted (the
   *    node restarted since, say) is judged when its state changes the resolution, in the state
   *    the other heads resolve to: what a node that never held it judges it by;
   * 2. a noted head is retired once its state changes what the other heads resolve to while its
   *    branch holds no state of its own (none of the events behind it that no other head descends
   *    from sets state: {@link #carriesNoState}). Its state is then just the room's as it was before a concurrent
   *    change, and state resolution orders power events by the auth graph, not by the room's
   *    history: resolving that old state again over what followed can undo a removal (a state
   *    reset) that the nodes which soft-failed the head never see, and that would split the
   *    room's state for good. A branch with state of its own stays a head: the next event merges
   *    it, so the nodes that missed it receive it.
   * Rooms with more than {@link MAX_RECHECKED_HEADS} heads are left as they are.
   */
  async #retireOutdatedHeads (
    view: RoomView, all: readonly string[], states: ReadonlyMap<string, ReadonlyMap<string, string>>, newHead: string, current: Map<string, string>
  ): Promise<{ heads: string[], current: Map<string, string> }> {
    const heads = [...states.keys()]
    if (heads.length > MAX_RECHECKED_HEADS || heads.length !== all.length) return { heads: [...all], current }
    const retired = new Set<string>()
    for (const head of heads) {
      if (head === newHead) continue
      let event: RoomEvent | undefined
      const passes = async (state: ReadonlyMap<string, string>): Promise<boolean> => {
        event ??= await this.#eventOf(view, head)
        return event === undefined || passesInState(event, { roomVersion: view.roomVersion, eventId: head, state: view.lookup(state) }).ok
      }
      let noted = this.#outdated.has(head)
      if (!noted && !await passes(current)) {
        this.#outdated.set(head, true)
        noted = true
      }
      const otherHeads = heads.filter(h => h !== head)
      const others = otherHeads.map(h => states.get(h)!)
      const withoutHead = others.length === 1 ? others[0]! : view.resolve(others)
      if (sameState(current, withoutHead)) continue
      // Not noted (say, the node restarted since): a node that never held the head judges it in
      // the state without it.
      if (!noted && await passes(withoutHead)) continue
      if (await this.#carriesNoState(view, head, otherHeads)) retired.add(head)
    }
    if (retired.size === 0) return { heads, current }
    for (const head of retired) this.#outdated.delete(head)
    const kept = heads.filter(h => !retired.has(h))
    return { heads: kept, current: kept.length === 1 ? new Map(states.get(kept[0]!)!) : view.resolve(kept.map(h => states.get(h)!)) }
  }

  /**
   * Whether `head`'s branch holds no state of its own: every event back from it (through
   * `prev_events`) that no other head descends from sets no state — the head's state is then an
   * older state of the room, not news. Reads at most {@link NO_STATE_WALK_STEPS} events of the
   * branch and {@link SUPERSEDED_WALK_EVENTS} events behind the other heads (deepest first, only
   * as deep as the branch needs); `false` when it cannot tell.
   */
  async #carriesNoState (view: RoomView, head: string, otherHeads: readonly string[]): Promise<boolean> {
    const position = async (id: string): Promise<StoredPosition | undefined> => await this.#positionOf(view, id)
    const tips: Array<{ eventId: string, depth: number }> = []
    for (const id of otherHeads) {
      const tip = await position(id)
      if (tip === undefined) return false
      tips.push({ eventId: id, depth: tip.depth })
    }
    const shared = new AncestorWalk({ roomId: view.roomId, tips, read: position, maxExpansions: SUPERSEDED_WALK_EVENTS })
    const seen = new Set<string>([head])
    const branch = [head]
    for (let read = 0; branch.length > 0; read++) {
      if (read >= NO_STATE_WALK_STEPS) return false
      const event = await this.#eventOf(view, branch.pop()!)
      if (event === undefined || typeof event.state_key === 'string') return false
      for (const prev of event.prev_events) {
        if (seen.has(prev)) continue
        seen.add(prev)
        const stored = await position(prev)
        if (stored === undefined) return false
        if (await shared.includes(prev, stored.depth)) continue
        if (shared.incomplete) return false
        branch.push(prev)
      }
    }
    return true
  }

  /**
   * An event's room, depth and prev events: from the view's state events (which hold the event
   * being committed), else the stored (or in-flight) event.
   */
  async #positionOf (view: RoomView, eventId: string): Promise<StoredPosition | undefined> {
    const event = view.getEvent(eventId)
    return event === undefined ? await this.#servedEvent(eventId) : { roomId: event.room_id, depth: event.depth, prevEvents: event.prev_events }
  }

  /** A room event by ID: the view's state events, else the served-event cache or the store. */
  async #eventOf (view: RoomView, eventId: string): Promise<RoomEvent | undefined> {
    const state = view.getEvent(eventId)
    if (state !== undefined) return state
    const served = await this.#servedEvent(eventId)
    return served === undefined ? undefined : parseJson(served.bytes) as RoomEvent
  }

  async #stateAfter (eventId: string): Promise<ReadonlyMap<string, string> | undefined> {
    const recent = this.#recent.get(eventId)
    if (recent !== undefined) return recent.state
    return await this.#store.getStateAt(eventId)
  }

  // -------------------------------------------------------------------------------------------
  // Ingest

  /**
   * Decides one event that passed the ingest checks and hands it to the store (see the module
   * comment). Runs inside the room's queue. `local`: a locally built event — one the rules do not
   * accept is refused, not stored. `wait: false` returns before the write is durable (catch-up).
   * `unstored`: the caller checked, in this same queue task, that the event is not stored.
   */
  async #ingest (checked: CheckedEvent, options: { local?: boolean, wait?: boolean, unstored?: boolean } = {}): Promise<IngestResult> {
    const { eventId, event } = checked
    const roomId = event.room_id
    // A local event was just built on the room's heads (in its queue), so it cannot be stored
    // already; memory answers for it (and the store's write is first-wins anyway).
    const stored = options.unstored === true || this.#certainlyNew(event) ? false : options.local === true ? this.#knownHere(eventId) : await this.#isStored(eventId)
    if (stored) return { status: 'duplicate' }
    const isRoot = event.type === RoomEventType.Create && event.state_key === '' && event.prev_events.length === 0
    const view = await this.room(roomId)
    if (view === undefined) {
      if (!isRoot) return { status: 'missing', missing: [...event.prev_events] }
      return await this.#ingestCreate(checked, options)
    }

    const missing: string[] = []
    const prevs: Array<{ eventId: string, roomId: string, depth: number }> = []
    for (const id of event.prev_events) {
      const position = await this.#storedPosition(id)
      if (position === undefined) missing.push(id)
      else prevs.push({ eventId: id, ...position })
    }
    for (const id of event.auth_events) if (!(await this.#isStored(id))) missing.push(id)
    if (missing.length > 0) return { status: 'missing', missing }

    // The DAG rules (keyroom.1), before any state is computed.
    let rule = checkDagRules(event, prevs)

    let stateBefore: ReadonlyMap<string, string> | undefined
    const prevStates: Array<ReadonlyMap<string, string>> = []
    if (rule === undefined) {
      for (const prev of prevs) {
        const state = await this.#stateAfter(prev.eventId)
        if (state === undefined) {
          rule = `keyroom.dag.5: the state after prev event ${prev.eventId} is unknown`
          break
        }
        prevStates.push(state)
      }
      if (rule === undefined) stateBefore = prevStates.length === 1 ? prevStates[0] : view.resolve(prevStates)
    }

    const decision: CoreDecision = rule !== undefined || stateBefore === undefined
      ? { outcome: 'rejected', rule: rule ?? 'keyroom.dag: no state before the event', against: 'event' }
      : decide(event, {
        roomVersion: view.roomVersion,
        eventId,
        getEvent: view.getEvent,
        isRejected: view.isRejected,
        stateBefore: view.lookup(stateBefore),
        currentState: view.lookup(view.current),
        now: this.#now()
      })
    if (options.local === true && decision.outcome !== 'accepted') return { status: 'refused', rule: decision.rule }

    let stateUpdate: StateUpdate | undefined
    if (stateBefore !== undefined) {
      const key = stateKeyOf(event)
      const sets = key !== undefined && decision.outcome !== 'rejected'
      if (prevStates.length === 1) {
        stateUpdate = { base: prevs[0]!.eventId, ...(sets ? { changes: new Map([[key, eventId]]) } : {}) }
      } else {
        const after = new Map(stateBefore)
        if (sets) after.set(key, eventId)
        stateUpdate = { base: prevs[0]!.eventId, changes: stateDelta(prevStates[0]!, after) }
      }
    }
    return await this.#commit(view, checked, decision, stateBefore, stateUpdate, undefined, options)
  }

  /** The create event of a room the node does not hold yet: it founds the room, or nothing is stored. */
  async #ingestCreate (checked: CheckedEvent, options: { wait?: boolean }): Promise<IngestResult> {
    const { eventId, event } = checked
    const roomVersion = event.content.room_version
    if (typeof roomVersion !== 'string') return { status: 'refused', rule: 'keyroom.create: no room_version' }
    const dagRule = checkCreateDagRules(event)
    if (dagRule !== undefined) return { status: 'refused', rule: dagRule }
    let view: RoomView
    try {
      view = new RoomView({ roomId: event.room_id, roomVersion, createEventId: eventId, heads: [], current: new Map() })
    } catch (err) {
      return { status: 'refused', rule: `keyroom.create: ${err instanceof Error ? err.message : String(err)}` }
    }
    const empty = new Map<string, string>()
    let decision: CoreDecision
    try {
      decision = decide(event, { roomVersion, eventId, getEvent: view.getEvent, isRejected: view.isRejected, stateBefore: view.lookup(empty), now: this.#now() })
    } catch (err) {
      return { status: 'refused', rule: `keyroom.create: ${err instanceof Error ? err.message : String(err)}` }
    }
    // A room whose create event fails its own rules does not exist: nothing to store.
    if (decision.outcome !== 'accepted') return { status: 'refused', rule: decision.rule }
    this.#setView(event.room_id, Promise.resolve(view))
    this.#loaded.set(event.room_id, view)
    const meta: RoomMeta = { roomVersion, createEventId: eventId }
    return await this.#commit(view, checked, decision, empty, { base: null, changes: new Map([[stateMapKey(event.type, ''), eventId]]) }, meta, options)
  }

  /**
   * Computes heads, current state, verifications and metadata after a decided event, updates the
   * view, and writes the batch.
   */
  async #commit (
    view: RoomView, checked: CheckedEvent, coreDecision: CoreDecision, stateBefore: ReadonlyMap<string, string> | undefined,
    stateUpdate: StateUpdate | undefined, createMeta: RoomMeta | undefined, options: { wait?: boolean }
  ): Promise<IngestResult> {
    const { eventId, event, bytes } = checked
    const roomId = view.roomId
    const decision = storeDecision(coreDecision)
    const key = stateKeyOf(event)
    let stateAfter: ReadonlyMap<string, string> | undefined = stateBefore
    if (stateBefore !== undefined && key !== undefined && decision.kind !== 'rejected') {
      const after = new Map(stateBefore)
      after.set(key, eventId)
      stateAfter = after
    }

    // The core may read the event itself from here on (state resolution over the new heads).
    view.remember(eventId, event, decision.kind)

    // Heads and current state move only with accepted events (soft-failed ones are not built upon).
    let heads = view.heads
    let current: Map<string, string> | undefined
    if (decision.kind === 'accepted' && stateAfter !== undefined) {
      const superseded = await this.#supersededHeads(view, event.prev_events)
      heads = [...view.heads.filter(h => !superseded.has(h)), eventId].sort(compareCodePoints)
      const replacedOneHead = event.prev_events.length === 1 && view.heads.includes(event.prev_events[0]!)
      if (heads.length === 1) {
        current = new Map(stateAfter)
      } else if (key === undefined && replacedOneHead) {
        // A non-state event on one head: the heads' states are the same multiset as before.
        current = view.current
      } else {
        const states = new Map<string, ReadonlyMap<string, string>>()
        for (const head of heads) {
          const state = head === eventId ? stateAfter : await this.#stateAfter(head)
          if (state !== undefined) states.set(head, state)
        }
        current = view.resolve([...states.values()])
        if (key !== undefined) ({ heads, current } = await this.#retireOutdatedHeads(view, heads, states, eventId, current))
      }
    }

    const previousMemberships = new Map<string, Membership | undefined>()
    const ownBefore = view.membership(this.userId)
    let changedMembers: string[] = []
    if (current !== undefined) {
      for (const [changedKey] of stateDelta(view.current, current)) {
        const memberPrefix = stateMapKey(RoomEventType.Member, '')
        if (changedKey.startsWith(memberPrefix)) {
          const userId = changedKey.slice(memberPrefix.length)
          previousMemberships.set(userId, view.membership(userId))
        }
      }
      changedMembers = view.setCurrent(current)
      view.heads = heads
    }
    const verifications = new Map<string, Uint8Array>()
    for (const userId of changedMembers) {
      const verification = view.verification(userId)
      if (verification !== undefined) verifications.set(userId, encodeVerification(verification))
    }
    const ownAfter = view.membership(this.userId)
    let roomMeta = createMeta
    if (ownAfter !== ownBefore && ownAfter !== undefined) {
      roomMeta = { roomVersion: view.roomVersion, createEventId: view.createEventId, localMembership: ownAfter }
    }

    this.#recent.set(eventId, { roomId, depth: event.depth, decision: decision.kind, state: stateAfter, served: { roomId, depth: event.depth, bytes, prevEvents: event.prev_events } })
    const write = this.#store.writeEvent({
      eventId,
      roomId,
      depth: event.depth,
      bytes,
      decision,
      heads,
      ...(stateUpdate === undefined ? {} : { state: stateUpdate }),
      ...(current === undefined ? {} : { currentState: { base: eventId, changes: stateDelta(stateAfter!, current) } }),
      ...(roomMeta === undefined ? {} : { roomMeta }),
      ...(verifications.size === 0 ? {} : { verifications }),
      // Every ingest checked, in the room's queue, that the event is not stored.
      knownNew: true
    })
    const durable: Promise<void> = this.#track(write.then(() => {
      this.#recent.delete(eventId)
      this.#positions.set(eventId, { roomId, depth: event.depth })
      this.#eventCache.set(eventId, { roomId, depth: event.depth, bytes, prevEvents: event.prev_events }, bytes.byteLength)
      this.#announce(view, checked, decision, changedMembers, previousMemberships)
    }, (err: unknown) => {
      this.#recent.delete(eventId)
      // The in-memory view ran ahead of the store: drop it so the next use reloads what is durable.
      this.#dropView(roomId)
      this.#log.error('writing event %s of %s failed - %e', eventId, roomId, err)
      throw err
    }))
    // Writes apply in call order, so the room's last write being durable means all of them are.
    const last = durable.catch(() => {})
    this.#lastWrite.set(roomId, last)
    void last.then(() => { if (this.#lastWrite.get(roomId) === last) this.#lastWrite.delete(roomId) })
    if (options.wait !== false) await durable
    return { status: 'stored', decision }
  }

  /** Typed API events for a durable event. */
  #announce (view: RoomView, checked: CheckedEvent, decision: Decision, changedMembers: string[], previous: Map<string, Membership | undefined>): void {
    const { eventId, event } = checked
    if (decision.kind !== 'rejected' && (event.type === RoomEventType.Device || event.type === RoomEventType.Member)) this.#onDeviceEvent?.(view.roomId, event)
    if (decision.kind === 'accepted' && event.type === RoomEventType.Message) {
      this.#events.emit('message', messageOf(eventId, event))
    }
    for (const userId of changedMembers) {
      const entry = view.entry(RoomEventType.Member, userId)
      const membership = asMembership(entry?.event.content.membership)
      if (entry === undefined || membership === undefined) continue
      const change: MembershipChange = {
        roomId: view.roomId, userId, membership, eventId: entry.eventId, sender: entry.event.sender,
        ...(previous.get(userId) === undefined ? {} : { previous: previous.get(userId)! })
      }
      this.#events.emit('membership', change)
      // Kicked, banned or left (from any device of the user): off the room's topic. Joined again
      // (a removal that lost state resolution, or a join from another device): back on it.
      if (userId === this.userId && (membership === 'leave' || membership === 'ban')) this.unsubscribe(view.roomId)
      if (userId === this.userId && membership === 'join' && change.previous !== undefined && change.previous !== 'join') this.#net?.gossip.subscribe(view.roomId)
    }
  }

  // -------------------------------------------------------------------------------------------
  // Gossip

  /**
   * The gossip `validate` port: the ingest checks, then the whole pipeline for events that pass
   * (fetching what is missing from the relaying peer), so the verdict reflects the decision:
   * accepted → `accept` (forwarded); rejected, or failing the ingest checks → `reject` (the relayer
   * loses score); soft-failed, duplicate or undecidable for now → `ignore` (not forwarded, no
   * penalty).
   */
  async validateGossip (roomId: string, bytes: Uint8Array, from: PeerId, options: AbortOptions = {}): Promise<GossipVerdict> {
    const check = checkEventBytes(bytes, { roomId })
    if (!check.ok) {
      this.#log('rejecting gossip from %p in %s: %s', from, roomId, check.reason)
      return 'reject'
    }
    const result = await this.receive(check.checked, from, options)
    // Undecidable (its gap could not be fetched in time): dropped from gossip, so catch the room
    // up from that peer a little later — the event comes back with its gap then.
    if (result.status === 'missing') this.#scheduleCatchUp(roomId, from)
    switch (result.status) {
      case 'stored':
        if (result.decision.kind === 'accepted') return 'accept'
        this.#log('%s event %s from %p: %s', result.decision.kind, check.checked.eventId, from, result.decision.rule)
        return result.decision.kind === 'rejected' ? 'reject' : 'ignore'
      case 'refused':
        return 'reject'
      default:
        return 'ignore'
    }
  }

  /**
   * A checked event from a peer: wait (bounded) for whatever of it and its parents and auth events
   * another `receive` holds, fill the rest of the gap under it from that peer, then decide it (and
   * the gap). Returns once decided; the write is durable shortly after (`messages` waits for it).
   */
  async receive (checked: CheckedEvent, from: PeerId, options: AbortOptions = {}): Promise<IngestResult> {
    const roomId = checked.event.room_id
    const deps = [...checked.event.prev_events, ...checked.event.auth_events]
    // Registered before the first await, so an event delivered right after this one sees it.
    const held: Array<Promise<void>> = []
    for (const id of [checked.eventId, ...deps]) {
      const pending = this.#receiving.get(id)
      if (pending !== undefined) held.push(pending)
    }
    let finished!: () => void
    const settled = new Promise<void>(resolve => { finished = resolve })
    const mine: string[] = []
    if (!this.#receiving.has(checked.eventId)) {
      this.#receiving.set(checked.eventId, settled)
      mine.push(checked.eventId)
      this.#arrived(checked.eventId)
    }
    try {
      if (!this.#certainlyNew(checked.event) && await this.#isStored(checked.eventId)) return { status: 'duplicate' }
      if (held.length > 0) await this.#awaitHeld(held, options)
      let ancestors: CheckedEvent[] = []
      let missing: string[] = []
      const inFlight: Array<Promise<void>> = []
      for (const id of deps) {
        if (await this.#isStored(id)) continue
        const pending = this.#receiving.get(id)
        if (pending !== undefined) inFlight.push(pending)
        else missing.push(id)
      }
      // Gossip delivers concurrently and out of order: a missing parent is usually on its way.
      // Give it a moment to arrive before asking the relayer for it.
      if (missing.length > 0) inFlight.push(...await this.#awaitArrivals(missing, options))
      if (inFlight.length > 0) {
        await this.#awaitHeld(inFlight, options)
        missing = []
        for (const id of deps) if (!(await this.#isStored(id))) missing.push(id)
      }
      const unknown = missing.length > 0
      if (unknown && this.#net !== undefined) {
        const signal = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(GAP_FILL_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])])
        try {
          ancestors = (await fetchAncestors(this.#net.sync, from, roomId, { events: [checked] }, {
            signal, maxEvents: GAP_FILL_MAX_EVENTS, maxBytes: CATCH_UP_MAX_BYTES, log: this.#log,
            isStored: async (id) => await this.#isStored(id),
            areStored: async (ids) => await this.#areStored(ids),
            localHeads: async () => await this.#store.getHeads(roomId)
          })).events
        } catch (err) {
          this.#log('could not fetch the gap under %s from %p: %s', checked.eventId, from, err instanceof Error ? err.message : String(err))
        }
        // Queued now: an event arriving on top of one of them waits for it too.
        for (const ancestor of ancestors) {
          if (this.#receiving.has(ancestor.eventId)) continue
          this.#receiving.set(ancestor.eventId, settled)
          mine.push(ancestor.eventId)
          this.#arrived(ancestor.eventId)
        }
      }
      // Decided is enough for the verdict: gossip forwards the event now, while the write becomes
      // durable behind it (the sync server serves it meanwhile, and reads wait for it).
      return await this.#run(roomId, async () => {
        for (const ancestor of ancestors) await this.#ingest(ancestor, { wait: false })
        return await this.#ingest(checked, { wait: false })
      })
    } finally {
      for (const id of mine) if (this.#receiving.get(id) === settled) this.#receiving.delete(id)
      finished()
    }
  }

  /**
   * Resolves when `until` settles, after `ms`, when the node stops or when `options.signal`
   * aborts, whichever comes first; never rejects. A timer and two listeners, no `AbortSignal.any`:
   * this runs for most gossiped events, and every `AbortSignal.any` over the node's long-lived
   * stop signal leaves a dependant on it.
   */
  async #boundedWait (until: Promise<unknown>, ms: number, options: AbortOptions): Promise<void> {
    const stop = this.#stopping.signal
    const callerSignal = options.signal
    if (stop.aborted || callerSignal?.aborted === true) return
    await new Promise<void>(resolve => {
      const done = (): void => {
        clearTimeout(timer)
        stop.removeEventListener('abort', done)
        callerSignal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      stop.addEventListener('abort', done, { once: true })
      callerSignal?.addEventListener('abort', done, { once: true })
      until.then(done, done)
    })
  }

  /** An event ID entered `#receiving`: wake the calls waiting for it. */
  #arrived (eventId: string): void {
    const waiters = this.#arrivals.get(eventId)
    if (waiters === undefined) return
    this.#arrivals.delete(eventId)
    for (const wake of waiters) wake()
  }

  /**
   * Waits at most {@link GAP_GRACE_MS} for every one of `ids` to arrive (another `receive` holds
   * it); returns the promises of those that did. Never throws.
   */
  async #awaitArrivals (ids: readonly string[], options: AbortOptions): Promise<Array<Promise<void>>> {
    const pending = new Set(ids.filter(id => !this.#receiving.has(id)))
    const wakes: Array<[string, () => void]> = []
    if (pending.size > 0) {
      let allArrived!: () => void
      const arrivedAll = new Promise<void>(resolve => { allArrived = resolve })
      for (const id of pending) {
        const wake = (): void => {
          pending.delete(id)
          if (pending.size === 0) allArrived()
        }
        let set = this.#arrivals.get(id)
        if (set === undefined) {
          set = new Set()
          this.#arrivals.set(id, set)
        }
        set.add(wake)
        wakes.push([id, wake])
      }
      await this.#boundedWait(arrivedAll, GAP_GRACE_MS, options)
      for (const [id, wake] of wakes) {
        const set = this.#arrivals.get(id)
        set?.delete(wake)
        if (set?.size === 0) this.#arrivals.delete(id)
      }
    }
    const out: Array<Promise<void>> = []
    for (const id of ids) {
      const held = this.#receiving.get(id)
      if (held !== undefined) out.push(held)
    }
    return out
  }

  /**
   * Waits for `held` (other `receive` calls) to settle, at most `GAP_FILL_TIMEOUT_MS` or until the
   * caller's signal or the node stops; never throws — what is still missing afterwards is fetched.
   */
  async #awaitHeld (held: ReadonlyArray<Promise<void>>, options: AbortOptions): Promise<void> {
    await this.#boundedWait(Promise.all(held), GAP_FILL_TIMEOUT_MS, options)
  }

  // -------------------------------------------------------------------------------------------
  // Catch-up

  /**
   * Catches a room up from one peer: its heads, then everything behind them the node lacks, decided
   * parents-first. Returns the number of events stored. Emits `sync` progress. Throws the sync
   * client's errors (`ERR_SYNC_NOT_FOUND` when the peer will not share the room).
   */
  async catchUp (roomId: string, peer: PeerId, options: AbortOptions & { quiet?: boolean } = {}): Promise<number> {
    const net = this.#requireNet()
    const base = { roomId, peer: peer.toString() }
    const signal = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(CATCH_UP_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])])
    // `quiet` (a periodic check): no `sync` events unless the peer has something to fetch.
    let announced = options.quiet !== true
    if (announced) this.#events.emit('sync', { ...base, phase: 'started', fetched: 0 })
    let fetched = 0
    try {
      const heads = await net.sync.heads(peer, roomId, { signal })
      const unknown: string[] = []
      for (const id of heads) if (!(await this.#isStored(id))) unknown.push(id)
      // Something to fetch: the check worker loads while the first answers come.
      if (unknown.length > 0) {
        this.#checks.warm()
        if (!announced) {
          announced = true
          this.#events.emit('sync', { ...base, phase: 'started', fetched: 0 })
        }
      }
      let stored = 0
      if (unknown.length > 0) {
        const found = await fetchAncestors(net.sync, peer, roomId, { ids: unknown }, {
          signal, maxEvents: CATCH_UP_MAX_EVENTS, maxBytes: CATCH_UP_MAX_BYTES, log: this.#log,
          isStored: async (id) => await this.#isStored(id),
          areStored: async (ids) => await this.#areStored(ids),
          checkMany: async (items) => await this.#checks.check(items),
          localHeads: async () => await this.#store.getHeads(roomId),
          onProgress: (n) => {
            fetched = n
            this.#events.emit('sync', { ...base, phase: 'fetched', fetched: n })
          }
        })
        fetched = found.events.length
        stored = await this.#run(roomId, async () => {
          let n = 0
          // One store read for the whole batch; nothing else stores events of the room while this
          // task runs (every ingest goes through the room's queue).
          const present = await this.#areStored(found.events.map(e => e.eventId))
          for (let i = 0; i < found.events.length; i++) {
            if (present[i] === true) continue
            const result = await this.#ingest(found.events[i]!, { wait: false, unstored: true })
            if (result.status === 'stored') n++
          }
          // Durable before the catch-up reports done.
          await this.#lastWrite.get(roomId)
          return n
        }, { signal })
      }
      if (announced) this.#events.emit('sync', { ...base, phase: 'done', fetched, stored })
      return stored
    } catch (err) {
      if (announced) this.#events.emit('sync', { ...base, phase: 'failed', fetched, error: err instanceof Error ? err.message : String(err) })
      throw err
    }
  }

  /**
   * A catch-up of `roomId` from `peer` in {@link RETRY_CATCH_UP_DELAY_MS}, at most one pending per
   * room (later requests while one waits are folded into it): how an event gossip could not
   * decide reaches the node after all.
   */
  #scheduleCatchUp (roomId: string, peer: PeerId): void {
    if (this.#retries.has(roomId) || this.#stopping.signal.aborted || this.#retries.size >= MAX_PENDING_RETRIES) return
    const timer = setTimeout(() => {
      this.#retries.delete(roomId)
      if (this.#stopping.signal.aborted) return
      void this.#track(this.catchUp(roomId, peer).catch((err: unknown) => {
        this.#log('retry catch-up of %s from %p failed: %s', roomId, peer, err instanceof Error ? err.message : String(err))
      }))
    }, RETRY_CATCH_UP_DELAY_MS)
    timer.unref?.()
    this.#retries.set(roomId, timer)
  }

  #requireNet (): EngineNetwork {
    if (this.#net === undefined) throw new KeyroomError(ErrorCode.NotStarted, 'the node\'s network is not started')
    return this.#net
  }

  // -------------------------------------------------------------------------------------------
  // Local events

  /** The context for a new local event: all heads (the deepest 20) as prev events, depth above them. */
  async #context (view: RoomView): Promise<RoomContext> {
    const positions: Array<{ eventId: string, depth: number }> = []
    for (const head of view.heads) {
      const position = await this.#storedPosition(head)
      if (position !== undefined) positions.push({ eventId: head, depth: position.depth })
    }
    positions.sort((a, b) => compareByDepth(b, a))
    const prevs = positions.slice(0, MAX_PREV_EVENTS)
    return {
      roomId: view.roomId,
      prevEvents: prevs.map(p => p.eventId).sort(compareCodePoints),
      depth: expectedDepth(prevs.map(p => p.depth)),
      state: view.stateView(view.current)
    }
  }

  /**
   * Builds a local event with `build` against the current state, decides and stores it (in the
   * room's queue), then publishes it in the background when the node is on the room's topic.
   * Throws `ERR_FORBIDDEN` when the rules refuse it (nothing is stored), `ERR_UNKNOWN_ROOM`.
   */
  async sendLocal (roomId: string, build: (view: RoomView, context: RoomContext, originServerTs: number) => IdentifiedEvent, options: { publish?: boolean } = {}): Promise<CheckedEvent> {
    // Ahead of queued incoming events: the user waits on a send, nobody waits on a backlog.
    const checked = await this.#run(roomId, async () => {
      const view = await this.requireRoom(roomId)
      const built = build(view, await this.#context(view), this.#now())
      const local = checkedFromBuilt(built)
      const result = await this.#ingest(local, { local: true })
      if (result.status === 'refused') {
        throw new KeyroomError(ErrorCode.Forbidden, `the room's rules refuse this ${local.event.type} event: ${result.rule}`)
      }
      if (result.status !== 'stored') throw new KeyroomError(ErrorCode.Forbidden, `the ${local.event.type} event could not be stored (${result.status})`)
      return local
    }, { urgent: true })
    if (options.publish !== false) this.publish(checked)
    return checked
  }

  /** Stores the events of a newly created room (they are local; nobody is on the topic yet). */
  async createLocalRoom (events: readonly IdentifiedEvent[]): Promise<void> {
    const first = events[0]
    if (first === undefined) throw new KeyroomError(ErrorCode.InvalidEvent, 'a new room needs its create event')
    const roomId = first.event.room_id
    await this.#run(roomId, async () => {
      for (const built of events) {
        const result = await this.#ingest(checkedFromBuilt(built), { local: true })
        if (result.status === 'refused') throw new KeyroomError(ErrorCode.Forbidden, `the new room's ${built.event.type} event is refused: ${result.rule}`)
      }
    })
  }

  /** Publishes an event on its room's topic in the background; the outcome is logged (sync covers misses). */
  publish (checked: CheckedEvent): void {
    const net = this.#net
    if (net === undefined) return
    const roomId = checked.event.room_id
    void this.#track(net.gossip.publish(roomId, checked.bytes, { signal: this.#stopping.signal }).then(outcome => {
      this.#log('published %s in %s: %s', checked.eventId, roomId, outcome.status)
      return outcome
    }, (err: unknown) => {
      if (!this.#stopping.signal.aborted) this.#log('publishing %s failed: %s', checked.eventId, err instanceof Error ? err.message : String(err))
    }))
  }

  /** Joins (or leaves) the room's gossip topic. */
  subscribe (roomId: string): void {
    this.#requireNet().gossip.subscribe(roomId)
  }

  unsubscribe (roomId: string): void {
    this.#net?.gossip.unsubscribe(roomId)
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  /**
   * The room's last `limit` accepted messages before `before` (an event ID; default the end), in
   * the room's deterministic `(depth, event ID)` order, oldest first.
   */
  async messages (roomId: string, options: { limit: number, before?: string }): Promise<RoomMessage[]> {
    await this.requireRoom(roomId)
    // Read what the node has decided: the room's writes still in flight first.
    await this.#lastWrite.get(roomId)
    let position: EventPosition | undefined
    if (options.before !== undefined) {
      const stored = await this.#store.getEvent(options.before)
      if (stored === undefined || stored.roomId !== roomId) throw new KeyroomError(ErrorCode.InvalidEvent, `event ${options.before} is not an event of room ${roomId}`)
      position = { depth: stored.depth, eventId: stored.eventId }
    }
    const out: RoomMessage[] = []
    while (out.length < options.limit) {
      const page = await this.#store.roomEvents(roomId, { limit: STORE_PAGE_SIZE, direction: 'backward', ...(position === undefined ? {} : { before: position }) })
      if (page.length === 0) break
      for (const entry of page) {
        position = entry
        if (entry.decision !== 'accepted') continue
        const stored = await this.#store.getEvent(entry.eventId)
        if (stored === undefined) continue
        const event = parseJson(stored.bytes) as RoomEvent
        if (event.type !== RoomEventType.Message) continue
        out.push(messageOf(entry.eventId, event))
        if (out.length >= options.limit) break
      }
    }
    return out.reverse()
  }

  /** Members of the room's current state with their membership and verification, by user ID (code points). */
  async members (roomId: string): Promise<RoomMember[]> {
    const view = await this.requireRoom(roomId)
    const out: RoomMember[] = []
    for (const { event } of view.members()) {
      const userId = event.state_key
      const membership = asMembership(event.content.membership)
      if (userId === undefined || membership === undefined) continue
      const verification = view.verification(userId)
      const member: RoomMember = { userId, membership, verified: verification?.verified === true }
      if (verification !== undefined && !verification.verified) member.reason = verification.reason
      if (typeof event.content.displayname === 'string') member.displayName = event.content.displayname
      out.push(member)
    }
    return out.sort((a, b) => compareCodePoints(a.userId, b.userId))
  }

  /** Rooms the store holds, with the local user's membership. */
  async rooms (): Promise<Array<{ roomId: string, membership?: Membership, name?: string, topic?: string }>> {
    const out: Array<{ roomId: string, membership?: Membership, name?: string, topic?: string }> = []
    for (const roomId of await this.#store.listRooms()) {
      const view = await this.room(roomId)
      if (view === undefined) continue
      const room: { roomId: string, membership?: Membership, name?: string, topic?: string } = { roomId }
      const membership = view.membership(this.userId)
      if (membership !== undefined) room.membership = membership
      const name = view.name()
      if (name !== undefined) room.name = name
      const topic = view.topic()
      if (topic !== undefined) room.topic = topic
      out.push(room)
    }
    return out
  }

  // -------------------------------------------------------------------------------------------
  // Serving sync

  /**
   * Sync access: may this peer read the room? Never a device its user revoked (known from any room
   * or the directory, or from this room's `keyroom.device` record of it). Otherwise anyone for a
   * `public` room (a joiner must read the state to join), else a device of a user who is joined or
   * invited in the current state; a device of a user who left or was kicked or banned reads the
   * room up to the member event that removed them (a `SyncGrant`, see departed-access.ts), so a node
   * removed out of its sight learns it. The device's user comes from the hello exchange (an
   * attestation in force now), or from the attestations in the room's member events.
   */
  readonly authorize = async (peer: PeerId, roomId: string, options: AbortOptions = {}): Promise<SyncAccess> => {
    const deviceId = deviceIdOfPeer(peer)
    if (deviceId !== undefined && this.#isRevokedDevice(deviceId)) return false
    const view = await this.room(roomId)
    if (view === undefined) return false
    const record = deviceId === undefined ? undefined : view.entry(RoomEventType.Device, deviceId)?.event
    if (deviceId !== undefined && record !== undefined && record.content.revocation !== undefined &&
      deviceStanding(record.sender, deviceId, view.lookup(view.current), defaultAttestationCache).revokedTs !== undefined) return false
    if (view.joinRule() === 'public') return true
    const userId = await this.#userOfPeer(peer, options) ?? userOfDeviceInRoom(view, peer, this.#now())
    if (userId === undefined) return false
    const membership = view.membership(userId)
    if (membership === 'join' || membership === 'invite') return true
    return await this.#departedGrant(view, userId)
  }

  /**
   * A user who left or was removed reads the room up to and including the member event that
   * removed them (departed-access.ts); a user who never was a member gets nothing. The removal must
   * be durable (the walk reads the store). Walks are kept per removal event, the most recent
   * {@link MAX_DEPARTED_WALKS}.
   */
  async #departedGrant (view: RoomView, userId: string): Promise<SyncAccess> {
    const removal = removalOf(view, userId)
    if (removal === undefined) return false
    let walk = this.#departedWalks.get(removal.eventId)
    if (walk === undefined) {
      const stored = await this.#store.getEvent(removal.eventId)
      if (stored?.roomId !== view.roomId) return false
      walk = new AncestorWalk({ roomId: view.roomId, tips: [{ eventId: removal.eventId, depth: stored.depth }], read: this.#readPosition })
      this.#departedWalks.set(removal.eventId, walk)
    }
    return { store: departedSyncStore(this.syncStore, walk, this.#readPosition) }
  }

  /** An event's room, depth and prev events, as the ancestry walks read them. */
  readonly #readPosition = async (eventId: string): Promise<StoredPosition | undefined> => await this.#servedEvent(eventId)

  /** The sync store port: the room's stored events, heads and state. */
  readonly syncStore: SyncStore = {
    getHeads: async (roomId) => {
      const meta = await this.#store.getRoomMeta(roomId)
      return meta === undefined ? undefined : await this.#store.getHeads(roomId)
    },
    getEvent: async (roomId, eventId) => {
      const cached = await this.#servedEvent(eventId)
      return cached?.roomId === roomId ? cached.bytes : undefined
    },
    getPrevEvents: async (roomId, eventId) => {
      // A `missing` walk: it will want this event's ancestors next, which sit just below it in
      // the room's (depth, event ID) order — read them ahead in one batch.
      const cached = await this.#servedEvent(eventId, { readAhead: true })
      return cached?.roomId === roomId ? [...cached.prevEvents] : undefined
    },
    getStateIdsAt: async (roomId, eventId) => await this.stateIdsBefore(roomId, eventId)
  }

  /** A durable event for the sync server, through `#eventCache`. */
  async #servedEvent (eventId: string, options: { readAhead?: boolean } = {}): Promise<CachedEvent | undefined> {
    const cached = this.#eventCache.get(eventId) ?? this.#recent.get(eventId)?.served
    if (cached !== undefined) return cached
    const stored = await this.#store.getEvent(eventId)
    if (stored === undefined) return undefined
    const entry = this.#cacheServed(stored)
    if (options.readAhead === true) {
      const below = await this.#store.roomEvents(stored.roomId, { direction: 'backward', before: { depth: stored.depth, eventId }, limit: SYNC_READ_AHEAD })
      const ids = below.map(e => e.eventId).filter(id => !this.#eventCache.has(id))
      for (const event of await this.#store.getEvents(ids)) if (event !== undefined) this.#cacheServed(event)
    }
    return entry
  }

  #cacheServed (stored: StoredEvent): CachedEvent {
    const entry: CachedEvent = { roomId: stored.roomId, depth: stored.depth, bytes: stored.bytes, prevEvents: (parseJson(stored.bytes) as RoomEvent).prev_events }
    this.#eventCache.set(stored.eventId, entry, stored.bytes.byteLength)
    this.#positions.set(stored.eventId, { roomId: stored.roomId, depth: stored.depth })
    return entry
  }

  /** The state before an event (Matrix `/state_ids`) and the auth chain of that state. */
  async stateIdsBefore (roomId: string, eventId: string): Promise<StateIds | undefined> {
    const view = await this.room(roomId)
    const stored = await this.#store.getEvent(eventId)
    if (view === undefined || stored?.roomId !== roomId) return undefined
    const event = parseJson(stored.bytes) as RoomEvent
    const states: Array<ReadonlyMap<string, string>> = []
    for (const prev of event.prev_events) {
      const state = await this.#stateAfter(prev)
      if (state === undefined) return undefined
      states.push(state)
    }
    const before = states.length === 0 ? new Map<string, string>() : states.length === 1 ? states[0]! : view.resolve(states)
    const stateIds = [...before.values()]
    const chain = new Set<string>()
    const stack = [...stateIds]
    while (stack.length > 0) {
      const id = stack.pop()!
      for (const authId of view.getEvent(id)?.auth_events ?? []) {
        if (!chain.has(authId)) {
          chain.add(authId)
          stack.push(authId)
        }
      }
    }
    return { stateIds, authChainIds: [...chain] }
  }
}

/** The API shape of an accepted message event. */
function messageOf (eventId: string, event: RoomEvent): RoomMessage {
  return { roomId: event.room_id, eventId, sender: event.sender, content: event.content, originServerTs: event.origin_server_ts }
}

/**
 * The user of whom the room's current state holds an attestation of the peer's device in force at
 * `now` (their member event's `sender_key`, or their `keyroom.device` record of it), unrevoked.
 */
function userOfDeviceInRoom (view: RoomView, peer: PeerId, now: number): string | undefined {
  const deviceId = deviceIdOfPeer(peer)
  if (deviceId === undefined) return undefined
  const candidates = new Set<string>()
  for (const { event } of view.members()) {
    const attestation = event.content.sender_key
    if (typeof attestation === 'object' && attestation !== null && (attestation as Record<string, unknown>).udk === deviceId &&
      (attestation as Record<string, unknown>).upk === event.sender && event.state_key === event.sender) {
      candidates.add(event.sender)
    }
  }
  const record = view.entry(RoomEventType.Device, deviceId)?.event
  if (record !== undefined) candidates.add(record.sender)
  for (const userId of candidates) {
    const standing = deviceStanding(userId, deviceId, view.lookup(view.current), defaultAttestationCache)
    const expiresTs = standing.attestation?.expiresTs
    if (standing.attestation !== undefined && standing.revokedTs === undefined && (expiresTs === undefined || now < expiresTs)) return userId
  }
  return undefined
}
