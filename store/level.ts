/**
 * The LevelDB backend: the room store over `level` (classic-level, LevelDB in a directory).
 *
 * Keys and values are raw bytes (`view` encodings); the key layout is in `docs/storage.md`.
 * LevelDB applies a batch atomically (one record in its write-ahead log), reads from snapshots,
 * and holds an exclusive lock on the directory while open.
 */
import { Level } from 'level'
import { ErrorCode, KeyroomError } from '../protocols/core/index.js'
import { openKvRoomStore } from './room-store.js'
import type { RoomStore, StoreInit } from './contract.js'
import type { KvOp, KvRange, OrderedKv } from './kv.js'

/** A plain `Uint8Array` view of a `Buffer` (same memory), so callers never see `Buffer` quirks. */
function view (b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

/** `level` range options from a `KvRange` (only the bounds that are set). */
function levelRange (range: KvRange): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (range.gt !== undefined) out.gt = range.gt
  if (range.gte !== undefined) out.gte = range.gte
  if (range.lt !== undefined) out.lt = range.lt
  if (range.lte !== undefined) out.lte = range.lte
  if (range.reverse === true) out.reverse = true
  if (range.limit !== undefined) out.limit = range.limit
  return out
}

/** An `OrderedKv` over an open `level` database. */
export class LevelKv implements OrderedKv {
  constructor (readonly db: Level<Uint8Array, Uint8Array>) {}

  async get (key: Uint8Array): Promise<Uint8Array | undefined> {
    const v = await this.db.get(key)
    return v === undefined ? undefined : view(v)
  }

  async getMany (keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    const values = await this.db.getMany([...keys])
    return values.map(v => v === undefined ? undefined : view(v))
  }

  async * entries (range: KvRange): AsyncIterable<[Uint8Array, Uint8Array]> {
    for await (const [k, v] of this.db.iterator(levelRange(range))) yield [view(k), view(v)]
  }

  async * keys (range: KvRange): AsyncIterable<Uint8Array> {
    for await (const k of this.db.keys(levelRange(range))) yield view(k)
  }

  async write (ops: readonly KvOp[], options: { sync: boolean }): Promise<void> {
    await this.db.batch(ops.map(op => op.type === 'put'
      ? { type: 'put' as const, key: op.key, value: op.value }
      : { type: 'del' as const, key: op.key }), { sync: options.sync })
  }

  async close (): Promise<void> {
    await this.db.close()
  }
}

/** Whether a `level` open error was caused by the directory's lock (`LEVEL_LOCKED`). */
function isLockError (err: unknown): boolean {
  for (let e: unknown = err; typeof e === 'object' && e !== null; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === 'LEVEL_LOCKED') return true
  }
  return false
}

/**
 * Opens (creating if missing) the LevelDB room store in directory `path`.
 *
 * Throws `ErrorCode.StoreLocked` when another process — or another open store in this process —
 * holds the directory, and `ErrorCode.CorruptStore` when the directory holds a store of another
 * format.
 */
export async function openLevelStore (path: string, init: StoreInit = {}): Promise<RoomStore> {
  const db = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
  try {
    await db.open({ createIfMissing: true })
  } catch (cause) {
    if (isLockError(cause)) {
      throw new KeyroomError(ErrorCode.StoreLocked, `the data directory ${path} is in use by another keyroom process (or another store open in this one)`, {
        hint: 'stop the other keyroom node using this data directory, or choose another with --data-dir',
        cause
      })
    }
    throw cause
  }
  return await openKvRoomStore(new LevelKv(db), init)
}
