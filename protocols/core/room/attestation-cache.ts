/**
 * Verified-statement cache: attestations, revocations and create-event RRK signatures are
 * verified once and reused, keyed by their canonical bytes.
 *
 * Why: one attestation is copied into many events — every invite a member sends carries it in
 * `sender_key`, and the auth checks of every event the device signs look it up in the state — so
 * verifying its two signatures again each time would dominate the cost of a room. The results are
 * pure functions of the bytes, so caching them changes no outcome. Time is kept out of the cache:
 * statements are verified for their signatures and shape only, and expiry is judged by the
 * caller at the time that matters (the event's `origin_server_ts`, or `now`).
 *
 * Two levels: by object identity (a `WeakMap`: the state events an auth check reads are the same
 * objects each time, so the common case costs no encoding at all), then by canonical JSON text
 * (the same statement parsed from different events). The text map is bounded; the oldest entry is
 * dropped first (insertion order), which never changes a result, only its cost.
 */
import { canonicalJson } from '../json/index.js'
import { ErrorCode, KeyroomError } from '../errors.js'
import { parseRoomId, verifyAttestation, verifyRevocation } from '../identity/index.js'
import type { Attestation, Revocation } from '../identity/index.js'
import { verifyJson } from '../signing/index.js'
import { RRK_KEY_ID } from './constants.js'

/** A time-independent attestation verdict: genuine (both signatures good, shape right) or why not. */
export type AttestationCheck =
  | { ok: true, attestation: Attestation }
  | { ok: false, status: 'bad-signature' | 'mismatched-keys' | 'malformed' }

/** A revocation verdict: genuine or why not. */
export type RevocationCheck =
  | { ok: true, revocation: Revocation }
  | { ok: false, status: 'bad-signature' | 'mismatched-keys' | 'malformed' }

/** Counters, for benchmarks and tests. */
export interface AttestationCacheStats {
  /** Statements whose signatures were actually verified (cache misses). */
  verified: number
  /** Lookups answered from the cache. */
  hits: number
}

/** Default bound on text-keyed entries per kind (~ a few hundred bytes each). */
export const DEFAULT_CACHE_ENTRIES = 100_000

/** True when an attestation is in force at `ts`: the identity rule, `ts >= expires_ts` is expired. */
export function attestationInForceAt (attestation: Attestation, ts: number): boolean {
  return attestation.expiresTs === undefined || ts < attestation.expiresTs
}

class VerdictCache<T> {
  /** Identity level: the verdict and the context `tag` it was computed for. */
  private readonly byObject = new WeakMap<object, { tag: string, verdict: T }>()
  private readonly byText = new Map<string, T>()

  constructor (private readonly max: number, private readonly stats: AttestationCacheStats) {}

  /** The verdict for `value` in context `tag` (part of the key: e.g. the room ID of an RRK check). */
  get (value: unknown, tag: string, compute: () => T, malformed: T): T {
    const isObject = typeof value === 'object' && value !== null
    if (isObject) {
      const hit = this.byObject.get(value)
      if (hit !== undefined && hit.tag === tag) {
        this.stats.hits++
        return hit.verdict
      }
    }
    let text: string
    try {
      text = tag === '' ? canonicalJson(value) : `${tag}\n${canonicalJson(value)}`
    } catch (err) {
      // Not representable as canonical JSON: it cannot have been signed.
      if (err instanceof KeyroomError && err.code === ErrorCode.NotCanonicalizable) return malformed
      throw err
    }
    let verdict = this.byText.get(text)
    if (verdict === undefined) {
      this.stats.verified++
      verdict = compute()
      if (this.byText.size >= this.max) {
        const oldest = this.byText.keys().next()
        if (oldest.done !== true) this.byText.delete(oldest.value)
      }
      this.byText.set(text, verdict)
    } else {
      this.stats.hits++
    }
    if (isObject) this.byObject.set(value, { tag, verdict })
    return verdict
  }
}

/**
 * Caches verified attestations, revocations and RRK signatures. One per node (or share one: the
 * results are pure, so sharing is safe; it only shares memory).
 */
export class AttestationCache {
  /** Hit and miss counters over all three kinds. */
  readonly stats: AttestationCacheStats = { verified: 0, hits: 0 }
  private readonly attestations: VerdictCache<AttestationCheck>
  private readonly revocations: VerdictCache<RevocationCheck>
  private readonly rrk: VerdictCache<boolean>

  constructor (options: { maxEntries?: number } = {}) {
    const max = options.maxEntries ?? DEFAULT_CACHE_ENTRIES
    this.attestations = new VerdictCache(max, this.stats)
    this.revocations = new VerdictCache(max, this.stats)
    this.rrk = new VerdictCache(max, this.stats)
  }

  /**
   * Checks an attestation's shape and both signatures (identity `verifyAttestation`), not its
   * expiry: see {@link attestationInForceAt}.
   */
  attestation (value: unknown): AttestationCheck {
    return this.attestations.get(value, '', () => {
      // Expiry is judged by the caller; a time before every expiry asks only about signatures.
      const verdict = verifyAttestation(value, { now: Number.NEGATIVE_INFINITY })
      if (verdict.status === 'valid' || verdict.status === 'expired') return { ok: true, attestation: verdict.attestation }
      return { ok: false, status: verdict.status }
    }, { ok: false, status: 'malformed' })
  }

  /** Checks a revocation's shape and UPK signature (identity `verifyRevocation`). */
  revocation (value: unknown): RevocationCheck {
    return this.revocations.get(value, '', () => {
      const verdict = verifyRevocation(value)
      if (verdict.status === 'valid') return { ok: true, revocation: verdict.revocation }
      return { ok: false, status: verdict.status }
    }, { ok: false, status: 'malformed' })
  }

  /**
   * True when the create event `content` carries a valid RRK signature for `roomId`: MSC3917
   * "`signatures`: A signature of the event's `content` by the Room Root Key, generated using the
   * normal process for signing JSON objects. For this purpose, the entity performing the
   * signature is the room ID, and the key identifier is `rrk`" (key ID `ed25519:rrk`).
   */
  rrkSignature (content: unknown, roomId: string): boolean {
    if (typeof content !== 'object' || content === null) return false
    return this.rrk.get(content, roomId, () => {
      let rrk: Uint8Array
      try {
        rrk = parseRoomId(roomId)
      } catch {
        return false
      }
      return verifyJson(content, roomId, RRK_KEY_ID, rrk)
    }, false)
  }
}
