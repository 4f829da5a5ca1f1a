/**
 * The CLI end to end, with real processes: three users, three `keyroom start` daemons on
 * 127.0.0.1 (the 2nd and 3rd bootstrap to the 1st, no mDNS), and one-shot `keyroom` commands
 * against them through their control sockets. The daemons are shared by the cases below, which
 * run in order and build on each other (one room, its history, its members).
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait-for.js'
import { Daemon, KEYROOM, REPO, childEnv, json, keyroom } from './keyroom-process.js'
import type { Ready, Result } from './keyroom-process.js'

interface Message { eventId: string, sender: string, content: { body?: string } }
interface Member { userId: string, membership: string, verified: boolean, reason?: string }

const LISTEN = ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns']

let root: string
const dirs: Record<'alice' | 'bob' | 'carol', string> = { alice: '', bob: '', carol: '' }
const users = { alice: '', bob: '', carol: '' }
const daemons: Daemon[] = []
/** Nodes started with --detach (not children of the test): killed in teardown if still there. */
const detached: number[] = []
let alice: Ready
let roomId = ''

async function startDaemon (dir: string, args: string[] = []): Promise<{ daemon: Daemon, ready: Ready }> {
  const daemon = new Daemon(dir, [...LISTEN, ...args])
  daemons.push(daemon)
  return { daemon, ready: await daemon.ready() }
}

/** One line `keyroom: …` and one `hint: …`, nothing on stdout. */
function expectOneError (result: Result, code: number, message: RegExp): void {
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(code)
  const lines = result.stderr.trimEnd().split('\n')
  expect(lines, result.stderr).toHaveLength(2)
  expect(lines[0]).toMatch(/^keyroom: /)
  expect(lines[0]).toMatch(message)
  expect(lines[1]).toMatch(/^hint: \S/)
  expect(result.stdout).toBe('')
}

async function history (dir: string): Promise<Message[]> {
  return json<{ messages: Message[] }>(await keyroom(dir, ['--json', 'history', roomId, '--limit', '100'])).messages
}

async function members (dir: string): Promise<Member[]> {
  return json<{ members: Member[] }>(await keyroom(dir, ['--json', 'room', 'members', roomId])).members
}

async function roomsOf (dir: string): Promise<Array<{ roomId: string, membership?: string }>> {
  return json<{ rooms: Array<{ roomId: string, membership?: string }> }>(await keyroom(dir, ['--json', 'room', 'list'])).rooms
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keyroom-e2e-'))
  for (const name of ['alice', 'bob', 'carol'] as const) dirs[name] = join(root, name)
  const created = await Promise.all((['alice', 'bob', 'carol'] as const).map(async (name) => json<{ userId: string }>(await keyroom(dirs[name], ['--json', 'init']))))
  users.alice = created[0]!.userId
  users.bob = created[1]!.userId
  users.carol = created[2]!.userId
}, 30_000)

afterAll(async () => {
  await Promise.all(daemons.map(async (d) => await d.stop('SIGKILL', 5_000)))
  for (const pid of detached) {
    try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
  }
  await rm(root, { recursive: true, force: true })
})

describe('keyroom CLI end to end', () => {
  it('starts three daemons; each prints its ready line only once its control socket answers', async () => {
    ({ ready: alice } = await startDaemon(dirs.alice))
    expect(alice.userId).toBe(users.alice)
    expect(alice.multiaddrs.some((a) => a.startsWith('/ip4/127.0.0.1/tcp/') && a.endsWith(`/p2p/${alice.peerId}`))).toBe(true)
    // Right after the ready line, a command gets through (no retry).
    const status = json<{ userId: string, deviceId: string, peers: unknown[] }>(await keyroom(dirs.alice, ['--json', 'status']))
    expect(status).toMatchObject({ userId: alice.userId, deviceId: alice.deviceId })
    expect((await stat(alice.socket)).mode & 0o777).toBe(0o600)

    const bootstrap = ['--bootstrap', alice.multiaddrs[0]!]
    const [bob, carol] = await Promise.all([startDaemon(dirs.bob, bootstrap), startDaemon(dirs.carol, bootstrap)])
    expect(bob.ready.userId).toBe(users.bob)
    expect(carol.ready.userId).toBe(users.carol)
    await waitFor(async () => {
      const peers = json<{ peers: Array<{ userId?: string }> }>(await keyroom(dirs.alice, ['--json', 'status'])).peers
      return peers.some((p) => p.userId === users.bob) && peers.some((p) => p.userId === users.carol)
    }, { timeout: 15_000, interval: 200, message: 'alice knows bob and carol' })

    // The foreground node reports its peers by device ID.
    await waitFor(() => daemons[0]!.events().some((e) => e.event === 'peer:connect' && e.deviceId === bob.ready.deviceId), { message: 'alice prints bob\'s connection' })

    const human = await keyroom(dirs.alice, ['status'])
    expect(human.code).toBe(0)
    expect(human.stdout).toContain(`user ID    ${users.alice}`)
    expect(human.stdout).toMatch(/peers\s+2 connected/)
  }, 60_000)

  it('creates a room, invites by keyroom:u/ link, joins, sends, and every side reads the same history', async () => {
    const created = json<{ roomId: string, uri: string }>(await keyroom(dirs.alice, ['--json', 'room', 'create', '--name', 'e2e']))
    roomId = created.roomId
    expect(created.uri.startsWith(`keyroom:r/${roomId}?via=`)).toBe(true)

    const invite = json<{ eventId: string }>(await keyroom(dirs.alice, ['--json', 'room', 'invite', 'e2e', `keyroom:u/${users.bob}`]))
    expect(invite.eventId).toMatch(/^\$/)
    await waitFor(async () => (await roomsOf(dirs.bob)).some((r) => r.roomId === roomId && r.membership === 'invite'),
      { timeout: 10_000, interval: 200, message: 'the invite reaches bob' })
    const joined = await keyroom(dirs.bob, ['room', 'join', roomId])
    expect(joined.code, joined.stderr).toBe(0)
    expect(joined.stdout).toContain(`Joined ${roomId} (e2e)`)

    const sent = [
      json<{ eventId: string }>(await keyroom(dirs.alice, ['--json', 'send', roomId, 'hello', 'from', 'alice'])).eventId,
      json<{ eventId: string }>(await keyroom(dirs.bob, ['--json', 'send', 'e2e', 'hello from bob'])).eventId
    ]
    const [a, b] = await waitFor(async () => {
      const both = await Promise.all([history(dirs.alice), history(dirs.bob)])
      return both.every((h) => h.length === 2) ? both : undefined
    }, { timeout: 10_000, interval: 200, message: 'both messages on both sides' })
    expect(b!.map((m) => m.eventId)).toEqual(a!.map((m) => m.eventId))
    expect([...a!.map((m) => m.eventId)].sort()).toEqual([...sent].sort())
    expect(a!.find((m) => m.eventId === sent[0])).toMatchObject({ sender: users.alice, content: { body: 'hello from alice' } })

    const text = await keyroom(dirs.bob, ['history', 'e2e'])
    expect(text.stdout).toMatch(/ you: hello from bob$/m)
    expect(text.stdout).toMatch(/ ~\S+…: hello from alice$/m)
  }, 45_000)

  it("refuses an uninvited user's join, even with the room's link", async () => {
    const link = json<{ uri: string }>(await keyroom(dirs.alice, ['--json', 'room', 'link', roomId])).uri
    const refused = await keyroom(dirs.carol, ['room', 'join', link])
    expectOneError(refused, 1, /^keyroom: cannot join !\S+: no peer reached would share it with you/)
    expect(refused.stderr).toContain(roomId)
    expect(refused.stderr).toContain(`ask a member to invite you (your user ID: ${users.carol})`)
    expect((await roomsOf(dirs.carol)).some((r) => r.roomId === roomId && r.membership === 'join')).toBe(false)
    expect((await members(dirs.alice)).some((m) => m.userId === users.carol)).toBe(false)
  }, 30_000)

  it('lets a late invitee catch up the history; room members shows everyone joined and verified', async () => {
    expect((await keyroom(dirs.alice, ['room', 'invite', roomId, users.carol])).code).toBe(0)
    await waitFor(async () => (await roomsOf(dirs.carol)).some((r) => r.roomId === roomId && r.membership === 'invite'),
      { timeout: 10_000, interval: 200, message: 'the invite reaches carol' })
    expect((await keyroom(dirs.carol, ['room', 'join', roomId])).code).toBe(0)
    const expected = (await history(dirs.alice)).map((m) => m.eventId)
    expect((await history(dirs.carol)).map((m) => m.eventId)).toEqual(expected)

    for (const dir of [dirs.alice, dirs.bob, dirs.carol]) {
      const list = await waitFor(async () => {
        const m = await members(dir)
        return m.length === 3 && m.every((x) => x.membership === 'join') ? m : undefined
      }, { timeout: 10_000, interval: 200, message: `three joined members on ${dir}` })
      expect(list.map((m) => m.userId).sort()).toEqual([users.alice, users.bob, users.carol].sort())
      expect(list.every((m) => m.verified)).toBe(true)
    }
    const human = await keyroom(dirs.carol, ['room', 'members', roomId])
    expect(human.stdout).toContain(`${users.carol}  join    verified  (you)`)
    expect(human.stdout).toContain('3 members: 3 joined, 3 verified')
  }, 45_000)

  it('chat: a typed line is sent, and a message from another node is printed', async () => {
    const [bin, ...pre] = KEYROOM
    const child = spawn(bin, [...pre, '--data-dir', dirs.carol, 'chat', 'e2e'], { cwd: REPO, env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c })
    child.stderr.setEncoding('utf8').on('data', (c: string) => { err += c })
    const exited = new Promise<number | null>((resolve) => { child.once('exit', resolve) })
    try {
      await waitFor(() => out.includes('type a message') && out.includes('-- online:'), { timeout: 15_000, message: `chat ready (got: ${out}${err})` })
      expect(out).toContain('chat in e2e')
      expect(out).toMatch(/hello from alice/)

      child.stdin.write('typed into chat\n')
      await waitFor(async () => (await history(dirs.alice)).some((m) => m.sender === users.carol && m.content.body === 'typed into chat'),
        { timeout: 10_000, interval: 200, message: 'the typed line reaches alice' })

      expect((await keyroom(dirs.bob, ['send', roomId, 'bob to the chat'])).code).toBe(0)
      await waitFor(() => /~\S+…: bob to the chat/.test(out), { timeout: 10_000, message: `chat prints bob's message (got: ${out})` })
      expect(out).toMatch(/ you: typed into chat/)

      child.stdin.end()
      expect(await Promise.race([exited, new Promise((r) => setTimeout(() => { r('timeout') }, 10_000))])).toBe(0)
    } finally {
      child.kill('SIGKILL')
    }
  }, 45_000)

  it('survives kill -9: the restarted daemon copes with the stale socket and lock, keeps its history and catches up', async () => {
    const bob = daemons[1]!
    const before = (await history(dirs.bob)).map((m) => m.eventId)
    expect(before.length).toBeGreaterThanOrEqual(3)
    await bob.stop('SIGKILL')
    // The socket file is still there; nobody answers it.
    expect((await stat(join(dirs.bob, 'control.sock'))).isSocket()).toBe(true)
    expectOneError(await keyroom(dirs.bob, ['status']), 3, /^keyroom: no running node for /)

    const missed = json<{ eventId: string }>(await keyroom(dirs.alice, ['--json', 'send', roomId, 'while bob was away'])).eventId
    await startDaemon(dirs.bob, ['--bootstrap', alice.multiaddrs[0]!])
    const after = await waitFor(async () => {
      const ids = (await history(dirs.bob)).map((m) => m.eventId)
      return ids.includes(missed) ? ids : undefined
    }, { timeout: 15_000, interval: 250, message: 'bob catches up after the restart' })
    expect(after.slice(0, before.length)).toEqual(before)
    expect(after).toEqual((await history(dirs.alice)).map((m) => m.eventId))
  }, 45_000)

  it('reports errors in one line with a hint and the documented exit code', async () => {
    // Bad arguments: exit 2, before anything reaches the node.
    expectOneError(await keyroom(dirs.alice, ['history', roomId, '--limit', 'lots']), 2, /--limit lots is not a number/)
    expectOneError(await keyroom(dirs.alice, ['room', 'invite', roomId, '~not-a-user']), 2, /user ID/)
    expectOneError(await keyroom(dirs.alice, ['send', roomId]), 2, /missing required argument 'text'/)
    expectOneError(await keyroom(dirs.alice, ['room', 'frobnicate']), 2, /unknown command 'frobnicate'/)
    // An unknown room: exit 1.
    const unknown = `!${'A'.repeat(43)}`
    expectOneError(await keyroom(dirs.alice, ['history', unknown]), 1, /is not known to this node/)
    expectOneError(await keyroom(dirs.alice, ['send', 'no-such-room', 'hi']), 1, /no room named "no-such-room"/)
    // No running node: exit 3.
    const empty = join(root, 'nobody')
    expectOneError(await keyroom(empty, ['room', 'list']), 3, new RegExp(`^keyroom: no running node for ${empty}$`))
    // A malformed device link, refused by the node: exit 1.
    expectOneError(await keyroom(dirs.alice, ['device', 'link', 'keyroom:link/^nope?code=x']), 1, /link/)
    // A second daemon on the same data directory.
    expectOneError(await keyroom(dirs.alice, ['start', ...LISTEN]), 1, /already running/)
    // A wrong passphrase: exit 1, and no socket is left behind.
    const sealed = join(root, 'sealed')
    expect((await keyroom(sealed, ['--json', 'init'], { env: { KEYROOM_PASSPHRASE: 'right one' } })).code).toBe(0)
    expectOneError(await keyroom(sealed, ['start', ...LISTEN], { env: { KEYROOM_PASSPHRASE: 'wrong one' } }), 1, /passphrase/)
    await expect(stat(join(sealed, 'control.sock'))).rejects.toThrow(/ENOENT/)
  }, 45_000)

  it('start --detach returns once the background node accepts commands (a sealed keystore, passphrase from the environment)', async () => {
    const sealed = join(root, 'sealed')
    const env = { KEYROOM_PASSPHRASE: 'right one' }
    const started = json<Ready & { log: string }>(await keyroom(sealed, ['--json', 'start', '--detach', ...LISTEN], { env }))
    detached.push(started.pid)
    try {
      expect(started.log).toBe(join(sealed, 'node.log'))
      const status = json<{ pid: number, userId: string }>(await keyroom(sealed, ['--json', 'status']))
      expect(status).toEqual(expect.objectContaining({ pid: started.pid, userId: started.userId }))
      expectOneError(await keyroom(sealed, ['start', '--detach', ...LISTEN], { env }), 1, /already running/)
    } finally {
      expect(json(await keyroom(sealed, ['--json', 'stop']))).toEqual({ stopped: true })
    }
    await waitFor(async () => { try { process.kill(started.pid, 0); return false } catch { return true } }, { timeout: 10_000, message: 'the background node exits' })
    expectOneError(await keyroom(sealed, ['start', '--detach', ...LISTEN], { env: { KEYROOM_PASSPHRASE: 'wrong one' } }), 1, /^keyroom: wrong passphrase$/)
  }, 45_000)

  it('links a new device (start --link, device link), which gets the rooms; then revokes it', async () => {
    const phoneDir = join(root, 'alice-phone')
    const phone = new Daemon(phoneDir, [...LISTEN, '--link'])
    daemons.push(phone)
    const shown = await phone.event<{ text: string, deviceId: string }>('link')
    expect(shown.text.startsWith(`keyroom:link/${shown.deviceId}?`)).toBe(true)
    const linked = json<{ deviceId: string, rooms: number }>(await keyroom(dirs.alice, ['--json', 'device', 'link', shown.text], { timeout: 60_000 }))
    expect(linked).toMatchObject({ deviceId: shown.deviceId, rooms: 1 })
    const ready = await phone.ready()
    expect(ready).toMatchObject({ userId: users.alice, deviceId: shown.deviceId })

    const expected = (await history(dirs.alice)).map((m) => m.eventId)
    await waitFor(async () => {
      try { return (await history(phoneDir)).map((m) => m.eventId).join() === expected.join() } catch { return false }
    }, { timeout: 15_000, interval: 250, message: 'the new device gets the room and its history' })
    const listed = json<{ holdsUserKey: boolean, devices: Array<{ deviceId: string, current: boolean, revoked: boolean }> }>(await keyroom(dirs.alice, ['--json', 'device', 'list']))
    expect(listed.holdsUserKey).toBe(true)
    expect(listed.devices.map((d) => d.deviceId).sort()).toEqual([alice.deviceId, shown.deviceId].sort())
    // The new device does not hold the user key: it can neither link nor revoke.
    expectOneError(await keyroom(phoneDir, ['device', 'revoke', alice.deviceId]), 1, /user key/)

    const revoked = json<{ deviceId: string, rooms: number }>(await keyroom(dirs.alice, ['--json', 'device', 'revoke', shown.deviceId, '--reason', 'lost']))
    expect(revoked).toMatchObject({ deviceId: shown.deviceId, rooms: 1 })
    const after = json<{ devices: Array<{ deviceId: string, revoked: boolean }> }>(await keyroom(dirs.alice, ['--json', 'device', 'list']))
    expect(after.devices.find((d) => d.deviceId === shown.deviceId)?.revoked).toBe(true)
    expect(await phone.stop('SIGTERM')).toBe(0)
  }, 60_000)

  it('stops cleanly on SIGTERM and on `keyroom stop`: exit 0, socket removed', async () => {
    const carol = daemons[2]!
    expect(await carol.stop('SIGTERM')).toBe(0)
    expect(carol.events().at(-1)).toEqual({ event: 'stopped' })
    await expect(stat(join(dirs.carol, 'control.sock'))).rejects.toThrow(/ENOENT/)

    const stopped = await keyroom(dirs.alice, ['--json', 'stop'])
    expect(json(stopped)).toEqual({ stopped: true })
    expect(await daemons[0]!.exited).toBe(0)
    await expect(stat(alice.socket)).rejects.toThrow(/ENOENT/)
  }, 30_000)
})
