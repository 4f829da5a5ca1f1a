/**
 * The link text a waiting device shows: what it carries, its size, and the forms refused.
 */
import { describe, expect, it } from 'vitest'
import { deviceKeyPair, toBase64Url } from '../../node/index.js'
import { MAX_LINK_VIA, formatLinkText, parseLinkText } from '../../node/link-text.js'

const deviceId = deviceKeyPair(new Uint8Array(32).fill(7)).deviceId
const code = toBase64Url(new Uint8Array(16).fill(1))
const peer = '12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp'

describe('link text', () => {
  it('round-trips the device, the code and the addresses, non-loopback first, without /p2p', () => {
    const text = formatLinkText({
      deviceId,
      code,
      via: [`/ip4/127.0.0.1/tcp/4001/p2p/${peer}`, `/ip4/192.168.1.20/tcp/4001/p2p/${peer}`, `/ip4/192.168.1.20/tcp/4002/ws/p2p/${peer}`]
    })
    expect(text.startsWith(`keyroom:link/${deviceId}?code=${code}&via=`)).toBe(true)
    expect(parseLinkText(text)).toEqual({
      deviceId, code, via: ['/ip4/192.168.1.20/tcp/4001', '/ip4/192.168.1.20/tcp/4002/ws', '/ip4/127.0.0.1/tcp/4001']
    })
    // Short enough for a QR code.
    expect(text.length).toBeLessThan(250)
  })

  it(`keeps at most ${MAX_LINK_VIA} addresses, each once`, () => {
    const via = ['/ip4/10.0.0.1/tcp/1', '/ip4/10.0.0.1/tcp/1', '/ip4/10.0.0.2/tcp/1', '/ip4/10.0.0.3/tcp/1', '/ip4/10.0.0.4/tcp/1']
    expect(parseLinkText(formatLinkText({ deviceId, code, via })).via).toEqual(['/ip4/10.0.0.1/tcp/1', '/ip4/10.0.0.2/tcp/1', '/ip4/10.0.0.3/tcp/1'])
  })

  it('refuses bad forms with ERR_INVALID_KEY', () => {
    for (const bad of [
      42,
      'keyroom:r/!abc',
      `keyroom:link/${deviceId}`,
      `keyroom:link/^AQ?code=${code}`,
      `keyroom:link/${deviceId}?code=${code.slice(2)}`,
      `keyroom:link/${deviceId}?code=${code}&via=not-an-address`,
      `keyroom:link/${deviceId}?via=/ip4/10.0.0.1/tcp/1`
    ]) {
      expect(() => parseLinkText(bad), String(bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY' }))
    }
  })
})
