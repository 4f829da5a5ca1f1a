/**
 * State resolution v2 (room versions 2–11) and v2.1 (room version 12 and keyroom.1, MSC4297).
 *
 * Source: room version 2 "State resolution" and room version 12 "State resolution" (which adds
 * the conflicted state subgraph and starts the first iterative auth checks from an empty map).
 * The step numbers below are the spec's ("Algorithm" 1–5); the definitions it uses ("Power
 * events", "Auth difference", "Conflicted state subgraph", "Reverse topological power ordering",
 * "Mainline ordering", "Iterative auth checks") are quoted where they are implemented.
 *
 * Readings of the spec text, each shared with Synapse and ruma (their test suites are what this
 * module is checked against):
 * - Power events include the `m.room.create` event, and `m.room.power_levels` /
 *   `m.room.join_rules` count only with the empty state key.
 * - Step 1 enlarges the power events by their auth events *within the full conflicted set*,
 *   walking auth-event edges between events of that set; Kahn's algorithm uses those edges. (In
 *   v2.1 this equals the whole auth chain restricted to the set: the conflicted state subgraph
 *   closes every path between conflicted events.)
 * - The auth chain of a state set is the union of its events' auth chains, without the state
 *   events themselves unless another event's chain reaches them (the spec's definition, as ruma).
 * - A sender's power level for the ordering is read from the event's own auth events: the
 *   `users` entry, else `users_default`, else 0; without a power levels event 100 for the
 *   creator (v1–v11) and 0 otherwise; `Infinity` for v12 creators. An unreadable level counts
 *   as 0.
 * - An event that `getEvent` cannot produce or that is malformed takes no part: it is left out
 *   of the full conflicted set, of auth chains and of auth states (so it fails auth). Unconflicted
 *   state is kept as given, as the spec re-applies it in step 5 without checks.
 *
 * keyroom.1 (`keySenders`): the keyroom rules are the default auth hooks ({@link defaultAuthHooks}),
 * a `keyroom.device` revocation is a power event ({@link Resolver.isPowerEvent}), and the auth
 * events selection (`authTypesForEvent`) names the signer's device record and an invite-link
 * join's link, so the iterative auth checks read those from the state being built.
 *
 * Performance: auth chains are never materialised per event. One traversal marks the auth chains
 * of the unconflicted state (every state set shares them, so nothing in them is in the auth
 * difference); one traversal per state set, stopping at those marks, gives each set's remaining
 * chain. Events are parsed once per call; power levels for the ordering are computed once per
 * event; Kahn's algorithm uses a binary heap.
 */
import {
  EventType, authTypesForEvent, checkAuth, createEventIdForRoom, creatorsOf, getOwn, parsePdu,
  parsePowerLevels, userLevel
} from '../auth/index.js'
import type { AuthHooks, PduLike } from '../auth/index.js'
import { ErrorCode, KeyroomError } from '../errors.js'
import { compareCodePoints } from '../json/index.js'
import { keyroomAuthHooks } from '../room/index.js'
import { roomVersionRules } from '../room-versions.js'
import type { RoomVersionRules } from '../room-versions.js'
import { BinaryHeap } from './binary-heap.js'
import { stateMapKey } from './state-map-key.js'

/** Options of {@link resolveState}. */
export interface ResolveStateOptions {
  /**
   * Whether an event was rejected on receipt. Rejected events are not used as auth events in the
   * iterative auth checks ("Rejected auth events are deliberately excluded"); as state to resolve
   * they are handled as usual ("Rejected events" section). Default: none is.
   */
  readonly isRejected?: ((eventId: string) => boolean) | undefined
  /**
   * Hooks for the authorization rules (third-party invite checks, a room version's own rules).
   * Default: the room version's own — for rooms with `keySenders` (keyroom.1) the keyroom rules,
   * `keyroomAuthHooks({ getEvent })` (room/room-auth.ts), so a caller cannot forget them; none
   * for Matrix room versions. Hooks given here replace that default as a whole: a keyroom.1 caller
   * with its own attestation cache passes `keyroomAuthHooks({ getEvent, attestations })`.
   */
  readonly authHooks?: AuthHooks | undefined
}

const CREATE_KEY = stateMapKey(EventType.Create, '')
const POWER_LEVELS_KEY = stateMapKey(EventType.PowerLevels, '')

/**
 * Resolve a set of room states into one (state resolution v2, or v2.1 from room version 12).
 *
 * @param roomVersion - the room's version; must use state resolution v2 or v2.1.
 * @param stateSets - the states to merge, keyed by {@link stateMapKey}, valued by event ID.
 * @param getEvent - the event with an ID (a PDU object), or `undefined` when unknown. Every event
 *   in the state sets and in their auth chains should be available. Results are validated.
 * @param options - rejected events, auth hooks.
 * @returns the resolved state, keyed by {@link stateMapKey}.
 * @throws KeyroomError `ERR_UNKNOWN_ROOM_VERSION` for an unknown version,
 *   `ERR_UNSUPPORTED_STATE_RESOLUTION` for room version 1 (state resolution v1).
 */
export function resolveState (
  roomVersion: string,
  stateSets: ReadonlyArray<ReadonlyMap<string, string>>,
  getEvent: (eventId: string) => object | undefined,
  options: ResolveStateOptions = {}
): Map<string, string> {
  const rules = roomVersionRules(roomVersion)
  if (rules.stateRes === 'v1') {
    throw new KeyroomError(ErrorCode.UnsupportedStateResolution, `room version ${JSON.stringify(roomVersion)} uses state resolution v1, which is not implemented`)
  }
  return new Resolver(rules, getEvent, options).resolve(stateSets)
}

/**
 * The authorization hooks of a room version when the caller gives none: keyroom.1's rules
 * (signing device attested and unrevoked, MSC3917 fields, its two Matrix rule overrides) for
 * rooms with `keySenders`, none for Matrix room versions.
 *
 * Why state resolution reaches into room/ for them: without them, keyroom.1 resolution would run
 * the bare Matrix rules — a revoked device's events and `keyroom.device` records above
 * `state_default` would be decided differently from `decide`, and nodes that forgot the option
 * would disagree with nodes that passed it. The dependency is one way only: room/ imports the auth
 * module, never state-res (test/protocols/core/state-res/imports.test.ts checks that no module
 * reachable from room/ imports state-res), so there is no import cycle. A registry in
 * room-versions.ts or a hook provider in the rules object would avoid the import, but only with
 * module-level mutable state or a registration step that a node could again forget; room-version
 * behaviour stays data (the `keySenders` flag) and the code it selects is found statically.
 */
function defaultAuthHooks (rules: RoomVersionRules, getEvent: (eventId: string) => object | undefined): AuthHooks {
  return rules.keySenders ? keyroomAuthHooks({ getEvent }) : {}
}

/** Per-call state: the parsed-event cache and memoised per-event values. */
class Resolver {
  readonly #rules: RoomVersionRules
  readonly #getEvent: (eventId: string) => object | undefined
  readonly #isRejected: (eventId: string) => boolean
  readonly #hooks: AuthHooks
  readonly #events = new Map<string, PduLike | null>()

  constructor (rules: RoomVersionRules, getEvent: (eventId: string) => object | undefined, options: ResolveStateOptions) {
    this.#rules = rules
    this.#getEvent = getEvent
    this.#isRejected = options.isRejected ?? (() => false)
    this.#hooks = options.authHooks ?? defaultAuthHooks(rules, getEvent)
  }

  /** The validated event, or `undefined` when unknown or malformed (memoised). */
  load (eventId: string): PduLike | undefined {
    let pdu = this.#events.get(eventId)
    if (pdu === undefined) {
      const parsed = parsePdu(this.#getEvent(eventId), eventId)
      pdu = parsed.ok ? parsed.pdu : null
      this.#events.set(eventId, pdu)
    }
    return pdu ?? undefined
  }

  resolve (stateSets: ReadonlyArray<ReadonlyMap<string, string>>): Map<string, string> {
    if (stateSets.length === 0) return new Map()
    if (stateSets.length === 1) return new Map(stateSets[0])

    const { unconflicted, conflictedBySet, conflicted } = splitConflicted(stateSets)
    if (conflicted.size === 0) return unconflicted

    // Full conflicted set: "the union of the conflicted state set (v2.1: the conflicted state
    // subgraph,) and the auth difference" — restricted to state events we can read.
    const full = new Set<string>()
    const addIfUsable = (id: string): void => {
      if (!full.has(id) && this.load(id)?.state_key !== undefined) full.add(id)
    }
    for (const id of conflicted) addIfUsable(id)
    for (const id of this.authDifference(unconflicted, conflictedBySet)) addIfUsable(id)
    if (this.#rules.stateRes === 'v2.1') {
      for (const id of this.conflictedSubgraph(conflicted)) addIfUsable(id)
    }

    // 1. "Select the set X of all power events that appear in the full conflicted set. For each
    // such power event P, enlarge X by adding the events in the auth chain of P which also belong
    // to the full conflicted set. Sort X into a list using the reverse topological power
    // ordering."
    const powerEvents: string[] = []
    for (const id of full) if (this.isPowerEvent(this.load(id)!)) powerEvents.push(id)
    const sortedPower = this.reverseTopologicalPowerOrder(powerEvents, full)

    // 2. "Apply the iterative auth checks algorithm, starting from the unconflicted state map
    // (v2.1: an empty state map), to the list of events from the previous step to get a partially
    // resolved state."
    const base = this.#rules.stateRes === 'v2.1' ? new Map<string, string>() : unconflicted
    const partial = this.iterativeAuthChecks(sortedPower, base)

    // 3. "Take all remaining events that weren't picked in step 1 and order them by the mainline
    // ordering based on the power level in the partially resolved state obtained in step 2."
    const picked = new Set(sortedPower)
    const remaining: string[] = []
    for (const id of full) if (!picked.has(id)) remaining.push(id)
    const sortedRemaining = this.mainlineOrder(remaining, partial.get(POWER_LEVELS_KEY))

    // 4. "Apply the iterative auth checks algorithm on the partial resolved state and the list of
    // events from the previous step."
    const resolved = this.iterativeAuthChecks(sortedRemaining, partial)

    // 5. "Update the result by replacing any event with the event with the same key from the
    // unconflicted state map, if such an event exists, to get the final resolved state."
    for (const [key, id] of unconflicted) resolved.set(key, id)
    return resolved
  }

  /**
   * "Auth difference": with C_i the full auth chain of state set S_i (the union of the auth
   * chains of its events), ∪C_i − ∩C_i.
   *
   * Every C_i contains the chains of the unconflicted events, so those are marked once and
   * excluded; what is left of each C_i is the part reachable from its conflicted events without
   * passing through a marked event (anything below a marked event is marked too).
   */
  authDifference (unconflicted: ReadonlyMap<string, string>, conflictedBySet: ReadonlyArray<readonly string[]>): string[] {
    const common = new Set<string>()
    const stack: string[] = []
    for (const id of unconflicted.values()) {
      const pdu = this.load(id)
      if (pdu !== undefined) for (const a of pdu.auth_events) stack.push(a)
    }
    while (stack.length > 0) {
      const id = stack.pop()!
      if (common.has(id)) continue
      const pdu = this.load(id)
      if (pdu === undefined) continue
      common.add(id)
      for (const a of pdu.auth_events) if (!common.has(a)) stack.push(a)
    }

    const counts = new Map<string, number>()
    for (const ids of conflictedBySet) {
      const seen = new Set<string>()
      for (const id of ids) {
        const pdu = this.load(id)
        if (pdu !== undefined) for (const a of pdu.auth_events) stack.push(a)
      }
      while (stack.length > 0) {
        const id = stack.pop()!
        if (seen.has(id) || common.has(id)) continue
        const pdu = this.load(id)
        if (pdu === undefined) continue
        seen.add(id)
        for (const a of pdu.auth_events) if (!seen.has(a) && !common.has(a)) stack.push(a)
      }
      for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1)
    }
    const difference: string[] = []
    for (const [id, count] of counts) if (count < conflictedBySet.length) difference.push(id)
    return difference
  }

  /**
   * v2.1 "Conflicted state subgraph": the union of all `auth_events` paths between two events of
   * the conflicted state set, endpoints included.
   *
   * An event is on such a path when it is reachable (by at least one edge) from a conflicted
   * event and reaches a conflicted event (itself included). First a walk down from the conflicted
   * events records the reachable events and the reverse edges among them; then a walk up the
   * reverse edges from every reachable conflicted event collects the paths.
   */
  conflictedSubgraph (conflicted: ReadonlySet<string>): Set<string> {
    const reachable = new Set<string>()
    const citedBy = new Map<string, string[]>()
    const cite = (child: string, parent: string): void => {
      const list = citedBy.get(child)
      if (list === undefined) citedBy.set(child, [parent])
      else list.push(parent)
    }
    const stack: string[] = []
    for (const id of conflicted) {
      const pdu = this.load(id)
      if (pdu === undefined) continue
      for (const a of pdu.auth_events) { cite(a, id); stack.push(a) }
    }
    while (stack.length > 0) {
      const id = stack.pop()!
      if (reachable.has(id)) continue
      const pdu = this.load(id)
      if (pdu === undefined) continue
      reachable.add(id)
      for (const a of pdu.auth_events) {
        cite(a, id)
        if (!reachable.has(a)) stack.push(a)
      }
    }
    const subgraph = new Set<string>()
    for (const id of conflicted) if (reachable.has(id)) stack.push(id)
    while (stack.length > 0) {
      const id = stack.pop()!
      if (subgraph.has(id)) continue
      subgraph.add(id)
      for (const parent of citedBy.get(id) ?? []) {
        if (!subgraph.has(parent) && (reachable.has(parent) || conflicted.has(parent))) stack.push(parent)
      }
    }
    return subgraph
  }

  /**
   * "Power events": `m.room.power_levels`, `m.room.join_rules` (and, as Synapse and ruma,
   * `m.room.create`) with the empty state key, and `m.room.member` with membership `leave` or
   * `ban` whose sender is not the state key — "events that might remove someone's ability to do
   * something in the room".
   *
   * keyroom.1 (`keySenders`) adds a `keyroom.device` record carrying a `revocation`: it removes a
   * device's ability to do anything in the room, which is what the definition is about. Resolved
   * with the power events (step 2), the revocation is in the partial state before any other event
   * is replayed (step 4), so none of the revoked device's other events from `revoked_ts` on wins,
   * whatever its timestamp says relative to the revocation event's; the device's own power events
   * are ordered against the revocation like any two power events of one sender (by timestamp).
   * Only its sender's own devices are concerned (a member revokes their own UDKs only), so it
   * gives no one power over anyone else.
   */
  isPowerEvent (pdu: PduLike): boolean {
    if (pdu.type === EventType.PowerLevels || pdu.type === EventType.JoinRules || pdu.type === EventType.Create) {
      return pdu.state_key === ''
    }
    if (pdu.type === EventType.Member && pdu.state_key !== undefined) {
      const membership = getOwn(pdu.content, 'membership')
      return (membership === 'leave' || membership === 'ban') && pdu.sender !== pdu.state_key
    }
    if (this.#rules.keySenders && pdu.type === EventType.KeyroomDevice) {
      return getOwn(pdu.content, 'revocation') !== undefined
    }
    return false
  }

  /**
   * "Reverse topological power ordering": Kahn's algorithm on the auth-event DAG of the power
   * events and their auth events in `full`, always taking, among the events whose auth events
   * are all taken, the smallest by
   *   1. the sender's power level, higher first ("x's sender has greater power level");
   *   2. `origin_server_ts`, lower first;
   *   3. `event_id`, lower first by Unicode code point.
   * Events on an auth-event cycle (impossible with hash event IDs) never become ready: they are
   * left out of this list and so become "remaining events" of step 3.
   */
  reverseTopologicalPowerOrder (powerEvents: readonly string[], full: ReadonlySet<string>): string[] {
    // The graph: event → its distinct auth events within the full conflicted set.
    const edges = new Map<string, string[]>()
    const stack = [...powerEvents]
    while (stack.length > 0) {
      const id = stack.pop()!
      if (edges.has(id)) continue
      const out: string[] = []
      for (const a of this.load(id)!.auth_events) {
        if (full.has(a) && !out.includes(a)) {
          out.push(a)
          if (!edges.has(a)) stack.push(a)
        }
      }
      edges.set(id, out)
    }

    interface Node { readonly id: string, readonly power: number, readonly ts: number }
    const node = (id: string): Node => ({ id, power: this.senderPowerForOrdering(this.load(id)!), ts: this.load(id)!.origin_server_ts })
    const heap = new BinaryHeap<Node>((x, y) => {
      if (x.power !== y.power) return x.power > y.power ? -1 : 1
      if (x.ts !== y.ts) return x.ts < y.ts ? -1 : 1
      return compareCodePoints(x.id, y.id)
    })
    const pending = new Map<string, number>()
    const citedBy = new Map<string, string[]>()
    for (const [id, out] of edges) {
      pending.set(id, out.length)
      if (out.length === 0) heap.push(node(id))
      for (const a of out) {
        const list = citedBy.get(a)
        if (list === undefined) citedBy.set(a, [id])
        else list.push(id)
      }
    }
    const sorted: string[] = []
    for (let next = heap.pop(); next !== undefined; next = heap.pop()) {
      sorted.push(next.id)
      for (const parent of citedBy.get(next.id) ?? []) {
        const left = pending.get(parent)! - 1
        pending.set(parent, left)
        if (left === 0) heap.push(node(parent))
      }
    }
    return sorted
  }

  /**
   * The sender's power level "when looking at their respective auth_events", for the ordering.
   * Computed once per node of the ordering.
   */
  senderPowerForOrdering (pdu: PduLike): number {
    const rules = this.#rules
    let pl: PduLike | undefined
    let create: PduLike | undefined = pdu.type === EventType.Create ? pdu : undefined
    for (const a of pdu.auth_events) {
      const auth = this.load(a)
      if (auth === undefined || auth.state_key !== '') continue
      if (auth.type === EventType.PowerLevels) pl ??= auth
      else if (auth.type === EventType.Create) create ??= auth
    }
    if (create === undefined && rules.roomIdIsCreateEventHash) {
      const createId = createEventIdForRoom(pdu.room_id)
      create = createId === undefined ? undefined : this.load(createId)
    }
    const creators = create === undefined ? { primary: undefined, all: new Set<string>() } : creatorsOf(rules, create)
    const level = userLevel(rules, pl === undefined ? undefined : parsePowerLevels(rules, pl.content), creators, pdu.sender)
    return level ?? 0
  }

  /** The `m.room.power_levels` event (empty state key) among an event's auth events. */
  powerLevelsAuthEvent (pdu: PduLike): string | undefined {
    for (const a of pdu.auth_events) {
      const auth = this.load(a)
      if (auth !== undefined && auth.type === EventType.PowerLevels && auth.state_key === '') return a
    }
    return undefined
  }

  /**
   * "Mainline ordering" based on the power levels event `powerLevelsId`: the mainline
   * [P0, P1, …, Pn] follows the power levels event in each one's auth events; the mainline
   * position of an event e is the index i of the first e_j (j ≥ 1, e_j the power levels event in
   * the auth events of e_{j−1}) in the mainline, or ∞ when none is. Order, smallest first:
   *   1. mainline position, greater first (∞ first);
   *   2. `origin_server_ts`, lower first;
   *   3. `event_id`, lower first by Unicode code point.
   */
  mainlineOrder (ids: readonly string[], powerLevelsId: string | undefined): string[] {
    if (ids.length === 0) return []
    const mainline = new Map<string, number>()
    for (let p = powerLevelsId, i = 0; p !== undefined && !mainline.has(p); i++) {
      mainline.set(p, i)
      const pdu = this.load(p)
      p = pdu === undefined ? undefined : this.powerLevelsAuthEvent(pdu)
    }
    // Position of a power levels event reached as some e_j: memoised along each walk.
    const memo = new Map<string, number>()
    const positionFrom = (start: string | undefined): number => {
      const walked: string[] = []
      let position = Infinity
      for (let p = start; p !== undefined; ) {
        const onMainline = mainline.get(p)
        if (onMainline !== undefined) { position = onMainline; break }
        const known = memo.get(p)
        if (known !== undefined) { position = known; break }
        if (walked.includes(p)) break // a cycle: no mainline event below
        walked.push(p)
        const pdu = this.load(p)
        p = pdu === undefined ? undefined : this.powerLevelsAuthEvent(pdu)
      }
      for (const p of walked) memo.set(p, position)
      return position
    }
    const keyed = ids.map((id) => {
      const pdu = this.load(id)!
      return { id, position: positionFrom(this.powerLevelsAuthEvent(pdu)), ts: pdu.origin_server_ts }
    })
    keyed.sort((x, y) => {
      if (x.position !== y.position) return x.position > y.position ? -1 : 1
      if (x.ts !== y.ts) return x.ts < y.ts ? -1 : 1
      return compareCodePoints(x.id, y.id)
    })
    return keyed.map((k) => k.id)
  }

  /**
   * "Iterative auth checks": apply each event in order to the state if the authorization rules
   * allow it. The auth state of an event is its own auth events (those not rejected), with each
   * key the rules need (`authTypesForEvent`) taken from the state being built when present there
   * (and not rejected) — "If a (event_type, state_key) key that is required for checking the
   * authorization rules is not present in the state, then the appropriate state event from the
   * event's auth_events is used if the auth event is not rejected." In room version 12 the
   * `m.room.create` event comes from the room ID. In keyroom.1 the keys include the signing
   * device's `keyroom.device` record and an invite-link join's link, so those are read from the
   * state being built: a revocation resolved in before the event refuses it.
   */
  iterativeAuthChecks (ids: readonly string[], base: ReadonlyMap<string, string>): Map<string, string> {
    const rules = this.#rules
    const state = new Map(base)
    for (const id of ids) {
      const pdu = this.load(id)
      if (pdu === undefined || pdu.state_key === undefined) continue
      const auth = new Map<string, PduLike>()
      for (const a of pdu.auth_events) {
        const authEvent = this.load(a)
        if (authEvent !== undefined && authEvent.state_key !== undefined && !this.#isRejected(a)) {
          auth.set(stateMapKey(authEvent.type, authEvent.state_key), authEvent)
        }
      }
      if (rules.roomIdIsCreateEventHash && pdu.type !== EventType.Create) {
        const createId = createEventIdForRoom(pdu.room_id)
        const create = createId === undefined ? undefined : this.load(createId)
        if (create !== undefined && !this.#isRejected(createId!)) auth.set(CREATE_KEY, create)
      }
      for (const [type, stateKey] of authTypesForEvent(rules, pdu)) {
        const key = stateMapKey(type, stateKey)
        const stateId = state.get(key)
        if (stateId === undefined || this.#isRejected(stateId)) continue
        const stateEvent = this.load(stateId)
        if (stateEvent !== undefined) auth.set(key, stateEvent)
      }
      const result = checkAuth(rules, pdu, (type, stateKey) => auth.get(stateMapKey(type, stateKey)), this.#hooks)
      if (result.ok) state.set(stateMapKey(pdu.type, pdu.state_key), id)
    }
    return state
  }
}

/**
 * "Unconflicted state map and conflicted state set": a key whose value is the same in every
 * state set is unconflicted; otherwise every value it has is conflicted (a key missing from a
 * set is conflicted).
 */
function splitConflicted (stateSets: ReadonlyArray<ReadonlyMap<string, string>>): {
  unconflicted: Map<string, string>
  conflictedBySet: string[][]
  conflicted: Set<string>
} {
  const unconflicted = new Map<string, string>()
  const conflictedBySet: string[][] = stateSets.map(() => [])
  const conflicted = new Set<string>()
  for (let s = 0; s < stateSets.length; s++) {
    for (const [key, first] of stateSets[s]!) {
      // Each key is decided once, at the first set that has it.
      let seenBefore = false
      for (let e = 0; e < s && !seenBefore; e++) seenBefore = stateSets[e]!.has(key)
      if (seenBefore) continue
      let same = s === 0
      for (let o = 1; o < stateSets.length && same; o++) same = stateSets[o]!.get(key) === first
      if (same) {
        unconflicted.set(key, first)
        continue
      }
      for (let o = 0; o < stateSets.length; o++) {
        const id = stateSets[o]!.get(key)
        if (id !== undefined) {
          conflictedBySet[o]!.push(id)
          conflicted.add(id)
        }
      }
    }
  }
  return { unconflicted, conflictedBySet, conflicted }
}
