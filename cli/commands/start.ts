/**
 * `keyroom start`: run the node in the foreground, and serve the control socket that every other
 * command uses (docs/cli.md).
 *
 * Order matters, for scripts and for restarts after a crash:
 * 1. the socket path is probed — a live node there is an error; a dead one's file is stale;
 * 2. the node starts (taking the database lock: from here on no other node uses this directory);
 * 3. a stale socket file is removed and the control socket listens;
 * 4. only then the ready line is printed (DESIGN §6: "`start` prints its ready line … only once the
 *    control socket accepts commands").
 * SIGINT/SIGTERM (or `keyroom stop`) stop it: no new connections, the node stops (releasing the
 * database), the socket closes, exit 0.
 */
import type { Command } from 'commander'
import { ErrorCode, KeyroomError } from '../../protocols/core/index.js'
import { dataDirOf } from '../context.js'
import type { CliContext } from '../context.js'
import { CliError, usageError } from '../errors.js'
import { readPassphrase } from '../passphrase.js'
import { serveControl } from '../control/server.js'
import type { ControlServer } from '../control/server.js'
import { controlSocketPath, probeSocket, removeStaleSocket } from '../control/socket-path.js'
import { shortId } from '../format.js'
import { packageVersion } from '../version.js'
import type { KeyroomNode, MembershipChange } from '../../node/index.js'
import type { PeerId } from '@libp2p/interface'

/** Options of `start`, as commander hands them over. */
interface StartOptions {
  listen?: string[]
  bootstrap?: string[]
  mdns: boolean
  passphraseFile?: string
}

/** Time the node gets to stop before `start` gives up on a clean stop. */
const STOP_TIMEOUT_MS = 15_000

/** Registers `start`. */
export function registerStartCommand (program: Command, ctx: CliContext): void {
  program
    .command('start')
    .description('run the node in the foreground (Ctrl-C or \'keyroom stop\' stops it)')
    .option('--listen <multiaddr...>', 'addresses to listen on (default: TCP and WebSockets on every IPv4 interface, ports chosen by the OS)')
    .option('--bootstrap <multiaddr...>', 'peers to connect to at start (multiaddrs ending in /p2p/<peer ID>)')
    .option('--no-mdns', 'do not look for peers on the local network (mDNS)')
    .option('--passphrase-file <file>', 'the passphrase of encrypted keys is in FILE (or set $KEYROOM_PASSPHRASE)')
    .addHelpText('after', `
Examples:
  keyroom --data-dir ./alice start
  keyroom --data-dir ./bob start --bootstrap /ip4/192.168.1.20/tcp/40123/p2p/12D3KooW…
  keyroom --data-dir ./carol --json start --listen /ip4/127.0.0.1/tcp/0 --no-mdns`)
    .action(async (options: StartOptions) => { await start(ctx, options) })
}

async function start (ctx: CliContext, options: StartOptions): Promise<void> {
  const { io } = ctx
  const json = ctx.globals().json === true
  const dataDir = dataDirOf(ctx)
  const socket = controlSocketPath(dataDir, io.platform)
  const listen = await checkAddresses(options.listen, '--listen', false)
  const bootstrap = await checkAddresses(options.bootstrap, '--bootstrap', true)
  const passphrase = await readPassphrase(ctx, options.passphraseFile)

  const { hasIdentity } = await import('../../store/index.js')
  if (!(await hasIdentity(dataDir))) {
    throw new KeyroomError(ErrorCode.NoIdentity, `no identity in ${dataDir}`, { hint: `create one first with 'keyroom --data-dir ${dataDir} init'` })
  }
  if (await probeSocket(socket) === 'live') {
    throw new KeyroomError(ErrorCode.NodeRunning, `a node is already running for ${dataDir}`, {
      hint: `use it ('keyroom --data-dir ${dataDir} status'), stop it ('keyroom --data-dir ${dataDir} stop'), or use another --data-dir`
    })
  }

  const { createNode } = await import('../../node/index.js')
  const node = await createNode({
    dataDir,
    createIdentity: false,
    mdns: options.mdns,
    ...(listen === undefined ? {} : { listen }),
    ...(bootstrap === undefined ? {} : { bootstrap }),
    ...(passphrase === undefined ? {} : { passphrase })
  })

  let requested!: () => void
  const stopRequested = new Promise<void>((resolve) => { requested = resolve })
  let stopping: Promise<void> | undefined
  let server: ControlServer | undefined
  const shutdown = async (): Promise<void> => {
    stopping ??= (async () => {
      requested()
      server?.stopAccepting()
      await withTimeout(node.stop(), STOP_TIMEOUT_MS)
    })()
    await stopping
  }

  let unlistenSignals = (): void => {}
  const watch = watchNode(ctx, node, json)
  try {
    // The database lock is ours now: a socket file left at the path belongs to a dead node.
    await removeStaleSocket(socket, io.platform)
    server = await serveControl({
      node,
      info: { dataDir, socket, pid: io.pid, version: packageVersion(), startedAt: Date.now(), now: Date.now },
      stop: shutdown,
      log: (line) => { io.stderr(line) }
    })
    unlistenSignals = io.onStopSignal((signal) => {
      if (!json) io.stderr(`\n${signal}: stopping…\n`)
      void shutdown().catch(() => {})
    })
    printReady(ctx, node, socket, dataDir)
    watch.announce()
    await stopRequested
    await shutdown()
  } catch (err) {
    if (stopping === undefined) await withTimeout(node.stop(), STOP_TIMEOUT_MS).catch(() => {})
    throw err
  } finally {
    watch.unwatch()
    unlistenSignals()
    await server?.close()
    await removeStaleSocket(socket, io.platform).catch(() => {})
  }
  if (json) io.stdout(JSON.stringify({ event: 'stopped' }) + '\n')
  else io.stdout('keyroom node stopped\n')
}

function printReady (ctx: CliContext, node: KeyroomNode, socket: string, dataDir: string): void {
  const { io } = ctx
  const multiaddrs = node.multiaddrs()
  if (ctx.globals().json === true) {
    io.stdout(JSON.stringify({ event: 'ready', userId: node.userId, deviceId: node.deviceId, peerId: node.peerId, multiaddrs, dataDir, socket, pid: io.pid }) + '\n')
    return
  }
  const first = multiaddrs.find((a) => a.includes('/tcp/') && !a.includes('/ws')) ?? multiaddrs[0]
  io.stdout([
    `keyroom node running for ${dataDir}`,
    `  user ID    ${node.userId}`,
    `  device ID  ${node.deviceId}`,
    ...multiaddrs.map((a, i) => `  ${i === 0 ? 'listening ' : '          '} ${a}`),
    '',
    ...(first === undefined ? [] : ['Other nodes can connect with:', `  keyroom start --bootstrap ${first}`, '']),
    `Commands reach this node through ${socket}.`,
    "Stop it with Ctrl-C or 'keyroom stop'.",
    ''
  ].join('\n'))
}

/** Prints what a foreground node's user wants to see: peers coming and going, invites arriving. */
function watchNode (ctx: CliContext, node: KeyroomNode, json: boolean): { announce: () => void, unwatch: () => void } {
  const { io } = ctx
  const line = (event: Record<string, unknown>, text: string): void => {
    io.stdout(json ? JSON.stringify(event) + '\n' : text + '\n')
  }
  // A PeerId is the device key: name the peer by its device ID, as everything else does.
  const deviceOf = (peerId: string): string | undefined => node.peers().find((p) => p.peerId === peerId)?.deviceId
  const connected = (peerId: string): void => {
    const deviceId = deviceOf(peerId)
    line({ event: 'peer:connect', peerId, ...(deviceId === undefined ? {} : { deviceId }) }, `peer connected: ${shortId(deviceId ?? peerId)}`)
  }
  const onConnect = (e: CustomEvent<PeerId>): void => { connected(e.detail.toString()) }
  const onDisconnect = (e: CustomEvent<PeerId>): void => {
    line({ event: 'peer:disconnect', peerId: e.detail.toString() }, `peer disconnected: ${shortId(e.detail.toString())}`)
  }
  const onMembership = (e: CustomEvent<MembershipChange>): void => {
    const m = e.detail
    if (m.direct !== true || m.membership !== 'invite') return
    line({ event: 'invite', roomId: m.roomId, sender: m.sender, eventId: m.eventId },
      `invited to room ${m.roomId} by ${m.sender}\n  accept with: keyroom room join '${m.roomId}'`)
  }
  return {
    /** From the ready line on: the peers already connected (the bootstrap list), then the news. */
    announce: () => {
      for (const p of node.peers()) connected(p.peerId)
      node.libp2p.addEventListener('peer:connect', onConnect)
      node.libp2p.addEventListener('peer:disconnect', onDisconnect)
      node.addEventListener('membership', onMembership)
    },
    unwatch: () => {
    node.libp2p.removeEventListener('peer:connect', onConnect)
    node.libp2p.removeEventListener('peer:disconnect', onDisconnect)
    node.removeEventListener('membership', onMembership)
    }
  }
}

/** Parses multiaddrs given on the command line; bootstrap addresses must name their peer. */
async function checkAddresses (list: string[] | undefined, flag: string, needPeer: boolean): Promise<string[] | undefined> {
  if (list === undefined) return undefined
  const { multiaddr } = await import('@multiformats/multiaddr')
  for (const text of list) {
    let peer: string | undefined
    try {
      peer = multiaddr(text).getComponents().find((c) => c.name === 'p2p')?.value
    } catch (err) {
      throw usageError(`${flag} ${text} is not a multiaddr (${err instanceof Error ? err.message : String(err)})`, 'a multiaddr looks like /ip4/127.0.0.1/tcp/4001')
    }
    if (needPeer && peer === undefined) {
      throw usageError(`${flag} ${text} does not name a peer`, "end it with /p2p/<peer ID>, as 'keyroom start' prints its addresses")
    }
  }
  return list
}

async function withTimeout (promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([promise, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new CliError(`the node did not stop within ${ms / 1000} s`, 'it is stopped now anyway: the process exits')) }, ms)
    })])
  } finally {
    clearTimeout(timer)
  }
}
