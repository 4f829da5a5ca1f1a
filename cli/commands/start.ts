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
import { spawn } from 'node:child_process'
import { open, readFile } from 'node:fs/promises'
import { join as joinPath, resolve as resolvePath } from 'node:path'
import type { Command } from 'commander'
import { ErrorCode, KeyroomError, formatDeviceId } from '../../protocols/core/index.js'
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
  detach?: boolean
  link?: boolean
}

/** The log of a node started with `--detach`, in its data directory. */
export const DETACHED_LOG_NAME = 'node.log'

/** Time `start --detach` waits for the background node to accept commands. */
const DETACH_READY_TIMEOUT_MS = 60_000

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
    .option('--link', 'a new device of an existing user: show a keyroom:link/… text, wait until a device holding the user key links it (\'keyroom device link\'), then run')
    .option('--detach', `run the node in the background (its output goes to ${DETACHED_LOG_NAME} in the data directory); returns once it accepts commands`)
    .addHelpText('after', `
Examples:
  keyroom --data-dir ./alice start
  keyroom --data-dir ./alice start --detach
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
  const identity = await hasIdentity(dataDir)
  if (options.link === true) {
    if (identity) {
      throw new KeyroomError(ErrorCode.IdentityExists, `${dataDir} already has an identity: it is a device already`, {
        hint: `start it without --link, or give the new device a data directory of its own`
      })
    }
    if (options.detach === true) throw usageError('--link runs in the foreground: it shows the link to enter on your other device', 'leave out --detach')
  } else if (!identity) {
    throw new KeyroomError(ErrorCode.NoIdentity, `no identity in ${dataDir}`, {
      hint: `create one first with 'keyroom --data-dir ${dataDir} init' (or make this a device of an existing user with 'keyroom start --link')`
    })
  }
  if (await probeSocket(socket) === 'live') {
    throw new KeyroomError(ErrorCode.NodeRunning, `a node is already running for ${dataDir}`, {
      hint: `use it ('keyroom --data-dir ${dataDir} status'), stop it ('keyroom --data-dir ${dataDir} stop'), or use another --data-dir`
    })
  }

  if (options.detach === true) {
    await detach(ctx, dataDir, socket, options)
    return
  }

  const { createNode } = await import('../../node/index.js')
  // While a new device waits to be linked, Ctrl-C gives up waiting (the same link works next time).
  const giveUp = new AbortController()
  const unlistenWaiting = options.link === true ? io.onStopSignal(() => { giveUp.abort() }) : () => {}
  let node: KeyroomNode
  try {
    node = await createNode({
      dataDir,
      createIdentity: false,
      mdns: options.mdns,
      ...(listen === undefined ? {} : { listen }),
      ...(bootstrap === undefined ? {} : { bootstrap }),
      ...(passphrase === undefined ? {} : { passphrase }),
      ...(options.link === true ? { link: { onRequest: (request: LinkShown) => { printLinkRequest(ctx, request) }, signal: giveUp.signal } } : {})
    })
  } catch (err) {
    if (giveUp.signal.aborted) throw new CliError('stopped waiting to be linked', 'run the same command again when ready: the same link still works')
    throw err
  } finally {
    unlistenWaiting()
  }

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

/** What a waiting device shows (node/link-request.ts `LinkRequest`). */
interface LinkShown {
  readonly text: string
  readonly deviceId: string
  readonly multiaddrs: readonly string[]
}

function printLinkRequest (ctx: CliContext, request: LinkShown): void {
  if (ctx.globals().json === true) {
    ctx.io.stdout(JSON.stringify({ event: 'link', text: request.text, deviceId: request.deviceId, multiaddrs: request.multiaddrs }) + '\n')
    return
  }
  ctx.io.stdout([
    `This device (${request.deviceId}) is not linked to a user yet.`,
    'On a device that holds your user key (the first one, or one restored with init --recover), run:',
    '',
    `  keyroom device link '${request.text}'`,
    '',
    'Waiting to be linked… (Ctrl-C gives up; the same link works next time)',
    ''
  ].join('\n'))
}

function printReady (ctx: CliContext, node: KeyroomNode, socket: string, dataDir: string): void {
  const { io } = ctx
  const multiaddrs = node.multiaddrs()
  if (ctx.globals().json === true) {
    io.stdout(JSON.stringify({ event: 'ready', userId: node.userId, deviceId: node.deviceId, peerId: node.peerId, multiaddrs, dataDir, socket, pid: io.pid }) + '\n')
    return
  }
  io.stdout([
    `keyroom node running for ${dataDir}`,
    `  user ID    ${node.userId}`,
    `  device ID  ${node.deviceId}`,
    ...readyAddresses(multiaddrs),
    `Commands reach this node through ${socket}.`,
    "Stop it with Ctrl-C or 'keyroom stop'.",
    ''
  ].join('\n'))
}

/** The addresses, then how other nodes connect: a loopback one for this machine, another for the LAN. */
function readyAddresses (multiaddrs: string[]): string[] {
  const tcp = multiaddrs.filter((a) => a.includes('/tcp/') && !a.includes('/ws'))
  const local = tcp.find((a) => a.startsWith('/ip4/127.') || a.startsWith('/ip6/::1/'))
  const lan = tcp.find((a) => a !== local)
  return [
    ...multiaddrs.map((a, i) => `  ${i === 0 ? 'listening ' : '          '} ${a}`),
    '',
    ...(local === undefined && lan === undefined ? [] : ['Other nodes can connect with:']),
    ...(local === undefined ? [] : [`  keyroom start --bootstrap ${local}${lan === undefined ? '' : '   (on this machine)'}`]),
    ...(lan === undefined ? [] : [`  keyroom start --bootstrap ${lan}${local === undefined ? '' : '   (from other machines)'}`]),
    ''
  ]
}

/** Prints what a foreground node's user wants to see: peers coming and going, invites arriving. */
function watchNode (ctx: CliContext, node: KeyroomNode, json: boolean): { announce: () => void, unwatch: () => void } {
  const { io } = ctx
  const line = (event: Record<string, unknown>, text: string): void => {
    io.stdout(json ? JSON.stringify(event) + '\n' : text + '\n')
  }
  // A PeerId is the device key: name the peer by its device ID, as everything else does.
  const deviceOf = (peer: PeerId): string | undefined => {
    const key = peer.publicKey?.raw
    if (key === undefined) return undefined
    try {
      return formatDeviceId(key)
    } catch {
      return undefined
    }
  }
  const peerLine = (event: 'peer:connect' | 'peer:disconnect', peer: PeerId): void => {
    const peerId = peer.toString()
    const deviceId = deviceOf(peer)
    line({ event, peerId, ...(deviceId === undefined ? {} : { deviceId }) },
      `peer ${event === 'peer:connect' ? 'connected' : 'disconnected'}: ${shortId(deviceId ?? peerId)}`)
  }
  const onConnect = (e: CustomEvent<PeerId>): void => { peerLine('peer:connect', e.detail) }
  const onDisconnect = (e: CustomEvent<PeerId>): void => { peerLine('peer:disconnect', e.detail) }
  const onMembership = (e: CustomEvent<MembershipChange>): void => {
    const m = e.detail
    if (m.direct !== true || m.membership !== 'invite') return
    line({ event: 'invite', roomId: m.roomId, sender: m.sender, eventId: m.eventId },
      `invited to room ${m.roomId} by ${m.sender}\n  accept with: keyroom room join '${m.roomId}'`)
  }
  return {
    /** From the ready line on: the peers already connected (the bootstrap list), then the news. */
    announce: () => {
      for (const peer of node.libp2p.getPeers()) peerLine('peer:connect', peer)
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

/**
 * `start --detach`: the same command without `--detach`, as a detached child whose output goes to
 * the data directory's log; returns once the child's control socket accepts commands (the same
 * moment the foreground node prints its ready line), or fails with the child's own error.
 */
async function detach (ctx: CliContext, dataDir: string, socket: string, options: StartOptions): Promise<void> {
  const { io } = ctx
  if (io.selfCommand === undefined) throw new CliError('--detach is not available when keyroom runs inside another program', 'run the keyroom executable')
  const logPath = joinPath(dataDir, DETACHED_LOG_NAME)
  const log = await open(logPath, 'a', 0o600)
  const offset = (await log.stat()).size
  const args = [
    ...io.selfCommand, '--data-dir', dataDir, 'start',
    ...(options.listen === undefined ? [] : ['--listen', ...options.listen]),
    ...(options.bootstrap === undefined ? [] : ['--bootstrap', ...options.bootstrap]),
    ...(options.mdns ? [] : ['--no-mdns']),
    ...(options.passphraseFile === undefined ? [] : ['--passphrase-file', resolvePath(io.cwd, options.passphraseFile)])
  ]
  let exitCode: number | null | undefined
  try {
    const child = spawn(args[0]!, args.slice(1), { cwd: io.cwd, env: { ...io.env }, detached: true, stdio: ['ignore', log.fd, log.fd] })
    child.once('exit', (code, signal) => { exitCode = code ?? (signal === null ? -1 : 128) })
    child.once('error', () => { exitCode = -1 })
    child.unref()
    const deadline = Date.now() + DETACH_READY_TIMEOUT_MS
    while (exitCode === undefined && await probeSocket(socket) !== 'live') {
      if (Date.now() > deadline) {
        throw new CliError(`the background node did not accept commands within ${DETACH_READY_TIMEOUT_MS / 1000} s`, `see ${logPath}; stop it with 'keyroom --data-dir ${dataDir} stop'`)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } finally {
    await log.close()
  }
  if (exitCode !== undefined) {
    // The child failed before it was ready: its own error is the last lines it wrote.
    const written = (await readFile(logPath)).subarray(offset).toString('utf8').trim().split('\n')
    const message = written.find((l) => l.startsWith('keyroom: '))?.slice('keyroom: '.length)
    const hint = written.find((l) => l.startsWith('hint: '))?.slice('hint: '.length)
    throw new CliError(message ?? `the background node exited with code ${exitCode}`, hint ?? `see ${logPath}`)
  }
  const { callNode } = await import('../node-call.js')
  const status = await callNode<{ userId: string, deviceId: string, peerId: string, multiaddrs: string[], pid: number }>(ctx, 'status')
  if (ctx.globals().json === true) {
    io.stdout(JSON.stringify({ event: 'ready', userId: status.userId, deviceId: status.deviceId, peerId: status.peerId, multiaddrs: status.multiaddrs, dataDir, socket, pid: status.pid, log: logPath }) + '\n')
    return
  }
  io.stdout([
    `keyroom node running in the background for ${dataDir} (pid ${status.pid})`,
    `  user ID    ${status.userId}`,
    `  device ID  ${status.deviceId}`,
    ...readyAddresses(status.multiaddrs),
    `Its output goes to ${logPath}. Stop it with 'keyroom --data-dir ${dataDir} stop'.`,
    ''
  ].join('\n'))
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
