/**
 * The identity directory service: publishing own user records (and re-publishing them before DHT
 * holders drop them), and looking users up through a cache that answers at once whenever it can.
 *
 * Cache policy (ages are since the record was last confirmed by a DHT lookup or published here):
 * - age < `cacheRefreshAfter`: answered from memory;
 * - `cacheRefreshAfter` ≤ age ≤ `cacheTtl`: answered from memory, and a background refresh starts
 *   (refresh-ahead: users in active use never reach the TTL);
 * - `cacheTtl` < age ≤ `cacheMaxStale`: answered from memory marked `stale`, refreshed in the
 *   background (stale-while-revalidate) — unless the caller set `maxAge`, then it waits for the DHT;
 * - older, or not cached: the caller waits for the DHT (bounded by `lookupTimeout`) — by default
 *   only until `lookupQuorum` (3) holders have answered: the best of their verified records is the
 *   answer, and the same query runs to completion in the background, moving the cache forward (and
 *   calling `onRecord`) if a slower holder has a higher `seq`. Why that is safe enough, and when to
 *   ask with `quorum: 'all'` instead: `LOOKUP_QUORUM` in constants.ts, docs/dht.md.
 * Background refreshes wait for their whole query, are deduplicated per user and at most
 * `maxBackgroundRefreshes` run at once.
 *
 * The cache never goes backwards: a DHT answer older (lower `seq`) than the cached record leaves the
 * cached record in place (it only confirms it), so a replayed stale record cannot undo a revocation
 * this node has seen.
 */
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { compareBytes, ErrorCode, KeyroomError, parseUserId } from '../core/index.js'
import { deadline, raceSignal } from '../sync/index.js'
import {
  CACHE_MAX_ENTRIES, CACHE_MAX_STALE_MS, DHT_NAMESPACE, CACHE_REFRESH_AFTER_MS, CACHE_TTL_MS, FIND_PEER_TIMEOUT_MS, LOOKUP_QUORUM, LOOKUP_TIMEOUT_MS,
  MAX_ADDRESS_LOOKUPS, MAX_BACKGROUND_REFRESHES, PUBLISH_TIMEOUT_MS, REPUBLISH_INTERVAL_MS, REPUBLISH_RETRY_MS
} from './constants.js'
import { userRecordKey } from './key.js'
import { LruMap } from './lru.js'
import { devicesOf, encodeUserRecord, parseUserRecord } from './record.js'
import type { DeviceStatus, UserRecord, UserRecordJson } from './record.js'
import { compareUserRecords, recordSeq } from './selector.js'
import type {
  DeviceEntry, IdentityDirectory, IdentityDirectoryComponents, IdentityDirectoryInit, LookupOptions, PublishResult, UserDevices
} from './index.js'
import type { DeviceId, UserId } from '../core/index.js'
import type { AbortOptions, Logger, PeerId, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** One cached user. */
interface CacheEntry {
  record: UserRecord
  /** When the record was last confirmed by a lookup or published here (ms). */
  fetchedAt: number
  /** Addresses found per device (kept across record updates: devices rarely change). */
  addresses: Map<DeviceId, Multiaddr[]>
  /** PeerIds per device, computed once. */
  peerIds: Map<DeviceId, PeerId>
  /** The address resolution running for this entry, if any. */
  resolving?: Promise<void>
}

/** A DHT lookup of one user, shared by every caller that wants it while it runs. */
interface RunningQuery {
  /** Record values received so far (each holder's answer, then kad-dht's pick). */
  candidates: Uint8Array[]
  /** The whole query's outcome: the cache entry after it, or `undefined` when no record is known. */
  result: Promise<CacheEntry | undefined>
  settled: boolean
  /** Called on every new candidate and when the query settles (quorum waiters). */
  listeners: Set<() => void>
}

/** One own record being re-published. */
interface OwnEntry {
  record: UserRecord
  timer?: ReturnType<typeof setTimeout>
  /** Delay before the next retry after a put no peer confirmed. */
  retry: number
}

interface Settings {
  cacheTtl: number
  cacheRefreshAfter: number
  cacheMaxStale: number
  lookupTimeout: number
  publishTimeout: number
  findPeerTimeout: number
  maxAddressLookups: number
  republishInterval: number
  republishRetry: number
  maxBackgroundRefreshes: number
  lookupQuorum: number | 'all'
}

/** The {@link IdentityDirectory} implementation. */
export class IdentityDirectoryService implements IdentityDirectory, Startable {
  readonly #components: IdentityDirectoryComponents
  readonly #log: Logger
  readonly #settings: Settings
  readonly #now: () => number
  readonly #onRecord: IdentityDirectoryInit['onRecord']
  readonly #cache: LruMap<UserId, CacheEntry>
  readonly #own = new Map<UserId, OwnEntry>()
  /** DHT lookups running, by user (one per user, shared by every caller). */
  readonly #inflight = new Map<UserId, RunningQuery>()
  /** Every background task (refreshes, re-publishes), so stop() can wait for them to end. */
  readonly #tasks = new Set<Promise<unknown>>()
  #background = 0
  #controller = new AbortController()
  #started = false

  readonly [Symbol.toStringTag] = '@keyroom/identity-directory'
  readonly [serviceCapabilities] = ['@keyroom/identity-directory']
  readonly [serviceDependencies] = ['@libp2p/kad-dht']

  constructor (components: IdentityDirectoryComponents, init: IdentityDirectoryInit = {}) {
    this.#components = components
    this.#log = components.logger.forComponent('keyroom:identity-dht')
    this.#now = init.now ?? Date.now
    this.#onRecord = init.onRecord
    this.#settings = {
      cacheTtl: init.cacheTtl ?? CACHE_TTL_MS,
      cacheRefreshAfter: init.cacheRefreshAfter ?? Math.min(CACHE_REFRESH_AFTER_MS, init.cacheTtl ?? CACHE_TTL_MS),
      cacheMaxStale: init.cacheMaxStale ?? CACHE_MAX_STALE_MS,
      lookupTimeout: init.lookupTimeout ?? LOOKUP_TIMEOUT_MS,
      publishTimeout: init.publishTimeout ?? PUBLISH_TIMEOUT_MS,
      findPeerTimeout: init.findPeerTimeout ?? FIND_PEER_TIMEOUT_MS,
      maxAddressLookups: init.maxAddressLookups ?? MAX_ADDRESS_LOOKUPS,
      republishInterval: init.republishInterval ?? REPUBLISH_INTERVAL_MS,
      republishRetry: init.republishRetry ?? REPUBLISH_RETRY_MS,
      maxBackgroundRefreshes: init.maxBackgroundRefreshes ?? MAX_BACKGROUND_REFRESHES,
      lookupQuorum: init.lookupQuorum ?? LOOKUP_QUORUM
    }
    this.#cache = new LruMap(init.cacheMaxEntries ?? CACHE_MAX_ENTRIES)
  }

  async start (): Promise<void> {
    if (this.#started) return
    this.#controller = new AbortController()
    this.#started = true
    // Records kept from before a stop go out again soon.
    for (const own of this.#own.values()) this.#schedule(own, this.#settings.republishRetry)
  }

  async stop (): Promise<void> {
    if (!this.#started) return
    this.#started = false
    this.#controller.abort(new KeyroomError(ErrorCode.NotStarted, 'identity directory stopped'))
    for (const own of this.#own.values()) {
      clearTimeout(own.timer)
      own.timer = undefined
    }
    await Promise.allSettled([...this.#tasks, ...[...this.#inflight.values()].map(async query => await query.result)])
  }

  isStarted (): boolean {
    return this.#started
  }

  published (): UserRecord[] {
    return [...this.#own.values()].map(own => own.record)
  }

  async publish (record: UserRecordJson | Uint8Array, options: AbortOptions = {}): Promise<PublishResult> {
    this.#assertStarted()
    options.signal?.throwIfAborted()
    const verdict = parseUserRecord(record instanceof Uint8Array ? record : encodeUserRecord(record))
    if (!verdict.ok) throw new KeyroomError(ErrorCode.DhtInvalidRecord, `cannot publish an invalid user record (${verdict.status}): ${verdict.reason}`)
    const fresh = verdict.record
    const known = this.#known(fresh.upk)
    if (known !== undefined && known.seq >= fresh.seq && compareBytes(known.bytes, fresh.bytes) !== 0) {
      throw new KeyroomError(ErrorCode.DhtStaleRecord,
        `a record with seq ${known.seq} is already known for ${fresh.upk}; publish with a higher seq than ${fresh.seq}`,
        { hint: `look the user up with maxAge 0 and use seq ${known.seq + 1}` })
    }
    // The node's own DHT validator (if any) sees the record too: refuses it if it has accepted a
    // newer one, and otherwise remembers its seq (see IdentityDirectoryComponents).
    await this.#components.dht.validators?.[DHT_NAMESPACE]?.(userRecordKey(fresh.upk), fresh.bytes, options)
    this.#adopt(fresh, this.#now())
    let own = this.#own.get(fresh.upk)
    if (own === undefined) {
      own = { record: fresh, retry: this.#settings.republishRetry }
      this.#own.set(fresh.upk, own)
    }
    own.record = fresh
    clearTimeout(own.timer)
    own.timer = undefined
    const result = await this.#put(fresh, options.signal)
    this.#afterPut(own, result)
    return result
  }

  async lookup (upk: UserId, options: LookupOptions = {}): Promise<UserDevices | undefined> {
    this.#assertStarted()
    parseUserId(upk)
    options.signal?.throwIfAborted()
    const entry = this.#cache.get(upk)
    if (entry !== undefined) {
      const age = this.#now() - entry.fetchedAt
      // Strict comparisons: `maxAge: 0` never accepts a cached answer, even one a millisecond old.
      if (age < (options.maxAge ?? this.#settings.cacheTtl)) {
        if (age >= this.#settings.cacheRefreshAfter) this.#refreshInBackground(upk)
        return this.#view(entry, 'cache')
      }
      if (options.maxAge === undefined && age <= this.#settings.cacheMaxStale) {
        this.#refreshInBackground(upk)
        return this.#view(entry, 'cache')
      }
      if (age > this.#settings.cacheMaxStale) this.#cache.delete(upk)
    }
    const fetched = await raceSignal(this.#fetch(upk, options.quorum ?? this.#settings.lookupQuorum), options.signal)
    if (fetched === undefined) return undefined
    if (options.addresses !== false) await raceSignal(this.#resolveAddresses(fetched), options.signal)
    return this.#view(fetched, 'network')
  }

  cached (upk: UserId): UserDevices | undefined {
    const entry = this.#cache.peek(upk)
    if (entry === undefined || this.#now() - entry.fetchedAt > this.#settings.cacheMaxStale) return undefined
    return this.#view(entry, 'cache')
  }

  async idle (): Promise<void> {
    // A query that settles may be followed by one a listener starts, hence the loop.
    while (this.#inflight.size > 0) {
      await Promise.allSettled([...this.#inflight.values()].map(async query => await query.result))
    }
  }

  #assertStarted (): void {
    if (!this.#started) throw new KeyroomError(ErrorCode.NotStarted, 'identity directory is not started')
  }

  /** The best record known for a user without the network: cached or own. */
  #known (upk: UserId): UserRecord | undefined {
    const cached = this.#cache.peek(upk)?.record
    const own = this.#own.get(upk)?.record
    if (cached === undefined) return own
    if (own === undefined) return cached
    return compareUserRecords(cached, own) >= 0 ? cached : own
  }

  /**
   * Take a verified record into the cache, confirmed at `now`, unless the cache holds a better one
   * (then that one stays, and is confirmed). A newer record of a user this node publishes replaces
   * the one it re-publishes: any device may carry the user's latest signed record.
   */
  #adopt (record: UserRecord, now: number): CacheEntry {
    const entry = this.#cache.get(record.upk)
    if (entry !== undefined && compareUserRecords(entry.record, record) >= 0) {
      entry.fetchedAt = Math.max(entry.fetchedAt, now)
      return entry
    }
    const fresh: CacheEntry = { record, fetchedAt: now, addresses: entry?.addresses ?? new Map(), peerIds: entry?.peerIds ?? new Map() }
    this.#cache.set(record.upk, fresh)
    try {
      this.#onRecord?.(record, entry?.record)
    } catch (err) {
      this.#log.error('onRecord for %s seq %d threw: %s', record.upk, record.seq, errorMessage(err))
    }
    const own = this.#own.get(record.upk)
    if (own !== undefined && compareUserRecords(record, own.record) > 0) {
      this.#log('re-publishing the newer record seq %d of %s instead of seq %d', record.seq, record.upk, own.record.seq)
      own.record = record
    }
    return fresh
  }

  /** Put a record to the DHT, bounded by `publishTimeout`. Counts confirmations; a timeout is an outcome. */
  async #put (record: UserRecord, signal?: AbortSignal): Promise<PublishResult> {
    const bounded = deadline(this.#settings.publishTimeout, signal, this.#controller.signal)
    const putTo = new Set<string>()
    const stored = new Set<string>()
    let failed = 0
    try {
      for await (const event of this.#components.dht.put(userRecordKey(record.upk), record.bytes, { signal: bounded.signal })) {
        if (event.name === 'SEND_QUERY' && event.messageName === 'PUT_VALUE') {
          putTo.add(event.to.toString())
        } else if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') {
          if (event.record !== undefined && event.record !== null && compareBytes(event.record.value, record.bytes) === 0) stored.add(event.from.toString())
        } else if (event.name === 'QUERY_ERROR' && putTo.has(event.from.toString())) {
          failed++
        }
      }
    } catch (err) {
      signal?.throwIfAborted()
      if (!this.#started) throw new KeyroomError(ErrorCode.NotStarted, 'identity directory stopped', { cause: err })
      this.#log('put of seq %d for %s ended early%s: %s', record.seq, record.upk, bounded.timedOut() ? ' (time bound)' : '', errorMessage(err))
    }
    this.#log('put seq %d for %s: stored by %d peers, %d failed', record.seq, record.upk, stored.size, failed)
    return { seq: record.seq, stored: stored.size, failed }
  }

  /** Schedule the next re-publish: the regular interval after a confirmed put, a growing retry delay otherwise. */
  #afterPut (own: OwnEntry, result: PublishResult): void {
    if (result.stored > 0) {
      own.retry = this.#settings.republishRetry
      this.#schedule(own, this.#settings.republishInterval)
    } else {
      const delay = own.retry
      own.retry = Math.min(own.retry * 2, this.#settings.republishInterval)
      this.#schedule(own, delay)
    }
  }

  #schedule (own: OwnEntry, delay: number): void {
    clearTimeout(own.timer)
    own.timer = undefined
    if (!this.#started) return
    own.timer = setTimeout(() => {
      own.timer = undefined
      this.#track((async () => {
        const record = own.record
        try {
          const result = await this.#put(record, undefined)
          if (this.#own.get(record.upk) === own) this.#afterPut(own, result)
        } catch (err) {
          if (this.#started) {
            this.#log.error('re-publish of %s failed: %s', record.upk, errorMessage(err))
            this.#afterPut(own, { seq: record.seq, stored: 0, failed: 0 })
          }
        }
      })())
    }, delay)
  }

  #track (task: Promise<unknown>): void {
    this.#tasks.add(task)
    void task.finally(() => this.#tasks.delete(task))
  }

  /**
   * The user's record from the DHT: one query per user at a time, shared by every caller. With
   * `'all'` the answer is the whole query's; with a quorum, the best of the first `quorum` holders'
   * records (verified), while the query runs on and updates the cache when it ends. A quorum below 1
   * counts as `'all'`.
   */
  async #fetch (upk: UserId, quorum: number | 'all'): Promise<CacheEntry | undefined> {
    const query = this.#inflight.get(upk) ?? this.#startQuery(upk)
    if (quorum === 'all' || !(quorum >= 1)) return await query.result
    await new Promise<void>(resolve => {
      const check = (): void => {
        if (!query.settled && query.candidates.length < quorum) return
        query.listeners.delete(check)
        resolve()
      }
      query.listeners.add(check)
      check()
    })
    if (query.settled) return await query.result
    const best = this.#best(userRecordKey(upk), upk, query.candidates)
    return best === undefined ? await query.result : this.#adopt(best, this.#now())
  }

  #startQuery (upk: UserId): RunningQuery {
    const query: RunningQuery = { candidates: [], settled: false, listeners: new Set(), result: Promise.resolve(undefined) }
    const notify = (): void => { for (const listener of [...query.listeners]) listener() }
    query.result = this.#runQuery(upk, query.candidates, notify).finally(() => {
      query.settled = true
      if (this.#inflight.get(upk) === query) this.#inflight.delete(upk)
      notify()
    })
    // Callers that gave up (aborted) do not observe the result; the cache still gets it.
    query.result.catch(() => {})
    this.#inflight.set(upk, query)
    return query
  }

  async #runQuery (upk: UserId, candidates: Uint8Array[], notify: () => void): Promise<CacheEntry | undefined> {
    const key = userRecordKey(upk)
    const bounded = deadline(this.#settings.lookupTimeout, this.#controller.signal)
    try {
      // Records come from two kinds of event: each holder's answer (PEER_RESPONSE, already through
      // the DHT's validator) and the final VALUE, kad-dht's pick (which may be our own stored copy).
      // Collecting the answers ourselves keeps them when kad-dht's get fails after the query — it
      // throws if a holder of an outdated copy refuses the correction it sends.
      for await (const event of this.#components.dht.get(key, { signal: bounded.signal })) {
        if (event.name === 'PEER_RESPONSE' && event.record !== undefined && event.record !== null) {
          candidates.push(event.record.value)
          notify()
        } else if (event.name === 'VALUE') {
          candidates.push(event.value)
        }
      }
    } catch (err) {
      if (!this.#started) throw new KeyroomError(ErrorCode.NotStarted, 'identity directory stopped', { cause: err })
      this.#log('lookup of %s ended early%s: %s', upk, bounded.timedOut() ? ' (time bound)' : '', errorMessage(err))
    }
    const best = this.#best(key, upk, candidates)
    if (best === undefined) {
      this.#log('no record found for %s (%d candidates)', upk, candidates.length)
      return this.#cache.peek(upk)
    }
    return this.#adopt(best, this.#now())
  }

  /**
   * The best verified record among candidate values: ranked by the selector's rule on a cheap read
   * of `seq`, then verified best-first, so a lookup verifies one record, not one per holder.
   */
  #best (key: Uint8Array, upk: UserId, candidates: Uint8Array[]): UserRecord | undefined {
    const ranked = candidates
      .map(bytes => ({ bytes, seq: recordSeq(bytes, upk) }))
      .filter(c => c.seq >= 1)
      // Best first: the selector's order (seq, then bytes), reversed.
      .sort((a, b) => compareUserRecords(b, a))
    let previous: Uint8Array | undefined
    for (const candidate of ranked) {
      if (previous !== undefined && compareBytes(previous, candidate.bytes) === 0) continue
      previous = candidate.bytes
      // Already verified by the node's DHT validator (it ran on this answer): take it parsed.
      const verified = this.#components.records?.verifiedRecord(key, candidate.bytes)
      if (verified !== undefined && verified.upk === upk) return verified
      const verdict = parseUserRecord(candidate.bytes, { key })
      if (verdict.ok) return verdict.record
      this.#log('dropping an invalid record for %s (%s): %s', upk, verdict.status, verdict.reason)
    }
    return undefined
  }

  #refreshInBackground (upk: UserId): void {
    if (!this.#started || this.#inflight.has(upk) || this.#background >= this.#settings.maxBackgroundRefreshes) return
    this.#background++
    this.#track((async () => {
      try {
        const entry = await this.#fetch(upk, 'all')
        if (entry !== undefined) await this.#resolveAddresses(entry)
      } catch (err) {
        if (this.#started) this.#log('background refresh of %s failed: %s', upk, errorMessage(err))
      } finally {
        this.#background--
      }
    })())
  }

  /** Addresses of the entry's usable devices through peer routing: best-effort, bounded, one run per entry at a time. */
  async #resolveAddresses (entry: CacheEntry): Promise<void> {
    if (entry.resolving !== undefined) {
      await entry.resolving
      return
    }
    const devices = devicesOf(entry.record, { now: this.#now() })
      .filter(d => d.usable)
      .slice(0, this.#settings.maxAddressLookups)
    const bounded = deadline(this.#settings.findPeerTimeout, this.#controller.signal)
    const run = Promise.all(devices.map(async (device) => {
      try {
        const info = await this.#components.peerRouting.findPeer(this.#peerId(entry, device), { signal: bounded.signal })
        if (info.multiaddrs.length > 0) entry.addresses.set(device.deviceId, info.multiaddrs)
      } catch (err) {
        // Not found, our own device, or out of time: keep what we had.
        this.#log('no addresses for %s: %s', device.deviceId, errorMessage(err))
      }
    })).then(() => {})
    entry.resolving = run
    try {
      await run
    } finally {
      entry.resolving = undefined
    }
  }

  #peerId (entry: CacheEntry, device: DeviceStatus): PeerId {
    let peerId = entry.peerIds.get(device.deviceId)
    if (peerId === undefined) {
      peerId = peerIdFromPublicKey(publicKeyFromRaw(device.deviceKey))
      entry.peerIds.set(device.deviceId, peerId)
    }
    return peerId
  }

  #view (entry: CacheEntry, source: UserDevices['source']): UserDevices {
    const now = this.#now()
    const devices: DeviceEntry[] = devicesOf(entry.record, { now }).map(device => ({
      ...device,
      peerId: this.#peerId(entry, device),
      multiaddrs: [...(entry.addresses.get(device.deviceId) ?? [])]
    }))
    return {
      upk: entry.record.upk,
      seq: entry.record.seq,
      devices,
      record: entry.record,
      fetchedAt: entry.fetchedAt,
      source,
      stale: now - entry.fetchedAt > this.#settings.cacheTtl
    }
  }
}

function errorMessage (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
