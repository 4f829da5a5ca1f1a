/**
 * Fetching the part of a room's DAG a node lacks, from one peer, through `/keyroom/sync/1.0.0`.
 *
 * Used for a gossiped event with unknown parents or auth events (the gap under it), for a join
 * (the whole room, from the create event on) and for catch-up after a reconnect (everything behind
 * the peer's heads). The walk:
 *
 * 1. The *frontier* is every ID wanted but not held: the starting IDs, and each fetched event's
 *    `prev_events` and `auth_events` that are neither stored nor fetched.
 * 2. From the events held whose parents are still unknown (the starting events, then the last
 *    answer's), walk backwards with `missing` (Matrix `/get_missing_events`, stopping at our own
 *    heads), up to `MAX_MISSING_LIMIT` events a request: a linear history of 10,000 events is ten
 *    round trips. When the walk brings nothing (or there is nothing to walk from: `start.ids`),
 *    fetch up to 100 frontier events by ID (`events`).
 * 3. Repeat until the frontier is empty (complete) or a bound is hit, or the peer has none of the
 *    frontier (incomplete).
 *
 * Every event received is run through the ingest checks under the ID it was sent as; one that
 * fails is dropped (and anything that needs it stays unfetched). The result is parents-first, so the
 * engine can decide the events in order. Bounded in events, bytes and time (the caller's signal).
 */
import { MAX_MISSING_LIMIT } from '../protocols/sync/index.js'
import { parentsFirst } from './dag.js'
import { checkEventBytes } from './ingest-checks.js'
import type { CheckItem } from './check-pool.js'
import type { CheckedEvent, IngestCheck } from './ingest-checks.js'
import type { RoomSync, SyncedEvent } from '../protocols/sync/index.js'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'

/** Largest batch of IDs in one `events` or `missing` request (the wire bound). */
const IDS_PER_REQUEST = 100

/** Options of {@link fetchAncestors}. */
export interface FetchAncestorsOptions extends AbortOptions {
  /** Most events to fetch. */
  maxEvents: number
  /** Most event bytes to hold. */
  maxBytes: number
  /** Whether the node already stores an event (the walk stops there). */
  isStored: (eventId: string) => Promise<boolean>
  /** `isStored` for many IDs at once (in the order given); when absent, `isStored` is asked per ID. */
  areStored?: (eventIds: readonly string[]) => Promise<boolean[]>
  /** The node's heads of the room (`earliest` of `missing`: the peer walks no further). */
  localHeads: () => Promise<string[]>
  /** Checks a batch at once (e.g. partly on a worker thread, check-pool.ts); default: one by one here. */
  checkMany?: (items: CheckItem[]) => Promise<IngestCheck[]>
  /** Called after each batch with the number of events fetched so far. */
  onProgress?: (fetched: number) => void
  log?: Logger
}

/** What {@link fetchAncestors} found. */
export interface FetchedAncestors {
  /** The fetched events, parents first (the starting events are not included). */
  events: CheckedEvent[]
  /** True when nothing the starting events need is still unknown. */
  complete: boolean
}

/**
 * Fetch, from `peer`, what the node needs before it can decide `start.events` and hold
 * `start.ids`: see the module comment.
 */
export async function fetchAncestors (
  sync: Pick<RoomSync, 'events' | 'missing'>, peer: PeerId, roomId: string,
  start: { events?: readonly CheckedEvent[], ids?: readonly string[] }, options: FetchAncestorsOptions
): Promise<FetchedAncestors> {
  const fetched = new Map<string, CheckedEvent>()
  const starting = new Set((start.events ?? []).map(e => e.eventId))
  const stored = new Map<string, boolean>()
  const frontier = new Set<string>()
  let bytes = 0

  /** Asks the node about the IDs it has not been asked about yet, in one batch. */
  const learn = async (ids: readonly string[]): Promise<void> => {
    const ask = [...new Set(ids)].filter(id => !fetched.has(id) && !starting.has(id) && !stored.has(id))
    if (ask.length === 0) return
    const answers = options.areStored !== undefined
      ? await options.areStored(ask)
      : await Promise.all(ask.map(async id => await options.isStored(id)))
    for (let i = 0; i < ask.length; i++) stored.set(ask[i]!, answers[i] === true)
  }
  const isKnown = async (id: string): Promise<boolean> => {
    if (fetched.has(id) || starting.has(id)) return true
    await learn([id])
    return stored.get(id) === true
  }
  const want = async (ids: readonly string[]): Promise<void> => {
    await learn(ids)
    for (const id of ids) if (!frontier.has(id) && !(await isKnown(id))) frontier.add(id)
  }
  const add = async (got: readonly SyncedEvent[]): Promise<CheckedEvent[]> => {
    const added: CheckedEvent[] = []
    await learn(got.map(g => g.eventId))
    const todo: CheckItem[] = []
    const seen = new Set<string>()
    for (const { eventId, bytes: eventBytes } of got) {
      if (fetched.size + todo.length >= options.maxEvents) break
      if (seen.has(eventId) || await isKnown(eventId)) continue
      seen.add(eventId)
      todo.push({ eventId, bytes: eventBytes, roomId })
    }
    const checks = options.checkMany !== undefined
      ? await options.checkMany(todo)
      : todo.map(item => checkEventBytes(item.bytes, { eventId: item.eventId, roomId }))
    for (let i = 0; i < todo.length; i++) {
      const item = todo[i]!
      const check = checks[i]
      if (check === undefined || !check.ok) {
        options.log?.('dropping event %s from %p: %s', item.eventId, peer, check?.ok === false ? check.reason : 'not checked')
        continue
      }
      fetched.set(item.eventId, check.checked)
      frontier.delete(item.eventId)
      bytes += item.bytes.byteLength
      added.push(check.checked)
    }
    await want(added.flatMap(event => [...event.event.prev_events, ...event.event.auth_events]))
    return added
  }

  await want([...(start.events ?? []).flatMap(event => [...event.event.prev_events, ...event.event.auth_events]), ...(start.ids ?? [])])

  // Fetched events with a parent or auth event still wanted: where the `missing` walk starts.
  let latest: string[] = []
  const latestOf = (events: readonly CheckedEvent[]): string[] => {
    const out: string[] = []
    for (let i = events.length - 1; i >= 0 && out.length < IDS_PER_REQUEST; i--) {
      const event = events[i]!
      if ([...event.event.prev_events, ...event.event.auth_events].some(id => frontier.has(id))) out.push(event.eventId)
    }
    return out
  }
  latest = latestOf(start.events ?? [])
  while (frontier.size > 0) {
    options.signal?.throwIfAborted()
    if (fetched.size >= options.maxEvents || bytes >= options.maxBytes) {
      options.log?.('fetch from %p for %s stopped at its bound (%d events, %d bytes)', peer, roomId, fetched.size, bytes)
      break
    }
    let got: CheckedEvent[] = []
    if (latest.length > 0) {
      // Walk back from the events whose parents are unknown: a whole answer of ancestors per trip.
      const earliest = (await options.localHeads()).slice(0, IDS_PER_REQUEST)
      const limit = Math.min(MAX_MISSING_LIMIT, options.maxEvents - fetched.size)
      got = await add(await sync.missing(peer, roomId, { earliest, latest, limit }, options))
    }
    if (got.length === 0) {
      // Wanted IDs the walk does not reach (the starting IDs, far auth events): ask for them by ID.
      const ids = [...frontier].slice(0, Math.min(IDS_PER_REQUEST, options.maxEvents - fetched.size))
      got = await add(await sync.events(peer, roomId, ids, options))
      if (got.length === 0) {
        options.log?.('peer %p has none of %d wanted events of %s', peer, ids.length, roomId)
        break
      }
    }
    options.onProgress?.(fetched.size)
    latest = latestOf(got)
  }
  return { events: parentsFirst([...fetched.values()]), complete: frontier.size === 0 }
}
