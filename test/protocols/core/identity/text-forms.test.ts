import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toBase64, toBase64Url } from '../../../../protocols/core/encoding/base64.js'
import {
  formatDeviceId, formatRoomId, formatUserId, isDeviceId, isRoomId, isUserId,
  parseDeviceId, parseRoomId, parseUserId
} from '../../../../protocols/core/identity/text-forms.js'

const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1)
const withVersion = (v: number, k: Uint8Array = key): Uint8Array => Uint8Array.from([v, ...k])
const invalidKey = expect.objectContaining({ code: 'ERR_INVALID_KEY' })

describe('user, device and room ID text forms', () => {
  it('formats the documented layout: sigil + URL-safe base64 of 0x01 ‖ key (rooms without version byte)', () => {
    const userId = formatUserId(key)
    expect(userId).toBe('~' + toBase64Url(withVersion(1)))
    expect(userId).toHaveLength(45)
    expect(formatDeviceId(key)).toBe('^' + toBase64Url(withVersion(1)))
    expect(formatRoomId(key)).toBe('!' + toBase64Url(key))
    expect(formatRoomId(key)).toHaveLength(44)
    // The version byte 0x01 shows as a leading "AQ" in base64.
    expect(userId.startsWith('~AQ')).toBe(true)
  })

  it('round-trips any 32-byte key', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (k) => {
      expect(parseUserId(formatUserId(k))).toEqual(k)
      expect(parseDeviceId(formatDeviceId(k))).toEqual(k)
      expect(parseRoomId(formatRoomId(k))).toEqual(k)
    }))
  })

  it('uses the URL-safe alphabet', () => {
    const ff = new Uint8Array(32).fill(0xff)
    expect(formatUserId(ff)).toMatch(/^~Af_+$/)
    expect(formatRoomId(ff)).toMatch(/^!_+8$/)
  })

  it('refuses key material of the wrong length when formatting', () => {
    for (const k of [new Uint8Array(31), new Uint8Array(33), new Uint8Array(0)]) {
      expect(() => formatUserId(k)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY_MATERIAL' }))
      expect(() => formatDeviceId(k)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY_MATERIAL' }))
      expect(() => formatRoomId(k)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY_MATERIAL' }))
    }
  })

  const userId = formatUserId(key)
  const deviceId = formatDeviceId(key)
  const roomId = formatRoomId(key)

  const badUserIds: Array<[string, unknown, RegExp]> = [
    ['device sigil', deviceId, /does not start with '~'/],
    ['room ID', roomId, /does not start with '~'/],
    ['no sigil', userId.slice(1), /does not start with '~'/],
    ['empty', '', /empty string.*does not start/],
    ['too short', userId.slice(0, -1), /44 characters long, not 45/],
    ['too long', userId + 'A', /46 characters long, not 45/],
    ['version 0x00', '~' + toBase64Url(withVersion(0)), /unknown key version 0x00/],
    ['version 0x02', '~' + toBase64Url(withVersion(2)), /unknown key version 0x02/],
    ['version 0xff', '~' + toBase64Url(withVersion(0xff)), /unknown key version 0xff/],
    ['standard alphabet', '~' + toBase64(withVersion(1, new Uint8Array(32).fill(0xff))), /URL-safe base64/],
    ['non-base64 character', userId.slice(0, 10) + '*' + userId.slice(11), /URL-safe base64/],
    ['non-ASCII character', userId.slice(0, 10) + 'é' + userId.slice(11), /URL-safe base64/],
    ['padding', userId.slice(0, -1) + '=', /padding/],
    ['padded raw key', '~' + toBase64Url(key) + '=', /padding/],
    // A raw 32-byte key padded out to the right length is caught by its (wrong) version byte.
    ['unversioned key', '~' + toBase64Url(Uint8Array.from([0x10, ...key.slice(1)])) + 'A', /unknown key version 0x10/],
    ['leading space', ' ' + userId, /whitespace/],
    ['trailing newline', userId + '\n', /whitespace/],
    ['inner space', userId.slice(0, 20) + ' ' + userId.slice(21), /whitespace/],
    ['not a string', 42, /not a string/],
    ['null', null, /not a string/],
    ['bytes', withVersion(1), /not a string/]
  ]

  for (const [name, input, message] of badUserIds) {
    it(`refuses a user ID with ${name}`, () => {
      expect(() => parseUserId(input)).toThrow(invalidKey)
      expect(() => parseUserId(input)).toThrow(message)
      expect(() => parseUserId(input)).toThrow(/expected '~' followed by 44/)
      expect(isUserId(input)).toBe(false)
    })
  }

  it('refuses bad device IDs the same way', () => {
    const bad: unknown[] = [userId, roomId, deviceId.slice(0, -1), deviceId + 'A', '^' + toBase64Url(withVersion(2)),
      deviceId.slice(0, -1) + '=', ` ${deviceId}`, '^' + toBase64(withVersion(1, new Uint8Array(32).fill(0xfb))), undefined]
    for (const input of bad) {
      expect(() => parseDeviceId(input), String(input)).toThrow(invalidKey)
      expect(() => parseDeviceId(input), String(input)).toThrow(/expected '\^' followed by 44/)
      expect(isDeviceId(input)).toBe(false)
    }
    expect(isDeviceId(deviceId)).toBe(true)
  })

  it('refuses bad room IDs, including a versioned key and non-zero trailing bits', () => {
    const trailing = roomId.slice(0, -1) + (roomId.endsWith('B') ? 'C' : 'B')
    const bad: Array<[unknown, RegExp]> = [
      [userId, /does not start with '!'/],
      ['!' + toBase64Url(withVersion(1)), /44 characters long, not 43|45 characters long, not 44/],
      [roomId.slice(0, -1), /43 characters long, not 44/],
      [roomId + '=', /padding/],
      [roomId + ' ', /whitespace/],
      [trailing, /URL-safe base64/],
      ['!abc:example.org', /characters long|URL-safe/],
      [{}, /not a string/]
    ]
    for (const [input, message] of bad) {
      expect(() => parseRoomId(input), String(input)).toThrow(invalidKey)
      expect(() => parseRoomId(input), String(input)).toThrow(message)
      expect(() => parseRoomId(input), String(input)).toThrow(/expected '!' followed by 43/)
      expect(isRoomId(input)).toBe(false)
    }
    expect(isRoomId(roomId)).toBe(true)
    expect(isUserId(userId)).toBe(true)
  })

  it('keeps error messages short for huge input', () => {
    const huge = '~' + 'A'.repeat(10_000)
    try {
      parseUserId(huge)
      expect.unreachable()
    } catch (err) {
      expect((err as Error).message.length).toBeLessThan(300)
    }
  })
})
