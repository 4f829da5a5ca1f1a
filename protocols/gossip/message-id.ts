/**
 * Gossipsub message IDs for room topics: the message ID *is* the event ID (DESIGN §4), so
 * gossipsub's duplicate suppression, IHAVE/IWANT and IDONTWANT all work on event IDs.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { MAX_EVENT_BYTES } from './constants.js'
import { roomIdFromTopic } from './topic.js'
import type { RoomGossipPorts } from './ports.js'
import type { Message } from '@libp2p/gossipsub'

const encoder = new TextEncoder()

/**
 * Build gossipsub's `msgIdFn` from the `identifyEvent` port.
 *
 * Message ID = UTF-8 of the event ID, when the bytes are within the size bound, name an event, and
 * that event claims the room of the topic it came on. Otherwise the ID is `#` + hex SHA-256 of the
 * bytes: it cannot equal any event ID (those start with `$`), so junk still reaches the validator
 * (which rejects it, costing the sender score) but can never occupy a real event's ID in the seen
 * cache — neither a tampered copy nor a real event replayed onto another room's topic.
 *
 * Must not throw: gossipsub logs a throwing `msgIdFn` and drops the message *without* penalising
 * the sender.
 */
export function roomMessageIdFn (identifyEvent: RoomGossipPorts['identifyEvent'], maxEventBytes: number = MAX_EVENT_BYTES): (msg: Message) => Uint8Array {
  return (msg) => {
    if (msg.data.byteLength <= maxEventBytes) {
      try {
        const identity = identifyEvent(msg.data)
        if (identity !== undefined && identity.eventId.startsWith('$') && identity.roomId === roomIdFromTopic(msg.topic)) {
          return encoder.encode(identity.eventId)
        }
      } catch {
        // Unparseable bytes: fall through to the content hash.
      }
    }
    return encoder.encode('#' + bytesToHex(sha256(msg.data)))
  }
}
