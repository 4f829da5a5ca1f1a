/**
 * Persistence of the validator's per-user high-water `seq` (validator.ts rule 3, stale refusal).
 *
 * Why persist it: kad-dht 16 stores any valid record put to it over the one it holds, and the
 * validator's memory of the highest `seq` accepted per user is what refuses a replayed older (but
 * genuinely signed) record. Held only in RAM, a restart forgets it, and the first replay after the
 * restart — e.g. a record from before a revocation — would be stored and served again until the
 * user's next re-publish. With a {@link SeqHighWaterStore} the memory survives restarts.
 *
 * The port is deliberately small (load every pair once; save or forget one pair), so any key-value
 * store fits; {@link datastoreHighWaterStore} keeps it in the libp2p datastore (interface-datastore)
 * the node already passes to libp2p. Bounded: the validator keeps at most `highWaterEntries` users
 * (4096 by default) and forgets in the store the users it forgets in memory, so the store never
 * holds more than the memory does (plus what a crash between the two writes leaves, trimmed at the
 * next load).
 */
import { Key } from 'interface-datastore'
import { parseUserId } from '../core/index.js'
import type { UserId } from '../core/index.js'
import type { AbortOptions } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/**
 * Where the validator keeps its high-water marks across restarts. Writes are issued one at a time,
 * in order (the validator serialises them), so an implementation needs no locking of its own.
 */
export interface SeqHighWaterStore {
  /**
   * Every remembered `(upk, seq)`. Called once, before the validator judges its first record.
   * Pairs that do not read as a user ID and a positive safe integer are skipped.
   */
  load(options?: AbortOptions): Promise<Iterable<readonly [UserId, number]>> | AsyncIterable<readonly [UserId, number]>
  /** Remember `seq` as the highest accepted for `upk` (replacing any earlier value). */
  save(upk: UserId, seq: number, options?: AbortOptions): Promise<void>
  /** Forget `upk` (the validator's bounded memory dropped it). Forgetting an unknown user is not an error. */
  forget(upk: UserId, options?: AbortOptions): Promise<void>
}

/**
 * Default key prefix in the datastore. Distinct from kad-dht's own (`/keyroom/kad`, node/libp2p.ts)
 * and libp2p's peer store (`/peers`), so neither ever reads or clears these keys.
 */
export const HIGH_WATER_DATASTORE_PREFIX = '/keyroom/dht-seq'

/** The value bytes: `seq` as ASCII decimal, no sign, no leading zero (one byte form per number). */
function encodeSeq (seq: number): Uint8Array {
  return new TextEncoder().encode(String(seq))
}

/** The `seq` of a stored value, or `undefined` if it is not the one byte form {@link encodeSeq} writes. */
function decodeSeq (bytes: Uint8Array): number | undefined {
  if (bytes.length === 0 || bytes.length > 16) return undefined
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    if (b < 0x30 || b > 0x39 || (i === 0 && b === 0x30)) return undefined
  }
  const seq = Number(new TextDecoder().decode(bytes))
  return Number.isSafeInteger(seq) && seq >= 1 ? seq : undefined
}

/** True when `value` reads as a user ID (`~…`, a valid key); the datastore's keys are not trusted. */
function isUserId (value: string): value is UserId {
  try {
    parseUserId(value)
    return true
  } catch {
    return false
  }
}

/**
 * A {@link SeqHighWaterStore} in a libp2p `Datastore`: one key per user, `<prefix>/<upk>` (a user
 * ID is `~` + unpadded URL-safe base64, so it never contains `/`), value {@link encodeSeq}. Keys
 * under the prefix that do not read as a user ID, or values that are not a seq, are skipped.
 */
export function datastoreHighWaterStore (
  datastore: Pick<Datastore, 'put' | 'delete' | 'query'>,
  prefix: string = HIGH_WATER_DATASTORE_PREFIX
): SeqHighWaterStore {
  const keyOf = (upk: UserId): Key => new Key(`${prefix}/${upk}`)
  return {
    async * load (options: AbortOptions = {}) {
      for await (const { key, value } of datastore.query({ prefix: `${prefix}/` }, options)) {
        const name = key.toString().slice(prefix.length + 1)
        const seq = decodeSeq(value)
        if (seq !== undefined && !name.includes('/') && isUserId(name)) yield [name, seq] as const
      }
    },
    async save (upk, seq, options = {}) {
      await datastore.put(keyOf(upk), encodeSeq(seq), options)
    },
    async forget (upk, options = {}) {
      await datastore.delete(keyOf(upk), options)
    }
  }
}
