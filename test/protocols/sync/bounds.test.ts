/**
 * A hostile peer cannot make a node do unbounded work or hold unbounded memory: each bound of the
 * sync protocol, exercised from both sides with hand-written streams, ends in a named error within
 * bounded time.
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  FrameReader, MAX_EVENT_BYTES, MAX_IDS_PER_REQUEST, MAX_REQUEST_BYTES, SYNC_PROTOCOL, encodeFrame, encodeRequest, encodeVarint
} from '../../../protocols/sync/index.js'
import { waitFor } from '../../helpers/wait-for.js'
import { FakeStore, ROOM, bareNode, fakeEvent, syncNode } from './fixtures.js'
import type { Libp2p, Stream } from '@libp2p/interface'

const nodes: Libp2p[] = []
afterEach(async () => {
  for (const n of nodes.splice(0).reverse()) await n.stop()
})

const text = new TextEncoder()

/** Read the one response header a server sends on a raw stream, as parsed JSON. */
async function readHeader (stream: Stream): Promise<Record<string, unknown>> {
  const reader = new FrameReader(stream, { maxFrameBytes: 1 << 20, maxTotalBytes: 8 << 20, tooLargeCode: 'ERR_SYNC_RESPONSE_TOO_LARGE' })
  const frame = await reader.next()
  await reader.close()
  if (frame === undefined) throw new Error('no header frame')
  return JSON.parse(new TextDecoder().decode(frame)) as Record<string, unknown>
}

async function serverAndRawClient (init: Parameters<typeof syncNode>[2] = {}, store = new FakeStore()): Promise<{ server: Awaited<ReturnType<typeof syncNode>>, client: Libp2p }> {
  const server = await syncNode('server', store, init)
  const client = await bareNode('client')
  nodes.push(server, client)
  return { server, client }
}

const inFlight = (server: Awaited<ReturnType<typeof syncNode>>): number => server.services.sync.inboundInFlight

describe('sync bounds: requests (server side)', () => {
  it('refuses an oversized request on its length prefix, before reading the body', async () => {
    const { server, client } = await serverAndRawClient()
    const stream = await client.dialProtocol(server.getMultiaddrs(), SYNC_PROTOCOL)
    // Announce a frame one byte over the limit; send no body at all.
    stream.send(encodeVarint(MAX_REQUEST_BYTES + 1))
    expect(await readHeader(stream)).toMatchObject({ errcode: 'K_REQUEST_TOO_LARGE' })
    await waitFor(() => inFlight(server) === 0, { timeout: 2_000 })
  })

  it('refuses a request naming too many IDs', async () => {
    const { server, client } = await serverAndRawClient()
    const stream = await client.dialProtocol(server.getMultiaddrs(), SYNC_PROTOCOL)
    const eventIds = Array.from({ length: MAX_IDS_PER_REQUEST + 1 }, (_, i) => `$${i}`)
    stream.send(encodeFrame(encodeRequest({ type: 'events', roomId: ROOM, eventIds })))
    await stream.close()
    expect(await readHeader(stream)).toMatchObject({ errcode: 'K_TOO_MANY_IDS' })
  })

  it('refuses a malformed request with K_BAD_REQUEST', async () => {
    const { server, client } = await serverAndRawClient()
    for (const body of ['not json', '[]', '{"type":"heads"}', '{"type":"drop_tables","room_id":"!r"}', '{"type":"missing","room_id":"!r","earliest":[],"latest":[],"limit":1.5}']) {
      const stream = await client.dialProtocol(server.getMultiaddrs(), SYNC_PROTOCOL)
      stream.send(encodeFrame(text.encode(body)))
      await stream.close()
      expect(await readHeader(stream), body).toMatchObject({ errcode: 'K_BAD_REQUEST' })
    }
  })

  it('cuts off a client that never stops sending', async () => {
    const store = new FakeStore()
    store.heads.set(ROOM, ['$h'])
    const { server, client } = await serverAndRawClient({}, store)
    const stream = await client.dialProtocol(server.getMultiaddrs(), SYNC_PROTOCOL)
    // A valid request, then junk forever. The server answers, stops reading, and resets the stream
    // once its bounded read buffer overflows.
    stream.send(encodeFrame(encodeRequest({ type: 'heads', roomId: ROOM })))
    const junk = new Uint8Array(16 * 1024).fill(0x80)
    let sent = 0
    const limit = 64 * 1024 * 1024
    try {
      while (sent < limit && stream.status === 'open') {
        sent += junk.byteLength
        if (!stream.send(junk)) await stream.onDrain({ signal: AbortSignal.timeout(5_000) })
      }
    } catch {
      // the reset surfaces here (send on a closed stream, or drain rejected by close)
    }
    // Yamux's window plus the server's 64 KiB read-buffer cap: a few hundred KB, far from the limit.
    expect(sent).toBeLessThan(8 * 1024 * 1024)
    await waitFor(() => stream.status !== 'open', { timeout: 5_000, message: 'stream reset by the server' })
    await waitFor(() => inFlight(server) === 0, { timeout: 2_000 })
  })

  it('times out a slow-loris client', async () => {
    const { server, client } = await serverAndRawClient({ inboundTimeout: 300 })
    const stream = await client.dialProtocol(server.getMultiaddrs(), SYNC_PROTOCOL)
    const request = encodeFrame(encodeRequest({ type: 'heads', roomId: ROOM }))
    const started = Date.now()
    // One byte every 100 ms: the whole request would take seconds.
    const drip = setInterval(() => {
      const at = Math.floor((Date.now() - started) / 100)
      if (stream.status !== 'open' || at >= request.byteLength) { clearInterval(drip); return }
      try { stream.send(request.subarray(at, at + 1)) } catch { clearInterval(drip) }
    }, 100)
    try {
      await waitFor(() => stream.status !== 'open', { timeout: 3_000, message: 'server reset the slow stream' })
      expect(Date.now() - started).toBeLessThan(2_000)
      await waitFor(() => inFlight(server) === 0, { timeout: 2_000 })
    } finally {
      clearInterval(drip)
    }
  })

  it('answers K_LIMIT_EXCEEDED (ERR_SYNC_BUSY) past the per-peer stream cap, and serves the others', async () => {
    const store = new FakeStore()
    store.heads.set(ROOM, ['$h'])
    let release!: () => void
    store.gate = new Promise(resolve => { release = resolve })
    const server = await syncNode('server', store, { maxInboundStreamsPerPeer: 2 })
    const client = await syncNode('client', new FakeStore())
    nodes.push(server, client)
    await client.dial(server.getMultiaddrs())
    const first = client.services.sync.heads(server.peerId, ROOM)
    const second = client.services.sync.heads(server.peerId, ROOM)
    await waitFor(() => store.calls.getHeads === 2, { timeout: 2_000 })
    await expect(client.services.sync.heads(server.peerId, ROOM)).rejects.toMatchObject({ code: 'ERR_SYNC_BUSY' })
    release()
    expect(await first).toEqual(['$h'])
    expect(await second).toEqual(['$h'])
  })
})

describe('sync bounds: responses (client side)', () => {
  /** A node whose sync handler is hand-written, and a real sync client. */
  async function hostile (handler: (stream: Stream) => Promise<void>, clientInit: Parameters<typeof syncNode>[2] = {}): Promise<{ server: Libp2p, client: Awaited<ReturnType<typeof syncNode>> }> {
    const server = await bareNode('hostile')
    await server.handle(SYNC_PROTOCOL, (stream) => { handler(stream).catch(() => {}) })
    const client = await syncNode('client', new FakeStore(), clientInit)
    nodes.push(server, client)
    return { server, client }
  }

  it('refuses an event frame larger than an event may be', async () => {
    const { server, client } = await hostile(async (stream) => {
      stream.send(encodeFrame(text.encode('{"event_ids":["$a"]}')))
      stream.send(encodeVarint(MAX_EVENT_BYTES + 1))
      stream.send(new Uint8Array(1024))
    })
    await expect(client.services.sync.events(server.getMultiaddrs(), ROOM, ['$a'])).rejects.toMatchObject({ code: 'ERR_SYNC_RESPONSE_TOO_LARGE' })
  })

  it('stops reading a response that goes on after its last frame', async () => {
    let sentBytes = 0
    const { server, client } = await hostile(async (stream) => {
      stream.send(encodeFrame(text.encode(JSON.stringify({ event_ids: ['$e0'] }))))
      const frame = encodeFrame(fakeEvent('$e', [], ROOM, 60_000).bytes)
      while (stream.status === 'open' && sentBytes < 64 * 1024 * 1024) {
        sentBytes += frame.byteLength
        if (!stream.send(frame)) await stream.onDrain()
      }
    })
    await expect(client.services.sync.events(server.getMultiaddrs(), ROOM, ['$e0'])).rejects.toMatchObject({ code: 'ERR_SYNC_BAD_MESSAGE' })
    expect(sentBytes).toBeLessThan(8 * 1024 * 1024)
  })

  it('refuses more bytes than a response may hold', async () => {
    const { server, client } = await hostile(async (stream) => {
      const ids = Array.from({ length: 100 }, (_, i) => `$e${i}`)
      stream.send(encodeFrame(text.encode(JSON.stringify({ event_ids: ids }))))
      const frame = encodeFrame(new Uint8Array(MAX_EVENT_BYTES))
      for (let i = 0; i < 100 && stream.status === 'open'; i++) {
        if (!stream.send(frame)) await stream.onDrain()
      }
    })
    const wanted = Array.from({ length: 100 }, (_, i) => `$e${i}`)
    await expect(client.services.sync.events(server.getMultiaddrs(), ROOM, wanted)).rejects.toMatchObject({ code: 'ERR_SYNC_RESPONSE_TOO_LARGE' })
  })

  it('refuses a header listing more events than a response may carry', async () => {
    const { server, client } = await hostile(async (stream) => {
      const ids = Array.from({ length: 101 }, (_, i) => `$e${i}`)
      stream.send(encodeFrame(text.encode(JSON.stringify({ event_ids: ids }))))
      await stream.close()
    })
    await expect(client.services.sync.missing(server.getMultiaddrs(), ROOM, { earliest: [], latest: ['$x'], limit: 100 }))
      .rejects.toMatchObject({ code: 'ERR_SYNC_RESPONSE_TOO_LARGE' })
  })

  it('times out a server that never answers', async () => {
    const { server, client } = await hostile(async () => { /* read nothing, say nothing */ }, { outboundTimeout: 300 })
    const started = Date.now()
    await expect(client.services.sync.heads(server.getMultiaddrs(), ROOM)).rejects.toMatchObject({ code: 'ERR_SYNC_TIMEOUT' })
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('maps a remote error code to its named error', async () => {
    const { server, client } = await hostile(async (stream) => {
      stream.send(encodeFrame(text.encode('{"errcode":"K_LIMIT_EXCEEDED","error":"slow down"}')))
      await stream.close()
    })
    await expect(client.services.sync.heads(server.getMultiaddrs(), ROOM)).rejects.toMatchObject({ code: 'ERR_SYNC_BUSY' })
  })

  it('rejects events the server was not asked for', async () => {
    const { server, client } = await hostile(async (stream) => {
      stream.send(encodeFrame(text.encode('{"event_ids":["$evil"]}')))
      stream.send(encodeFrame(text.encode('{}')))
      await stream.close()
    })
    await expect(client.services.sync.events(server.getMultiaddrs(), ROOM, ['$a'])).rejects.toMatchObject({ code: 'ERR_SYNC_BAD_MESSAGE' })
  })
})
