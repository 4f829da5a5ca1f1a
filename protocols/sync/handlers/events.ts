/**
 * `events`: events by ID. IDs the store does not hold in the room are left out of the answer; the
 * header lists the IDs actually sent, in the order of the event frames that follow.
 */
import { packEvents } from './event-budget.js'
import type { EventsRequest } from '../messages.js'
import type { HandlerContext, HandlerResult } from './context.js'
import type { AbortOptions } from '@libp2p/interface'

/** Answer an `events` request: `{"event_ids":[…]}` and one frame per listed event. */
export async function handleEvents (ctx: HandlerContext, request: EventsRequest, options: AbortOptions): Promise<HandlerResult> {
  // A repeated ID is served once (first position wins).
  return await packEvents(ctx, request.roomId, new Set(request.eventIds), options)
}
