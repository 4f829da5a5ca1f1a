/**
 * The kad-dht validator and selector of keyroom's records, ready to pass to kad-dht
 * (`createKeyroomLibp2p({ dht: identityDhtRecords() })`).
 *
 * kad-dht 16 looks validators and selectors up by the key's first path segment: for a key
 * `/keyroom/upk/…` it calls `validators.keyroom(key, value, options)` and expects a throw for an
 * invalid record (`record/validators.js` `verifyRecord`), and `selectors.keyroom(key, records)`
 * for the index of the best one (`record/selectors.js` `bestRecord`, only with two or more). The
 * validator runs on every record a node is asked to store (PUT_VALUE handler), on every record it
 * receives in answer to a lookup, and on its own stored copy before serving it.
 *
 * Validator rules, in order:
 * 1. the key must be a user record key, `/keyroom/upk/<0x01 ‖ 32-byte key>` — keyroom defines no
 *    other kind of record yet;
 * 2. the value must pass {@link parseUserRecord} against that key (size bound, strict canonical
 *    JSON, shape and counts, key = the record's UPK, the UPK's signature, every attestation and
 *    revocation by that UPK with valid signatures);
 * 3. **stale refusal**: the record's `seq` must not be lower than the highest `seq` this node has
 *    accepted for the same user (an equal `seq` passes: the selector breaks the tie). kad-dht 16
 *    overwrites a stored record with any valid one put to it, so without this anyone could replay a
 *    user's old (genuinely signed) record over the current one on every holder. The memory is
 *    bounded ({@link SEQ_HIGH_WATER_ENTRIES} users, least recently used forgotten); past it, the
 *    selector still never lets the stale record win a lookup that sees a newer copy. With a
 *    `highWaterStore` (high-water.ts) the memory survives restarts: it is loaded before the first
 *    record is judged (validation waits for it), and every raise or eviction is written behind,
 *    in order, so a restart does not reopen the window for replaying an old record.
 *
 * Verdicts are remembered by content hash ({@link VALIDATION_MEMO_ENTRIES}), because one lookup
 * receives the same record from up to 20 holders; validation is a pure function of (key, value),
 * so a remembered verdict is the verdict.
 */
import { compareBytes, ErrorCode, KeyroomError, sha256, toBase64 } from '../core/index.js'
import { DHT_NAMESPACE, SEQ_HIGH_WATER_ENTRIES, VALIDATION_MEMO_ENTRIES, VERIFIED_RECORD_ENTRIES } from './constants.js'
import { userIdFromRecordKey } from './key.js'
import { LruMap } from './lru.js'
import { parseUserRecord } from './record.js'
import type { SeqHighWaterStore } from './high-water.js'
import type { UserRecord, UserRecordRejection } from './record.js'
import { selectUserRecord } from './selector.js'
import type { UserId } from '../core/index.js'
import type { AbortOptions } from '@libp2p/interface'
import type { SelectFn, ValidateFn } from '@libp2p/kad-dht'

/** Options of {@link identityDhtRecords}. */
export interface IdentityDhtRecordsInit {
  /** Verdicts remembered by content hash (default {@link VALIDATION_MEMO_ENTRIES}; 0 turns the memo off). */
  memoEntries?: number
  /** Users whose highest accepted `seq` is remembered (default {@link SEQ_HIGH_WATER_ENTRIES}; 0 turns stale refusal off). */
  highWaterEntries?: number
  /**
   * Where the high-water marks persist across restarts (default: nowhere, RAM only). Ignored when
   * `highWaterEntries` is 0.
   */
  highWaterStore?: SeqHighWaterStore
  /**
   * Told of a failed load or write of the `highWaterStore` (the validator goes on with what it has
   * in memory: a storage fault must not stop the DHT). Default: ignored.
   */
  onStoreError?: (err: unknown) => void
}

/** kad-dht validators and selectors for keyroom records, plus a window on what the validator has accepted. */
export interface IdentityDhtRecords {
  validators: Record<string, ValidateFn>
  selectors: Record<string, SelectFn>
  /** The highest `seq` the validator has accepted for a user, if it remembers one. */
  highestSeq(upk: UserId): number | undefined
  /**
   * The parsed record, when this validator recently found exactly these bytes under this key
   * genuine (any of the last {@link VERIFIED_RECORD_ENTRIES}); otherwise `undefined`. kad-dht runs
   * the validator on every holder's answer before a lookup sees it, so the directory takes the
   * parsed record from here instead of verifying the same signatures a second time. Genuineness
   * only: it says nothing about staleness.
   */
  verifiedRecord(key: Uint8Array, value: Uint8Array): UserRecord | undefined
  /**
   * Load the persisted high-water marks (idempotent; at most `highWaterEntries`, the rest are
   * forgotten in the store). Validation calls it itself before judging its first record, so calling
   * it is optional — doing so at start-up keeps the load off the first lookup's path. Without a
   * store it resolves at once. A failed load is reported to `onStoreError` and leaves the memory empty.
   */
  load(options?: AbortOptions): Promise<void>
  /** Resolves when every high-water write issued so far has reached the store (call before closing it). */
  flush(): Promise<void>
}

type Remembered = { ok: true, upk: UserId, seq: number } | { ok: false, status: UserRecordRejection, reason: string }

/** Build the validator and selector for the `keyroom` namespace (one instance per node: its memories are the node's). */
export function identityDhtRecords (init: IdentityDhtRecordsInit = {}): IdentityDhtRecords {
  const memoEntries = init.memoEntries ?? VALIDATION_MEMO_ENTRIES
  const highWaterEntries = init.highWaterEntries ?? SEQ_HIGH_WATER_ENTRIES
  const memo = memoEntries > 0 ? new LruMap<string, Remembered>(memoEntries) : undefined
  // Parsed records of the latest genuine values, by the memo's key: fewer than verdicts, as a parsed
  // record holds the bytes and every statement (up to ≈ 3× a 16 KiB value).
  const parsed = memo === undefined ? undefined : new LruMap<string, UserRecord>(VERIFIED_RECORD_ENTRIES)
  const highWater = highWaterEntries > 0 ? new LruMap<UserId, number>(highWaterEntries) : undefined
  const store = highWater === undefined ? undefined : init.highWaterStore
  const reportError = (err: unknown): void => {
    try { init.onStoreError?.(err) } catch { /* a faulty reporter must not break validation */ }
  }

  // Write-behind: the latest wanted state per user (a seq to save, or `null` to forget), drained
  // one write at a time in order, so two raises of one user cannot land out of order and a burst of
  // raises of one user costs one write.
  const pending = new Map<UserId, number | null>()
  let draining: Promise<void> | undefined
  const drain = async (): Promise<void> => {
    while (pending.size > 0) {
      const [upk, seq] = pending.entries().next().value as [UserId, number | null]
      pending.delete(upk)
      try {
        if (seq === null) await store!.forget(upk)
        else await store!.save(upk, seq)
      } catch (err) {
        reportError(err)
      }
    }
  }
  const kick = (): void => {
    draining ??= drain().finally(() => {
      draining = undefined
      // A write queued between the loop's last check and here still gets drained.
      if (pending.size > 0) kick()
    })
  }
  const write = (upk: UserId, seq: number | null): void => {
    if (store === undefined) return
    pending.set(upk, seq)
    kick()
  }
  /** Remember a raised high-water mark (in memory, then behind in the store). */
  const raise = (upk: UserId, seq: number): void => {
    const evicted = highWater!.set(upk, seq)
    write(upk, seq)
    if (evicted !== undefined) write(evicted, null)
  }

  let loaded = store === undefined
  let loading: Promise<void> | undefined
  const load = async (options: AbortOptions = {}): Promise<void> => {
    if (loaded) return
    options.signal?.throwIfAborted()
    // One load shared by every caller, and not aborted by any one of them: a load cut short would
    // leave the memory partly filled for good.
    loading ??= (async () => {
      try {
        for await (const [upk, seq] of await store!.load()) {
          const known = highWater!.peek(upk)
          if (known !== undefined && known >= seq) continue
          // Past the bound the store holds more than memory can (a crash between a save and the
          // forget of the user it evicted, or a smaller bound than before): forget the extra.
          if (known === undefined && highWater!.size >= highWaterEntries) write(upk, null)
          else highWater!.set(upk, seq)
        }
      } catch (err) {
        reportError(err)
      } finally {
        loaded = true
      }
    })()
    await loading
  }

  const memoKeyOf = (key: Uint8Array, value: Uint8Array): string => toBase64(sha256(concat(key, value)))
  const check = (key: Uint8Array, value: Uint8Array): Remembered => {
    const memoKey = memo === undefined ? '' : memoKeyOf(key, value)
    const known = memo?.get(memoKey)
    if (known !== undefined) return known
    const verdict = parseUserRecord(value, { key })
    const remembered: Remembered = verdict.ok
      ? { ok: true, upk: verdict.record.upk, seq: verdict.record.seq }
      : { ok: false, status: verdict.status, reason: verdict.reason }
    memo?.set(memoKey, remembered)
    if (verdict.ok) parsed?.set(memoKey, verdict.record)
    return remembered
  }

  const judge = (key: Uint8Array, value: Uint8Array): void => {
    if (!(key instanceof Uint8Array) || !(value instanceof Uint8Array) || userIdFromRecordKey(key) === undefined) {
      throw new KeyroomError(ErrorCode.DhtInvalidRecord, 'not a keyroom user record key: expected /keyroom/upk/ followed by the 33 UPK bytes')
    }
    const verdict = check(key, value)
    if (!verdict.ok) throw new KeyroomError(ErrorCode.DhtInvalidRecord, `user record refused (${verdict.status}): ${verdict.reason}`)
    if (highWater !== undefined) {
      const highest = highWater.get(verdict.upk)
      if (highest !== undefined && verdict.seq < highest) {
        throw new KeyroomError(ErrorCode.DhtStaleRecord, `user record seq ${verdict.seq} is older than the accepted seq ${highest}`)
      }
      if (highest === undefined || verdict.seq > highest) raise(verdict.upk, verdict.seq)
    }
  }

  // Synchronous once the marks are loaded (or when nothing is persisted); until then each call
  // waits for the one shared load, so no record is judged against a memory that is still empty.
  const validate: ValidateFn = (key, value) => {
    if (loaded) {
      judge(key, value)
      return
    }
    return load().then(() => { judge(key, value) })
  }

  return {
    validators: { [DHT_NAMESPACE]: validate },
    selectors: { [DHT_NAMESPACE]: selectUserRecord },
    highestSeq: (upk) => highWater?.peek(upk),
    verifiedRecord: (key, value) => {
      if (parsed === undefined || !(key instanceof Uint8Array) || !(value instanceof Uint8Array)) return undefined
      const record = parsed.get(memoKeyOf(key, value))
      // The bytes are compared too, so not even a hash collision could hand out another record.
      return record !== undefined && compareBytes(record.bytes, value) === 0 ? record : undefined
    },
    load,
    flush: async () => { while (draining !== undefined) await draining }
  }
}

function concat (a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}
