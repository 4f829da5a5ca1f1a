/**
 * The Matrix spec's canonical JSON examples (appendices, "Canonical JSON" > "Examples"), copied
 * unchanged from the shared vectors into fixtures/canonical_json.json.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { canonicalJson, canonicalJsonBytes, parseJson } from '../../../../protocols/core/json/index.js'

interface CanonicalVector {
  name: string
  input_kind: 'json_text' | 'value'
  input: unknown
  expected?: string
  expect_error: boolean
}

const vectors = JSON.parse(readFileSync(new URL('./fixtures/canonical_json.json', import.meta.url), 'utf8')) as CanonicalVector[]

/**
 * Example 10 (`{"a": -0, "b": 1e10}`) shows what a canonical encoder writes for numbers a lenient
 * (room v1–5) parser let through. keyroom's parseJson applies the v6+ rules to received text and
 * must refuse it; the canonical form is checked on the value a lenient parser yields instead.
 */
const STRICT_PARSER_REFUSES = new Set(['spec appendix canonical JSON example 10'])

describe('Matrix spec canonical JSON examples', () => {
  it('has the ten spec examples', () => {
    expect(vectors.length).toBe(10)
  })

  for (const v of vectors) {
    it(v.name, () => {
      if (v.expect_error) {
        if (v.input_kind === 'json_text') {
          expect(() => parseJson(v.input as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_JSON' }))
        } else {
          expect(() => canonicalJson(v.input)).toThrow(expect.objectContaining({ code: 'ERR_NOT_CANONICALIZABLE' }))
        }
        return
      }
      const expected = v.expected!
      if (v.input_kind === 'value') {
        expect(canonicalJson(v.input)).toBe(expected)
        return
      }
      const text = v.input as string
      if (STRICT_PARSER_REFUSES.has(v.name)) {
        expect(() => parseJson(text)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_JSON' }))
        // A lenient parser yields {a: -0, b: 1e10}: -0 is written as 0, 1e10 as plain digits.
        const lenient = JSON.parse(text) as { a: number, b: number }
        expect(Object.is(lenient.a, -0)).toBe(true)
        expect(canonicalJson(lenient)).toBe(expected)
        return
      }
      const value = parseJson(text)
      expect(canonicalJson(value)).toBe(expected)
      expect(canonicalJsonBytes(value)).toEqual(new TextEncoder().encode(expected))
      // The same text given as UTF-8 bytes gives the same value; canonical text is a fixed point.
      expect(parseJson(new TextEncoder().encode(text))).toEqual(value)
      expect(canonicalJson(parseJson(expected))).toBe(expected)
    })
  }
})
