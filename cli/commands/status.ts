/**
 * The running node as a whole: `status` (addresses, peers, rooms, sync), `stop`, and `connect`
 * (dial a peer now, e.g. one that started after this node).
 */
import type { Command } from 'commander'
import type { CliContext } from '../context.js'
import { usageError } from '../errors.js'
import { formatDuration, pad, safeLine, shortId } from '../format.js'
import { callNode, output } from '../node-call.js'
import type { SyncSnapshot } from '../control/sync-tracker.js'
import type { PeerSummary, RoomSummary } from '../../node/index.js'

/** What the node answers to `status` (docs/cli.md). */
export interface StatusResult {
  protocol: number
  version: string
  pid: number
  dataDir: string
  socket: string
  startedAt: number
  uptimeMs: number
  userId: string
  deviceId: string
  peerId: string
  multiaddrs: string[]
  peers: PeerSummary[]
  rooms: Array<RoomSummary & { joinedMembers?: number }>
  sync: SyncSnapshot
}

/** Registers `status`, `stop` and `connect`. */
export function registerStatusCommands (program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('show the running node: addresses, peers, rooms, catch-up')
    .action(async () => {
      const status = await callNode<StatusResult>(ctx, 'status')
      output(ctx, status, () => formatStatus(status))
    })

  program
    .command('stop')
    .description('stop the running node (as Ctrl-C in its terminal would)')
    .action(async () => {
      const result = await callNode<{ stopped: boolean }>(ctx, 'stop')
      output(ctx, result, () => 'keyroom node stopped')
    })

  program
    .command('connect')
    .description('connect the running node to peers now')
    .argument('<multiaddr...>', 'addresses ending in /p2p/<peer ID> (as \'keyroom start\' prints them)')
    .action(async (addresses: string[]) => {
      for (const a of addresses) {
        if (!a.startsWith('/')) throw usageError(`${a} is not a multiaddr`, 'a multiaddr looks like /ip4/192.168.1.20/tcp/40123/p2p/12D3KooW…')
      }
      const result = await callNode<{ connected: string[], peers: PeerSummary[] }>(ctx, 'connect', { addresses })
      output(ctx, result, () => `connected; ${result.peers.length} peer${result.peers.length === 1 ? '' : 's'} now`)
    })
}

function formatStatus (s: StatusResult): string {
  const lines = [
    `node       running for ${formatDuration(s.uptimeMs)} (pid ${s.pid}, keyroom ${s.version})`,
    `data dir   ${s.dataDir}`,
    `user ID    ${s.userId}`,
    `device ID  ${s.deviceId}`,
    ...s.multiaddrs.map((a, i) => `${i === 0 ? 'listening ' : '          '} ${a}`)
  ]
  if (s.peers.length === 0) lines.push('peers      none connected (offline): start another node with --bootstrap, or \'keyroom connect ADDRESS\'')
  else {
    lines.push(`peers      ${s.peers.length} connected`)
    for (const p of s.peers) lines.push(`           ${pad(p.deviceId === undefined ? shortId(p.peerId) : shortId(p.deviceId), 12)} ${p.userId === undefined ? '(user not known yet)' : p.userId}`)
  }
  const joined = s.rooms.filter((r) => r.membership === 'join').length
  const invited = s.rooms.filter((r) => r.membership === 'invite').length
  lines.push(`rooms      ${s.rooms.length} (${joined} joined, ${invited} invited)`)
  for (const r of s.rooms) {
    const members = r.joinedMembers === undefined ? '' : `  ${r.joinedMembers} member${r.joinedMembers === 1 ? '' : 's'}`
    lines.push(`           ${r.roomId}  ${pad(r.membership ?? '-', 6)}  ${r.name === undefined ? '' : safeLine(r.name)}${members}`)
  }
  if (s.sync.state === 'catching-up') {
    lines.push(`sync       catching up (${s.sync.active.length})`)
    for (const a of s.sync.active) lines.push(`           ${a.roomId} from ${shortId(a.peer)}: ${a.fetched} events so far`)
  } else {
    // A room is behind only if no peer's last catch-up of it succeeded (peers outside a room refuse).
    const caughtUp = new Set(s.sync.last.filter((l) => l.phase === 'done').map((l) => l.roomId))
    const failed = new Map(s.sync.last.filter((l) => l.phase === 'failed' && !caughtUp.has(l.roomId)).map((l) => [l.roomId, l]))
    lines.push(`sync       idle, no catch-up running${failed.size === 0 ? '' : ` (no peer could catch up ${failed.size} room${failed.size === 1 ? '' : 's'})`}`)
    for (const f of failed.values()) lines.push(`           ${f.roomId}: ${safeLine(f.error ?? 'failed')}`)
  }
  return lines.join('\n')
}
