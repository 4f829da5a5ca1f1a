/**
 * The room store, written once over an ordered key-value store (`kv.ts`); `memory.ts` and
 * `level.ts` only supply the key-value layer.
 *
 * Group commit: every mutation is a job in one FIFO queue. A single writer loop takes up to
 * `maxBatchWrites` jobs (and at most `maxBatchBytes` of event bytes), prepares each one's ops
 * (reading what it needs, e.g. the state root of its base, through an overlay of the jobs
 * already prepared in the same batch), writes them as one atomic batch, and only then resolves
 * the jobs' promises. Calls issued while a batch is being written wait for the next one, so the
 * batch size follows the load: one caller awaiting each write gets batches of 1, a burst of
 * concurrent writes shares one fsync. A job that fails to prepare (a misuse) is rejected alone;
 * a failed batch write rejects every job in it.
 */
import { logger } from '@libp2p/logger'
import { ErrorCode, KeyroomError, Lru } from '../protocols/core/index.js'
import { compareBytes, corrupt, fromUtf8, utf8 } from './codec.js'
import { EVENT_STATE_CACHE_ENTRIES, GROUP_COMMIT_MAX_BYTES, GROUP_COMMIT_MAX_WRITES, STATE_NODE_CACHE_BYTES, STORE_FORMAT } from './constants.js'
import { KvDatastore, sublevelPrefix } from './datastore.js'
import { WriteBehindDatastore } from './write-behind.js'
import {
  DATASTORE_SUBLEVEL, FORMAT_KEY, Table, currentStateKey, eventKey, headsKey, keyText, nodeMetaKey, orderKey,
  parseOrderKey, prefixEnd, roomMetaKey, roomPrefix, stateNodeKey, verificationKey
} from './keys.js'
import {
  decisionKindByte, decodeDecisionKind, decodeEventRecord, decodeHeads, decodeRoomMeta, decodeRoot, encodeEventRecord,
  encodeHeads, encodeRoomMeta, isMembership
} from './records.js'
import { EMPTY_ROOT, decodeNode, isEmptyRoot, lookupState, readState, rootToHex, updateState } from './state-trie.js'
import type {
  EventWrite, MetaKey, RoomEventEntry, RoomEventsQuery, RoomMeta, RoomStore, StateReadOptions, StateUpdate,
  StoreInit, StoredEvent, WriteResult
} from './contract.js'
import type { KvOp, OrderedKv } from './kv.js'
import type { NodeSource, TrieNode } from './state-trie.js'
import type { AbortOptions } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

const log = logger('keyroom:store')

// ---- small helpers -------------------------------------------------------------------------

/** Map key of a byte string (latin1: one char per byte). */
function bkey (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
}

function invalid (message: string): KeyroomError {
  return new KeyroomError(ErrorCode.InvalidStoreWrite, message)
}

function closedError (): KeyroomError {
  return new KeyroomError(ErrorCode.StoreClosed, 'the store is closed')
}

/** A non-empty string without lone surrogates (those have no UTF-8 form, so two would collide). */
function checkId (value: unknown, what: string): void {
  if (typeof value !== 'string' || value.length === 0 || !value.isWellFormed()) {
    throw invalid(`${what}: expected a non-empty well-formed string, got ${JSON.stringify(value)}`)
  }
}

function checkText (value: unknown, what: string): void {
  if (typeof value !== 'string' || !value.isWellFormed()) throw invalid(`${what}: expected a well-formed string`)
}

function checkDepth (depth: unknown, what: string): void {
  if (typeof depth !== 'number' || !Number.isSafeInteger(depth) || depth < 0) {
    throw invalid(`${what}: expected a safe integer ≥ 0, got ${String(depth)}`)
  }
}

function checkStateUpdate (u: StateUpdate | undefined, what: string): void {
  if (u === undefined) return
  if (u.base !== null) checkId(u.base, `${what}.base`)
  if (u.changes === undefined) return
  if (!(u.changes instanceof Map)) throw invalid(`${what}.changes: expected a Map`)
  for (const [key, value] of u.changes) {
    checkText(key, `${what} key`)
    if (value !== null) checkId(value, `${what} value`)
  }
}

function checkRoomMeta (meta: RoomMeta, what: string): void {
  if (typeof meta !== 'object' || meta === null) throw invalid(`${what}: expected an object`)
  checkText(meta.roomVersion, `${what}.roomVersion`)
  checkId(meta.createEventId, `${what}.createEventId`)
  if (meta.localMembership !== undefined && !isMembership(meta.localMembership)) throw invalid(`${what}.localMembership: not a membership`)
}

function checkVerifications (results: ReadonlyMap<string, Uint8Array>): void {
  if (!(results instanceof Map)) throw invalid('verifications: expected a Map')
  for (const [member, value] of results) {
    checkId(member, 'verification member')
    if (!(value instanceof Uint8Array)) throw invalid('verification result: expected bytes')
  }
}

function checkEventWrite (w: EventWrite): void {
  if (typeof w !== 'object' || w === null) throw invalid('event write: expected an object')
  checkId(w.eventId, 'eventId')
  checkId(w.roomId, 'roomId')
  checkDepth(w.depth, 'depth')
  if (!(w.bytes instanceof Uint8Array)) throw invalid('bytes: expected a Uint8Array')
  const d = w.decision as { kind?: unknown, rule?: unknown } | undefined
  if (d?.kind === 'rejected' || d?.kind === 'soft-failed') checkText(d.rule, 'decision.rule')
  else if (d?.kind !== 'accepted') throw invalid('decision: expected accepted, rejected or soft-failed')
  if (!Array.isArray(w.heads)) throw invalid('heads: expected an array')
  for (const h of w.heads) checkId(h, 'head')
  checkStateUpdate(w.state, 'state')
  checkStateUpdate(w.currentState, 'currentState')
  if (w.roomMeta !== undefined) checkRoomMeta(w.roomMeta, 'roomMeta')
  if (w.verifications !== undefined) checkVerifications(w.verifications)
}

/** Sorted by UTF-8 bytes, duplicates dropped. */
function sortedUnique (ids: readonly string[]): string[] {
  const byBytes = [...new Set(ids)].map(id => ({ id, b: utf8(id) }))
  byBytes.sort((a, b) => compareBytes(a.b, b.b))
  return byBytes.map(x => x.id)
}

// ---- the write queue -----------------------------------------------------------------------

interface JobBase {
  resolve(value: unknown): void
  reject(err: unknown): void
  signal?: AbortSignal
  onAbort?: () => void
  /** Event bytes this job adds to a batch (0 for metadata writes). */
  weight: number
}

type Job =
  | JobBase & { kind: 'event', write: EventWrite }
  | JobBase & { kind: 'ops', ops: KvOp[] }

/** What the jobs of one batch have prepared so far: an overlay for the jobs that follow. */
class BatchContext {
  /** Event ID → its state root (null: stored without state), for events of this batch. */
  readonly events = new Map<string, Uint8Array | null>()
  /** New state nodes of this batch by hash. */
  readonly nodes = new Map<string, { hash: Uint8Array, bytes: Uint8Array, node: TrieNode }>()
  readonly ops: KvOp[] = []
  /** Event IDs of this batch found already stored (read once, up front). */
  readonly stored = new Set<string>()
}

/** The `RoomStore` over an `OrderedKv`. Use `openKvRoomStore`. */
export class KvRoomStore implements RoomStore {
  readonly datastore: Datastore
  private readonly peerRecords: WriteBehindDatastore
  private readonly sync: boolean
  private readonly maxBatchWrites: number
  private readonly maxBatchBytes: number
  private readonly nodeCache: Lru<TrieNode>
  private readonly eventRoots = new Lru<Uint8Array | null>(EVENT_STATE_CACHE_ENTRIES)
  private readonly queue: Job[] = []
  private flushing = false
  private closed = false
  private closing?: Promise<void>
  private idleWaiters: Array<() => void> = []

  constructor (private readonly kv: OrderedKv, init: StoreInit = {}, private readonly onClose?: () => void) {
    this.sync = init.sync ?? true
    this.maxBatchWrites = Math.max(1, init.maxBatchWrites ?? GROUP_COMMIT_MAX_WRITES)
    this.maxBatchBytes = Math.max(1, init.maxBatchBytes ?? GROUP_COMMIT_MAX_BYTES)
    this.nodeCache = new Lru(init.stateCacheBytes ?? STATE_NODE_CACHE_BYTES)
    // The peer store's records are cached and written behind (store/write-behind.ts).
    this.datastore = this.peerRecords = new WriteBehindDatastore(new KvDatastore(kv, sublevelPrefix(DATASTORE_SUBLEVEL)))
  }

  // ---- writes ------------------------------------------------------------------------------

  async writeEvent (batch: EventWrite, options: AbortOptions = {}): Promise<WriteResult> {
    checkEventWrite(batch)
    // Copy what the caller owns: it may reuse its buffers and maps before the batch is prepared.
    const copyUpdate = (u: StateUpdate | undefined): StateUpdate | undefined =>
      u === undefined ? undefined : { base: u.base, changes: new Map(u.changes ?? []) }
    const write: EventWrite = {
      ...batch,
      bytes: batch.bytes.slice(),
      heads: [...batch.heads],
      state: copyUpdate(batch.state),
      currentState: copyUpdate(batch.currentState),
      ...(batch.roomMeta === undefined ? {} : { roomMeta: { ...batch.roomMeta } }),
      ...(batch.verifications === undefined ? {} : { verifications: new Map(batch.verifications) })
    }
    return await this.enqueue<WriteResult>({ kind: 'event', write, weight: write.bytes.length }, options)
  }

  async putRoomMeta (roomId: string, meta: RoomMeta, options: AbortOptions = {}): Promise<void> {
    checkId(roomId, 'roomId')
    checkRoomMeta(meta, 'roomMeta')
    await this.enqueue({ kind: 'ops', ops: [{ type: 'put', key: roomMetaKey(roomId), value: encodeRoomMeta(meta) }], weight: 0 }, options)
  }

  async putVerifications (roomId: string, results: ReadonlyMap<string, Uint8Array>, options: AbortOptions = {}): Promise<void> {
    checkId(roomId, 'roomId')
    checkVerifications(results)
    const ops: KvOp[] = [...results].map(([member, value]) => ({ type: 'put', key: verificationKey(roomId, member), value: value.slice() }))
    await this.enqueue({ kind: 'ops', ops, weight: 0 }, options)
  }

  async putMeta<T> (key: MetaKey<T>, value: T, options: AbortOptions = {}): Promise<void> {
    checkText(key.name, 'meta key')
    await this.enqueue({ kind: 'ops', ops: [{ type: 'put', key: nodeMetaKey(key.name), value: key.encode(value) }], weight: 0 }, options)
  }

  async deleteMeta (key: MetaKey<unknown>, options: AbortOptions = {}): Promise<void> {
    checkText(key.name, 'meta key')
    await this.enqueue({ kind: 'ops', ops: [{ type: 'del', key: nodeMetaKey(key.name) }], weight: 0 }, options)
  }

  private async enqueue<R> (job: Omit<JobBase, 'resolve' | 'reject'> & ({ kind: 'event', write: EventWrite } | { kind: 'ops', ops: KvOp[] }), options: AbortOptions): Promise<R> {
    if (this.closed) throw closedError()
    options.signal?.throwIfAborted()
    return await new Promise<R>((resolve, reject) => {
      const full = job as Job
      full.resolve = resolve as (v: unknown) => void
      full.reject = reject
      const signal = options.signal
      if (signal !== undefined) {
        full.signal = signal
        // Abort counts only while queued: once in a batch the write completes (or fails) as a whole.
        full.onAbort = () => {
          const i = this.queue.indexOf(full)
          if (i >= 0) { this.queue.splice(i, 1); reject(signal.reason) }
        }
        signal.addEventListener('abort', full.onAbort, { once: true })
      }
      this.queue.push(full)
      this.scheduleFlush()
    })
  }

  private scheduleFlush (): void {
    if (this.flushing) return
    this.flushing = true
    // A microtask, so every call issued in the same synchronous run joins the first batch.
    queueMicrotask(() => { void this.flushLoop() })
  }

  private takeBatch (): Job[] {
    const jobs: Job[] = []
    let bytes = 0
    while (this.queue.length > 0 && jobs.length < this.maxBatchWrites) {
      const next = this.queue[0]!
      if (jobs.length > 0 && bytes + next.weight > this.maxBatchBytes) break
      this.queue.shift()
      if (next.signal !== undefined && next.onAbort !== undefined) next.signal.removeEventListener('abort', next.onAbort)
      bytes += next.weight
      jobs.push(next)
    }
    return jobs
  }

  private async flushLoop (): Promise<void> {
    try {
      while (this.queue.length > 0) await this.flushOne(this.takeBatch())
    } catch (err) {
      // flushOne settles its own jobs; reaching here is a bug, not a write failure.
      log.error('store writer loop failed: %e', err)
    } finally {
      this.flushing = false
      if (this.queue.length > 0) this.scheduleFlush()
      else for (const w of this.idleWaiters.splice(0)) w()
    }
  }

  private async flushOne (jobs: Job[]): Promise<void> {
    const ctx = new BatchContext()
    const ready: Array<{ job: Job, result: unknown }> = []
    // One read for the whole batch: which of its events are already stored (writes the caller
    // vouches for as new skip it — a local send then costs one database round trip, not two).
    const eventJobs = jobs.filter((j): j is Job & { kind: 'event' } => j.kind === 'event' && j.write.knownNew !== true)
    if (eventJobs.length > 0) {
      try {
        const found = await this.kv.getMany(eventJobs.map(j => eventKey(j.write.eventId)))
        eventJobs.forEach((j, i) => { if (found[i] !== undefined) ctx.stored.add(j.write.eventId) })
      } catch (err) {
        for (const job of jobs) job.reject(err)
        return
      }
    }
    for (const job of jobs) {
      try {
        if (job.kind === 'ops') {
          ctx.ops.push(...job.ops)
          ready.push({ job, result: undefined })
        } else {
          ready.push({ job, result: await this.prepareEvent(job.write, ctx) })
        }
      } catch (err) {
        job.reject(err)
      }
    }
    if (ctx.ops.length > 0) {
      try {
        await this.kv.write(ctx.ops, { sync: this.sync })
      } catch (err) {
        log.error('batch of %d writes failed: %e', ready.length, err)
        for (const { job } of ready) job.reject(err)
        return
      }
    }
    // Durable: only now may the caches learn about this batch.
    for (const { hash, bytes, node } of ctx.nodes.values()) this.nodeCache.set(bkey(hash), node, bytes.length)
    for (const [id, root] of ctx.events) this.eventRoots.set(id, root)
    for (const { job, result } of ready) job.resolve(result)
  }

  /** Ops of one event write, added to `ctx` only if the whole preparation succeeds. */
  private async prepareEvent (w: EventWrite, ctx: BatchContext): Promise<WriteResult> {
    if (ctx.events.has(w.eventId) || ctx.stored.has(w.eventId)) return { written: false }
    const nodes = new Map<string, { hash: Uint8Array, bytes: Uint8Array, node: TrieNode }>()
    const source = this.nodeSource(ctx, nodes)
    const sink = (hash: Uint8Array, bytes: Uint8Array, node: TrieNode): void => {
      const k = bkey(hash)
      if (!ctx.nodes.has(k) && !this.nodeCache.has(k)) nodes.set(k, { hash, bytes, node })
    }
    const self = { eventId: w.eventId, root: undefined as Uint8Array | undefined }
    if (w.state !== undefined) self.root = await updateState(await this.baseRoot(w.state, ctx), w.state.changes ?? new Map(), source, sink)
    let current: Uint8Array | undefined
    if (w.currentState !== undefined) {
      const base = w.currentState.base === w.eventId
        ? (self.root ?? (() => { throw invalid(`currentState.base ${w.eventId}: this write has no state`) })())
        : await this.baseRoot(w.currentState, ctx)
      current = await updateState(base, w.currentState.changes ?? new Map(), source, sink)
    }

    const ops: KvOp[] = []
    for (const { hash, bytes } of nodes.values()) ops.push({ type: 'put', key: stateNodeKey(hash), value: bytes })
    ops.push({
      type: 'put',
      key: eventKey(w.eventId),
      value: encodeEventRecord({ roomId: w.roomId, depth: w.depth, decision: w.decision, bytes: w.bytes, ...(self.root === undefined ? {} : { stateRoot: self.root }) })
    })
    ops.push({ type: 'put', key: orderKey(w.roomId, w.depth, w.eventId), value: Uint8Array.of(decisionKindByte(w.decision.kind)) })
    ops.push({ type: 'put', key: headsKey(w.roomId), value: encodeHeads(sortedUnique(w.heads)) })
    if (current !== undefined) ops.push({ type: 'put', key: currentStateKey(w.roomId), value: current })
    if (w.roomMeta !== undefined) ops.push({ type: 'put', key: roomMetaKey(w.roomId), value: encodeRoomMeta(w.roomMeta) })
    for (const [member, value] of w.verifications ?? []) ops.push({ type: 'put', key: verificationKey(w.roomId, member), value: value.slice() })

    for (const [k, v] of nodes) ctx.nodes.set(k, v)
    ctx.events.set(w.eventId, self.root ?? null)
    ctx.ops.push(...ops)
    return { written: true }
  }

  /** The state root of an update's base: this batch first, then the cache, then the database. */
  private async baseRoot (u: StateUpdate, ctx: BatchContext): Promise<Uint8Array> {
    if (u.base === null) return EMPTY_ROOT
    const pending = ctx.events.get(u.base)
    const root = pending !== undefined ? pending : await this.eventStateRoot(u.base)
    if (root === undefined) throw invalid(`state base ${u.base} is not stored`)
    if (root === null) throw invalid(`state base ${u.base} was stored without state`)
    return root
  }

  /** undefined: no such event; null: event stored without state. */
  private async eventStateRoot (eventId: string): Promise<Uint8Array | null | undefined> {
    const cached = this.eventRoots.get(eventId)
    if (cached !== undefined) return cached
    const value = await this.kv.get(eventKey(eventId))
    if (value === undefined) return undefined
    const root = decodeEventRecord(value).stateRoot ?? null
    this.eventRoots.set(eventId, root)
    return root
  }

  /** Reads nodes through this job's and this batch's new nodes, the cache, then the database. */
  private nodeSource (ctx?: BatchContext, own?: Map<string, { node: TrieNode }>): NodeSource {
    return {
      load: async (hashes) => {
        const out: TrieNode[] = new Array(hashes.length)
        const missing: number[] = []
        hashes.forEach((h, i) => {
          const k = bkey(h)
          const hit = own?.get(k)?.node ?? ctx?.nodes.get(k)?.node ?? this.nodeCache.get(k)
          if (hit !== undefined) out[i] = hit
          else missing.push(i)
        })
        if (missing.length > 0) {
          const values = await this.kv.getMany(missing.map(i => stateNodeKey(hashes[i]!)))
          missing.forEach((i, j) => {
            const value = values[j]
            if (value === undefined) throw corrupt('a state node is missing')
            const node = decodeNode(hashes[i]!, value)
            this.nodeCache.set(bkey(hashes[i]!), node, value.length)
            out[i] = node
          })
        }
        return out
      }
    }
  }

  // ---- reads -------------------------------------------------------------------------------

  private open (options: AbortOptions): void {
    if (this.closed) throw closedError()
    options.signal?.throwIfAborted()
  }

  async getEvent (eventId: string, options: AbortOptions = {}): Promise<StoredEvent | undefined> {
    this.open(options)
    const value = await this.kv.get(eventKey(eventId))
    return value === undefined ? undefined : this.storedEvent(eventId, value)
  }

  async getEvents (eventIds: readonly string[], options: AbortOptions = {}): Promise<Array<StoredEvent | undefined>> {
    this.open(options)
    if (eventIds.length === 0) return []
    const values = await this.kv.getMany(eventIds.map(id => eventKey(id)))
    return values.map((value, i) => value === undefined ? undefined : this.storedEvent(eventIds[i]!, value))
  }

  private storedEvent (eventId: string, value: Uint8Array): StoredEvent {
    const r = decodeEventRecord(value)
    this.eventRoots.set(eventId, r.stateRoot ?? null)
    const event = { eventId, roomId: r.roomId, depth: r.depth, bytes: r.bytes, decision: r.decision }
    return r.stateRoot === undefined ? event : { ...event, stateId: rootToHex(r.stateRoot) }
  }

  async hasEvent (eventId: string, options: AbortOptions = {}): Promise<boolean> {
    this.open(options)
    if (this.eventRoots.has(eventId)) return true
    return (await this.kv.get(eventKey(eventId))) !== undefined
  }

  async hasEvents (eventIds: readonly string[], options: AbortOptions = {}): Promise<boolean[]> {
    this.open(options)
    const out = eventIds.map(id => this.eventRoots.has(id))
    const unknown: number[] = []
    for (let i = 0; i < out.length; i++) if (!out[i]) unknown.push(i)
    if (unknown.length === 0) return out
    const values = await this.kv.getMany(unknown.map(i => eventKey(eventIds[i]!)))
    for (let j = 0; j < unknown.length; j++) out[unknown[j]!] = values[j] !== undefined
    return out
  }

  async getHeads (roomId: string, options: AbortOptions = {}): Promise<string[]> {
    this.open(options)
    const value = await this.kv.get(headsKey(roomId))
    return value === undefined ? [] : decodeHeads(value)
  }

  async getStateAt (eventId: string, options: StateReadOptions = {}): Promise<Map<string, string> | undefined> {
    this.open(options)
    const root = await this.eventStateRoot(eventId)
    if (root === undefined || root === null) return undefined
    return await this.readRoot(root, options)
  }

  async getCurrentState (roomId: string, options: StateReadOptions = {}): Promise<Map<string, string> | undefined> {
    this.open(options)
    const value = await this.kv.get(currentStateKey(roomId))
    if (value === undefined) return undefined
    return await this.readRoot(decodeRoot(value, 'current state'), options)
  }

  private async readRoot (root: Uint8Array, options: StateReadOptions): Promise<Map<string, string>> {
    if (isEmptyRoot(root)) return new Map()
    const source = this.nodeSource()
    return options.keys === undefined
      ? await readState(root, source, options.signal)
      : await lookupState(root, options.keys, source, options.signal)
  }

  async listRooms (options: AbortOptions = {}): Promise<string[]> {
    this.open(options)
    const rooms = new Set<string>()
    for (const table of [Table.Heads, Table.RoomMeta]) {
      const start = Uint8Array.of(table)
      for await (const key of this.kv.keys({ gt: start, lt: prefixEnd(start)! })) rooms.add(keyText(key, 'room key'))
    }
    return sortedUnique([...rooms])
  }

  async roomEvents (roomId: string, query: RoomEventsQuery, options: AbortOptions = {}): Promise<RoomEventEntry[]> {
    this.open(options)
    if (!Number.isSafeInteger(query.limit) || query.limit < 1) throw invalid(`limit: expected a positive integer, got ${String(query.limit)}`)
    if (query.direction !== 'forward' && query.direction !== 'backward') throw invalid('direction: expected forward or backward')
    for (const p of [query.before, query.after]) {
      if (p !== undefined) { checkDepth(p.depth, 'position depth'); checkId(p.eventId, 'position eventId') }
    }
    const prefix = roomPrefix(Table.Order, roomId)
    const range = {
      ...(query.after === undefined ? { gte: prefix } : { gt: orderKey(roomId, query.after.depth, query.after.eventId) }),
      ...(query.before === undefined ? { lt: prefixEnd(prefix)! } : { lt: orderKey(roomId, query.before.depth, query.before.eventId) }),
      reverse: query.direction === 'backward',
      limit: query.limit
    }
    const out: RoomEventEntry[] = []
    for await (const [key, value] of this.kv.entries(range)) {
      options.signal?.throwIfAborted()
      const { depth, eventId } = parseOrderKey(key, prefix.length)
      if (value.length !== 1) throw corrupt('order entry: bad value')
      out.push({ depth, eventId, decision: decodeDecisionKind(value[0], 'order entry') })
    }
    return out
  }

  async getRoomMeta (roomId: string, options: AbortOptions = {}): Promise<RoomMeta | undefined> {
    this.open(options)
    const value = await this.kv.get(roomMetaKey(roomId))
    return value === undefined ? undefined : decodeRoomMeta(value)
  }

  async getVerifications (roomId: string, options: AbortOptions = {}): Promise<Map<string, Uint8Array>> {
    this.open(options)
    const prefix = roomPrefix(Table.Verification, roomId)
    const out = new Map<string, Uint8Array>()
    for await (const [key, value] of this.kv.entries({ gte: prefix, lt: prefixEnd(prefix)! })) {
      out.set(fromUtf8(key.subarray(prefix.length), 'verification key'), value)
    }
    return out
  }

  async getMeta<T> (key: MetaKey<T>, options: AbortOptions = {}): Promise<T | undefined> {
    this.open(options)
    const value = await this.kv.get(nodeMetaKey(key.name))
    if (value === undefined) return undefined
    try {
      return key.decode(value)
    } catch (cause) {
      throw corrupt(`meta ${key.name}: undecodable value`, cause)
    }
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  async close (): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true
      if (this.flushing || this.queue.length > 0) await new Promise<void>(resolve => this.idleWaiters.push(resolve))
      await this.peerRecords.close() // flushes the peer records written behind; never rejects
      await this.kv.close()
      this.onClose?.()
    })()
    await this.closing
  }
}

/**
 * Opens the room store over `kv`: checks (or, on an empty database, writes) the store format.
 * `onClose` runs after the key-value store is closed (backends release their lock there).
 */
export async function openKvRoomStore (kv: OrderedKv, init: StoreInit = {}, onClose?: () => void): Promise<RoomStore> {
  const format = await kv.get(FORMAT_KEY)
  if (format === undefined) {
    await kv.write([{ type: 'put', key: FORMAT_KEY, value: Uint8Array.of(STORE_FORMAT) }], { sync: true })
  } else if (format.length !== 1 || format[0] !== STORE_FORMAT) {
    await kv.close()
    onClose?.()
    throw corrupt(`store format ${format.length === 1 ? String(format[0]) : 'unreadable'} is not this build's format ${STORE_FORMAT}`)
  }
  return new KvRoomStore(kv, init, onClose)
}
