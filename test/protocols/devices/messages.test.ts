/**
 * The device protocols' messages: golden bytes of what goes on the wire, and the edge parsers.
 */
import { describe, expect, it } from 'vitest'
import {
  MAX_OFFER_ADDRESSES, MAX_ROOMS_LISTED, encodeError, encodeLinkAnswer, encodeLinkOffer, encodeRoomsAnswer, encodeRoomsRequest, parseLinkAnswer,
  parseLinkOffer, parseRoomsAnswer, parseRoomsRequest
} from '../../../protocols/devices/index.js'

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)
const bytes = (value: string): Uint8Array => new TextEncoder().encode(value)
const roomId = `!${'A'.repeat(43)}`

describe('device protocol messages', () => {
  it('encode as canonical JSON (golden bytes)', () => {
    expect(text(encodeLinkOffer({ attestation: { udk: '^x', upk: '~y' }, code: 'c0de', via: ['/ip4/10.0.0.1/tcp/1'] })))
      .toBe('{"attestation":{"udk":"^x","upk":"~y"},"code":"c0de","via":["/ip4/10.0.0.1/tcp/1"]}')
    expect(text(encodeLinkOffer({ attestation: {}, via: [] }))).toBe('{"attestation":{},"via":[]}')
    expect(text(encodeLinkAnswer({ b: 1, a: 2 }))).toBe('{"attestation":{"a":2,"b":1}}')
    expect(text(encodeRoomsRequest())).toBe('{}')
    expect(text(encodeRoomsAnswer([roomId]))).toBe(`{"rooms":["${roomId}"]}`)
    expect(text(encodeError('K_FORBIDDEN', 'no'))).toBe('{"errcode":"K_FORBIDDEN","error":"no"}')
  })

  it('parse a link offer, refusing what is not one', () => {
    expect(parseLinkOffer(encodeLinkOffer({ attestation: { a: 1 }, code: 'c', via: ['/ip4/1.2.3.4/tcp/5'] })))
      .toEqual({ ok: true, value: { attestation: { a: 1 }, code: 'c', via: ['/ip4/1.2.3.4/tcp/5'] } })
    for (const bad of [
      '[]', '{"attestation":{},"via":[],"extra":1}', '{"attestation":[],"via":[]}', '{"attestation":{}}',
      '{"attestation":{},"code":"","via":[]}', `{"attestation":{},"code":"${'x'.repeat(65)}","via":[]}`,
      `{"attestation":{},"via":[${Array(MAX_OFFER_ADDRESSES + 1).fill('"/a"').join(',')}]}`, '{"attestation":{},"via":[1]}',
      '{"attestation":{},"via":[],"via":[]}', '{"attestation":{"x":1.5},"via":[]}'
    ]) {
      expect(parseLinkOffer(bytes(bad)).ok, bad).toBe(false)
    }
  })

  it('parse answers: values, peer errors and malformed ones', () => {
    expect(parseLinkAnswer(encodeLinkAnswer({ a: 1 }))).toEqual({ ok: true, value: { a: 1 } })
    expect(parseLinkAnswer(encodeError('K_FORBIDDEN', 'wrong link code'))).toEqual({ ok: false, errcode: 'K_FORBIDDEN', error: 'wrong link code' })
    expect(parseLinkAnswer(bytes('{"attestation":"x"}'))).toMatchObject({ ok: false, malformed: expect.any(String) })
    expect(parseRoomsAnswer(encodeRoomsAnswer([roomId]))).toEqual({ ok: true, value: [roomId] })
    expect(parseRoomsAnswer(bytes('{"rooms":["not a room"]}'))).toMatchObject({ ok: false, malformed: expect.any(String) })
    expect(parseRoomsAnswer(bytes(`{"rooms":[${Array(MAX_ROOMS_LISTED + 1).fill(`"${roomId}"`).join(',')}]}`))).toMatchObject({ ok: false })
    expect(parseRoomsAnswer(bytes('{"rooms":[],"more":1}'))).toMatchObject({ ok: false, malformed: expect.any(String) })
    expect(parseRoomsRequest(bytes('{}'))).toEqual({ ok: true, value: {} })
    expect(parseRoomsRequest(bytes('{"x":1}')).ok).toBe(false)
  })
})
