/**
 * `state_at`: the room state before an event, as IDs, with the auth chain (Matrix `/state_ids`,
 * whose `pdu_ids` are our `state_ids`). The caller fetches the events it lacks with `events`.
 */
import { MAX_STATE_IDS } from '../constants.js'
import type { StateAtRequest } from '../messages.js'
import type { HandlerContext, HandlerResult } from './context.js'
import type { AbortOptions } from '@libp2p/interface'

/** Answer a `state_at` request: `{"auth_chain_ids":[…],"state_ids":[…]}`, `K_NOT_FOUND` or `K_TOO_LARGE`. */
export async function handleStateAt (ctx: HandlerContext, request: StateAtRequest, options: AbortOptions): Promise<HandlerResult> {
  const state = await ctx.store.getStateIdsAt(request.roomId, request.eventId, options)
  if (state === undefined) return { header: { errcode: 'K_NOT_FOUND', error: 'unknown event' } }
  if (state.stateIds.length > MAX_STATE_IDS || state.authChainIds.length > MAX_STATE_IDS) {
    // Truncating would hand out a wrong state; refuse instead (a paged form can come with a new version).
    return { header: { errcode: 'K_TOO_LARGE', error: `state larger than ${MAX_STATE_IDS} IDs` } }
  }
  return { header: { state_ids: state.stateIds, auth_chain_ids: state.authChainIds } }
}
