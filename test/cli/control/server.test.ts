import { stat } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { connectControl } from '../../../cli/control/client.js'
import { MAX_CONNECTIONS, MAX_REQUEST_BYTES } from '../../../cli/control/protocol.js'
import { waitFor } from '../../helpers/wait-for.js'
import { rawClient, serveStub } from './fixtures.js'
import { ids } from './stub-node.js'

describe('control server', () => {
  it('listens on a 0600 socket and answers requests in order, echoing their ids', async () => {
    const { path, node } = await serveStub()
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    const raw = await rawClient(path)
    raw.send('{"id":"a","method":"room.create","params":{"name":"one"}}\n{"id":2,"method":"room.list"}\n{"id":3,"method":"hello"}\n')
    await waitFor(() => raw.lines().length === 3)
    const [created, list, hello] = raw.lines()
    expect(created).toMatchObject({ id: 'a', ok: true, result: { roomId: ids.room(100), name: 'one', joinRule: 'invite' } })
    expect((created!.result as { uri: string }).uri).toBe(`keyroom:r/${ids.room(100)}?via=/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWStubPeer`)
    expect(list).toEqual({ id: 2, ok: true, result: { userId: node.userId, rooms: [{ roomId: ids.room(100), membership: 'join', name: 'one' }] } })
    expect(hello).toMatchObject({ id: 3, ok: true, result: { protocol: 1, version: '9.9.9', userId: node.userId, pid: 4242 } })
  })

  it('answers malformed requests with ERR_CONTROL_BAD_REQUEST and keeps the connection', async () => {
    const { path } = await serveStub()
    const raw = await rawClient(path)
    raw.send('not json\n[1]\n{"id":7,"method":"nope"}\n{"id":8,"method":"history","params":{"room":"x","limit":0}}\n{"id":9,"method":"send","params":[]}\n{"id":10,"method":"hello"}\n')
    await waitFor(() => raw.lines().length === 6)
    const lines = raw.lines()
    for (const line of lines.slice(0, 5)) expect(line).toMatchObject({ ok: false, error: { code: 'ERR_CONTROL_BAD_REQUEST' } })
    expect(lines.map((l) => l.id)).toEqual([null, null, 7, 8, 9, 10])
    expect((lines[2]!.error as { message: string }).message).toBe('unknown method "nope"')
    expect((lines[3]!.error as { message: string }).message).toBe('expected params.limit to be an integer from 1 to 1000, got a number')
    expect(lines[5]).toMatchObject({ ok: true })
    expect(raw.closed()).toBe(false)
  })

  it("passes the node's errors on with their code and hint; other failures are ERR_INTERNAL and logged", async () => {
    const served = await serveStub()
    const raw = await rawClient(served.path)
    served.node.rooms = async () => { throw new TypeError('boom') }
    raw.send(`{"id":1,"method":"history","params":{"room":"${ids.room(9)}"}}\n`)
    await waitFor(() => raw.lines().length === 1)
    expect(raw.lines()[0]).toMatchObject({ id: 1, ok: false, error: { code: 'ERR_INTERNAL', message: 'internal error in the node: boom' } })
    expect(served.logs.join('')).toMatch(/history failed: TypeError: boom/)

    served.node.rooms = async () => []
    served.node.holdsUserKey = false
    raw.send(`{"id":2,"method":"history","params":{"room":"${ids.room(9)}"}}\n{"id":3,"method":"device.link","params":{"link":"keyroom:link/x"}}\n`)
    await waitFor(() => raw.lines().length === 3)
    expect(raw.lines()[1]).toMatchObject({ id: 2, ok: false, error: { code: 'ERR_UNKNOWN_ROOM', message: `room ${ids.room(9)} is not known to this node` } })
    expect(raw.lines()[2]).toMatchObject({ id: 3, ok: false, error: { code: 'ERR_NO_USER_KEY', hint: 'link from the device that does' } })
  })

  it('refuses a request line over the bound, then hangs up; other connections are unaffected', async () => {
    const { path } = await serveStub()
    const raw = await rawClient(path)
    // No newline ever: the daemon must not wait for the end of the line to refuse it.
    raw.send('{"id":1,"method":"send","params":{"body":"' + 'x'.repeat(MAX_REQUEST_BYTES) + '"')
    await waitFor(() => raw.closed(), { message: 'the connection is closed' })
    expect(raw.lines()).toEqual([{ id: null, ok: false, error: expect.objectContaining({ code: 'ERR_CONTROL_REQUEST_TOO_LARGE' }) }])
    const other = await rawClient(path)
    other.send('{"id":1,"method":"hello"}\n')
    await waitFor(() => other.lines().length === 1)
    expect(other.lines()[0]).toMatchObject({ ok: true })
  })

  it(`serves at most ${MAX_CONNECTIONS} connections at once`, async () => {
    const { path } = await serveStub()
    const open = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, async () => await rawClient(path)))
    const extra = await rawClient(path)
    await waitFor(() => extra.closed())
    expect(extra.lines()[0]).toMatchObject({ ok: false, error: { code: 'ERR_CONTROL_BAD_REQUEST', message: expect.stringMatching(/at most 64/) } })
    open[0]!.socket.destroy()
    await waitFor(async () => {
      const again = await rawClient(path)
      again.send('{"id":1,"method":"hello"}\n')
      await waitFor(() => again.lines().length === 1 || again.closed())
      return again.lines()[0]?.ok === true
    }, { message: 'a slot frees up' })
  })

  it('streams the subscribed room\'s events, and the peers (at once, then on change)', async () => {
    const { path, node } = await serveStub()
    const a = await node.createRoom({ name: 'a' })
    const b = await node.createRoom({ name: 'b' })
    const raw = await rawClient(path)
    raw.send('{"id":1,"method":"subscribe","params":{"room":"a"}}\n')
    await waitFor(() => raw.lines().length === 2)
    expect(raw.lines()).toContainEqual({ id: 1, ok: true, result: { roomId: a } })
    expect(raw.lines()).toContainEqual({ event: 'peers', data: { peers: [] } })

    await node.send(b, { msgtype: 'm.text', body: 'elsewhere' })
    await node.send(a, { msgtype: 'm.text', body: 'here' })
    node.emit('sync', { roomId: a, peer: 'p', phase: 'started', fetched: 0 })
    node.emit('membership', { roomId: b, userId: ids.user(2), membership: 'join', eventId: '$m', sender: ids.user(2) })
    node.peerList = [{ peerId: 'p', deviceId: ids.device(2), userId: ids.user(2) }]
    await waitFor(() => raw.lines().filter((l) => l.event === 'peers').length === 2)
    const events = raw.lines().filter((l) => l.event !== undefined)
    expect(events.map((e) => e.event)).toEqual(['peers', 'message', 'sync', 'peers'])
    expect(events[1]).toMatchObject({ data: { roomId: a, content: { body: 'here' } } })
    expect(events[3]).toEqual({ event: 'peers', data: { peers: node.peerList } })
  })

  it('reports catch-ups in status, and uptime and rooms', async () => {
    const { path, node } = await serveStub()
    const room = await node.createRoom({ name: 'r' })
    const client = await connectControl({ dataDir: 'd', path })
    try {
      node.emit('sync', { roomId: room, peer: 'p', phase: 'fetched', fetched: 12 })
      let status = await client.request<{ uptimeMs: number, rooms: unknown[], sync: { state: string, active: unknown[] } }>('status')
      expect(status.uptimeMs).toBe(60_000)
      expect(status.rooms).toEqual([{ roomId: room, membership: 'join', name: 'r', joinedMembers: 1 }])
      expect(status.sync).toMatchObject({ state: 'catching-up', active: [{ roomId: room, peer: 'p', fetched: 12 }] })
      node.emit('sync', { roomId: room, peer: 'p', phase: 'done', fetched: 12, stored: 12 })
      status = await client.request('status')
      expect(status.sync).toMatchObject({ state: 'idle', active: [], last: [{ roomId: room, phase: 'done', stored: 12 }] })
    } finally {
      client.close()
    }
  })

  it('resolves rooms by ID, link or unique name', async () => {
    const { path, node } = await serveStub()
    const one = await node.createRoom({ name: 'same' })
    const client = await connectControl({ dataDir: 'd', path })
    try {
      const link = node.roomUri(one)
      for (const room of [one, link, 'same']) expect(await client.request('room.link', { room })).toEqual({ roomId: one, uri: link })
      await node.createRoom({ name: 'same' })
      await expect(client.request('room.link', { room: 'same' })).rejects.toMatchObject({ code: 'ERR_UNKNOWN_ROOM', message: '2 rooms are named "same"' })
      await expect(client.request('room.link', { room: 'other' })).rejects.toMatchObject({ code: 'ERR_UNKNOWN_ROOM', message: 'no room named "other" on this node' })
      await expect(client.request('room.link', { room: `keyroom:u/${node.userId}` })).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' })
    } finally {
      client.close()
    }
  })

  it('turns a refused join into a message that says what to do', async () => {
    const { path, node } = await serveStub()
    const client = await connectControl({ dataDir: 'd', path })
    try {
      await expect(client.request('room.join', { room: ids.room(5) })).rejects.toMatchObject({
        code: 'ERR_ROOM_UNREACHABLE',
        message: `cannot join ${ids.room(5)}: no peer reached would share it with you (0 connected)`,
        hint: expect.stringContaining(`your user ID: ${node.userId}`)
      })
    } finally {
      client.close()
    }
  })

  it('abandons a request whose client hangs up (the node call sees the abort)', async () => {
    const { path, node } = await serveStub()
    node.joinGate = new Promise(() => {})
    let aborted = false
    const join = node.join.bind(node)
    node.join = async (ref, options = {}) => {
      options.signal?.addEventListener('abort', () => { aborted = true })
      return await join(ref, options)
    }
    const raw = await rawClient(path)
    raw.send(`{"id":1,"method":"room.join","params":{"room":"${ids.room(5)}"}}\n`)
    await waitFor(() => node.calls.some(([name]) => name === 'join'))
    raw.socket.destroy()
    await waitFor(() => aborted, { message: 'the join is aborted' })
  })

  it('stop: the daemon stops, then answers; close() ends the connections and removes the socket', async () => {
    const served = await serveStub()
    const client = await connectControl({ dataDir: 'd', path: served.path })
    expect(await client.request('stop')).toEqual({ stopped: true })
    expect(served.stops()).toBe(1)
    await served.server.close()
    await waitFor(() => client.closed, { message: 'the client sees the close' })
    await expect(stat(served.path)).rejects.toThrow(/ENOENT/)
  })
})
