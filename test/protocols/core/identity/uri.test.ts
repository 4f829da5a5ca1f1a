import { describe, expect, it } from 'vitest'
import { formatDeviceId, formatRoomId, formatUserId } from '../../../../protocols/core/identity/text-forms.js'
import { formatRoomUri, formatUserUri, parseKeyroomUri } from '../../../../protocols/core/identity/uri.js'

const key = Uint8Array.from({ length: 32 }, (_, i) => 255 - i)
const userId = formatUserId(key)
const roomId = formatRoomId(key)
const invalidKey = expect.objectContaining({ code: 'ERR_INVALID_KEY' })

describe('keyroom: URIs', () => {
  it('formats and parses a user URI', () => {
    const uri = formatUserUri(userId)
    expect(uri).toBe(`keyroom:u/${userId}`)
    expect(parseKeyroomUri(uri)).toEqual({ kind: 'user', userId, key })
  })

  it('formats and parses a room URI with via multiaddrs, keeping order and readability', () => {
    const via = ['/ip4/192.168.1.7/tcp/4001/p2p/12D3KooWabc', '/ip6/::1/tcp/4001', '/dns4/x.example/tcp/443/wss']
    const uri = formatRoomUri(roomId, via)
    expect(uri).toBe(`keyroom:r/${roomId}?via=/ip4/192.168.1.7/tcp/4001/p2p/12D3KooWabc&via=/ip6/::1/tcp/4001&via=/dns4/x.example/tcp/443/wss`)
    expect(parseKeyroomUri(uri)).toEqual({ kind: 'room', roomId, key, via })
  })

  it('formats a room URI without via, and percent-encodes characters that would break the query', () => {
    expect(formatRoomUri(roomId)).toBe(`keyroom:r/${roomId}`)
    expect(parseKeyroomUri(`keyroom:r/${roomId}`)).toEqual({ kind: 'room', roomId, key, via: [] })
    const odd = '/dns4/a&b=c.example/tcp/1'
    const uri = formatRoomUri(roomId, [odd])
    expect(uri).toContain('via=/dns4/a%26b%3Dc.example/tcp/1')
    expect(parseKeyroomUri(uri)).toEqual({ kind: 'room', roomId, key, via: [odd] })
  })

  it('accepts percent-encoded slashes, an upper-case scheme, and ignores unknown parameters', () => {
    expect(parseKeyroomUri(`keyroom:r/${roomId}?via=%2Fip4%2F10.0.0.1%2Ftcp%2F1`)).toMatchObject({ via: ['/ip4/10.0.0.1/tcp/1'] })
    expect(parseKeyroomUri(`KEYROOM:u/${userId}`)).toMatchObject({ kind: 'user', userId })
    expect(parseKeyroomUri(`keyroom:r/${roomId}?future=1&via=/ip4/1.2.3.4/tcp/5`)).toMatchObject({ via: ['/ip4/1.2.3.4/tcp/5'] })
  })

  it('refuses IDs of the wrong kind or form when formatting', () => {
    expect(() => formatUserUri(roomId)).toThrow(invalidKey)
    expect(() => formatUserUri(formatDeviceId(key))).toThrow(invalidKey)
    expect(() => formatRoomUri(userId)).toThrow(invalidKey)
    expect(() => formatRoomUri(roomId, ['ip4/1.2.3.4'])).toThrow(/not a multiaddr/)
    expect(() => formatRoomUri(roomId, [''])).toThrow(invalidKey)
    expect(() => formatRoomUri(roomId, ['/ip4/1.2.3.4 /tcp/1'])).toThrow(invalidKey)
  })

  const bad: Array<[string, unknown, RegExp]> = [
    ['another scheme', `matrix:r/${roomId}`, /does not start with 'keyroom:'/],
    ['no scheme', `r/${roomId}`, /does not start with 'keyroom:'/],
    ['authority form', `keyroom://r/${roomId}`, /must start with 'u\/'/],
    ['unknown kind', `keyroom:x/${roomId}`, /must start with 'u\/'/],
    ['upper-case kind', `keyroom:R/${roomId}`, /must start with 'u\/'/],
    ['room key in a user URI', `keyroom:u/${roomId}`, /invalid user ID/],
    ['user key in a room URI', `keyroom:r/${userId}`, /invalid room ID/],
    ['device key in a user URI', `keyroom:u/${formatDeviceId(key)}`, /invalid user ID/],
    ['truncated key', `keyroom:u/${userId.slice(0, -2)}`, /invalid user ID/],
    ['whitespace', ` keyroom:u/${userId}`, /whitespace/],
    ['fragment', `keyroom:u/${userId}#x`, /fragment/],
    ['via that is not a multiaddr', `keyroom:r/${roomId}?via=example.org`, /not a multiaddr/],
    ['empty via', `keyroom:r/${roomId}?via=`, /not a multiaddr/],
    ['query part without =', `keyroom:r/${roomId}?via`, /not name=value/],
    ['empty query part', `keyroom:r/${roomId}?via=/ip4/1.2.3.4/tcp/1&`, /not name=value/],
    ['bad percent-encoding', `keyroom:r/${roomId}?via=/ip4/%ZZ`, /percent-encoding/],
    ['extra path', `keyroom:u/${userId}/more`, /invalid user ID/],
    ['not a string', 7, /not a string/],
    ['empty', '', /does not start with 'keyroom:'/]
  ]
  for (const [name, input, message] of bad) {
    it(`refuses a URI with ${name}`, () => {
      expect(() => parseKeyroomUri(input)).toThrow(invalidKey)
      expect(() => parseKeyroomUri(input)).toThrow(message)
    })
  }
})
