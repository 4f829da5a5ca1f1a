import { describe, expect, it } from 'vitest'
import { fromBase64, fromBase64Url, toBase64, toBase64Url } from '../../../protocols/core/encoding/base64.js'

describe('unpadded base64', () => {
  it('encodes RFC 4648 test vectors without padding', () => {
    const cases: Array<[string, string]> = [['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'], ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy']]
    for (const [plain, b64] of cases) {
      const bytes = new TextEncoder().encode(plain)
      expect(toBase64(bytes)).toBe(b64)
      expect(new TextDecoder().decode(fromBase64(b64))).toBe(plain)
    }
  })

  it('uses the URL-safe alphabet only when asked', () => {
    const bytes = Uint8Array.from([0xfb, 0xff, 0xbf])
    expect(toBase64(bytes)).toBe('+/+/')
    expect(toBase64Url(bytes)).toBe('-_-_')
    expect(fromBase64Url('-_-_')).toEqual(bytes)
    expect(() => fromBase64('-_-_')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_BASE64' }))
    expect(() => fromBase64Url('+/+/')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_BASE64' }))
  })

  it('refuses padding, whitespace, impossible lengths and non-zero trailing bits', () => {
    for (const bad of ['Zg==', 'Zm9v\n', 'Z', 'Zh', 'Zm9=', ' Zm9v', 'Zm8é']) {
      expect(() => fromBase64(bad), bad).toThrow(expect.objectContaining({ code: 'ERR_INVALID_BASE64' }))
    }
  })

  it('round-trips every length up to 70 bytes', () => {
    for (let n = 0; n <= 70; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff)
      expect(fromBase64(toBase64(bytes))).toEqual(bytes)
      expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes)
    }
  })
})
