/**
 * The commands that talk to a running node, in-process against the control server over a stub
 * node: what people read, what scripts parse (--json), and the exit codes.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { shortId } from '../../../cli/format.js'
import { run } from '../../../cli/run.js'
import { serveStub, tempDir } from '../control/fixtures.js'
import { ids } from '../control/stub-node.js'
import { fakeIo } from '../fake-io.js'

async function cli (dataDir: string, args: string[]): Promise<{ code: number, out: string, err: string }> {
  const io = fakeIo()
  const code = await run(['--data-dir', dataDir, ...args], io)
  return { code, out: io.out(), err: io.err() }
}

describe('commands against a running node', () => {
  it('status: addresses, the offline state, rooms and a catch-up in progress', async () => {
    const { dataDir, node } = await serveStub()
    const roomId = await node.createRoom({ name: 'den' })
    let status = await cli(dataDir, ['status'])
    expect(status.code).toBe(0)
    expect(status.out).toContain('node       running for 1m 0s (pid 4242, keyroom 9.9.9)')
    expect(status.out).toContain(`user ID    ${node.userId}`)
    expect(status.out).toContain('listening  /ip4/127.0.0.1/tcp/4001/p2p/12D3KooWStubPeer')
    expect(status.out).toMatch(/peers +none connected \(offline\)/)
    expect(status.out).toContain(`${roomId}  join    den  1 member`)
    expect(status.out).toMatch(/sync +idle/)

    node.peerList = [{ peerId: 'p', deviceId: ids.device(2), userId: ids.user(2) }]
    node.emit('sync', { roomId, peer: 'p', phase: 'fetched', fetched: 7 })
    status = await cli(dataDir, ['status'])
    expect(status.out).toContain(`peers      1 connected\n           ${shortId(ids.device(2))} ${ids.user(2)}`)
    expect(status.out).toContain(`sync       catching up (1)\n           ${roomId} from p: 7 events so far`)

    // Outcomes: a peer outside the room refuses (normal once another peer caught the room up).
    node.emit('sync', { roomId, peer: 'p', phase: 'done', fetched: 7, stored: 7 })
    node.emit('sync', { roomId, peer: 'outsider', phase: 'failed', fetched: 0, error: 'not found' })
    expect((await cli(dataDir, ['status'])).out).toMatch(/sync +idle, no catch-up running\n$/)
    const other = await node.createRoom({ name: 'other' })
    node.emit('sync', { roomId: other, peer: 'outsider', phase: 'failed', fetched: 0, error: 'timed out' })
    expect((await cli(dataDir, ['status'])).out).toContain(`sync       idle, no catch-up running (no peer could catch up 1 room)\n           ${other}: timed out\n`)

    const asJson = await cli(dataDir, ['--json', 'status'])
    expect(JSON.parse(asJson.out)).toMatchObject({ userId: node.userId, peers: node.peerList, sync: { state: 'idle', last: [{ roomId, peer: 'p', phase: 'done' }, { roomId, peer: 'outsider' }, { roomId: other }] } })
  })

  it('room create / list / link / members / invite, for people and as JSON', async () => {
    const { dataDir, node } = await serveStub()
    const created = await cli(dataDir, ['room', 'create', '--name', 'den', '--public'])
    const roomId = ids.room(100)
    expect(created.out).toContain(`Created room ${roomId} (den), public\n  link: keyroom:r/${roomId}?via=`)
    expect(node.calls[0]).toEqual(['createRoom', [{ joinRule: 'public', name: 'den' }]])

    expect((await cli(dataDir, ['room', 'list'])).out).toBe(`${roomId}  join    den\n`)
    expect(JSON.parse((await cli(dataDir, ['--json', 'room', 'list'])).out)).toEqual({ userId: node.userId, rooms: [{ roomId, membership: 'join', name: 'den' }] })
    expect((await cli(dataDir, ['room', 'link', 'den'])).out).toBe(`${node.roomUri(roomId)}\n`)

    node.members_.get(roomId)!.push({ userId: ids.user(2), membership: 'join', verified: false, reason: 'chain_broken', displayName: 'Mallory\u001b]0;pwned\u0007' })
    const members = await cli(dataDir, ['room', 'members', roomId])
    expect(members.out).toBe([
      `${node.userId}  join    verified  (you)`,
      `${ids.user(2)}  join    unverified: chain_broken  "Mallory\uFFFD]0;pwned\uFFFD"`,
      '2 members: 2 joined, 1 verified',
      ''
    ].join('\n'))

    const invited = await cli(dataDir, ['room', 'invite', 'den', `keyroom:u/${ids.user(3)}`])
    expect(invited.code).toBe(0)
    expect(invited.out).toContain(`Invited ${ids.user(3)} to ${roomId}\n  their device is not connected now`)
    expect(node.calls.at(-1)).toEqual(['invite', [roomId, ids.user(3)]])
  })

  it('room unban / name / topic / power reach the node; a power level that is not an integer is a usage error', async () => {
    const { dataDir, node } = await serveStub()
    const roomId = await node.createRoom({ name: 'den' })
    expect((await cli(dataDir, ['room', 'unban', 'den', ids.user(2)])).out).toBe(`Unbanned ${ids.user(2)} in ${roomId}\n`)
    expect((await cli(dataDir, ['room', 'name', 'den', 'the den'])).out).toBe(`Set the name of ${roomId}\n`)
    expect((await cli(dataDir, ['room', 'topic', roomId, 'snacks'])).out).toBe(`Set the topic of ${roomId}\n`)
    const power = await cli(dataDir, ['--json', 'room', 'power', 'den', ids.user(2), '50'])
    expect(JSON.parse(power.out)).toMatchObject({ roomId, userId: ids.user(2), level: 50, eventId: '$power' })
    expect(node.powerLevels.get(`${roomId} ${ids.user(2)}`)).toBe(50)
    const bad = await cli(dataDir, ['room', 'power', 'den', ids.user(2), 'lots'])
    expect(bad.code).toBe(2)
    expect(bad.err).toMatch(/^keyroom: the power level must be an integer, got 'lots'\nhint: /)
  })

  it('send joins its words; history prints oldest first, one document with --json', async () => {
    const { dataDir, node } = await serveStub()
    const roomId = await node.createRoom({ name: 'den' })
    const sent = await cli(dataDir, ['send', 'den', 'hello', 'big', 'world'])
    expect(sent.out).toMatch(/^sent \$sent\d+\n$/)
    expect((await cli(dataDir, ['send', '--emote', 'den', 'waves'])).code).toBe(0)
    const history = await cli(dataDir, ['history', 'den', '--limit', '5'])
    expect(history.out).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d {2}you: hello big world\n\d{4}-\d\d-\d\d \d\d:\d\d {2}\* you waves\n$/)
    const doc = JSON.parse((await cli(dataDir, ['--json', 'history', roomId])).out) as { messages: Array<{ content: { body: string, msgtype: string } }> }
    expect(doc.messages.map((m) => [m.content.msgtype, m.content.body])).toEqual([['m.text', 'hello big world'], ['m.emote', 'waves']])
    expect((await cli(dataDir, ['room', 'history', 'den', '--limit', '1'])).out).toMatch(/\* you waves\n$/)
  })

  it('whois; device list, link and revoke', async () => {
    const { dataDir, node } = await serveStub()
    const whois = await cli(dataDir, ['whois', ids.user(2)])
    expect(whois.out).toBe(`user ${ids.user(2)}\n  link  keyroom:u/${ids.user(2)}\n  no devices known: none is connected, and they share no room with you\n`)
    expect((await cli(dataDir, ['device', 'list'])).out).toBe(`user ${node.userId}\n  ${node.deviceId}  this device\nthis device holds your user key: it can link and revoke devices\n`)

    const text = `keyroom:link/${ids.device(9)}?code=abc&via=/ip4/127.0.0.1/tcp/1/p2p/12D3KooWx`
    expect((await cli(dataDir, ['device', 'link', text])).out).toBe(`Linked ${ids.device(9)} to your user; recorded in 0 rooms\n`)
    expect(node.calls.at(-1)).toEqual(['linkDevice', [text]])
    const revoked = await cli(dataDir, ['--json', 'device', 'revoke', ids.device(9), '--reason', 'lost'])
    expect(JSON.parse(revoked.out)).toEqual({ deviceId: ids.device(9), revokedTs: new Date(2026, 0, 2, 3, 4).getTime(), rooms: 0 })
    expect(node.calls.at(-1)).toEqual(['revokeDevice', [ids.device(9), { reason: 'lost' }]])
    expect((await cli(dataDir, ['device', 'list'])).out).toContain(`  ${ids.device(9)}  not connected, REVOKED\n`)

    node.holdsUserKey = false
    const refused = await cli(dataDir, ['device', 'link', text])
    expect(refused.code).toBe(1)
    expect(refused.err).toBe('keyroom: this device does not hold the user key\nhint: link from the device that does\n')
    expect((await cli(dataDir, ['device', 'list'])).out).toMatch(/does not hold your user key/)
  })

  it('stop asks the daemon to stop', async () => {
    const served = await serveStub()
    expect((await cli(served.dataDir, ['stop'])).out).toBe('keyroom node stopped\n')
    expect(served.stops()).toBe(1)
  })

  it('no running node: one line, a hint to start one, exit 3', async () => {
    const dir = await tempDir()
    for (const args of [['status'], ['room', 'list'], ['send', 'x', 'y'], ['chat', 'x']]) {
      const result = await cli(dir, args)
      expect(result.code, args.join(' ')).toBe(3)
      expect(result.err).toBe(`keyroom: no running node for ${dir}\nhint: start one with 'keyroom --data-dir ${dir} start' (it runs in the foreground: use another terminal)\n`)
    }
  })

  it('bad arguments are refused before anything is asked (exit 2)', async () => {
    const dir = await tempDir()
    const cases: Array<[string[], RegExp]> = [
      [['history', 'x', '--limit', '0'], /--limit 0 is not a number from 1 to 1000/],
      [['history', 'x', '--before', 'abc'], /--before abc is not an event ID/],
      [['send', 'x', '  '], /the message is empty/],
      [['room', 'join', '!short'], /invalid room ID "!short"/],
      [['room', 'join', `keyroom:u/${ids.user(2)}`], /is a user link, not a room link/],
      [['whois', `keyroom:r/${ids.room(2)}`], /is a room link, not a user link/],
      [['connect', 'localhost:4001'], /is not a multiaddr/],
      [['chat', 'x', '--history', 'all'], /--history all is not a number/],
      [['device', 'link', 'https://example.org'], /is not a device link/],
      [['device', 'revoke', '~user'], /invalid device ID/],
      [['start', '--link', '--detach'], /--link runs in the foreground/],
      [['start', '--listen', 'nonsense'], /--listen nonsense is not a multiaddr/],
      [['start', '--bootstrap', '/ip4/127.0.0.1/tcp/4001'], /does not name a peer/],
      [['room'], /./]
    ]
    for (const [args, message] of cases) {
      const result = await cli(dir, args)
      expect(result.code, args.join(' ')).toBe(2)
      if (args.length > 1) {
        const lines = result.err.trimEnd().split('\n')
        expect(lines, args.join(' ')).toHaveLength(2)
        expect(lines[0]).toMatch(message)
        expect(lines[1]).toMatch(/^hint: /)
      }
    }
  })

  it('start without an identity says to run init (exit 1), before starting anything', async () => {
    const dir = join(await tempDir(), 'empty')
    const result = await cli(dir, ['start'])
    expect(result.code).toBe(1)
    expect(result.err).toBe(`keyroom: no identity in ${dir}\nhint: create one first with 'keyroom --data-dir ${dir} init' (or make this a device of an existing user with 'keyroom start --link')\n`)
  })
})
