/**
 * A write-behind cache in front of libp2p's datastore for the peer store's records.
 *
 * Why: `@libp2p/peer-store` (`PersistentStore`) reads the peer's record (`#findExistingPeer`)
 * and writes it back (`#saveIfDifferent`, which despite its name always `put`s, with a fresh
 * `updated` timestamp) on every identify, every protocol change and so on every stream opened in
 * either direction. A profile of the 20-node gossip bench counted ~87 datastore writes and ~140
 * reads per gossiped event, each one a LevelDB batch or get: more than the room store itself.
 *
 * What: keys under one prefix (the peer store's `NAMESPACE_COMMON`, `/peers/`,
 * `@libp2p/peer-store/dist/src/utils/peer-id-to-datastore-key.js`) are served from memory once
 * read or written (an LRU of {@link WRITE_BEHIND_MAX_ENTRIES} keys, absences included), and
 * their writes are coalesced per key — the last put or delete wins — and written in one batch
 * every {@link WRITE_BEHIND_FLUSH_MS} ms, when {@link WRITE_BEHIND_MAX_PENDING} keys are pending,
 * before a query that could see them, and on `close()`. A put of the bytes the key already holds
 * (or will hold once pending writes land) writes nothing. Every other key (the DHT's records
 * `/keyroom/kad…`, its high-water marks `/keyroom/dht-seq/…`) goes straight to the inner
 * datastore, exactly as before.
 *
 * Durability: peer records are a cache the network refills (identify, the DHT, mDNS), so the
 * writes of the last few seconds before a crash — or of a flush that fails — may be lost. What
 * is read back is always a whole record some `put` wrote (LevelDB batches are atomic).
 * A `batch()` that mixes peer keys and other keys is no longer one atomic write: the peer keys
 * go to the cache, the others to the inner datastore's batch. Nothing in libp2p batches peer
 * records.
 */
import { NotFoundError } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { BaseDatastore } from 'datastore-core'
import { Lru } from '../protocols/core/index.js'
import type { AbortOptions } from '@libp2p/interface'
import type { Batch, Datastore, Key, KeyQuery, Pair, Query } from 'interface-datastore'

const log = logger('keyroom:store:write-behind')

/** The peer store's key prefix (`NAMESPACE_COMMON` of `@libp2p/peer-store`). */
export const PEER_STORE_PREFIX = '/peers/'
/** Keys whose value (or absence) stays in memory: one record per peer, a few hundred bytes each. */
export const WRITE_BEHIND_MAX_ENTRIES = 4096
/** How long a write may wait in memory before it is written, ms. */
export const WRITE_BEHIND_FLUSH_MS = 5000
/** Pending keys that trigger a flush before the timer fires (bounds the memory of a burst). */
export const WRITE_BEHIND_MAX_PENDING = 1024

/** Options of {@link WriteBehindDatastore}; all optional. */
export interface WriteBehindInit {
  /** Keys whose `toString()` starts with this are cached (default {@link PEER_STORE_PREFIX}). */
  prefix?: string
  /** LRU bound in keys (default {@link WRITE_BEHIND_MAX_ENTRIES}). */
  maxEntries?: number
  /** Flush period, ms (default {@link WRITE_BEHIND_FLUSH_MS}). */
  flushMs?: number
  /** Pending keys that trigger an early flush (default {@link WRITE_BEHIND_MAX_PENDING}). */
  maxPending?: number
}

/** A pending write: the value, or `null` for a delete. */
interface PendingOp {
  readonly key: Key
  readonly value: Uint8Array | null
}

/** Counters, for tests and benchmarks. */
export interface WriteBehindStats {
  /** Puts and deletes of cached keys accepted. */
  writes: number
  /** Of those, writes dropped because the key already held (or was about to hold) that value. */
  unchanged: number
  /** Batches written to the inner datastore. */
  flushes: number
  /** Ops in those batches. */
  flushedOps: number
  /** Reads of cached keys that went to the inner datastore. */
  misses: number
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * A `Datastore` that caches and write-behinds the keys under one prefix (by default the peer
 * store's) and passes every other key through to `inner` unchanged. Call {@link close} (which
 * flushes) before the database under `inner` closes; after it, cached keys pass through too.
 *
 * Queries whose prefix could cover cached keys flush the pending writes first, then read `inner`,
 * so they see every write made before them.
 */
export class WriteBehindDatastore extends BaseDatastore {
  private readonly prefix: string
  private readonly flushMs: number
  private readonly maxPending: number
  /** Last value known for a key (pending, being written, or stored); `null` = known absent. */
  private readonly cache: Lru<Uint8Array | null>
  /** Writes not yet handed to the inner datastore, one per key (the last one wins). */
  private pending = new Map<string, PendingOp>()
  /** The writes of the flush in progress (read through until their batch is written). */
  private inflight = new Map<string, PendingOp>()
  /** Flushes run one after another, so a later write of a key never lands before an earlier one. */
  private flushChain: Promise<void> = Promise.resolve()
  private timer: ReturnType<typeof setTimeout> | undefined
  private closed = false
  readonly stats: WriteBehindStats = { writes: 0, unchanged: 0, flushes: 0, flushedOps: 0, misses: 0 }

  constructor (private readonly inner: Datastore, init: WriteBehindInit = {}) {
    super()
    this.prefix = init.prefix ?? PEER_STORE_PREFIX
    this.flushMs = init.flushMs ?? WRITE_BEHIND_FLUSH_MS
    this.maxPending = Math.max(1, init.maxPending ?? WRITE_BEHIND_MAX_PENDING)
    this.cache = new Lru(init.maxEntries ?? WRITE_BEHIND_MAX_ENTRIES)
  }

  /** Writes not yet written to the inner datastore (including a flush in progress). */
  get pendingCount (): number {
    return this.pending.size + this.inflight.size
  }

  private cached (key: Key): boolean {
    return !this.closed && key.toString().startsWith(this.prefix)
  }

  /**
   * What the inner datastore will hold for `k` once every accepted write has landed:
   * a value, `null` (absent) or `undefined` (unknown here).
   */
  private known (k: string): Uint8Array | null | undefined {
    const p = this.pending.get(k) ?? this.inflight.get(k)
    if (p !== undefined) return p.value
    return this.cache.get(k)
  }

  /** Records a write of a cached key (none if the key already holds, or will hold, that value). */
  private write (key: Key, value: Uint8Array | null): void {
    const k = key.toString()
    this.stats.writes++
    const current = this.known(k)
    if (value === null ? current === null : current !== null && current !== undefined && equalBytes(current, value)) {
      this.stats.unchanged++
      return
    }
    // Copy: the caller may reuse its buffer during the seconds the write waits here.
    const copy = value === null ? null : value.slice()
    this.pending.set(k, { key, value: copy })
    this.cache.set(k, copy)
    if (this.pending.size >= this.maxPending) this.flushInBackground()
    else this.schedule()
  }

  /** Arms the flush timer unless it is armed. */
  private schedule (): void {
    if (this.timer !== undefined || this.closed) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.flushInBackground()
    }, this.flushMs)
    // A pending flush never keeps the process alive: close() flushes what is left.
    this.timer.unref()
  }

  /** A flush nobody awaits: a failure is logged and retried one period later. */
  private flushInBackground (): void {
    this.flush().catch(err => {
      log.error('flushing %d peer records failed, retrying in %d ms - %e', this.pending.size, this.flushMs, err)
      this.schedule()
    })
  }

  /** The value of a cached key: from memory when known, else read once from the inner datastore. */
  private async read (key: Key, options?: AbortOptions): Promise<Uint8Array | null> {
    const k = key.toString()
    const known = this.known(k)
    if (known !== undefined) return known
    this.stats.misses++
    let value: Uint8Array | null
    try {
      value = await this.inner.get(key, options)
    } catch (err) {
      if ((err as Error | undefined)?.name !== 'NotFoundError') throw err
      value = null
    }
    // A write that raced the read is newer than what was read: keep it.
    const raced = this.known(k)
    if (raced !== undefined) return raced
    this.cache.set(k, value)
    return value
  }

  override async put (key: Key, val: Uint8Array, options?: AbortOptions): Promise<Key> {
    options?.signal?.throwIfAborted()
    if (!this.cached(key)) return await this.inner.put(key, val, options)
    this.write(key, val)
    return key
  }

  override async get (key: Key, options?: AbortOptions): Promise<Uint8Array> {
    options?.signal?.throwIfAborted()
    if (!this.cached(key)) return await this.inner.get(key, options)
    const value = await this.read(key, options)
    if (value === null) throw new NotFoundError(`no datastore value for ${key.toString()}`)
    // A copy: the caller may keep or change what it gets (LevelDB hands out fresh buffers too).
    return value.slice()
  }

  override async has (key: Key, options?: AbortOptions): Promise<boolean> {
    options?.signal?.throwIfAborted()
    if (!this.cached(key)) return await this.inner.has(key, options)
    return (await this.read(key, options)) !== null
  }

  override async delete (key: Key, options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted()
    if (!this.cached(key)) { await this.inner.delete(key, options); return }
    this.write(key, null)
  }

  /** Cached keys go to the cache at commit, the others to one batch of the inner datastore. */
  override batch (): Batch {
    const ops: Array<{ key: Key, value: Uint8Array | null }> = []
    return {
      put: (key, value) => { ops.push({ key, value }) },
      delete: (key) => { ops.push({ key, value: null }) },
      commit: async (options?: AbortOptions) => {
        options?.signal?.throwIfAborted()
        const todo = ops.splice(0)
        let passThrough: Batch | undefined
        for (const op of todo) {
          if (this.cached(op.key)) {
            this.write(op.key, op.value)
          } else {
            passThrough ??= this.inner.batch()
            if (op.value === null) passThrough.delete(op.key)
            else passThrough.put(op.key, op.value)
          }
        }
        await passThrough?.commit(options)
      }
    }
  }

  /** Whether a query of `prefix` could return a cached key. */
  private overlaps (prefix: string | undefined): boolean {
    return prefix === undefined || this.prefix.startsWith(prefix) || prefix.startsWith(this.prefix)
  }

  override async * _all (q: Query, options?: AbortOptions): AsyncGenerator<Pair> {
    options?.signal?.throwIfAborted()
    if (this.overlaps(q.prefix)) await this.flush()
    yield * this.inner.query(q.prefix === undefined ? {} : { prefix: q.prefix }, options)
  }

  override async * _allKeys (q: KeyQuery, options?: AbortOptions): AsyncGenerator<Key> {
    options?.signal?.throwIfAborted()
    if (this.overlaps(q.prefix)) await this.flush()
    yield * this.inner.queryKeys(q.prefix === undefined ? {} : { prefix: q.prefix }, options)
  }

  /**
   * Writes every pending write in one batch of the inner datastore; resolves once it (and any
   * flush before it) is written. If the batch fails, its writes go back to pending (unless a
   * newer write of the same key replaced them) and the promise rejects.
   */
  async flush (): Promise<void> {
    if (this.timer !== undefined) { clearTimeout(this.timer); this.timer = undefined }
    const run = this.flushChain.then(async () => { await this.flushNow() })
    // The chain continues whatever this flush's outcome; the caller sees the outcome.
    this.flushChain = run.catch(() => {})
    await run
  }

  private async flushNow (): Promise<void> {
    if (this.pending.size === 0) return
    const ops = this.pending
    this.inflight = ops
    this.pending = new Map()
    const batch = this.inner.batch()
    for (const op of ops.values()) {
      if (op.value === null) batch.delete(op.key)
      else batch.put(op.key, op.value)
    }
    try {
      await batch.commit()
      this.stats.flushes++
      this.stats.flushedOps += ops.size
    } catch (err) {
      for (const [k, op] of ops) if (!this.pending.has(k)) this.pending.set(k, op)
      throw err
    } finally {
      this.inflight = new Map()
    }
  }

  /**
   * Flushes what is pending and from then on passes every key through. Never rejects: if the last
   * flush fails, those peer records are lost (logged) — a cache the network refills must not keep
   * the database from closing.
   */
  async close (): Promise<void> {
    this.closed = true
    try {
      await this.flush()
    } catch (err) {
      log.error('the last flush of peer records failed; %d records lost - %e', this.pending.size, err)
      this.pending.clear()
    }
  }
}
