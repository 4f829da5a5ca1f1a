/**
 * Property tests: round trips, code-point key order against a byte-order oracle, agreement with
 * JSON.parse, and "only KeyroomError" on arbitrary input. Runs are kept small so the file stays fast.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { KeyroomError } from '../../../../protocols/core/errors.js'
import { canonicalJson, canonicalJsonBytes, compareCodePoints, parseJson } from '../../../../protocols/core/json/index.js'

const RUNS = { numRuns: 300 }
const utf8 = new TextEncoder()

/** Characters where encoders go wrong: escapes, DEL, line separators, the U+E000/astral boundary. */
const tricky = fc.constantFrom(
  '\u0000', '\u0001', '\b', '\t', '\n', '\u000b', '\f', '\r', '\u001f', '"', '\\', '/', '\u007f', '\u0080',
  '\u2028', '\u2029', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{1f600}', '\u{10ffff}', 'a', 'Z', '0', ' ', 'é', '日'
)
/** Well-formed strings: any code point ("binary" unit), or mostly tricky ones. */
const jsonString = fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: tricky, maxLength: 12 }))
const safeInteger = fc.oneof(fc.maxSafeInteger(), fc.integer({ min: -1000, max: 1000 }), fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 0))

/** JSON-safe values; dictionaries may have a null prototype and keys such as "__proto__". */
const { value: jsonSafe } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null), fc.boolean(), safeInteger, jsonString,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(jsonString, fc.constantFrom('__proto__', 'constructor', 'toString', '10', '9')), tie('value'), { maxKeys: 6 })
  )
}))

/** An independent reference encoder: JSON.stringify for strings, keys sorted by UTF-8 bytes. */
function reference (v: unknown): string {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null) return JSON.stringify(v)
  if (Array.isArray(v)) return `[${v.map(reference).join(',')}]`
  const obj = v as Record<string, unknown>
  const keys = Object.keys(obj).sort((a, b) => Buffer.compare(utf8.encode(a), utf8.encode(b)))
  return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(obj[k])}`).join(',')}}`
}

/** Runs parseJson and insists that anything it throws is a KeyroomError with ERR_INVALID_JSON. */
function tryParse (input: string | Uint8Array): { ok: true, value: unknown } | { ok: false } {
  try {
    return { ok: true, value: parseJson(input) }
  } catch (err) {
    if (!(err instanceof KeyroomError) || err.code !== 'ERR_INVALID_JSON') throw err
    return { ok: false }
  }
}

describe('canonical JSON properties', () => {
  it('canonicalJson(parseJson(canonicalJson(v))) === canonicalJson(v), from text and from bytes', () => {
    fc.assert(fc.property(jsonSafe, (v) => {
      const text = canonicalJson(v)
      expect(canonicalJson(parseJson(text))).toBe(text)
      expect(canonicalJson(parseJson(canonicalJsonBytes(v)))).toBe(text)
    }), RUNS)
  })

  it('agrees with an independent reference encoder (JSON.stringify strings, UTF-8 byte key order)', () => {
    fc.assert(fc.property(jsonSafe, (v) => {
      const text = canonicalJson(v)
      expect(text).toBe(reference(v))
      expect(canonicalJsonBytes(v)).toEqual(utf8.encode(text))
    }), RUNS)
  })

  it('writes object keys in code-point order', () => {
    fc.assert(fc.property(fc.uniqueArray(jsonString, { maxLength: 8 }), (keys) => {
      const obj: Record<string, unknown> = {}
      for (const k of keys) Object.defineProperty(obj, k, { value: 1, enumerable: true, writable: true, configurable: true })
      const byCodePoint = [...keys].sort((a, b) => {
        const x = [...a].map((c) => c.codePointAt(0)!)
        const y = [...b].map((c) => c.codePointAt(0)!)
        for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!
        return x.length - y.length
      })
      expect(canonicalJson(obj)).toBe(`{${byCodePoint.map((k) => `${JSON.stringify(k)}:1`).join(',')}}`)
    }), RUNS)
  })

  it('compareCodePoints agrees with comparing UTF-8 bytes', () => {
    fc.assert(fc.property(jsonString, jsonString, (a, b) => {
      expect(Math.sign(compareCodePoints(a, b))).toBe(Math.sign(Buffer.compare(utf8.encode(a), utf8.encode(b))))
    }), { numRuns: 1000 })
  })
})

describe('parseJson properties', () => {
  it('accepts only what JSON.parse accepts, with the same value (fc.json texts, any numbers)', () => {
    const seen = { accepted: 0, refused: 0 }
    fc.assert(fc.property(fc.json({ maxDepth: 4, stringUnit: 'binary' }), (text) => {
      const r = tryParse(text)
      seen[r.ok ? 'accepted' : 'refused']++
      if (r.ok) expect(r.value).toEqual(JSON.parse(text))
    }), RUNS)
    // Not vacuous: fc.json produces floats and -0 (refused) as well as integer-only texts.
    expect(seen.accepted).toBeGreaterThan(0)
    expect(seen.refused).toBeGreaterThan(0)
  })

  it('accepts whitespace-formatted canonical-safe values and returns them unchanged', () => {
    fc.assert(fc.property(jsonSafe, fc.constantFrom(0, 1, 2, '\t', ' \r\n'), (v, indent) => {
      const text = JSON.stringify(v, null, indent)
      const r = tryParse(text)
      expect(r.ok).toBe(true)
      if (r.ok) {
        expect(r.value).toEqual(JSON.parse(text))
        expect(canonicalJson(r.value)).toBe(canonicalJson(v))
      }
    }), RUNS)
  })

  it('on mutated texts: never throws anything but KeyroomError, and agrees with JSON.parse when it accepts', () => {
    const seen = { accepted: 0, refused: 0 }
    const alphabet = fc.constantFrom(...'{}[]":,-+.0123456789eEtrufalsn \t\n\\u/bdD8\ud800\udc00\u0000\ufeffé'.split(''))
    fc.assert(fc.property(jsonSafe, fc.nat(), fc.nat(2), fc.string({ unit: alphabet, minLength: 1, maxLength: 3 }), (v, at, del, insert) => {
      const text = canonicalJson(v)
      const i = at % (text.length + 1)
      const mutated = text.slice(0, i) + insert + text.slice(i + del)
      const r = tryParse(mutated)
      seen[r.ok ? 'accepted' : 'refused']++
      if (r.ok) expect(r.value).toEqual(JSON.parse(mutated))
    }), { numRuns: 1000 })
    expect(seen.accepted).toBeGreaterThan(0)
    expect(seen.refused).toBeGreaterThan(0)
  })

  it('never throws anything but KeyroomError on arbitrary strings (lone surrogates included)', () => {
    const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c))
    const jsonish = fc.constantFrom(...'{}[]":,-.0123456789eEtrufalsn \\u'.split(''), '\ud83d', '\ude00')
    fc.assert(fc.property(fc.oneof(fc.string({ unit: anyUnit, maxLength: 30 }), fc.string({ unit: jsonish, maxLength: 30 })), (s) => {
      const r = tryParse(s)
      if (r.ok) expect(r.value).toEqual(JSON.parse(s))
    }), { numRuns: 1000 })
  })

  it('never throws anything but KeyroomError on arbitrary bytes, and agrees with a fatal decode + JSON.parse', () => {
    const jsonishBytes = fc.uint8Array({ maxLength: 30 }).map((b) => b.map((x) => x % 2 === 0 ? '{}[]":,-0123456789 tn\\'.charCodeAt(x % 22) : x))
    const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 30 }), jsonishBytes), (bytes) => {
      const r = tryParse(bytes)
      if (r.ok) expect(r.value).toEqual(JSON.parse(decoder.decode(bytes)))
    }), { numRuns: 1000 })
  })
})
