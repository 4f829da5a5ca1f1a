/**
 * Gossipsub message IDs for room topics: the event ID plus a digest of the exact bytes (DESIGN §4
 * names the event ID; the digest is what keeps a forged copy from taking the genuine event's
 * place, see {@link roomMessageIdFn}). Gossipsub's duplicate suppression, IHAVE/IWANT and
 * IDONTWANT work on these IDs.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { sha256 } from '../core/index.js'
import { MAX_EVENT_BYTES } from './constants.js'
import { roomIdFromTopic } from './topic.js'
import type { RoomGossipPorts } from './ports.js'
import type { Message } from '@libp2p/gossipsub'

const encoder = new TextEncoder()

/**
 * Bytes of SHA-256 kept in an event's message ID: 128 bits, so finding other bytes with the
 * genuine event's ID is a second preimage on 128 bits — out of reach — while IHAVE/IWANT/IDONTWANT
 * entries stay short (`$` + 43 + `.` + 32 characters).
 */
const MESSAGE_ID_DIGEST_BYTES = 16

/**
 * Build gossipsub's `msgIdFn` from the `identifyEvent` port.
 *
 * Message ID = UTF-8 of `<event ID>.<hex of the first 16 bytes of SHA-256 of the data>`, when the
 * bytes are within the size bound, name an event, and that event claims the room of the topic it
 * came on. Otherwise the ID is `#` + hex SHA-256 of the bytes: it cannot equal any event's ID
 * (those start with `$`), so junk still reaches the validator (which rejects it, costing the
 * sender score) but can never occupy a real event's ID in the seen cache — neither a tampered
 * copy nor a real event replayed onto another room's topic.
 *
 * Why the digest of the bytes and not the bare event ID: the event ID is the reference hash of the
 * *redacted* event without `signatures` and `unsigned`, so a copy with a forged signature (or an
 * added `unsigned`) has the genuine event's ID. Gossipsub 17 records a message ID in its seen cache
 * — and sends IDONTWANT for it to mesh peers — *before* running the topic validator, and keeps the
 * entry when the validator rejects; a forged copy gossiped first would make every node drop the
 * genuine event as a duplicate (and ask its peers not to send it) for the seen-cache TTL. Taking
 * the ID off the seen cache on reject would not undo the IDONTWANTs, so the ID covers the bytes.
 * Honest duplicates still dedupe: `identifyEvent` names only canonical JSON, an event is gossiped
 * only by its author (the bytes it signed, no `unsigned`), and relays forward those bytes as-is,
 * so every honest copy of one event has one message ID. The event ID stays in front so the ID
 * still says which event it is (logs, debugging).
 *
 * Must not throw: gossipsub logs a throwing `msgIdFn` and drops the message *without* penalising
 * the sender.
 *
 * Cost: gossipsub calls it for every copy it receives, before its duplicate check (≈ 22 calls per
 * event in the 20-node bench: one per receiver, one for the publisher, a few duplicates). The digest
 * is the core's SHA-256 (node:crypto where present: ≈ 3.5 µs for a 1.4 KiB event against ≈ 11 µs
 * for @noble/hashes); `identifyEvent` keeps what it parsed for the validator (node/ingest-checks.ts).
 */
export function roomMessageIdFn (identifyEvent: RoomGossipPorts['identifyEvent'], maxEventBytes: number = MAX_EVENT_BYTES): (msg: Message) => Uint8Array {
  return (msg) => {
    const digest = sha256(msg.data)
    if (msg.data.byteLength <= maxEventBytes) {
      try {
        const identity = identifyEvent(msg.data)
        if (identity !== undefined && identity.eventId.startsWith('$') && identity.roomId === roomIdFromTopic(msg.topic)) {
          return encoder.encode(identity.eventId + '.' + bytesToHex(digest.subarray(0, MESSAGE_ID_DIGEST_BYTES)))
        }
      } catch {
        // Unparseable bytes: fall through to the content hash.
      }
    }
    return encoder.encode('#' + bytesToHex(digest))
  }
}

const NO_DATA = new Uint8Array(0)

/**
 * Bytes of SHA-256 in a fast message ID: 128 bits, so no copy with other bytes can be made to share
 * a genuine event's fast ID (a second preimage on 128 bits), and cache entries stay short.
 */
const FAST_ID_DIGEST_BYTES = 16

/**
 * Build gossipsub's `fastMsgIdFn`: `<topic number>.<hex of the first 16 bytes of SHA-256 of the
 * data>`, where the topic number is this function's own count of the topics it has seen.
 *
 * Gossipsub looks a received copy up by this ID *before* it computes the message ID; a copy with
 * the same bytes on the same topic is a duplicate at once, without {@link roomMessageIdFn}'s parse,
 * canonical-JSON check and event-ID hash (≈ 30-40 µs per 1.4 KiB event, against ≈ 4 µs here). The
 * answer is the same as without it: equal bytes on one topic always have one message ID. The topic
 * is part of the ID because the same bytes on another room's topic have another message ID (and are
 * rejected there); a number stands for it to keep the cache's keys short (gossipsub keeps one per
 * message for its seen-cache time, 2 minutes by default). Gossipsub calls it only for topics it is
 * subscribed to, which bounds the topic table.
 */
export function roomFastMessageIdFn (): (msg: { topic: string, data?: Uint8Array | null }) => string {
  const topics = new Map<string, number>()
  return (msg) => {
    let index = topics.get(msg.topic)
    if (index === undefined) {
      index = topics.size
      topics.set(msg.topic, index)
    }
    return `${index}.${bytesToHex(sha256(msg.data ?? NO_DATA).subarray(0, FAST_ID_DIGEST_BYTES))}`
  }
}
