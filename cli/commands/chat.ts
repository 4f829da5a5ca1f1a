/**
 * `keyroom chat ROOM`: an interactive room on the running node — the latest messages, then live
 * ones; a line typed is a message sent. It shows who is online (joined members whose devices are
 * connected), a progress indicator while the room catches up from peers, and a clear offline state
 * when no peer is connected. `/who` lists members, `/quit` (or Ctrl-D, Ctrl-C) leaves.
 *
 * With `--json` it is a bot interface: every event is one JSON line (history first), every line
 * of stdin is sent as a message. On a terminal the prompt carries the state (`[offline] > `,
 * `[catching up 120] > `); on a pipe, state changes are printed as `-- …` lines.
 */
import { clearLine, createInterface, cursorTo } from 'node:readline'
import type { Command } from 'commander'
import type { CliContext } from '../context.js'
import { CliError, usageError } from '../errors.js'
import { formatMessage, safeLine, shortId } from '../format.js'
import { callNode, openNode } from '../node-call.js'
import { checkRoomRef } from '../refs.js'
import type { ControlEvent } from '../control/protocol.js'
import type { MembershipChange, PeerSummary, RoomMember, RoomMessage, RoomSummary, SyncProgress } from '../../node/index.js'

/** Messages shown when the chat opens, unless `--history` says otherwise. */
const DEFAULT_CHAT_HISTORY = 20

/** Event IDs remembered to avoid printing a message twice (history and a live event that raced it). */
const MAX_SEEN_IDS = 10_000

/** Registers `chat`. */
export function registerChatCommand (program: Command, ctx: CliContext): void {
  program
    .command('chat')
    .description('chat in a room: live messages, and each line you type is sent')
    .argument('<room>', 'the room (ID, keyroom:r/… link, or name)')
    .option('--history <n>', `messages to show first (0 to 1000, default ${DEFAULT_CHAT_HISTORY})`)
    .action(async (roomRef: string, options: { history?: string }) => { await chat(ctx, roomRef, options) })
}

async function chat (ctx: CliContext, roomRef: string, options: { history?: string }): Promise<void> {
  const { io } = ctx
  const json = ctx.globals().json === true
  const historyLimit = options.history === undefined ? DEFAULT_CHAT_HISTORY : Number(options.history)
  if (!/^\d+$/u.test(options.history ?? '0') || historyLimit > 1000) {
    throw usageError(`--history ${options.history ?? ''} is not a number from 0 to 1000`, "e.g. 'keyroom chat ROOM --history 50'")
  }
  const ref = checkRoomRef(roomRef)
  const client = await openNode(ctx)
  const terminal = !json && io.stdinIsTTY && io.ttyOut !== undefined
  const out = io.ttyOut

  // Subscribed first, so nothing sent between the history and the live stream is missed.
  const early: ControlEvent[] = []
  let onEvent = (event: ControlEvent): void => { early.push(event) }
  client.onEvent((event) => { onEvent(event) })
  let roomId: string
  let self: string
  let members: RoomMember[]
  let history: RoomMessage[]
  let name: string | undefined
  try {
    roomId = (await client.request<{ roomId: string }>('subscribe', { room: ref })).roomId
    const list = await client.request<{ userId: string, rooms: RoomSummary[] }>('room.list')
    self = list.userId
    const summary = list.rooms.find((r) => r.roomId === roomId)
    if (summary?.membership !== 'join') {
      throw new CliError(`you are not a member of ${roomId}${summary?.membership === undefined ? '' : ` (membership: ${summary.membership})`}`,
        summary?.membership === 'invite' ? `accept the invite first: keyroom room join '${roomId}'` : `join it first: keyroom room join '${roomId}'`)
    }
    name = summary.name
    members = (await client.request<{ members: RoomMember[] }>('room.members', { room: roomId })).members
    history = historyLimit === 0 ? [] : (await client.request<{ messages: RoomMessage[] }>('history', { room: roomId, limit: historyLimit })).messages
  } catch (err) {
    client.close()
    throw err
  }

  // ---- state
  const seen = new Set<string>()
  const joined = new Set(members.filter((m) => m.membership === 'join').map((m) => m.userId))
  let peers: PeerSummary[] | undefined
  let online = ''
  const catchingUp = new Map<string, number>()
  let caughtUpStored = 0
  const pending = new Set<Promise<void>>()

  const rl = createInterface({ input: io.stdin, ...(terminal && out !== undefined ? { output: out } : {}), terminal, crlfDelay: Infinity })
  const show = (text: string): void => {
    if (terminal && out !== undefined) {
      clearLine(out, 0)
      cursorTo(out, 0)
      out.write(text + '\n')
      rl.prompt(true)
    } else {
      io.stdout(text + '\n')
    }
  }
  const emit = (event: string, data: unknown): void => { io.stdout(JSON.stringify({ event, data }) + '\n') }
  const updatePrompt = (): void => {
    if (!terminal) return
    let fetched = 0
    for (const n of catchingUp.values()) fetched += n
    const state = catchingUp.size > 0 ? `[catching up ${fetched}] ` : peers !== undefined && peers.length === 0 ? '[offline] ' : ''
    rl.setPrompt(`${state}> `)
    rl.prompt(true)
  }
  const peerName = (peerId: string): string => shortId(peers?.find((p) => p.peerId === peerId)?.deviceId ?? peerId)
  const showMessage = (m: RoomMessage, time: 'date' | 'clock'): void => {
    if (seen.has(m.eventId)) return
    if (seen.size >= MAX_SEEN_IDS) seen.delete(seen.values().next().value!)
    seen.add(m.eventId)
    if (json) emit('message', m)
    else show(formatMessage(m, { self, time }))
  }
  const showOnline = (): void => {
    if (peers === undefined) return
    const users = new Set(peers.map((p) => p.userId).filter((u): u is string => u !== undefined))
    const others = [...joined].filter((u) => u !== self && users.has(u)).map((u) => shortId(u)).sort()
    const text = peers.length === 0
      ? 'offline: no peers connected; what you send is kept and reaches the room when a member connects'
      : `online: you${others.map((u) => `, ${u}`).join('')}${others.length === 0 ? ` (${peers.length} peer${peers.length === 1 ? '' : 's'} connected, no other member online)` : ''}`
    if (text === online) return
    online = text
    if (!json) show(`-- ${text}`)
    updatePrompt()
  }

  onEvent = (event: ControlEvent): void => {
    switch (event.event) {
      case 'message':
        showMessage(event.data as RoomMessage, 'clock')
        return
      case 'peers':
        peers = (event.data as { peers: PeerSummary[] }).peers
        if (json) emit('peers', event.data)
        showOnline()
        return
      case 'membership': {
        const m = event.data as MembershipChange
        if (m.membership === 'join') joined.add(m.userId)
        else joined.delete(m.userId)
        if (json) emit('membership', m)
        else show(`-- ${m.userId === self ? 'you' : shortId(m.userId)} ${membershipVerb(m)}`)
        online = ''
        showOnline()
        return
      }
      case 'sync': {
        const p = event.data as SyncProgress
        if (json) emit('sync', p)
        // Shown from the first batch fetched: a catch-up that finds nothing missing (or a peer
        // outside the room, which refuses) is not news.
        if (p.phase === 'started') return
        if (p.phase === 'fetched') {
          if (!catchingUp.has(p.peer) && !json) show(`-- catching up from ${peerName(p.peer)}`)
          catchingUp.set(p.peer, p.fetched)
        } else {
          if (!catchingUp.delete(p.peer)) return
          caughtUpStored += p.stored ?? 0
          if (p.phase === 'failed' && !json) show(`-- catch-up from ${peerName(p.peer)} failed: ${safeLine(p.error ?? 'unknown error')}`)
          if (catchingUp.size === 0 && !json) {
            show(`-- caught up${caughtUpStored > 0 ? `: ${caughtUpStored} new event${caughtUpStored === 1 ? '' : 's'}` : ''}`)
            caughtUpStored = 0
          }
        }
        updatePrompt()
      }
    }
  }

  // ---- the screen
  if (!json) {
    io.stdout(`chat in ${name === undefined ? roomId : `${safeLine(name)} (${roomId})`} as ${shortId(self)}\n`)
    io.stdout('type a message and press Enter; /who lists members, /quit leaves\n')
  }
  for (const m of history) showMessage(m, 'date')
  for (const event of early.splice(0)) onEvent(event)

  // A catch-up now, on a connection of its own (it may take a while; sends must not wait for it).
  void callNode(ctx, 'room.sync', { room: roomId }, { timeoutMs: 120_000 }).catch(() => {})

  const stopped = new Promise<'quit' | 'node-stopped'>((resolve) => {
    rl.on('close', () => { resolve('quit') })
    client.onClose(() => { resolve('node-stopped') })
  })
  const unlistenSignals = io.onStopSignal(() => { rl.close() })
  rl.on('line', (line) => {
    const text = line.trim()
    if (text === '') return
    if (text === '/quit' || text === '/exit') {
      rl.close()
      return
    }
    if (text === '/who') {
      online = ''
      showOnline()
      for (const userId of [...joined].sort()) show(`--   ${userId}${userId === self ? ' (you)' : ''}`)
      return
    }
    if (text.startsWith('/') && !text.startsWith('//')) {
      show(`-- unknown command ${safeLine(text.split(' ')[0] ?? '')}: /who, /quit (start a message with // to send a slash)`)
      return
    }
    const body = text.startsWith('//') ? line.trimEnd().replace(/^\s*\//u, '') : line.trimEnd()
    const sending = client.request<{ eventId: string }>('send', { room: roomId, body })
      .then((result) => { if (json) emit('sent', result) })
      .catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err)
        if (json) emit('error', { message })
        else show(`-- not sent: ${safeLine(message)}`)
      })
      .finally(() => { pending.delete(sending) })
    pending.add(sending)
  })
  updatePrompt()
  if (terminal) rl.prompt()

  const why = await stopped
  unlistenSignals()
  rl.close()
  await Promise.allSettled([...pending])
  client.close()
  if (why === 'node-stopped') {
    throw new CliError('the node stopped', "start it again with 'keyroom start', then reopen the chat")
  }
}

function membershipVerb (m: MembershipChange): string {
  switch (m.membership) {
    case 'join': return 'joined'
    case 'invite': return `was invited by ${shortId(m.sender)}`
    case 'leave': return m.sender === m.userId ? 'left' : `was removed by ${shortId(m.sender)}`
    case 'ban': return `was banned by ${shortId(m.sender)}`
    default: return `is now ${m.membership}`
  }
}
