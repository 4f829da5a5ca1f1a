/**
 * Value encodings of the store's tables (see `docs/storage.md`). Every decoder validates what it
 * reads and throws `ErrorCode.CorruptStore` on anything else.
 */
import { ByteReader, ByteWriter, checksum, corrupt, fromUtf8, utf8 } from './codec.js'
import { HASH_BYTES } from './state-trie.js'
import type { Decision, DecisionKind, Membership, RoomMeta } from './contract.js'

/** Version byte that starts every event record. */
const EVENT_RECORD_V1 = 1

/** Decision kinds as one byte (event records and order-index values). */
const KIND_BYTE: Record<DecisionKind, number> = { accepted: 0, rejected: 1, 'soft-failed': 2 }
const BYTE_KIND: readonly DecisionKind[] = ['accepted', 'rejected', 'soft-failed']

export function decisionKindByte (kind: DecisionKind): number {
  return KIND_BYTE[kind]
}

export function decodeDecisionKind (byte: number | undefined, what: string): DecisionKind {
  const kind = byte === undefined ? undefined : BYTE_KIND[byte]
  if (kind === undefined) throw corrupt(`${what}: unknown decision ${String(byte)}`)
  return kind
}

/** An event record as stored: everything `getEvent` returns, plus the state root. */
export interface EventRecord {
  readonly roomId: string
  readonly depth: number
  readonly decision: Decision
  /** State root after the event, when stored. */
  readonly stateRoot?: Uint8Array
  readonly bytes: Uint8Array
}

/**
 * `version:u8 ‖ kind:u8 ‖ [rule:str] ‖ roomId:str ‖ depth:varint ‖ hasState:u8 ‖ [root:20] ‖
 * bytes:len-prefixed ‖ crc32:u32` — the CRC covers everything before it, so a flipped bit
 * anywhere in the record (event bytes included) is caught on read.
 */
export function encodeEventRecord (r: EventRecord): Uint8Array {
  const w = new ByteWriter(r.bytes.length + r.roomId.length + 64)
  w.u8(EVENT_RECORD_V1).u8(decisionKindByte(r.decision.kind))
  if (r.decision.kind !== 'accepted') w.string(r.decision.rule)
  w.string(r.roomId).varint(r.depth)
  if (r.stateRoot === undefined) w.u8(0)
  else w.u8(1).raw(r.stateRoot)
  w.bytes(r.bytes)
  const body = w.finish()
  w.u32(checksum(body))
  return w.finish().slice()
}

export function decodeEventRecord (value: Uint8Array): EventRecord {
  if (value.length < 4) throw corrupt('event record: truncated')
  const body = value.subarray(0, value.length - 4)
  const crc = new ByteReader(value.subarray(value.length - 4), 'event record').u32()
  if (checksum(body) !== crc) throw corrupt('event record: checksum mismatch')
  const r = new ByteReader(body, 'event record')
  const version = r.u8()
  if (version !== EVENT_RECORD_V1) throw corrupt(`event record: unknown version ${version}`)
  const kind = decodeDecisionKind(r.u8(), 'event record')
  const decision: Decision = kind === 'accepted' ? { kind } : { kind, rule: r.string() }
  const roomId = r.string()
  const depth = r.varint()
  const hasState = r.u8()
  let stateRoot: Uint8Array | undefined
  if (hasState === 1) stateRoot = r.raw(HASH_BYTES).slice()
  else if (hasState !== 0) throw corrupt('event record: bad state flag')
  const bytes = r.bytes()
  r.end()
  return stateRoot === undefined ? { roomId, depth, decision, bytes } : { roomId, depth, decision, stateRoot, bytes }
}

/** Only the state root of an event record (still checksummed). */
export function eventRecordStateRoot (value: Uint8Array): Uint8Array | undefined {
  return decodeEventRecord(value).stateRoot
}

/** Heads: `count:varint ‖ count × str`, sorted by UTF-8 bytes, unique. */
export function encodeHeads (heads: readonly string[]): Uint8Array {
  const w = new ByteWriter(16 + heads.length * 48).varint(heads.length)
  for (const h of heads) w.string(h)
  return w.finish().slice()
}

export function decodeHeads (value: Uint8Array): string[] {
  const r = new ByteReader(value, 'heads')
  const n = r.varint()
  if (n > value.length) throw corrupt('heads: count beyond record size')
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const h = r.string()
    if (h.length === 0) throw corrupt('heads: empty event ID')
    out.push(h)
  }
  r.end()
  return out
}

/** State root value (current-state table): exactly `HASH_BYTES` bytes. */
export function decodeRoot (value: Uint8Array, what: string): Uint8Array {
  if (value.length !== HASH_BYTES) throw corrupt(`${what}: root of ${value.length} bytes`)
  return value.slice()
}

const MEMBERSHIPS: ReadonlySet<string> = new Set<Membership>(['join', 'invite', 'leave', 'ban', 'knock'])

/** Whether `value` is a membership word. */
export function isMembership (value: unknown): value is Membership {
  return typeof value === 'string' && MEMBERSHIPS.has(value)
}

/** Room metadata as JSON (small, rarely written; JSON lets fields be appended). */
export function encodeRoomMeta (meta: RoomMeta): Uint8Array {
  const json: Record<string, string> = { roomVersion: meta.roomVersion, createEventId: meta.createEventId }
  if (meta.localMembership !== undefined) json.localMembership = meta.localMembership
  return utf8(JSON.stringify(json))
}

export function decodeRoomMeta (value: Uint8Array): RoomMeta {
  let json: unknown
  try {
    json = JSON.parse(fromUtf8(value, 'room meta'))
  } catch (cause) {
    throw corrupt('room meta: not JSON', cause)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw corrupt('room meta: not an object')
  const o = json as Record<string, unknown>
  if (typeof o.roomVersion !== 'string' || typeof o.createEventId !== 'string') throw corrupt('room meta: missing roomVersion or createEventId')
  if (o.localMembership !== undefined && !isMembership(o.localMembership)) throw corrupt('room meta: bad localMembership')
  return o.localMembership === undefined
    ? { roomVersion: o.roomVersion, createEventId: o.createEventId }
    : { roomVersion: o.roomVersion, createEventId: o.createEventId, localMembership: o.localMembership }
}
