/**
 * What each node ended with, read from its store once it is stopped (the store contract is
 * public; the node has no API for a room's resolved state or its decisions — see the fuzzer's
 * report for the hook wanted), and the comparison of those across nodes.
 */
import { join } from 'node:path'
import { STORE_DIR_NAME, canonicalJson, parseJson } from '../../node/index.js'
import { openLevelStore } from '../../store/index.js'
import type { RoomEvent, RoomMember } from '../../node/index.js'
import type { ListedMessage } from './nodes.js'

/** One node's final room: from its store, and from its API just before it stopped. */
export interface FinalRoom {
  name: string
  /** Canonical JSON of the current (resolved) state map: state-map key → event ID. */
  stateJson: string
  state: Map<string, string>
  heads: string[]
  accepted: Set<string>
  rejected: Map<string, string>
  softFailed: Map<string, string>
  members: RoomMember[]
  messages: ListedMessage[]
  /** Every stored event, shortly: for the DAG dump of a failed run. */
  events: Map<string, EventSummary>
}

/** What the DAG dump shows of an event. */
export interface EventSummary {
  depth: number
  sender: string
  type: string
  stateKey?: string
  content: Readonly<Record<string, unknown>>
  prevEvents: readonly string[]
}

/** Reads a stopped node's room from its data directory. */
export async function readFinalRoom (name: string, dataDir: string, roomId: string, api: { members: RoomMember[], messages: ListedMessage[] }): Promise<FinalRoom> {
  const store = await openLevelStore(join(dataDir, STORE_DIR_NAME), { sync: false })
  try {
    const state = await store.getCurrentState(roomId) ?? new Map<string, string>()
    const accepted = new Set<string>()
    const rejected = new Map<string, string>()
    const softFailed = new Map<string, string>()
    const events = new Map<string, EventSummary>()
    let after: { depth: number, eventId: string } | undefined
    for (;;) {
      const page = await store.roomEvents(roomId, { limit: 512, direction: 'forward', ...(after === undefined ? {} : { after }) })
      if (page.length === 0) break
      for (const entry of page) {
        const stored = await store.getEvent(entry.eventId)
        if (stored !== undefined) {
          const event = parseJson(stored.bytes) as RoomEvent
          events.set(entry.eventId, {
            depth: event.depth,
            sender: event.sender,
            type: event.type,
            ...(event.state_key === undefined ? {} : { stateKey: event.state_key }),
            content: event.content,
            prevEvents: event.prev_events
          })
        }
        if (entry.decision === 'accepted') accepted.add(entry.eventId)
        else {
          const rule = stored !== undefined && stored.decision.kind !== 'accepted' ? stored.decision.rule : '?'
          if (entry.decision === 'rejected') rejected.set(entry.eventId, rule)
          else softFailed.set(entry.eventId, rule)
        }
      }
      after = page[page.length - 1]
    }
    return {
      name,
      stateJson: canonicalJson(Object.fromEntries(state)),
      state,
      heads: await store.getHeads(roomId),
      accepted,
      rejected,
      softFailed,
      members: api.members,
      messages: api.messages,
      events
    }
  } finally {
    await store.close()
  }
}

/** Every event a node stores, whatever its decision. */
export function storedIds (room: FinalRoom): Set<string> {
  return new Set([...room.accepted, ...room.rejected.keys(), ...room.softFailed.keys()])
}

/** The decision a node took on an event, or `undefined` when it does not store it. */
export function decisionOf (room: FinalRoom, eventId: string): string | undefined {
  if (room.accepted.has(eventId)) return 'accepted'
  if (room.rejected.has(eventId)) return `rejected (${room.rejected.get(eventId)!})`
  if (room.softFailed.has(eventId)) return `soft-failed (${room.softFailed.get(eventId)!})`
  return undefined
}

/** An invariant that did not hold, with what differs. */
export interface Violation {
  invariant: string
  detail: string
}

/** Acknowledged events (returned by an API call, or confirmed a head of their node) and who made them. */
export type Acked = ReadonlyMap<string, string>

/** What the comparison found: violations, and differences Matrix semantics allow (see {@link checkConvergence}). */
export interface Convergence {
  violations: Violation[]
  /** Events accepted on some nodes and soft-failed on others (with each node's decision). */
  softFailSplits: Violation[]
  /**
   * Events some nodes do not store, which no node carries: every node that stores one either
   * soft-failed it or (its sender's node, say) holds it off its heads' history. Nothing builds on
   * such an event, so a node that missed its gossip never fetches it — as in Matrix, where a
   * soft-failed event is no forward extremity.
   */
  uncarried: Violation[]
}

/** The events a node's heads descend from (heads included), by its stored prev events. */
function historyOfHeads (room: FinalRoom): Set<string> {
  const seen = new Set<string>()
  const stack = [...room.heads]
  while (stack.length > 0) {
    const id = stack.pop()!
    if (seen.has(id)) continue
    seen.add(id)
    for (const prev of room.events.get(id)?.prevEvents ?? []) stack.push(prev)
  }
  return seen
}

/**
 * The convergence invariants over the nodes' final rooms:
 * - `state`: byte-identical canonical JSON of the resolved state;
 * - `acked`: every acknowledged event stored by every node (but see `uncarried`);
 * - `rejected`: an event one node rejected is stored and rejected by every node (rejection is a
 *   function of the event and its ancestors only);
 * - `stored`: every node stores the same events (but see `uncarried`);
 * - `members`: the same members, memberships and verification verdicts;
 * - `messages`: the same message list in the same order, once the events some node soft-failed
 *   are set aside.
 *
 * Accepted versus soft-failed is not a function of the DAG: Matrix's receipt check 6 judges an
 * event against the receiving node's *current* state at the time it arrives, so two honest nodes
 * that learn of a ban and of the banned member's message in different orders decide differently,
 * and keep their decisions. Such splits are returned apart (`softFailSplits`), and so are the
 * soft-failed events no node builds upon that some node never received (`uncarried`); with
 * `strict` both count as violations too, and so does any message-list difference they explain.
 */
export function checkConvergence (rooms: readonly FinalRoom[], acked: Acked, options: { strict?: boolean } = {}): Convergence {
  const out: Violation[] = []
  const splits: Violation[] = []
  const uncarried: Violation[] = []
  const [first, ...rest] = rooms
  if (first === undefined) return { violations: out, softFailSplits: splits, uncarried }
  const histories = new Map(rooms.map(r => [r, historyOfHeads(r)]))
  const notCarried = (eventId: string): boolean => {
    const holders = rooms.filter(r => decisionOf(r, eventId) !== undefined)
    return holders.some(r => r.softFailed.has(eventId)) &&
      holders.every(r => r.softFailed.has(eventId) || (r.accepted.has(eventId) && !histories.get(r)!.has(eventId)))
  }

  for (const room of rest) {
    if (room.stateJson !== first.stateJson) {
      const keys = new Set([...first.state.keys(), ...room.state.keys()])
      const diffs = [...keys].filter(k => first.state.get(k) !== room.state.get(k))
        .map(k => `${k}: ${first.name}=${first.state.get(k) ?? '-'} ${room.name}=${room.state.get(k) ?? '-'}`)
      out.push({ invariant: 'state', detail: `${first.name} and ${room.name} resolved different states:\n    ${diffs.join('\n    ')}` })
    }
  }

  for (const [eventId, what] of acked) {
    const missing = rooms.filter(r => decisionOf(r, eventId) === undefined).map(r => r.name)
    if (missing.length > 0 && notCarried(eventId)) uncarried.push({ invariant: 'acked', detail: `${what} (${eventId}), soft-failed and not built upon, is not stored by ${missing.join(', ')}` })
    else if (missing.length > 0) out.push({ invariant: 'acked', detail: `${what} (${eventId}) was acknowledged but ${missing.join(', ')} do(es) not store it` })
  }

  const softFailedSomewhere = new Set<string>()
  const all = new Set(rooms.flatMap(r => [...storedIds(r)]))
  for (const eventId of all) {
    const decisions = rooms.map(r => ({ name: r.name, decision: decisionOf(r, eventId) }))
    const kinds = new Set(decisions.map(d => d.decision?.split(' ')[0] ?? 'absent'))
    if (kinds.has('soft-failed')) softFailedSomewhere.add(eventId)
    if (kinds.size === 1) continue
    const text = decisions.map(d => `${d.name}: ${d.decision ?? 'absent'}`).join('; ')
    if (kinds.has('rejected')) out.push({ invariant: 'rejected', detail: `${eventId} — ${text}` })
    else if (kinds.has('absent') && !notCarried(eventId)) out.push({ invariant: 'stored', detail: `${eventId} — ${text}` })
    else if (kinds.has('absent')) continue
    else splits.push({ invariant: 'accepted/soft-failed', detail: `${eventId} — ${text}` })
  }
  if (options.strict === true) out.push(...splits, ...uncarried)

  const membersOf = (r: FinalRoom): string => r.members.map(m => `${m.userId.slice(0, 10)} ${m.membership} ${m.verified ? 'verified' : `unverified (${m.reason ?? '?'})`}`).join('\n    ')
  const listed = (r: FinalRoom): ListedMessage[] => (options.strict === true ? r.messages : r.messages.filter(m => !softFailedSomewhere.has(m.eventId)))
  for (const room of rest) {
    if (membersOf(room) !== membersOf(first)) {
      out.push({ invariant: 'members', detail: `${first.name}:\n    ${membersOf(first)}\n  ${room.name}:\n    ${membersOf(room)}` })
    }
    const a = listed(first)
    const b = listed(room)
    if (a.map(m => m.eventId).join(',') !== b.map(m => m.eventId).join(',')) {
      out.push({ invariant: 'messages', detail: `${first.name} lists ${a.length} messages, ${room.name} ${b.length}${options.strict === true ? '' : ' (soft-fail splits set aside)'}; first difference at ${firstDifference(a, b)}` })
    }
  }
  return { violations: out, softFailSplits: splits, uncarried }
}

function firstDifference (a: readonly ListedMessage[], b: readonly ListedMessage[]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i]?.eventId !== b[i]?.eventId) return `#${i}: ${a[i]?.body ?? '-'} vs ${b[i]?.body ?? '-'}`
  }
  return 'none'
}

/**
 * The union of the nodes' DAGs, one line per event in depth order: short ID, depth, sender (as a
 * node name when `names` knows the user), what it is, its prev events, and each node's decision.
 */
export function formatDag (rooms: readonly FinalRoom[], names: ReadonlyMap<string, string>): string[] {
  const all = new Map<string, EventSummary>()
  for (const room of rooms) for (const [id, e] of room.events) all.set(id, e)
  const short = (id: string): string => id.slice(1, 7)
  const who = (userId: string): string => names.get(userId) ?? userId.slice(0, 8)
  const letter = (room: FinalRoom, id: string): string => {
    const d = decisionOf(room, id)
    return d === undefined ? '.' : d === 'accepted' ? 'A' : d.startsWith('rejected') ? 'R' : 'S'
  }
  return [...all].sort(([a, x], [b, y]) => x.depth - y.depth || (a < b ? -1 : a > b ? 1 : 0)).map(([id, e]) => {
    let what = e.type
    if (e.type === 'm.room.member') what = `${String(e.content.membership)} ${who(e.stateKey ?? '')}`
    else if (e.type === 'm.room.message') what = `"${String(e.content.body)}"`
    else if (e.type === 'm.room.topic') what = `topic "${String(e.content.topic)}"`
    else if (e.type === 'm.room.power_levels') what = `power ${JSON.stringify(e.content.users ?? {}).replace(/"(~[^"]{8})[^"]*"/g, (_, u: string) => names.get([...names.keys()].find(k => k.startsWith(u)) ?? '') ?? u)}`
    const decisions = rooms.map(r => `${r.name}:${letter(r, id)}`).join(' ')
    const heads = rooms.filter(r => r.heads.includes(id)).map(r => r.name)
    return `${short(id)} d${e.depth} ${who(e.sender)} ${what} ← [${e.prevEvents.map(short).join(',')}] ${decisions}${heads.length > 0 ? ` head@${heads.join(',')}` : ''}`
  })
}
