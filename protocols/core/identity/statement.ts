/**
 * Shared edge-parsing for signed identity statements (attestations, revocations): plain objects
 * with a fixed set of fields, integer timestamps and a Matrix `signatures` map. Internal to
 * `identity/`; the public shapes live in attestation.ts and revocation.ts.
 */
import { compareCodePoints } from '../json/index.js'
import { parseDeviceId, parseUserId } from './text-forms.js'

/** A JSON `signatures` map: entity → key ID → unpadded base64 signature. */
export type SignatureMap = Record<string, Record<string, string>>

/** Key ID of every identity signature (docs/protocol.md: "key ID `ed25519`"). */
export const IDENTITY_KEY_ID = 'ed25519'

/**
 * Result of an edge parse: the typed value, or why not — `malformed` (the shape is wrong) or
 * `mismatched-keys` (well-formed, but signed by a key other than the one it names).
 */
export type Parsed<T> =
  | { ok: true, value: T }
  | { ok: false, status: 'malformed' | 'mismatched-keys', reason: string }

/**
 * Largest timestamp accepted: 2^53 − 1 ms, the canonical-JSON integer bound (Matrix appendices,
 * "Canonical JSON"). Timestamps are Matrix-style milliseconds since the Unix epoch.
 */
export const MAX_TIMESTAMP = Number.MAX_SAFE_INTEGER

class StatementError extends Error {
  constructor (readonly status: 'malformed' | 'mismatched-keys', reason: string) {
    super(reason)
  }
}

/** Abandons a parse as `malformed`. */
export function fail (reason: string): never {
  throw new StatementError('malformed', reason)
}

/** Abandons a parse as `mismatched-keys`. */
export function mismatch (reason: string): never {
  throw new StatementError('mismatched-keys', reason)
}

export function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function own (object: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined
}

/** The object's own fields, refusing any not in `known` (names the first stranger). */
export function readObject (value: unknown, what: string, known: readonly string[]): Record<string, unknown> {
  if (!isPlainObject(value)) fail(`${what} must be a JSON object`)
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) fail(`unknown field ${JSON.stringify(key)} in ${what} (expected only ${known.join(', ')})`)
  }
  return value
}

export function readUserId (object: Record<string, unknown>, field: string): { text: string, key: Uint8Array } {
  const text = own(object, field)
  try {
    return { text: text as string, key: parseUserId(text) }
  } catch (err) {
    return fail(`${field}: ${(err as Error).message}`)
  }
}

export function readDeviceId (object: Record<string, unknown>, field: string): { text: string, key: Uint8Array } {
  const text = own(object, field)
  try {
    return { text: text as string, key: parseDeviceId(text) }
  } catch (err) {
    return fail(`${field}: ${(err as Error).message}`)
  }
}

/** A required or optional millisecond timestamp: an integer in 0..2^53−1 (no floats, no strings). */
export function readTimestamp (object: Record<string, unknown>, field: string, required: true): number
export function readTimestamp (object: Record<string, unknown>, field: string, required: false): number | undefined
export function readTimestamp (object: Record<string, unknown>, field: string, required: boolean): number | undefined {
  const value = own(object, field)
  if (value === undefined) {
    if (required) fail(`missing ${field}`)
    return undefined
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || Object.is(value, -0)) {
    fail(`${field} must be an integer number of milliseconds in 0..${MAX_TIMESTAMP}`)
  }
  return value
}

/** The `signatures` map, checked for shape: objects of objects of strings. */
export function readSignatures (object: Record<string, unknown>): SignatureMap {
  const value = own(object, 'signatures')
  if (value === undefined) fail('missing signatures')
  if (!isPlainObject(value)) fail('signatures must be a JSON object')
  // Null-prototype maps: an entity or key ID named "__proto__" stays an ordinary entry.
  const out: SignatureMap = Object.create(null) as SignatureMap
  for (const entity of Object.keys(value)) {
    const entry = value[entity]
    if (!isPlainObject(entry)) fail(`signatures[${JSON.stringify(entity)}] must be a JSON object`)
    const keys = Object.create(null) as Record<string, string>
    for (const keyId of Object.keys(entry)) {
      const sig = entry[keyId]
      if (typeof sig !== 'string') fail(`signatures[${JSON.stringify(entity)}][${JSON.stringify(keyId)}] must be a string`)
      keys[keyId] = sig
    }
    out[entity] = keys
  }
  return out
}

/**
 * Runs an edge parser built from the helpers above, turning its `StatementError` into a reason.
 * Anything else thrown is a bug and propagates.
 */
export function parseWith<T> (fn: () => T): Parsed<T> {
  try {
    return { ok: true, value: fn() }
  } catch (err) {
    if (err instanceof StatementError) return { ok: false, status: err.status, reason: err.message }
    throw err
  }
}

/**
 * Who, if anyone, signed for a role the statement names: `'named'` when the named entity has an
 * `ed25519` signature; otherwise the first other entity with the same sigil that has one (a
 * signature by a different UPK/UDK than the one named), or `undefined` when nobody did.
 * Entities are examined in code-point order so the answer does not depend on map order.
 */
export function signerFor (signatures: SignatureMap, named: string, sigil: string): 'named' | { other: string } | undefined {
  if (signatures[named]?.[IDENTITY_KEY_ID] !== undefined) return 'named'
  const others = Object.keys(signatures)
    .filter((entity) => entity !== named && entity.startsWith(sigil) && signatures[entity]?.[IDENTITY_KEY_ID] !== undefined)
    .sort(compareCodePoints)
  return others[0] === undefined ? undefined : { other: others[0] }
}

/** Byte equality of two keys (public data, so no need for constant time). */
export function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
