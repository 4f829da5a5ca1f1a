/**
 * The in-memory backend: the room store over `MemoryKv`, a sorted in-memory key-value store.
 *
 * A `MemoryKv` plays the part of a data directory: close the store and open a new one over the
 * same `MemoryKv` and everything written is still there (tests use that for restart scenarios),
 * and it admits one open store at a time, as a locked LevelDB directory does.
 */
import { ErrorCode, KeyroomError } from '../protocols/core/index.js'
import { openKvRoomStore } from './room-store.js'
import type { RoomStore, StoreInit } from './contract.js'
import type { KvOp, KvRange, OrderedKv } from './kv.js'

/** One char per byte: JS string order on such strings is memcmp order of the bytes. */
function toKey (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
}

function fromKey (key: string): Uint8Array {
  const b = Buffer.from(key, 'latin1')
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

/** First index whose key is ≥ `key` (or > `key` when `strict`). Compares UTF-16 code units, i.e. bytes. */
function bound (sorted: readonly string[], key: string, strict: boolean): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const k = sorted[mid]!
    if (k < key || (strict && k === key)) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * A sorted in-memory `OrderedKv`. Values are copied in and out, as a disk would. Point reads and
 * writes use a Map; the sorted key list is brought up to date only when a range is read (keys
 * added since are sorted and merged in), so a write costs O(1) and not a splice.
 */
export class MemoryKv implements OrderedKv {
  private readonly map = new Map<string, Uint8Array>()
  private sorted: string[] = []
  /** Keys put since `sorted` was last brought up to date (may repeat, may be deleted since). */
  private added: string[] = []
  private deleted = false
  private openStore = false

  /** Marks the store open; a second concurrent open is refused like a LevelDB lock. */
  acquire (): void {
    if (this.openStore) {
      throw new KeyroomError(ErrorCode.StoreLocked, 'this in-memory store is already open', {
        hint: 'close the other store first'
      })
    }
    this.openStore = true
  }

  async get (key: Uint8Array): Promise<Uint8Array | undefined> {
    this.check()
    return this.map.get(toKey(key))?.slice()
  }

  async getMany (keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    this.check()
    return keys.map(k => this.map.get(toKey(k))?.slice())
  }

  /** The sorted list of live keys. */
  private order (): readonly string[] {
    if (this.added.length === 0 && !this.deleted) return this.sorted
    // Explicit comparator: UTF-16 code-unit order of one-byte chars = memcmp order of the bytes.
    const fresh = this.added.sort((a, b) => a < b ? -1 : a > b ? 1 : 0)
    const out: string[] = []
    let i = 0
    let j = 0
    const push = (k: string): void => {
      if (this.map.has(k) && out[out.length - 1] !== k) out.push(k)
    }
    while (i < this.sorted.length || j < fresh.length) {
      const a = this.sorted[i]
      const b = fresh[j]
      if (b === undefined || (a !== undefined && a <= b)) { push(a!); i++ } else { push(b); j++ }
    }
    this.sorted = out
    this.added = []
    this.deleted = false
    return out
  }

  private slice (range: KvRange): string[] {
    const s = this.order()
    let from = 0
    let to = s.length
    if (range.gte !== undefined) from = Math.max(from, bound(s, toKey(range.gte), false))
    if (range.gt !== undefined) from = Math.max(from, bound(s, toKey(range.gt), true))
    if (range.lt !== undefined) to = Math.min(to, bound(s, toKey(range.lt), false))
    if (range.lte !== undefined) to = Math.min(to, bound(s, toKey(range.lte), true))
    if (from >= to) return []
    const limit = range.limit ?? Infinity
    if (range.reverse === true) return s.slice(Math.max(from, to - limit), to).reverse()
    return s.slice(from, Math.min(to, from + limit))
  }

  async * entries (range: KvRange): AsyncIterable<[Uint8Array, Uint8Array]> {
    this.check()
    // A snapshot at the start, like a LevelDB iterator: later writes do not show up.
    const snapshot = this.slice(range).map(k => [k, this.map.get(k)!] as const)
    for (const [k, v] of snapshot) yield [fromKey(k), v.slice()]
  }

  async * keys (range: KvRange): AsyncIterable<Uint8Array> {
    this.check()
    for (const k of this.slice(range)) yield fromKey(k)
  }

  async write (ops: readonly KvOp[], _options: { sync: boolean }): Promise<void> {
    this.check()
    // Synchronous, hence atomic: no reader runs between two ops of one batch.
    for (const op of ops) {
      const k = toKey(op.key)
      if (op.type === 'put') {
        if (!this.map.has(k)) this.added.push(k)
        this.map.set(k, op.value.slice())
      } else if (this.map.delete(k)) {
        this.deleted = true
      }
    }
  }

  async close (): Promise<void> {
    this.openStore = false
  }

  private check (): void {
    if (!this.openStore) throw new KeyroomError(ErrorCode.StoreClosed, 'the in-memory store is closed')
  }
}

/** Options of the in-memory store. */
export interface MemoryStoreInit extends StoreInit {
  /** The "directory": reuse one to reopen what an earlier store wrote (default: a new, empty one). */
  readonly kv?: MemoryKv
}

/** Opens a room store in memory. */
export async function createMemoryStore (init: MemoryStoreInit = {}): Promise<RoomStore> {
  const kv = init.kv ?? new MemoryKv()
  kv.acquire()
  return await openKvRoomStore(kv, init)
}
