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
 *    bounded ({@link SEQ_HIGH_WATER_ENTRIES} users, least recently used forgotten) and per process:
 *    past it, the selector still never lets the stale record win a lookup that sees a newer copy.
 *
 * Verdicts are remembered by content hash ({@link VALIDATION_MEMO_ENTRIES}), because one lookup
 * receives the same record from up to 20 holders; validation is a pure function of (key, value),
 * so a remembered verdict is the verdict.
 */
import { ErrorCode, KeyroomError, sha256, toBase64 } from '../core/index.js'
import { DHT_NAMESPACE, SEQ_HIGH_WATER_ENTRIES, VALIDATION_MEMO_ENTRIES } from './constants.js'
import { userIdFromRecordKey } from './key.js'
import { LruMap } from './lru.js'
import { parseUserRecord } from './record.js'
import type { UserRecordRejection } from './record.js'
import { selectUserRecord } from './selector.js'
import type { UserId } from '../core/index.js'
import type { SelectFn, ValidateFn } from '@libp2p/kad-dht'

/** Options of {@link identityDhtRecords}. */
export interface IdentityDhtRecordsInit {
  /** Verdicts remembered by content hash (default {@link VALIDATION_MEMO_ENTRIES}; 0 turns the memo off). */
  memoEntries?: number
  /** Users whose highest accepted `seq` is remembered (default {@link SEQ_HIGH_WATER_ENTRIES}; 0 turns stale refusal off). */
  highWaterEntries?: number
}

/** kad-dht validators and selectors for keyroom records, plus a window on what the validator has accepted. */
export interface IdentityDhtRecords {
  validators: Record<string, ValidateFn>
  selectors: Record<string, SelectFn>
  /** The highest `seq` the validator has accepted for a user, if it remembers one. */
  highestSeq(upk: UserId): number | undefined
}

type Remembered = { ok: true, upk: UserId, seq: number } | { ok: false, status: UserRecordRejection, reason: string }

/** Build the validator and selector for the `keyroom` namespace (one instance per node: its memories are the node's). */
export function identityDhtRecords (init: IdentityDhtRecordsInit = {}): IdentityDhtRecords {
  const memoEntries = init.memoEntries ?? VALIDATION_MEMO_ENTRIES
  const highWaterEntries = init.highWaterEntries ?? SEQ_HIGH_WATER_ENTRIES
  const memo = memoEntries > 0 ? new LruMap<string, Remembered>(memoEntries) : undefined
  const highWater = highWaterEntries > 0 ? new LruMap<UserId, number>(highWaterEntries) : undefined

  const check = (key: Uint8Array, value: Uint8Array): Remembered => {
    const memoKey = memo === undefined ? '' : toBase64(sha256(concat(key, value)))
    const known = memo?.get(memoKey)
    if (known !== undefined) return known
    const verdict = parseUserRecord(value, { key })
    const remembered: Remembered = verdict.ok
      ? { ok: true, upk: verdict.record.upk, seq: verdict.record.seq }
      : { ok: false, status: verdict.status, reason: verdict.reason }
    memo?.set(memoKey, remembered)
    return remembered
  }

  const validate: ValidateFn = (key, value) => {
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
      if (highest === undefined || verdict.seq > highest) highWater.set(verdict.upk, verdict.seq)
    }
  }

  return {
    validators: { [DHT_NAMESPACE]: validate },
    selectors: { [DHT_NAMESPACE]: selectUserRecord },
    highestSeq: (upk) => highWater?.peek(upk)
  }
}

function concat (a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}
