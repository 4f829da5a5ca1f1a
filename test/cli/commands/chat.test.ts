/**
 * `keyroom chat` driven in-process: a pseudo-stdin (a PassThrough) for typed lines, the control
 * server over a stub node for the other side — so offline, catching-up and hostile text can be
 * staged exactly.
 */
import { describe, expect, it } from 'vitest'
import { shortId } from '../../../cli/format.js'
import { run } from '../../../cli/run.js'
import { waitFor } from '../../helpers/wait-for.js'
import { serveStub } from '../control/fixtures.js'
import { ids } from '../control/stub-node.js'
import { fakeIo } from '../fake-io.js'
import type { RoomMessage } from '../../../node/index.js'

const me = shortId(ids.user(1))
const bob = shortId(ids.user(2))
const carl = shortId(ids.user(3))
const esc = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&')

async function chatRoom (): Promise<Awaited<ReturnType<typeof serveStub>> & { roomId: string }> {
  const served = await serveStub()
  const roomId = await served.node.createRoom({ name: 'den' })
  served.node.members_.get(roomId)!.push({ userId: ids.user(2), membership: 'join', verified: true })
  const earlier: RoomMessage = { roomId, eventId: '$old', sender: ids.user(2), content: { msgtype: 'm.text', body: 'from before' }, originServerTs: 1_700_000_000_000 }
  served.node.messages_.get(roomId)!.push(earlier)
  return { ...served, roomId }
}

describe('keyroom chat', () => {
  it('shows history, the offline state, catch-up progress; sends typed lines; prints remote messages safely', async () => {
    const { dataDir, node, roomId } = await chatRoom()
    const io = fakeIo()
    const done = run(['--data-dir', dataDir, 'chat', 'den'], io)
    await waitFor(() => io.out().includes('-- offline: no peers connected'), { message: `offline shown (got: ${io.out()}${io.err()})` })
    expect(io.out()).toContain(`chat in den (${roomId}) as ${me}`)
    expect(io.out()).toContain(`${bob}: from before`)

    io.input.write('hello there\n')
    await waitFor(() => node.messages_.get(roomId)!.some((m) => m.content.body === 'hello there'), { message: 'the typed line is sent' })
    await waitFor(() => / you: hello there\n/.test(io.out()), { message: 'and shown once the node has it' })

    // A peer outside the room refuses; a peer with nothing new fetches nothing: neither is shown.
    node.emit('sync', { roomId, peer: 'outsider', phase: 'started', fetched: 0 })
    node.emit('sync', { roomId, peer: 'outsider', phase: 'failed', fetched: 0, error: 'peer answered not found' })
    node.emit('sync', { roomId, peer: 'peer-y', phase: 'started', fetched: 0 })
    node.emit('sync', { roomId, peer: 'peer-y', phase: 'done', fetched: 0, stored: 0 })
    node.emit('sync', { roomId, peer: 'peer-x', phase: 'started', fetched: 0 })
    node.emit('sync', { roomId, peer: 'peer-x', phase: 'fetched', fetched: 40 })
    node.emit('sync', { roomId, peer: 'peer-x', phase: 'done', fetched: 40, stored: 3 })
    await waitFor(() => io.out().includes('-- caught up: 3 new events'), { message: 'catch-up shown' })
    expect(io.out()).toContain('-- catching up from peer-x\n-- caught up: 3 new events\n')
    expect(io.out()).not.toMatch(/outsider|peer-y/)

    node.peerList = [{ peerId: 'peer-x', deviceId: ids.device(2), userId: ids.user(2) }]
    await waitFor(() => io.out().includes(`-- online: you, ${bob}`), { message: 'online shown' })

    node.emit('message', { roomId, eventId: '$evil', sender: ids.user(2), content: { msgtype: 'm.text', body: 'red\u001b[31m alert\u202e\nsecond line' }, originServerTs: 1_700_000_100_000 })
    await waitFor(() => io.out().includes('second line'), { message: 'remote message printed' })
    expect(io.out()).not.toContain('\u001b')
    expect(io.out()).not.toContain('\u202e')
    expect(io.out()).toMatch(new RegExp(`${esc(bob)}: red\uFFFD\\[31m alert\uFFFD\n {9}second line`))
    // A message in another room is not shown.
    node.emit('message', { roomId: ids.room(77), eventId: '$other', sender: ids.user(2), content: { body: 'not here' }, originServerTs: 0 })

    node.emit('membership', { roomId, userId: ids.user(3), membership: 'join', eventId: '$j', sender: ids.user(3) })
    await waitFor(() => io.out().includes(`-- ${carl} joined`))
    io.input.write('/who\n')
    await waitFor(() => io.out().includes(`--   ${ids.user(3)}`))
    io.input.write('/frob\n')
    await waitFor(() => io.out().includes('-- unknown command /frob'))
    io.input.write('//not a command\n')
    await waitFor(() => node.messages_.get(roomId)!.some((m) => m.content.body === '/not a command'))

    io.input.end()
    expect(await done).toBe(0)
    expect(io.out()).not.toContain('not here')
    expect(io.err()).toBe('')
  })

  it('with --json prints one JSON object per line and reports sends', async () => {
    const { dataDir, roomId } = await chatRoom()
    const io = fakeIo()
    const done = run(['--data-dir', dataDir, '--json', 'chat', roomId, '--history', '5'], io)
    await waitFor(() => io.out().includes('"event":"peers"'))
    io.input.write('bot says hi\n')
    await waitFor(() => io.out().includes('"event":"sent"'))
    io.input.end()
    expect(await done).toBe(0)
    const events = io.out().trim().split('\n').map((l) => JSON.parse(l) as { event: string, data: { content?: { body?: string } } })
    expect(events[0]).toMatchObject({ event: 'message', data: { content: { body: 'from before' } } })
    expect(events.some((e) => e.event === 'message' && e.data.content?.body === 'bot says hi')).toBe(true)
  })

  it('ends with an error when the node stops, and refuses a room it is not in', async () => {
    const served = await chatRoom()
    const io = fakeIo()
    const done = run(['--data-dir', served.dataDir, 'chat', 'den'], io)
    await waitFor(() => io.out().includes('-- offline'))
    await served.server.close()
    expect(await done).toBe(1)
    expect(io.err()).toMatch(/^keyroom: the node stopped\nhint: start it again/)

    const other = await serveStub()
    const invited = ids.room(9)
    other.node.rooms_.push({ roomId: invited, membership: 'invite' })
    const io2 = fakeIo()
    expect(await run(['--data-dir', other.dataDir, 'chat', invited], io2)).toBe(1)
    expect(io2.err()).toBe(`keyroom: you are not a member of ${invited} (membership: invite)\nhint: accept the invite first: keyroom room join '${invited}'\n`)
  })
})
