/**
 * `missing`: the events between what the requester has and what it has just seen.
 *
 * Matrix `POST /_matrix/federation/v1/get_missing_events/{roomId}`: "earliest_events: The latest
 * event IDs that the sender already has. These are skipped when retrieving the previous events of
 * latest_events. latest_events: The event IDs to retrieve the previous events for. limit: The
 * maximum number of events to retrieve." As in Synapse, the walk is breadth-first backwards from
 * `latest` over `prev_events`; the `latest` events themselves are not returned (the requester has
 * them — that is why it asks), and nothing in `earliest` is returned or walked past.
 *
 * Unlike Synapse (which returns the walk reversed, "approximately chronological"), the answer is
 * ordered parents-first — a topological order of the returned set — so the requester can ingest it
 * front to back. Ties go to the event found later in the walk (further back, so older), which makes
 * the order deterministic for a given store.
 */
import { MAX_WALK_STEPS } from '../constants.js'
import { packEvents } from './event-budget.js'
import type { MissingRequest } from '../messages.js'
import type { HandlerContext, HandlerResult } from './context.js'
import type { AbortOptions } from '@libp2p/interface'

/** Answer a `missing` request: `{"event_ids":[…]}` and one frame per listed event, parents first. */
export async function handleMissing (ctx: HandlerContext, request: MissingRequest, options: AbortOptions): Promise<HandlerResult> {
  const { roomId, limit } = request
  let steps = 0
  const prevCache = new Map<string, string[] | undefined>()
  const prevsOf = async (id: string): Promise<string[] | undefined> => {
    if (prevCache.has(id)) return prevCache.get(id)
    if (steps >= MAX_WALK_STEPS) return undefined
    steps++
    options.signal?.throwIfAborted()
    const prevs = await ctx.store.getPrevEvents(roomId, id, options)
    prevCache.set(id, prevs)
    return prevs
  }

  // 1. Breadth-first walk. `seen` starts as `earliest` (never returned, never walked past) plus
  //    `latest` (walked from, not returned). `found` keeps discovery order.
  const seen = new Set<string>([...request.earliest, ...request.latest])
  const found: string[] = []
  let front = [...new Set(request.latest)].filter(id => !request.earliest.includes(id))
  while (front.length > 0 && found.length < limit && steps < MAX_WALK_STEPS) {
    const next: string[] = []
    for (const id of front) {
      const prevs = await prevsOf(id)
      if (prevs === undefined) continue
      for (const prev of prevs) {
        if (seen.has(prev)) continue
        seen.add(prev)
        // Only stored events are collected and walked on; an unknown prev is a gap here too.
        if ((await prevsOf(prev)) === undefined) continue
        found.push(prev)
        next.push(prev)
        if (found.length >= limit) break
      }
      if (found.length >= limit) break
    }
    front = next
  }

  // 2. Parents-first order (Kahn's algorithm over the edges inside `found`; all their prevs are
  //    cached by step 1). Among ready events, the latest-discovered goes first.
  const index = new Map(found.map((id, i) => [id, i]))
  const pending = new Map<string, number>()
  const children = new Map<string, string[]>()
  for (const id of found) {
    const parents = (prevCache.get(id) ?? []).filter(p => index.has(p) && p !== id)
    pending.set(id, new Set(parents).size)
    for (const p of new Set(parents)) children.set(p, [...(children.get(p) ?? []), id])
  }
  const ordered: string[] = []
  const ready = found.filter(id => pending.get(id) === 0)
  while (ready.length > 0) {
    // Pick the ready event with the highest discovery index (n ≤ limit ≤ 100, so linear is fine).
    let best = 0
    for (let i = 1; i < ready.length; i++) {
      if (index.get(ready[i]!)! > index.get(ready[best]!)!) best = i
    }
    const id = ready.splice(best, 1)[0]!
    ordered.push(id)
    for (const child of children.get(id) ?? []) {
      const left = pending.get(child)! - 1
      pending.set(child, left)
      if (left === 0) ready.push(child)
    }
  }
  // A cycle (impossible for hash-linked events, possible in a corrupt store) leaves events out;
  // say so rather than loop or guess.
  if (ordered.length < found.length) ctx.log.error('prev_events cycle among %d events in room %s', found.length - ordered.length, roomId)

  return await packEvents(ctx, roomId, ordered, options)
}
