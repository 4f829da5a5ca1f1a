/**
 * Packs stored events into one response without crossing the response bounds.
 */
import { MAX_EVENT_BYTES, MAX_EVENTS_PER_RESPONSE, MAX_IDS_PER_REQUEST, MAX_ID_LENGTH, MAX_RESPONSE_BYTES } from '../constants.js'
import type { HandlerContext, HandlerResult } from './context.js'
import type { AbortOptions } from '@libp2p/interface'

/**
 * Room left for the header frame of an `event_ids` response: 100 IDs of at most 255 characters,
 * JSON-quoted, plus the envelope. Events may use the rest of {@link MAX_RESPONSE_BYTES}.
 */
const HEADER_RESERVE = MAX_IDS_PER_REQUEST * (MAX_ID_LENGTH * 6 + 3) + 64

/** Bytes of a frame's length prefix, at most (varint of a length below 2^21). */
const PREFIX_RESERVE = 3

/**
 * Load `ids` (in order) from the store and keep those that exist, stopping before the response
 * would hold more than {@link MAX_EVENTS_PER_RESPONSE} events or {@link MAX_RESPONSE_BYTES} bytes.
 * A stored event larger than {@link MAX_EVENT_BYTES} is skipped (and logged): it cannot be valid.
 */
export async function packEvents (ctx: HandlerContext, roomId: string, ids: Iterable<string>, options: AbortOptions): Promise<HandlerResult> {
  const eventIds: string[] = []
  const events: Uint8Array[] = []
  let bytes = HEADER_RESERVE
  for (const id of ids) {
    if (events.length >= MAX_EVENTS_PER_RESPONSE) break
    options.signal?.throwIfAborted()
    const event = await ctx.store.getEvent(roomId, id, options)
    if (event === undefined) continue
    if (event.byteLength > MAX_EVENT_BYTES) {
      ctx.log.error('stored event %s is %d bytes, above the %d byte limit; not served', id, event.byteLength, MAX_EVENT_BYTES)
      continue
    }
    if (bytes + PREFIX_RESERVE + event.byteLength > MAX_RESPONSE_BYTES) break
    bytes += PREFIX_RESERVE + event.byteLength
    eventIds.push(id)
    events.push(event)
  }
  return { header: { event_ids: eventIds }, events }
}
