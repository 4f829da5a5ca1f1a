/**
 * An adversarial peer on `/keyroom/sync/1.0.0`, both ways: as a client it sends huge, malformed,
 * endless or too many requests to an honest node; as a server (a member the honest nodes catch up
 * from) it answers with huge headers, endless frames, forged events or a trickle. Each bound of
 * docs/wire.md holds at node level, the honest node answers others meanwhile, and its sends stay
 * fast. (The sync service's own unit tests, `test/protocols/sync/`, check each bound in isolation.)
 */
import { describe, expect, it } from 'vitest'
import { buildMessage, canonicalJsonBytes, parseJson } from '../../node/index.js'
import { MAX_MISSING_LIMIT, SYNC_PROTOCOL, encodeFrame, encodeHeader, encodeRequest, encodeVarint } from '../../protocols/sync/index.js'
import { waitFor } from '../helpers/wait-for.js'
import { bodies, deviceOf, gossipRaw, headContext, readAll, readyToGossip, roomWithMallory, stillResponsive } from './fixtures.js'
import type { KeyroomNode } from '../../node/index.js'
import type { Stream } from '@libp2p/interface'

/** Mallory opens a raw sync stream to `target`. */
async function rawStream (mallory: KeyroomNode, target: KeyroomNode): Promise<Stream> {
  return await mallory.libp2p.dialProtocol(target.libp2p.peerId, SYNC_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
}

/** The JSON header of a server's answer (the first frame). */
function headerOf (bytes: Uint8Array): Record<string, unknown> {
  let length = 0
  let shift = 0
  let i = 0
  for (; i < 4; i++) {
    const b = bytes[i]!
    length += (b & 0x7f) * 2 ** shift
    shift += 7
    if ((b & 0x80) === 0) break
  }
  return parseJson(bytes.subarray(i + 1, i + 1 + length)) as Record<string, unknown>
}

/** Mallory's sync server is replaced by `lie` (its node keeps everything else). */
async function lyingServer (mallory: KeyroomNode, lie: (stream: Stream) => Promise<void>): Promise<void> {
  await mallory.libp2p.unhandle(SYNC_PROTOCOL)
  await mallory.libp2p.handle(SYNC_PROTOCOL, (stream) => {
    void lie(stream).catch(() => { stream.abort(new Error('liar done')) })
  }, { maxInboundStreams: 64 })
}

/** Writes `bytes` to a stream, waiting for drain under backpressure. */
async function write (stream: Stream, bytes: Uint8Array): Promise<void> {
  if (!stream.send(bytes)) await stream.onDrain({ signal: AbortSignal.timeout(5_000) })
}

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('an adversarial sync client against an honest node', () => {
  it('huge request: a frame announcing 100 MiB is refused on its length prefix (K_REQUEST_TOO_LARGE), at once', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(false)
    const [a, b] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    const stream = await rawStream(mallory, a)
    await write(stream, encodeVarint(100 * 1024 * 1024))
    await write(stream, new Uint8Array(1024))
    const answer = await readAll(stream, 5_000)
    expect(headerOf(answer.bytes).errcode).toBe('K_REQUEST_TOO_LARGE')
    expect(answer.ms).toBeLessThan(2_000)
    await stillResponsive(a, honest, roomId)
    void b
  })

  it('too many IDs: an events request listing 1 000 IDs gets K_TOO_MANY_IDS', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(false)
    const [a] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    const stream = await rawStream(mallory, a)
    const ids = Array.from({ length: 1_000 }, (_, i) => `$e${i}`)
    await write(stream, encodeFrame(encodeRequest({ type: 'events', roomId, eventIds: ids })))
    await stream.close()
    const answer = await readAll(stream, 5_000)
    expect(headerOf(answer.bytes).errcode).toBe('K_TOO_MANY_IDS')
    await stillResponsive(a, honest, roomId)
  })

  it('huge missing limit: a member asking for a billion missing events gets an answer clamped to MAX_MISSING_LIMIT (the room\'s history here), and the node stays responsive', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(true)
    const [a] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    for (let i = 0; i < 120; i++) await a.send(roomId, { msgtype: 'm.text', body: `filler ${i}` })
    const heads = await mallory.libp2p.services.sync.heads(a.libp2p.peerId, roomId)
    const stream = await rawStream(mallory, a)
    // Written by hand: the client library would clamp the limit before sending it.
    const request = new TextEncoder().encode(JSON.stringify({ earliest: [], latest: heads, limit: 1_000_000_000, room_id: roomId, type: 'missing' }))
    await write(stream, encodeFrame(request))
    await stream.close()
    const answer = await readAll(stream, 5_000, 8 << 20)
    const ids = headerOf(answer.bytes).event_ids
    expect(Array.isArray(ids)).toBe(true)
    // Everything behind the heads (120 fillers and the room's first events), which is under the clamp.
    expect((ids as unknown[]).length).toBeGreaterThanOrEqual(120)
    expect((ids as unknown[]).length).toBeLessThanOrEqual(MAX_MISSING_LIMIT)
    await stillResponsive(a, honest, roomId)
  })

  it('endless request: a client that keeps writing past the 64 KiB request bound is reset at once, long before it has sent 1 MiB', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(false)
    const [a] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    const stream = await rawStream(mallory, a)
    // A frame of the largest allowed size, then more bytes forever: the server takes the request
    // and will not buffer what follows it past its 64 KiB bound — it resets the stream.
    await write(stream, encodeVarint(64 * 1024))
    let sent = 0
    const t0 = Date.now()
    try {
      while (Date.now() - t0 < 12_000) {
        const chunk = new Uint8Array(16 * 1024).fill(0x20)
        if (stream.status !== 'open') break
        if (!stream.send(chunk)) await stream.onDrain({ signal: AbortSignal.timeout(12_000 - (Date.now() - t0)) })
        else await new Promise(resolve => setImmediate(resolve))
        sent += chunk.byteLength
      }
    } catch {
      // Reset by the server, or stalled until our deadline.
    }
    const took = Date.now() - t0
    const answer = await readAll(stream, 1_000)
    expect(answer.end).toBe('reset')
    expect(took).toBeLessThan(3_000)
    expect(sent).toBeLessThan(1024 * 1024)
    await stillResponsive(a, honest, roomId)
  }, 40_000)

  it('stream flood and silent requests: four silent streams hold a peer\'s slots, a fifth gets K_LIMIT_EXCEEDED, other peers are served, and the silent ones are reset after 10 s', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(false)
    const [a, b] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    // Silent: a stream that never finishes its request (one byte of a length prefix).
    const silent = await Promise.all(Array.from({ length: 4 }, async () => {
      const stream = await rawStream(mallory, a)
      await write(stream, Uint8Array.of(0x85))
      return stream
    }))
    await waitFor(() => a.libp2p.services.sync.inboundInFlight >= 4, { message: 'a serves the four silent streams' })
    const fifth = await rawStream(mallory, a)
    await write(fifth, encodeFrame(encodeRequest({ type: 'heads', roomId })))
    await fifth.close()
    expect(headerOf((await readAll(fifth, 5_000)).bytes).errcode).toBe('K_LIMIT_EXCEEDED')
    // Another peer is served meanwhile, and the room goes on.
    const t0 = Date.now()
    expect((await b.libp2p.services.sync.heads(a.libp2p.peerId, roomId)).length).toBeGreaterThan(0)
    expect(Date.now() - t0).toBeLessThan(2_000)
    await stillResponsive(a, honest, roomId)
    const ends = await Promise.all(silent.map(async s => await readAll(s, 14_000)))
    for (const end of ends) {
      expect(end.end).toBe('reset')
      expect(end.ms).toBeLessThan(13_000)
    }
    expect(a.libp2p.services.sync.inboundInFlight).toBe(0)
  }, 40_000)
})

describe('an adversarial sync server (a member the honest nodes catch up from)', () => {
  it('huge header: an answer announcing a 100 MiB header is refused on its prefix (ERR_SYNC_RESPONSE_TOO_LARGE), and catch-up goes on with the other peers', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(true)
    const [a] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    await lyingServer(mallory, async (stream) => {
      for await (const _ of stream) break
      await write(stream, encodeVarint(100 * 1024 * 1024))
      for (let i = 0; i < 64 && stream.status === 'open'; i++) await write(stream, new Uint8Array(64 * 1024))
    })
    const t0 = Date.now()
    await expect(a.libp2p.services.sync.heads(mallory.libp2p.peerId, roomId)).rejects.toMatchObject({ code: 'ERR_SYNC_RESPONSE_TOO_LARGE' })
    expect(Date.now() - t0).toBeLessThan(2_000)
    await a.catchUp(roomId)
    await stillResponsive(a, honest, roomId)
  })

  it('heads flood: an answer listing 5 000 heads is refused (at most 1 024)', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(true)
    const [a] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    await lyingServer(mallory, async (stream) => {
      for await (const _ of stream) break
      await write(stream, encodeFrame(encodeHeader({ heads: Array.from({ length: 5_000 }, (_, i) => `$h${i}`) } as never)))
      await stream.close()
    })
    await expect(a.libp2p.services.sync.heads(mallory.libp2p.peerId, roomId)).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_SYNC_/), message: expect.stringContaining('1024') })
    await stillResponsive(a, honest, roomId)
  })

  it('endless response: after the frames it listed, a server that keeps sending is cut off (trailing data refused, at most 4 MiB read)', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(true)
    const [a, b] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    const { head } = await headContext(a, b, roomId)
    const bytes = canonicalJsonBytes(head.event)
    let written = 0
    await lyingServer(mallory, async (stream) => {
      for await (const _ of stream) break
      await write(stream, encodeFrame(encodeHeader({ event_ids: [head.eventId] } as never)))
      while (stream.status === 'open' && written < 64 << 20) {
        await write(stream, encodeFrame(bytes))
        written += bytes.byteLength
      }
    })
    const t0 = Date.now()
    await expect(a.libp2p.services.sync.events(mallory.libp2p.peerId, roomId, [head.eventId])).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_SYNC_(BAD_MESSAGE|RESPONSE_TOO_LARGE)$/) })
    expect(Date.now() - t0).toBeLessThan(3_000)
    expect(written).toBeLessThan(16 << 20)
    await stillResponsive(a, honest, roomId)
  })

  it('forged events in an answer: a gossiped event whose missing parent mallory answers with other bytes is never accepted; nothing forged is stored', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(true)
    const [a, b] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    const device = await deviceOf(mallory)
    const { context } = await headContext(b, a, roomId)
    const parent = buildMessage(device, context, { originServerTs: Date.now(), body: 'hidden parent' })
    const child = buildMessage(device, { ...context, prevEvents: [parent.eventId], depth: context.depth + 1 }, { originServerTs: Date.now(), body: 'child of a lie' })
    const impostor = buildMessage(device, context, { originServerTs: Date.now(), body: 'impostor' })
    let asked = 0
    await lyingServer(mallory, async (stream) => {
      asked++
      let request: Record<string, unknown> = {}
      for await (const chunk of stream) {
        const data = chunk instanceof Uint8Array ? chunk : chunk.subarray()
        request = parseJson(data.subarray(data[0]! < 0x80 ? 1 : 2)) as Record<string, unknown>
        break
      }
      if (request.type === 'heads') {
        await write(stream, encodeFrame(encodeHeader({ heads: [child.eventId] } as never)))
      } else {
        // Whatever is asked for, the impostor's bytes under the asked-for ID.
        const ids = (request.event_ids ?? request.latest ?? []) as string[]
        await write(stream, encodeFrame(encodeHeader({ event_ids: ids.slice(0, 1) } as never)))
        await write(stream, encodeFrame(canonicalJsonBytes(impostor.event)))
      }
      await stream.close()
    })
    await readyToGossip(mallory, honest, roomId)
    await gossipRaw(mallory, roomId, canonicalJsonBytes(child.event))
    await a.catchUp(roomId).catch(() => 0)
    expect(asked).toBeGreaterThan(0)
    await stillResponsive(b, honest, roomId)
    for (const n of honest) {
      expect(await bodies(n, roomId)).not.toContain('child of a lie')
      expect(await bodies(n, roomId)).not.toContain('impostor')
    }
  })

  it('trickle: a server answering one byte a second is cut off by the 15 s request bound while the honest node goes on', async () => {
    const { honest, mallory, roomId } = await roomWithMallory(true)
    const [a] = honest as [KeyroomNode, KeyroomNode, KeyroomNode]
    // A valid header of 100 heads, one byte a second: it would take an hour to arrive.
    const header = encodeFrame(encodeHeader({ heads: Array.from({ length: 100 }, (_, i) => `$head${i}`) } as never))
    await lyingServer(mallory, async (stream) => {
      for await (const _ of stream) break
      for (let i = 0; i < 60 && stream.status === 'open'; i++) {
        await write(stream, header.subarray(i, i + 1))
        await sleep(1_000)
      }
    })
    const t0 = Date.now()
    const pending = a.libp2p.services.sync.heads(mallory.libp2p.peerId, roomId).then(() => 'answered', (err: unknown) => (err as { code?: string }).code)
    // Meanwhile the room goes on at full speed.
    await stillResponsive(a, honest, roomId)
    await stillResponsive(honest[1]!, honest, roomId)
    const outcome = await pending
    const took = Date.now() - t0
    expect(outcome).not.toBe('answered')
    expect(took).toBeGreaterThanOrEqual(14_000)
    expect(took).toBeLessThan(18_000)
  }, 40_000)
})
