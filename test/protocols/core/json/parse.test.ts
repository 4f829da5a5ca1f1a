import { describe, expect, it } from 'vitest'
import { KeyroomError } from '../../../../protocols/core/errors.js'
import { MAX_JSON_DEPTH, parseJson } from '../../../../protocols/core/json/index.js'

const INVALID = expect.objectContaining({ code: 'ERR_INVALID_JSON' })
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

function refusalOf (input: string | Uint8Array): KeyroomError {
  try {
    parseJson(input)
  } catch (err) {
    expect(err).toBeInstanceOf(KeyroomError)
    return err as KeyroomError
  }
  throw new Error(`parseJson accepted ${JSON.stringify(typeof input === 'string' ? input : [...input])}`)
}

function expectRefused (cases: string[]): void {
  for (const text of cases) {
    expect(refusalOf(text).code, JSON.stringify(text)).toBe('ERR_INVALID_JSON')
    expect(refusalOf(utf8(text)).code, JSON.stringify(text)).toBe('ERR_INVALID_JSON')
  }
}

describe('parseJson accepts', () => {
  it('RFC 8259 texts with integers, whitespace and every scalar, like JSON.parse', () => {
    const texts = [
      '{}', '[]', '0', '-1', '123', '"s"', 'true', 'false', 'null',
      ' \t\r\n{ "a" : [ 1 , -2 , { } , [ ] ] , "b" :"x" } \n',
      '{"one":1,"two":"Two","three":[true,false,null]}',
      '9007199254740991', '-9007199254740991', '[10,20,-30,1000000]'
    ]
    for (const t of texts) {
      expect(parseJson(t), t).toEqual(JSON.parse(t))
      expect(parseJson(utf8(t)), t).toEqual(JSON.parse(t))
    }
  })

  it('decodes every escape, including escaped surrogate pairs, and passes DEL, U+2028, non-ASCII through', () => {
    expect(parseJson('"\\"\\\\\\/\\b\\f\\n\\r\\t"')).toBe('"\\/\b\f\n\r\t')
    expect(parseJson('"\\u0000\\u001F\\u00e9\\u00E9\\u65E5"')).toBe('\u0000\u001f\u00e9\u00e9\u65e5')
    expect(parseJson('"\\ud83d\\ude00"')).toBe('\u{1f600}')
    expect(parseJson('"\\uD83D\\uDE00x"')).toBe('\u{1f600}x')
    expect(parseJson('"a\u007f\u2028\u2029日本😀\ue000\uffff"')).toBe('a\u007f\u2028\u2029日本😀\ue000\uffff')
    expect(parseJson(utf8('"日本😀"'))).toBe('日本😀')
    expect(parseJson('"x\\ny\\tz"')).toBe('x\ny\tz')
  })

  it('returns plain objects with own properties in document order', () => {
    const v = parseJson('{"b":1,"a":{"c":[2]}}') as Record<string, unknown>
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype)
    expect(Object.keys(v)).toEqual(['b', 'a'])
    expect(v).toEqual({ b: 1, a: { c: [2] } })
  })

  it('accepts Buffer (a Uint8Array subclass)', () => {
    expect(parseJson(Buffer.from('{"a":1}'))).toEqual({ a: 1 })
  })

  it(`nests up to MAX_JSON_DEPTH (${MAX_JSON_DEPTH}) containers`, () => {
    const arrays = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH)
    expect(() => parseJson(arrays)).not.toThrow()
    const objects = '{"a":'.repeat(MAX_JSON_DEPTH - 1) + '{}' + '}'.repeat(MAX_JSON_DEPTH - 1)
    expect(() => parseJson(objects)).not.toThrow()
  })
})

describe('parseJson refuses (ERR_INVALID_JSON)', () => {
  it('floats, even integral ones, and exponents', () => {
    expectRefused(['1.0', '1.5', '1e2', '1E2', '1e-2', '1e+2', '-1.0', '0.5', '[1,2.0]', '{"a":1e10}', '0e0', '1.', '1.e1'])
  })

  it('negative zero', () => {
    expectRefused(['-0', '[-0]', '{"a":-0}', '-0.0', '-0e0'])
  })

  it('integers beyond ±(2^53 − 1)', () => {
    expectRefused(['9007199254740992', '-9007199254740992', '9007199254740993', '18446744073709551616', '1' + '0'.repeat(400), '-' + '9'.repeat(30)])
  })

  it('leading zeros and other malformed numbers', () => {
    expectRefused(['01', '00', '-01', '007', '+1', '.5', '-', '--1', '- 1', '0x10', 'Infinity', '-Infinity', 'NaN', '1_000'])
  })

  it('invalid UTF-8 bytes, with the byte offset', () => {
    const bad: Array<[number[], number]> = [
      [[0x22, 0x61, 0xff, 0x22], 2], // not a UTF-8 byte
      [[0x22, 0xc0, 0xaf, 0x22], 1], // overlong "/"
      [[0x22, 0xe0, 0x80, 0xaf, 0x22], 1], // overlong
      [[0x22, 0xed, 0xa0, 0x80, 0x22], 1], // UTF-8 of the surrogate U+D800
      [[0x22, 0xf4, 0x90, 0x80, 0x80, 0x22], 1], // beyond U+10FFFF
      [[0x22, 0xe6, 0x97, 0x22], 1], // truncated sequence
      [[0x22, 0x80, 0x22], 1], // stray continuation byte
      [[0x22, 0xe6, 0x97], 1] // truncated at the end
    ]
    for (const [bytes, at] of bad) {
      const err = refusalOf(Uint8Array.from(bytes))
      expect(err.code).toBe('ERR_INVALID_JSON')
      expect(err.message).toContain(`byte offset ${at}`)
    }
  })

  it('a byte order mark, in bytes or text', () => {
    expect(() => parseJson(Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toThrow(INVALID)
    expect(() => parseJson('\ufeff{}')).toThrow(INVALID)
    expect(() => parseJson('{}\ufeff')).toThrow(INVALID)
  })

  it('lone surrogates, escaped or raw', () => {
    expectRefused(['"\\ud800"', '"\\udc00"', '"\\udbff"', '"\\ud800\\u0041"', '"\\ud800x"', '"\\ud800\\ud800"', '"\\ude00\\ud83d"', '"\\ud800\\"', '"\\ud800\\n"'])
    // Raw lone surrogates exist only in string input (UTF-8 cannot carry them).
    for (const t of ['"\ud800"', '"\udc00"', '"a\ud83d"', '"\ude00\ud83d"', '{"\ud800":1}', '"\ud83d\\ude00"', '"\\ud83d\ude00"']) {
      expect(() => parseJson(t), JSON.stringify(t)).toThrow(INVALID)
    }
  })

  it('invalid escapes', () => {
    expectRefused(['"\\a"', '"\\x41"', '"\\U0041"', '"\\u12"', '"\\u12g4"', '"\\u"', '"\\', '"\\ "', '"\\0"', '"\\\'"', '"\\u{41}"'])
  })

  it('raw control characters in strings', () => {
    for (let c = 0; c < 0x20; c++) {
      expect(() => parseJson(`"a${String.fromCharCode(c)}"`), `U+${c}`).toThrow(INVALID)
      expect(() => parseJson(`{"${String.fromCharCode(c)}":1}`), `key U+${c}`).toThrow(INVALID)
    }
  })

  it('duplicate keys, including ones spelled differently and nested ones', () => {
    expectRefused([
      '{"a":1,"a":1}', '{"a":1,"a":2}', '{"a":1,"b":2,"a":3}', '{"x":{"a":1,"a":2}}', '[{"a":1,"a":2}]',
      '{"a":1,"\\u0061":2}', '{"toString":1,"toString":2}', '{"constructor":{},"constructor":{}}',
      '{"__proto__":1,"__proto__":2}', '{"":1,"":2}'
    ])
    // Keys named like Object.prototype members are ordinary keys once.
    expect(parseJson('{"toString":1,"hasOwnProperty":2,"constructor":3}')).toEqual({ toString: 1, hasOwnProperty: 2, constructor: 3 })
  })

  it('trailing garbage and structural errors', () => {
    expectRefused([
      '', ' ', '{', '}', '[', ']', '[1,]', '[,1]', '[1 2]', '{"a":1,}', '{,}', '{"a"}', '{"a":}', '{"a" 1}',
      '{"a":1 "b":2}', "{'a':1}", '{a:1}', '{1:1}', 'tru', 'nul', 'True', 'undefined', '{} {}', '{}x', '1 2',
      '"a" "b"', '/*c*/{}', '{}//', '"abc', '"', '[1', '{"a":1', '{"a":1}\u00a0', '\u000b{}', '\u00a0{}', '{}\u0000'
    ])
  })

  it(`nesting deeper than MAX_JSON_DEPTH (${MAX_JSON_DEPTH})`, () => {
    const n = MAX_JSON_DEPTH + 1
    expect(() => parseJson('['.repeat(n) + ']'.repeat(n))).toThrow(INVALID)
    expect(() => parseJson('{"a":'.repeat(n - 1) + '{}' + '}'.repeat(n - 1))).toThrow(INVALID)
    // A hostile 64 KiB PDU of brackets is refused quickly, without exhausting the stack.
    expect(() => parseJson('['.repeat(65536))).toThrow(INVALID)
    expect(() => parseJson('{"a":'.repeat(13000))).toThrow(INVALID)
  })

  it('input that is neither a string nor a Uint8Array', () => {
    for (const bad of [123, null, undefined, {}, new ArrayBuffer(2), [0x7b, 0x7d]]) {
      expect(() => parseJson(bad as never)).toThrow(INVALID)
    }
  })
})

describe('parseJson error messages say what and where', () => {
  const cases: Array<[string, string]> = [
    ['{"a":1.5}', "floats are not allowed: expected an integer without fraction or exponent at offset 6, found '.'"],
    ['{"a" 1}', "expected ':' after an object key at offset 5"],
    ['[1,2', "expected ',' or ']' in an array at offset 4, found end of input"],
    ['{"a":1}x', "expected end of input after the JSON value at offset 7, found 'x'"],
    ['{"a":1,"a":2}', 'duplicate key "a" in an object at offset 7'],
    ['"\\ud800"', 'unpaired surrogate escape \\uD800 at offset 1'],
    ['"a\u0001"', 'raw control character U+0001 in a string (must be escaped) at offset 2'],
    ['-0', 'negative zero -0 is not allowed at offset 0'],
    ['[01]', 'leading zeros are not allowed in a number at offset 1'],
    ['[9007199254740992]', 'integer outside ±(2^53 − 1) at offset 1']
  ]
  for (const [text, message] of cases) {
    it(text, () => {
      const err = refusalOf(text)
      expect(err.code).toBe('ERR_INVALID_JSON')
      expect(err.message).toContain(message)
    })
  }
})

describe('parseJson and __proto__', () => {
  it('makes "__proto__" an own data property and never sets the prototype', () => {
    const v = parseJson('{"__proto__":{"polluted":true},"a":1}') as Record<string, unknown>
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype)
    expect(Object.hasOwn(v, '__proto__')).toBe(true)
    expect(Object.keys(v)).toEqual(['__proto__', 'a'])
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')).toEqual({ value: { polluted: true }, writable: true, enumerable: true, configurable: true })
    expect(v.polluted).toBeUndefined()
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(v).toEqual(JSON.parse('{"__proto__":{"polluted":true},"a":1}'))
  })

  it('handles "__proto__" with a scalar or null value and nested', () => {
    for (const text of ['{"__proto__":null}', '{"__proto__":1}', '{"x":{"__proto__":[1]}}', '[{"__proto__":{}}]']) {
      const v = parseJson(text)
      expect(v, text).toEqual(JSON.parse(text))
      expect(JSON.stringify(v)).toBe(text)
    }
    const nested = parseJson('{"x":{"__proto__":{"y":1}}}') as { x: Record<string, unknown> }
    expect(Object.getPrototypeOf(nested.x)).toBe(Object.prototype)
    expect(nested.x.y).toBeUndefined()
  })
})
