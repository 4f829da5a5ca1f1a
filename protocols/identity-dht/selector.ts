/**
 * Choosing among several records for one user (kad-dht selector; also the directory's cache).
 *
 * Rule: the highest `seq` wins. Between two records with the same `seq` — only the UPK holder can
 * make those, e.g. two of the user's devices publishing at once — the one whose bytes are greater
 * in unsigned lexicographic byte order wins (a prefix sorts first). Records are canonical JSON
 * (record.ts step 2), so every node compares the same bytes and picks the same record; a stale
 * record (lower `seq`) can never win.
 *
 * kad-dht 16 calls the selector only with records that passed the validator
 * (`content-fetching/index.js`: values from `getMany`, each verified), so this reads just `seq`
 * and `upk` (a strict JSON parse, no signatures). Anything that does not parse as a record of the
 * key's user ranks below every record that does.
 */
import { compareBytes, parseJson } from '../core/index.js'
import { userIdFromRecordKey } from './key.js'


/** The `seq` of a record of `upk` (or of any user when `upk` is undefined), or -1 if it does not read as one. */
export function recordSeq (bytes: Uint8Array, upk?: string): number {
  let value: unknown
  try {
    value = parseJson(bytes)
  } catch {
    return -1
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return -1
  const { seq, upk: named } = value as { seq?: unknown, upk?: unknown }
  if (upk !== undefined && named !== upk) return -1
  return typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 1 ? seq : -1
}

/**
 * Orders two records of one user: positive if `a` is better (higher `seq`, then greater bytes),
 * negative if `b` is, 0 for identical bytes.
 */
export function compareUserRecords (a: { seq: number, bytes: Uint8Array }, b: { seq: number, bytes: Uint8Array }): number {
  if (a.seq !== b.seq) return a.seq > b.seq ? 1 : -1
  return compareBytes(a.bytes, b.bytes)
}

/** The kad-dht selector for `/keyroom/…` keys: the index of the best record (0 when none reads). */
export function selectUserRecord (key: Uint8Array, records: Uint8Array[]): number {
  const upk = userIdFromRecordKey(key)
  let best = -1
  let bestSeq = -1
  for (let i = 0; i < records.length; i++) {
    const bytes = records[i]!
    const seq = upk === undefined ? -1 : recordSeq(bytes, upk)
    if (seq < 0) continue
    if (best < 0 || compareUserRecords({ seq, bytes }, { seq: bestSeq, bytes: records[best]! }) > 0) {
      best = i
      bestSeq = seq
    }
  }
  return best < 0 ? 0 : best
}
