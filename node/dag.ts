/**
 * Small pure helpers over the room DAG: the `(depth, event ID)` order, a deterministic parents-first
 * order, and state deltas. Pure (no I/O); they live with the engine because only it needs them
 * (the DAG rules themselves are consensus: protocols/core/room/dag-rules.ts).
 */
import { compareCodePoints, stateMapKey } from '../protocols/core/index.js'
import type { RoomEvent } from '../protocols/core/index.js'

/** Order by `(depth, event ID)`: depth numerically, then event IDs by code point (the store's order for ASCII IDs). */
export function compareByDepth (a: { depth: number, eventId: string }, b: { depth: number, eventId: string }): number {
  return a.depth !== b.depth ? a.depth - b.depth : compareCodePoints(a.eventId, b.eventId)
}

/**
 * A parents-first (topological) order of `events` over their `prev_events` and `auth_events`
 * edges inside the set; among events whose parents are placed, `(depth, event ID)` first. Events
 * on a cycle (impossible for genuine events: IDs are hashes of the parents' IDs) are left out.
 */
export function parentsFirst<T extends { eventId: string, event: RoomEvent }> (events: readonly T[]): T[] {
  const byId = new Map(events.map(e => [e.eventId, e]))
  const sorted = [...events].sort((a, b) => compareByDepth({ depth: a.event.depth, eventId: a.eventId }, { depth: b.event.depth, eventId: b.eventId }))
  const out: T[] = []
  const done = new Set<string>()
  const onPath = new Set<string>()
  for (const root of sorted) {
    if (done.has(root.eventId)) continue
    // Iterative DFS (a chain of thousands of events must not overflow the call stack): a frame is
    // an event and the index of the next parent to visit.
    const stack: Array<{ item: T, parents: string[], next: number }> = [{ item: root, parents: parentsOf(root.event), next: 0 }]
    onPath.add(root.eventId)
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!
      if (frame.next < frame.parents.length) {
        const parentId = frame.parents[frame.next++]!
        const parent = byId.get(parentId)
        if (parent === undefined || done.has(parentId)) continue
        if (onPath.has(parentId)) continue // a cycle: skip the edge; the event fails later on its own
        onPath.add(parentId)
        stack.push({ item: parent, parents: parentsOf(parent.event), next: 0 })
        continue
      }
      stack.pop()
      onPath.delete(frame.item.eventId)
      done.add(frame.item.eventId)
      out.push(frame.item)
    }
  }
  return out
}

/** Parents of an event in the order they are visited: prev events then auth events, each sorted. */
function parentsOf (event: RoomEvent): string[] {
  const ids = [...new Set([...event.prev_events, ...event.auth_events])]
  return ids.sort(compareCodePoints)
}

/** The changes that turn state `from` into state `to` (an event ID sets a key, `null` removes it). */
export function stateDelta (from: ReadonlyMap<string, string>, to: ReadonlyMap<string, string>): Map<string, string | null> {
  const changes = new Map<string, string | null>()
  for (const [key, id] of to) if (from.get(key) !== id) changes.set(key, id)
  for (const key of from.keys()) if (!to.has(key)) changes.set(key, null)
  return changes
}

/** The state-map key of a state event, or `undefined` for a non-state event. */
export function stateKeyOf (event: RoomEvent): string | undefined {
  return typeof event.state_key === 'string' ? stateMapKey(event.type, event.state_key) : undefined
}
