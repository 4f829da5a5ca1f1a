import { describe, expect, it } from 'vitest'
import { KeyroomError } from '../../../../protocols/core/errors.js'
import { MAX_JSON_DEPTH, canonicalJson, canonicalJsonBytes, parseJson } from '../../../../protocols/core/json/index.js'

const NOT_CANONICAL = expect.objectContaining({ code: 'ERR_NOT_CANONICALIZABLE' })

function refusalOf (value: unknown): KeyroomError {
  try {
    canonicalJson(value)
  } catch (err) {
    expect(err).toBeInstanceOf(KeyroomError)
    return err as KeyroomError
  }
  throw new Error('canonicalJson accepted the value')
}

function nestedArrays (depth: number): unknown {
  let v: unknown = []
  for (let i = 1; i < depth; i++) v = [v]
  return v
}

describe('canonicalJson matches Python canonical JSON (json.dumps ensure_ascii=False, sort_keys)', () => {
  // Expected strings produced by CPython 3 `json.dumps(v, ensure_ascii=False, separators=(',',':'),
  // sort_keys=True)`, the spec's reference encoder, and pasted here as JSON string literals.
  it('escapes exactly U+0000–U+001F, " and \\, with short forms and lowercase hex', () => {
    const s = '\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f\u2028\u2029 /"\\\u00e9\u65e5\ud83d\ude00\ue000\uffff'
    const python = '{"s":"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\u007f\u2028\u2029 /\\"\\\\\u00e9\u65e5\ud83d\ude00\ue000\uffff"}'
    expect(canonicalJson({ s })).toBe(python)
    expect(canonicalJsonBytes({ s })).toEqual(new TextEncoder().encode(python))
  })

  it('sorts keys by code point: astral characters after U+E000–U+FFFF', () => {
    const value = { '\ue000': 1, '\u{1f600}': 2, '\uffff': 3, a: 4, '': 5, aa: 6, A: 7, 10: 8, 9: 9, é: 10, '\ud7ff': 11 }
    const python = '{"":5,"10":8,"9":9,"A":7,"a":4,"aa":6,"\u00e9":10,"\ud7ff":11,"\ue000":1,"\uffff":3,"\ud83d\ude00":2}'
    expect(canonicalJson(value)).toBe(python)
  })

  it('escapes keys like strings and writes every scalar', () => {
    expect(canonicalJson({ '\u0000': 1, '\u001f': 2, '"': 3, '\\': 4 })).toBe('{"\\u0000":1,"\\u001f":2,"\\"":3,"\\\\":4}')
    const value = { b: [1, -9007199254740991, 9007199254740991, 0, true, false, null, {}, []], a: { y: 'x', x: { '\u0080': 1, '\u007f': 2 } } }
    expect(canonicalJson(value)).toBe('{"a":{"x":{"\u007f":2,"\u0080":1},"y":"x"},"b":[1,-9007199254740991,9007199254740991,0,true,false,null,{},[]]}')
  })

  it('every escaped form fits the spec grammar rule `escaped`', () => {
    const grammar = /^"(?:\\u000[0-7bef]|\\u001[0-9a-f]|\\[bfnrt])"$/
    for (let c = 0; c < 0x20; c++) {
      expect(canonicalJson(String.fromCharCode(c)), `U+${c}`).toMatch(grammar)
    }
  })
})

describe('canonicalJson values', () => {
  it('writes top-level scalars and integers at the range limits', () => {
    expect(canonicalJson(null)).toBe('null')
    expect(canonicalJson(true)).toBe('true')
    expect(canonicalJson('x')).toBe('"x"')
    expect(canonicalJson(Number.MAX_SAFE_INTEGER)).toBe('9007199254740991')
    expect(canonicalJson(Number.MIN_SAFE_INTEGER)).toBe('-9007199254740991')
    expect(canonicalJson(1e10)).toBe('10000000000')
    expect(canonicalJson(1e15)).toBe('1000000000000000')
  })

  it('writes the value -0 as 0 (spec example 10; the text -0 is refused by parseJson)', () => {
    expect(canonicalJson(-0)).toBe('0')
    expect(canonicalJson({ a: -0, b: [-0] })).toBe('{"a":0,"b":[0]}')
    expect(() => parseJson('-0')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_JSON' }))
  })

  it('accepts null-prototype objects and shared (acyclic) references', () => {
    const bare = Object.create(null) as Record<string, unknown>
    bare.b = 1
    bare.a = 2
    expect(canonicalJson(bare)).toBe('{"a":2,"b":1}')
    const shared = { x: 1 }
    expect(canonicalJson({ a: shared, b: [shared, shared] })).toBe('{"a":{"x":1},"b":[{"x":1},{"x":1}]}')
  })

  it('writes "__proto__" own properties as ordinary keys', () => {
    expect(canonicalJson(JSON.parse('{"b":1,"__proto__":{"c":2}}'))).toBe('{"__proto__":{"c":2},"b":1}')
    expect(canonicalJson(parseJson('{"__proto__":null}'))).toBe('{"__proto__":null}')
  })

  it('ignores symbol-keyed and non-enumerable properties, as JSON does', () => {
    const v: Record<string | symbol, unknown> = { a: 1, [Symbol('s')]: 2 }
    Object.defineProperty(v, 'hidden', { value: 3, enumerable: false })
    expect(canonicalJson(v)).toBe('{"a":1}')
  })

  it(`nests up to MAX_JSON_DEPTH (${MAX_JSON_DEPTH}) containers, like parseJson`, () => {
    const text = canonicalJson(nestedArrays(MAX_JSON_DEPTH))
    expect(text).toBe('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH))
    expect(canonicalJson(parseJson(text))).toBe(text)
  })

  it('canonicalJsonBytes returns a fresh array each time', () => {
    const a = canonicalJsonBytes({ a: 1 })
    a[0] = 0
    expect(canonicalJsonBytes({ a: 1 })).toEqual(new TextEncoder().encode('{"a":1}'))
  })

  it('handles large values and keeps working after them', () => {
    const big = 'x'.repeat(3 << 20)
    expect(canonicalJsonBytes({ big }).length).toBe(big.length + 10)
    expect(canonicalJson({ a: 'é' })).toBe('{"a":"é"}')
  })

  it('survives a getter that calls canonicalJson re-entrantly', () => {
    const inner = { z: [1, 2] }
    const v = { get a () { return canonicalJson(inner) }, b: 2 }
    expect(canonicalJson(v)).toBe('{"a":"{\\"z\\":[1,2]}","b":2}')
    expect(new TextDecoder().decode(canonicalJsonBytes(v))).toBe('{"a":"{\\"z\\":[1,2]}","b":2}')
  })
})

describe('canonicalJson refuses (ERR_NOT_CANONICALIZABLE)', () => {
  it('non-integers, NaN, infinities and integers out of range', () => {
    for (const n of [1.5, 0.1, -2.5, Number.NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53), 1e300, Number.MAX_VALUE, Number.EPSILON]) {
      expect(() => canonicalJson(n), String(n)).toThrow(NOT_CANONICAL)
      expect(() => canonicalJson({ a: [n] }), String(n)).toThrow(NOT_CANONICAL)
    }
  })

  it('undefined at the top, in objects, in arrays and array holes', () => {
    expect(() => canonicalJson(undefined)).toThrow(NOT_CANONICAL)
    expect(() => canonicalJson({ a: undefined })).toThrow(NOT_CANONICAL)
    expect(() => canonicalJson([1, undefined])).toThrow(NOT_CANONICAL)
    // eslint-disable-next-line no-sparse-arrays
    expect(() => canonicalJson([1, , 3])).toThrow(NOT_CANONICAL)
    expect(() => canonicalJson(new Array(2))).toThrow(NOT_CANONICAL)
  })

  it('functions, symbols and bigints', () => {
    for (const v of [() => 1, Symbol('s'), 1n, 0n]) {
      expect(() => canonicalJson(v)).toThrow(NOT_CANONICAL)
      expect(() => canonicalJson({ a: v })).toThrow(NOT_CANONICAL)
      expect(() => canonicalJson([v])).toThrow(NOT_CANONICAL)
    }
  })

  it('objects that are not plain', () => {
    class Point { x = 1 }
    for (const v of [new Map([['a', 1]]), new Set([1]), new Date(0), new Uint8Array([1]), Buffer.from('a'), new Point(), /re/, new String('s'), new Number(1), new Boolean(true), new Error('e'), Promise.resolve(1), new ArrayBuffer(1)]) {
      expect(() => canonicalJson(v), Object.prototype.toString.call(v)).toThrow(NOT_CANONICAL)
      expect(() => canonicalJson({ a: [v] }), Object.prototype.toString.call(v)).toThrow(NOT_CANONICAL)
    }
  })

  it('cycles, through objects and arrays', () => {
    const o: Record<string, unknown> = { a: 1 }
    o.self = o
    expect(refusalOf(o).message).toMatch(/cycle.* at \$\.self$/)
    const arr: unknown[] = [1]
    arr.push({ back: arr })
    expect(refusalOf({ x: arr }).message).toMatch(/cycle.* at \$\.x\[1\]\.back$/)
  })

  it('lone surrogates in strings and keys', () => {
    for (const s of ['\ud800', '\udc00', 'a\ud83d', '\ude00\ud83d', 'x\udbffy']) {
      expect(() => canonicalJson(s), JSON.stringify(s)).toThrow(NOT_CANONICAL)
      expect(() => canonicalJson({ a: [s] }), JSON.stringify(s)).toThrow(NOT_CANONICAL)
      expect(() => canonicalJson({ [s]: 1 }), JSON.stringify(s)).toThrow(NOT_CANONICAL)
      expect(() => canonicalJsonBytes({ [s]: 1 }), JSON.stringify(s)).toThrow(NOT_CANONICAL)
    }
  })

  it(`nesting deeper than MAX_JSON_DEPTH (${MAX_JSON_DEPTH})`, () => {
    const err = refusalOf(nestedArrays(MAX_JSON_DEPTH + 1))
    expect(err.code).toBe('ERR_NOT_CANONICALIZABLE')
    expect(err.message).toContain('nesting deeper')
  })

  it('names the path to the bad value', () => {
    expect(refusalOf({ a: { b: [1, 1.5] } }).message).toContain('at $.a.b[1]')
    expect(refusalOf({ content: { 'm.relates_to': { x: undefined } } }).message).toContain('at $.content["m.relates_to"].x')
    expect(refusalOf([0, [new Map()]]).message).toContain('at $[1][0]')
    expect(refusalOf({ k: { '\ud800': 1 } }).message).toContain('at $.k')
  })
})
