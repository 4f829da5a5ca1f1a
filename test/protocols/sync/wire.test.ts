/**
 * Golden bytes of the sync wire format (docs/wire.md), and the frame reader's bounds on
 * in-memory byte sources.
 */
import { describe, expect, it } from 'vitest'
import { writeFrames } from '../../../protocols/sync/frames.js'
import {
  FrameReader, MAX_MISSING_LIMIT, encodeFrame, encodeHeader, encodeRequest, encodeVarint, parseRequest
} from '../../../protocols/sync/index.js'
import type { FrameLimits, SyncRequest } from '../../../protocols/sync/index.js'
import type { Stream } from '@libp2p/interface'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const utf8Hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex')
const ROOM = '!cm9vbS1vbmU'

describe('sync wire: golden bytes', () => {
  // Each request: a one-byte varint length (all below 128), then the JSON with sorted keys.
  const cases: Array<[SyncRequest, string, string]> = [
    [{ type: 'heads', roomId: ROOM }, '29', '{"room_id":"!cm9vbS1vbmU","type":"heads"}'],
    [{ type: 'events', roomId: ROOM, eventIds: ['$a', '$b'] }, '42', '{"event_ids":["$a","$b"],"room_id":"!cm9vbS1vbmU","type":"events"}'],
    [{ type: 'missing', roomId: ROOM, earliest: ['$a'], latest: ['$f'], limit: 10 }, '58', '{"earliest":["$a"],"latest":["$f"],"limit":10,"room_id":"!cm9vbS1vbmU","type":"missing"}'],
    [{ type: 'state_at', roomId: ROOM, eventId: '$d' }, '3c', '{"event_id":"$d","room_id":"!cm9vbS1vbmU","type":"state_at"}']
  ]

  for (const [request, prefix, json] of cases) {
    it(`${request.type} request`, () => {
      expect(json.length).toBe(parseInt(prefix, 16))
      expect(hex(encodeFrame(encodeRequest(request)))).toBe(prefix + utf8Hex(json))
      expect(parseRequest(encodeRequest(request))).toEqual(request)
    })
  }

  it('response headers', () => {
    expect(hex(encodeFrame(encodeHeader({ errcode: 'K_NOT_FOUND', error: 'unknown room' }))))
      .toBe('30' + utf8Hex('{"errcode":"K_NOT_FOUND","error":"unknown room"}'))
    expect(hex(encodeHeader({ state_ids: ['$a'], auth_chain_ids: [] }))).toBe(utf8Hex('{"auth_chain_ids":[],"state_ids":["$a"]}'))
    expect(hex(encodeHeader({ heads: ['$f'] }))).toBe(utf8Hex('{"heads":["$f"]}'))
  })

  it('varint length prefixes (unsigned LEB128)', () => {
    expect(hex(encodeVarint(0))).toBe('00')
    expect(hex(encodeVarint(127))).toBe('7f')
    expect(hex(encodeVarint(128))).toBe('8001')
    expect(hex(encodeVarint(225))).toBe('e101')
    expect(hex(encodeVarint(65_536))).toBe('808004')
    expect(() => encodeVarint(2 ** 28)).toThrow(expect.objectContaining({ code: 'ERR_SYNC_BAD_MESSAGE' }))
  })

  it('parses requests in any key order and ignores unknown keys', () => {
    const bytes = new TextEncoder().encode('{"type":"heads","future_field":1,"room_id":"!cm9vbS1vbmU"}')
    expect(parseRequest(bytes)).toEqual({ type: 'heads', roomId: ROOM })
  })

  it('clamps a large missing limit', () => {
    const bytes = encodeRequest({ type: 'missing', roomId: ROOM, earliest: [], latest: ['$f'], limit: 5_000 })
    expect(parseRequest(bytes)).toMatchObject({ limit: MAX_MISSING_LIMIT })
    expect(MAX_MISSING_LIMIT).toBeLessThan(5_000)
  })
})

describe('sync wire: FrameReader bounds', () => {
  const limits: FrameLimits = { maxFrameBytes: 100, maxTotalBytes: 1_000, tooLargeCode: 'ERR_SYNC_RESPONSE_TOO_LARGE' }
  async function * chunks (...parts: number[][]): AsyncGenerator<Uint8Array> {
    for (const p of parts) yield Uint8Array.from(p)
  }

  it('reassembles frames split across chunks and ends cleanly', async () => {
    const reader = new FrameReader(chunks([3, 1], [2], [3, 0, 1], [9]), limits)
    expect([...(await reader.next())!]).toEqual([1, 2, 3])
    expect([...(await reader.next())!]).toEqual([])
    expect([...(await reader.next())!]).toEqual([9])
    expect(await reader.next()).toBeUndefined()
  })

  it('refuses a frame over the per-frame bound on its prefix', async () => {
    const reader = new FrameReader(chunks([101]), limits)
    await expect(reader.next()).rejects.toMatchObject({ code: 'ERR_SYNC_RESPONSE_TOO_LARGE' })
  })

  it('applies a tighter bound for one frame', async () => {
    const reader = new FrameReader(chunks([50, ...new Array<number>(50).fill(0)]), limits)
    await expect(reader.next(10)).rejects.toMatchObject({ code: 'ERR_SYNC_RESPONSE_TOO_LARGE' })
  })

  it('refuses more bytes than the total bound', async () => {
    const frame = [99, ...new Array<number>(99).fill(7)]
    const reader = new FrameReader(chunks(...new Array<number[]>(20).fill(frame)), limits)
    await expect((async () => { while (await reader.next() !== undefined); })()).rejects.toMatchObject({ code: 'ERR_SYNC_RESPONSE_TOO_LARGE' })
    expect(reader.bytesRead).toBeLessThanOrEqual(1_100)
  })

  it('refuses a varint that never ends and a non-minimal one', async () => {
    await expect(new FrameReader(chunks([0x80, 0x80, 0x80, 0x80, 0x80]), limits).next()).rejects.toMatchObject({ code: 'ERR_SYNC_RESPONSE_TOO_LARGE' })
    await expect(new FrameReader(chunks([0x81, 0x00, 1]), limits).next()).rejects.toMatchObject({ code: 'ERR_SYNC_BAD_MESSAGE' })
  })

  it('refuses a stream that ends inside a frame, and trailing bytes after the last one', async () => {
    await expect(new FrameReader(chunks([5, 1, 2]), limits).next()).rejects.toMatchObject({ code: 'ERR_SYNC_BAD_MESSAGE' })
    const reader = new FrameReader(chunks([1, 1], [0]), limits)
    await reader.next()
    await expect(reader.expectEnd()).rejects.toMatchObject({ code: 'ERR_SYNC_BAD_MESSAGE' })
  })
})

describe('sync wire: writeFrames', () => {
  /** A stream that records each `send` and reports a full buffer every `fullEvery` sends. */
  function recordingStream (fullEvery = 0): { stream: Stream, sends: Uint8Array[], drains: number } {
    const record = { stream: undefined as unknown as Stream, sends: [] as Uint8Array[], drains: 0 }
    record.stream = {
      send: (chunk: Uint8Array) => { record.sends.push(chunk); return fullEvery === 0 || record.sends.length % fullEvery !== 0 },
      onDrain: async () => { record.drains++ }
    } as unknown as Stream
    return record
  }

  it('gathers small frames into few sends and the reader gets every frame back, in order', async () => {
    const payloads = Array.from({ length: 300 }, (_, i) => new Uint8Array(1_000).fill(i & 0xff))
    const { stream, sends } = recordingStream()
    await writeFrames(stream, payloads)
    // 300 frames of ~1 KB in sends of at most ~60 KB.
    expect(sends.length).toBeGreaterThan(1)
    expect(sends.length).toBeLessThanOrEqual(6)
    for (const chunk of sends) expect(chunk.byteLength).toBeLessThanOrEqual(60 * 1024)
    const reader = new FrameReader((async function * () { yield * sends })(), { maxFrameBytes: 2_000, maxTotalBytes: 1 << 20, tooLargeCode: 'ERR_SYNC_RESPONSE_TOO_LARGE' })
    const back: Uint8Array[] = []
    for (let frame = await reader.next(); frame !== undefined; frame = await reader.next()) back.push(frame)
    expect(back).toEqual(payloads)
  })

  it('sends a frame larger than a chunk on its own, and waits for drain when the stream is full', async () => {
    const big = new Uint8Array(65_000).fill(1)
    const recorder = recordingStream(1)
    await writeFrames(recorder.stream, [new Uint8Array([1]), big, new Uint8Array([2])])
    expect(recorder.sends.map(s => s.byteLength)).toEqual([2, 65_003, 2])
    expect(recorder.drains).toBe(3)
  })
})
