/**
 * The key layout: one prefix byte per table, then the table's key. Documented, with the value
 * encodings, in `docs/storage.md`; keep the two in step.
 *
 * Byte strings sort by memcmp (LevelDB's default comparator; the memory backend uses the same
 * `compareBytes`). Composite keys that must scan per room put the room ID first, length-prefixed
 * with a varint, so one room's range never runs into another room whose ID it prefixes.
 */
import { ByteReader, ByteWriter, corrupt, fromUtf8, utf8 } from './codec.js'

/** Table prefix bytes. `0x21` (`!`) is taken by `abstract-level` sublevels (`!datastore!…`). */
export const Table = {
  /** `0x00 'format'` → varint store format. */
  System: 0x00,
  /** `0x01 eventId` → event record. */
  Event: 0x01,
  /** `0x02 room depth:u64 eventId` → decision kind byte (the room's deterministic order). */
  Order: 0x02,
  /** `0x03 roomId` → heads (sorted event IDs). */
  Heads: 0x03,
  /** `0x04 roomId` → room metadata (JSON). */
  RoomMeta: 0x04,
  /** `0x05 roomId` → state root of the room's current state. */
  CurrentState: 0x05,
  /** `0x06 hash:20` → state-trie node. */
  StateNode: 0x06,
  /** `0x07 room member` → membership-verification result (opaque bytes). */
  Verification: 0x07,
  /** `0x08 name` → node metadata value. */
  NodeMeta: 0x08
} as const

/** Name of the sublevel holding libp2p's datastore. */
export const DATASTORE_SUBLEVEL = 'datastore'

/** The key of the store-format record. */
export const FORMAT_KEY = new Uint8Array([Table.System, ...utf8('format')])

function tableKey (table: number, text: string): Uint8Array {
  const body = utf8(text)
  const out = new Uint8Array(1 + body.length)
  out[0] = table
  out.set(body, 1)
  return out
}

export function eventKey (eventId: string): Uint8Array {
  return tableKey(Table.Event, eventId)
}

export function headsKey (roomId: string): Uint8Array {
  return tableKey(Table.Heads, roomId)
}

export function roomMetaKey (roomId: string): Uint8Array {
  return tableKey(Table.RoomMeta, roomId)
}

export function currentStateKey (roomId: string): Uint8Array {
  return tableKey(Table.CurrentState, roomId)
}

export function nodeMetaKey (name: string): Uint8Array {
  return tableKey(Table.NodeMeta, name)
}

export function stateNodeKey (hash: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + hash.length)
  out[0] = Table.StateNode
  out.set(hash, 1)
  return out
}

/** `table ‖ varint(len) ‖ roomId` — the prefix of a room's range in a per-room table. */
export function roomPrefix (table: number, roomId: string): Uint8Array {
  return new ByteWriter(8 + roomId.length * 3).u8(table).string(roomId).finish().slice()
}

/** `Order ‖ room ‖ depth:u64 ‖ eventId`. */
export function orderKey (roomId: string, depth: number, eventId: string): Uint8Array {
  return new ByteWriter(64).u8(Table.Order).string(roomId).u64(depth).raw(utf8(eventId)).finish().slice()
}

/** Parses the position out of an order key whose room prefix is `prefixLength` bytes long. */
export function parseOrderKey (key: Uint8Array, prefixLength: number): { depth: number, eventId: string } {
  const r = new ByteReader(key.subarray(prefixLength), 'order key')
  const depth = r.u64()
  const eventId = fromUtf8(r.raw(r.remaining), 'order key')
  if (eventId.length === 0) throw corrupt('order key: empty event ID')
  return { depth, eventId }
}

/** `Verification ‖ room ‖ member`. */
export function verificationKey (roomId: string, member: string): Uint8Array {
  return new ByteWriter(64).u8(Table.Verification).string(roomId).raw(utf8(member)).finish().slice()
}

/** The text after a one-byte table prefix. */
export function keyText (key: Uint8Array, what: string): string {
  return fromUtf8(key.subarray(1), what)
}

/** The exclusive upper bound of all keys that start with `prefix` (its successor), if any. */
export function prefixEnd (prefix: Uint8Array): Uint8Array | undefined {
  const out = prefix.slice()
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i]!++
      return out.subarray(0, i + 1)
    }
  }
  return undefined
}
