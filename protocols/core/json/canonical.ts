/**
 * Matrix canonical JSON.
 *
 * Matrix appendices, "Canonical JSON": "We define this encoding for a value to be the shortest
 * UTF-8 JSON encoding with dictionary keys lexicographically sorted by Unicode codepoint. Numbers
 * in the JSON must be integers in the range `[-(2**53)+1, (2**53)-1]`, represented without
 * exponents or decimal places, and negative zero `-0` MUST NOT appear." The spec's reference is
 * Python's `json.dumps(value, ensure_ascii=False, separators=(',', ':'), sort_keys=True)` encoded
 * as UTF-8 — what Synapse signs with. Concretely:
 *
 * - no whitespace; object members sorted by key in code-point order ({@link compareCodePoints});
 * - strings escaped only where the spec grammar requires: `\"`, `\\`, the short forms `\b \f \n
 *   \r \t`, and lowercase `\u00XX` for the other code points U+0000–U+001F (grammar rule
 *   `escaped`: `u000X` with X in `0-7 b e f`, `u001X` with X in `0-9 a-f`). Everything else —
 *   including `/`, DEL, U+2028/U+2029 and non-ASCII — is written as itself. This is exactly what
 *   Python's encoder and ECMAScript `JSON.stringify` do with a well-formed string;
 * - numbers are safe integers written in decimal.
 *
 * Values that cannot be represented throw `ERR_NOT_CANONICALIZABLE` (with a `$.path` to the bad
 * value) rather than being dropped or coerced as `JSON.stringify` would: non-integer numbers, NaN,
 * ±Infinity, integers beyond ±(2^53 − 1), `undefined` (in objects or arrays, including array holes),
 * functions, symbols, bigints, objects that are not plain (Map, Date, Uint8Array, class instances),
 * cycles, strings or keys containing a lone surrogate (UTF-8 cannot encode them), and nesting
 * deeper than {@link MAX_JSON_DEPTH}. Plain objects are those whose prototype is `Object.prototype`
 * or `null`; only their own enumerable string keys are data (as in `JSON.stringify`), so
 * symbol-keyed and non-enumerable properties are not written.
 *
 * **Negative zero.** The JavaScript value `-0` is written as `0`. The spec says `-0` "MUST NOT
 * appear" in the output, and its example 10 shows an input `-0` becoming `0`; `-0` is the integer
 * zero (JSON.stringify and Python write it as `0` too), and it arises from ordinary arithmetic
 * (`-1 * 0`, `Math.round(-0.2)`), so refusing it would only make callers normalise it themselves.
 * This never lets a `-0` *text* through: `parseJson` refuses the text `-0` in received events.
 */
import { ErrorCode, KeyroomError } from '../errors.js'
import { compareCodePoints } from './code-point-order.js'
import { MAX_JSON_DEPTH } from './constants.js'

// Not fatal: the encoder only ever produces well-formed UTF-8.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true })

/**
 * The encoder writes UTF-8 straight into a reusable byte buffer: on V8, building a string and then
 * running `TextEncoder.encode` over it costs about twice as much as this (the rope has to be
 * flattened and the encoder is a native call with a slow path for non-Latin-1 strings), while
 * `TextDecoder` turns the bytes back into a string cheaply for {@link canonicalJson}.
 *
 * State lives in the module because the encoder is synchronous. A re-entrant call (a getter or
 * Proxy trap calling canonicalJson) writes after the outer call's bytes and truncates back when
 * done, and swaps in its own ancestor stack, so it cannot corrupt an encoding in progress.
 */
let buf = new Uint8Array(4096)
let o = 0
/** The containers being written, outermost first; used for cycle reports and error paths. */
let ancestors: object[] = []

/** Capacity above which the scratch buffer is dropped after use, so one huge value is not kept. */
const KEEP_BUFFER_BYTES = 1 << 20

/**
 * Encode a value as Matrix canonical JSON text.
 *
 * @param value - a JSON-safe value: plain objects, arrays, strings, safe integers, booleans, null.
 * @returns the canonical JSON text. Sign and hash its UTF-8 encoding ({@link canonicalJsonBytes}).
 * @throws KeyroomError `ERR_NOT_CANONICALIZABLE` naming the value's path and what is wrong with it.
 */
export function canonicalJson (value: unknown): string {
  const start = o
  const outer = ancestors
  ancestors = []
  try {
    writeValue(value, 0)
    return utf8.decode(buf.subarray(start, o))
  } finally {
    release(start, outer)
  }
}

/**
 * The UTF-8 bytes of {@link canonicalJson}: what Matrix signs and hashes, and what keyroom sends.
 *
 * @returns a new array (not shared with later calls).
 * @throws KeyroomError `ERR_NOT_CANONICALIZABLE` as {@link canonicalJson}.
 */
export function canonicalJsonBytes (value: unknown): Uint8Array {
  const start = o
  const outer = ancestors
  ancestors = []
  try {
    writeValue(value, 0)
    return buf.slice(start, o)
  } finally {
    release(start, outer)
  }
}

function release (start: number, outer: object[]): void {
  o = start
  ancestors = outer
  if (start === 0 && buf.length > KEEP_BUFFER_BYTES) buf = new Uint8Array(4096)
}

/** Makes room for `n` more bytes. */
function reserve (n: number): void {
  if (o + n <= buf.length) return
  let size = buf.length * 2
  while (size < o + n) size *= 2
  const next = new Uint8Array(size)
  next.set(buf.subarray(0, o))
  buf = next
}

function writeAscii (s: string): void {
  const n = s.length
  reserve(n)
  const b = buf
  let p = o
  for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i)
  o = p
}

function writeValue (v: unknown, depth: number): void {
  switch (typeof v) {
    case 'string':
      writeString(v, false)
      return
    case 'number':
      // Number.isSafeInteger(-0) is true and String(-0) is "0": see "Negative zero" above.
      // String() of a safe integer is plain decimal digits (exponents start at 1e21).
      if (Number.isSafeInteger(v)) writeAscii(String(v))
      else refuse(v, Number.isInteger(v) ? 'integer outside ±(2^53 − 1)' : `number ${String(v)} is not an integer`)
      return
    case 'boolean':
      writeAscii(v ? 'true' : 'false')
      return
    case 'object':
      if (v === null) writeAscii('null')
      else if (Array.isArray(v)) writeArray(v, depth + 1)
      else writeObject(v, depth + 1)
      return
    default:
      refuse(v, `${typeof v} is not a JSON value`)
  }
}

function writeArray (arr: readonly unknown[], depth: number): void {
  enter(arr, depth)
  reserve(1)
  buf[o++] = 0x5b // [
  const n = arr.length
  for (let i = 0; i < n; i++) {
    if (i > 0) {
      reserve(1)
      buf[o++] = 0x2c // ,
    }
    const el = arr[i]
    if (el === undefined) refuse(el, i in arr ? 'undefined is not a JSON value' : 'array hole is not a JSON value')
    writeValue(el, depth)
  }
  reserve(1)
  buf[o++] = 0x5d // ]
  ancestors.pop()
}

function writeObject (obj: object, depth: number): void {
  const proto: unknown = Object.getPrototypeOf(obj)
  if (proto !== Object.prototype && proto !== null) refuse(obj, `${describeObject(obj)} is not a plain object`)
  enter(obj, depth)
  const rec = obj as Record<string, unknown>
  const keys = Object.keys(obj)
  sortKeys(keys)
  reserve(1)
  buf[o++] = 0x7b // {
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    const v = rec[key]
    if (v === undefined) refuse(v, 'undefined is not a JSON value', key)
    if (i > 0) {
      reserve(1)
      buf[o++] = 0x2c // ,
    }
    writeString(key, true)
    reserve(1)
    buf[o++] = 0x3a // :
    writeValue(v, depth)
  }
  reserve(1)
  buf[o++] = 0x7d // }
  ancestors.pop()
}

function enter (container: object, depth: number): void {
  if (depth > MAX_JSON_DEPTH) {
    // A cycle always ends up here (its depth is unbounded), so no per-node cycle check is needed.
    // Report it where it first closes: the first container that is its own ancestor.
    const chain = [...ancestors, container]
    for (let j = 1; j < chain.length; j++) {
      if (chain.indexOf(chain[j]!) < j) refuseAt(chain.slice(0, j + 1), 'cycle: the value contains itself')
    }
    refuse(container, `nesting deeper than ${MAX_JSON_DEPTH} containers`)
  }
  ancestors.push(container)
}

/**
 * Sorts keys in place by code point. Insertion sort: objects are small, and keys parsed from
 * canonical JSON arrive already sorted, which costs n − 1 comparisons. When no key contains a
 * code unit >= 0xD800, UTF-16 order (`<`) equals code-point order and the cheaper comparison is
 * used; otherwise {@link compareCodePoints}.
 */
function sortKeys (keys: string[]): void {
  const n = keys.length
  if (n < 2) return
  let wide = false
  for (let i = 0; i < n && !wide; i++) {
    const k = keys[i]!
    for (let j = 0; j < k.length; j++) {
      if (k.charCodeAt(j) >= 0xd800) {
        wide = true
        break
      }
    }
  }
  for (let i = 1; i < n; i++) {
    const k = keys[i]!
    let j = i - 1
    if (wide) {
      while (j >= 0 && compareCodePoints(keys[j]!, k) > 0) {
        keys[j + 1] = keys[j]!
        j--
      }
    } else {
      while (j >= 0 && keys[j]! > k) {
        keys[j + 1] = keys[j]!
        j--
      }
    }
    keys[j + 1] = k
  }
}

const HEX = '0123456789abcdef'

/**
 * Writes `s` quoted, escaped and UTF-8 encoded. `isKey` (for error paths): `s` is a key of the
 * innermost container rather than a value.
 *
 * Escapes, per the spec grammar rule `escaped` (and Python's `json.dumps(ensure_ascii=False)`):
 * `"` and `\` with a backslash; U+0008, U+0009, U+000A, U+000C, U+000D as `\b \t \n \f \r`;
 * every other code point below U+0020 as `\u00` + two lowercase hex digits. Nothing else.
 */
function writeString (s: string, isKey: boolean): void {
  const n = s.length
  // Worst case 6 bytes per code unit (`\u00XX`); a surrogate pair is 4 bytes for 2 units.
  reserve(n * 6 + 2)
  const b = buf
  let p = o // a local cursor: V8 keeps it in a register, a module variable it would not
  b[p++] = 0x22
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) {
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
        b[p++] = c
      } else {
        b[p++] = 0x5c // \
        switch (c) {
          case 0x22: b[p++] = 0x22; break
          case 0x5c: b[p++] = 0x5c; break
          case 0x08: b[p++] = 0x62; break // b
          case 0x09: b[p++] = 0x74; break // t
          case 0x0a: b[p++] = 0x6e; break // n
          case 0x0c: b[p++] = 0x66; break // f
          case 0x0d: b[p++] = 0x72; break // r
          default: // u00XX, lowercase hex
            b[p++] = 0x75
            b[p++] = 0x30
            b[p++] = 0x30
            b[p++] = HEX.charCodeAt(c >> 4)
            b[p++] = HEX.charCodeAt(c & 15)
        }
      }
    } else if (c < 0x800) {
      b[p++] = 0xc0 | (c >> 6)
      b[p++] = 0x80 | (c & 0x3f)
    } else if (c < 0xd800 || c > 0xdfff) {
      b[p++] = 0xe0 | (c >> 12)
      b[p++] = 0x80 | ((c >> 6) & 0x3f)
      b[p++] = 0x80 | (c & 0x3f)
    } else {
      const d = s.charCodeAt(i + 1)
      if (c > 0xdbff || !(d >= 0xdc00 && d <= 0xdfff)) {
        // UTF-8 cannot encode a lone surrogate (and Python's encode("UTF-8") raises on it).
        const what = `lone surrogate U+${c.toString(16).toUpperCase()}`
        if (isKey) refuseContainer(`key ${JSON.stringify(s)} contains a ${what}`)
        refuse(s, `string contains a ${what}`)
      }
      i++
      const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
      b[p++] = 0xf0 | (cp >> 18)
      b[p++] = 0x80 | ((cp >> 12) & 0x3f)
      b[p++] = 0x80 | ((cp >> 6) & 0x3f)
      b[p++] = 0x80 | (cp & 0x3f)
    }
  }
  b[p++] = 0x22
  o = p
}

/**
 * Throws ERR_NOT_CANONICALIZABLE for `bad`, a value inside the innermost container being written
 * (or the top-level value), with the path to it reconstructed from the ancestor stack: the hot
 * path keeps no keys. `key` names the member when identity cannot find it (e.g. `undefined`).
 */
function refuse (bad: unknown, what: string, key?: string): never {
  return refuseAt([...ancestors, bad], what, key)
}

/** Like {@link refuse}, for a problem with the innermost container itself (one of its keys). */
function refuseContainer (what: string): never {
  return refuseAt([...ancestors], what)
}

function refuseAt (chain: unknown[], what: string, key?: string): never {
  throw new KeyroomError(ErrorCode.NotCanonicalizable, `not canonicalizable: ${what} at ${pathOf(chain, key)}`)
}

/** `$`-rooted path through `chain` (each element a member of the previous one). */
function pathOf (chain: unknown[], key?: string): string {
  let path = '$'
  for (let i = 0; i + 1 < chain.length; i++) {
    const parent = chain[i] as Record<string, unknown>
    const child = chain[i + 1]
    if (i + 2 === chain.length && key !== undefined) {
      path += member(key)
      break
    }
    if (Array.isArray(parent)) {
      path += `[${parent.findIndex((x) => Object.is(x, child))}]`
    } else {
      const k = Object.keys(parent).find((x) => Object.is(parent[x], child))
      if (k === undefined) break
      path += member(k)
    }
  }
  return path
}

function member (key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
}

function describeObject (obj: object): string {
  const ctor = (obj as { constructor?: { name?: unknown } }).constructor
  const name = typeof ctor === 'function' && typeof ctor.name === 'string' && ctor.name !== '' ? ctor.name : 'object'
  return `${name} (${Object.prototype.toString.call(obj)})`
}
