/**
 * Room topics. A topic is derived from the room ID by {@link roomTopic} and never built by hand
 * (STYLE habit 3).
 */
import { ErrorCode, KeyroomError } from '../core/index.js'
import { ROOM_TOPIC_PREFIX } from './constants.js'

/**
 * Shape of a room ID as far as gossip cares: `!` then unpadded URL-safe base64 (DESIGN §1). The
 * full check (length, key bytes) is the core's; this one keeps `/` and spaces out of topic names.
 */
const ROOM_ID_SHAPE = /^![A-Za-z0-9_-]{1,254}$/

/** The gossipsub topic of a room: `/keyroom/room/1/<roomId>`. Throws `ERR_INVALID_KEY` for a malformed room ID. */
export function roomTopic (roomId: string): string {
  if (!ROOM_ID_SHAPE.test(roomId)) throw new KeyroomError(ErrorCode.InvalidKey, `not a room ID: ${JSON.stringify(roomId.slice(0, 80))}`)
  return ROOM_TOPIC_PREFIX + roomId
}

/** The room ID of a room topic, or `undefined` for any other topic. */
export function roomIdFromTopic (topic: string): string | undefined {
  if (!topic.startsWith(ROOM_TOPIC_PREFIX)) return undefined
  const roomId = topic.slice(ROOM_TOPIC_PREFIX.length)
  return ROOM_ID_SHAPE.test(roomId) ? roomId : undefined
}
