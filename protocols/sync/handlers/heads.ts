/**
 * `heads`: the room's forward extremities, so a peer can tell whether it is behind.
 */
import { MAX_HEADS } from '../constants.js'
import type { HeadsRequest } from '../messages.js'
import type { HandlerContext, HandlerResult } from './context.js'
import type { AbortOptions } from '@libp2p/interface'

/** Answer a `heads` request: `{"heads":[…]}` (first {@link MAX_HEADS}) or `K_NOT_FOUND`. */
export async function handleHeads (ctx: HandlerContext, request: HeadsRequest, options: AbortOptions): Promise<HandlerResult> {
  const heads = await ctx.store.getHeads(request.roomId, options)
  if (heads === undefined) return { header: { errcode: 'K_NOT_FOUND', error: 'unknown room' } }
  if (heads.length > MAX_HEADS) ctx.log('room %s has %d forward extremities; sending %d', request.roomId, heads.length, MAX_HEADS)
  return { header: { heads: heads.slice(0, MAX_HEADS) } }
}
