/**
 * keyroom.1's DAG rules: what an event's place in the room DAG must be, checked before any state
 * is computed. Matrix only asks servers to keep `depth` sensible; keyroom makes it exact, so that
 * `(depth, event ID)` is a total order every node computes the same way (the order a room's
 * messages are listed in, docs/storage.md table `0x02`) and an ancestor is always shallower than
 * its descendants. Pure: the caller looks the prev events up.
 *
 * - keyroom.dag.1: a room has one create event; any other event of type `m.room.create` is rejected.
 * - keyroom.dag.2: every other event has at least one prev event.
 * - keyroom.dag.3: prev events are events of the same room.
 * - keyroom.dag.4: `depth` is one more than the deepest prev event's (1 for the create event).
 */
import { RoomEventType } from './constants.js'
import type { RoomEvent } from './types.js'

/** What the DAG rules read of a stored prev event. */
export interface DagPrevEvent {
  readonly roomId: string
  readonly depth: number
}

/** The depth an event on `prevDepths` must have: one more than the deepest (1 with none: the create event). */
export function expectedDepth (prevDepths: readonly number[]): number {
  let max = 0
  for (const depth of prevDepths) if (depth > max) max = depth
  return max + 1
}

/**
 * The DAG rule an event of a room that already has its create event breaks, with the reason, or
 * `undefined`. `prevs`: its prev events as stored, one per entry of `event.prev_events`.
 */
export function checkDagRules (event: RoomEvent, prevs: readonly DagPrevEvent[]): string | undefined {
  if (event.type === RoomEventType.Create) return 'keyroom.dag.1: the room already has its create event'
  if (prevs.length === 0) return 'keyroom.dag.2: only the create event has no prev_events'
  if (prevs.some(p => p.roomId !== event.room_id)) return 'keyroom.dag.3: a prev event is in another room'
  const expected = expectedDepth(prevs.map(p => p.depth))
  if (event.depth !== expected) return `keyroom.dag.4: depth is ${event.depth}, expected ${expected} (one more than the deepest prev event)`
  return undefined
}

/** The DAG rule a room's create event breaks (its depth must be 1), or `undefined`. */
export function checkCreateDagRules (event: RoomEvent): string | undefined {
  if (event.prev_events.length !== 0) return 'keyroom.dag.2: the create event has no prev_events'
  if (event.depth !== 1) return `keyroom.dag.4: the create event's depth is ${event.depth}, expected 1`
  return undefined
}
