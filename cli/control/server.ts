/**
 * The daemon's side of the control socket (docs/cli.md): accepts local connections, reads
 * bounded request lines, answers each in order, and streams node events to subscribed
 * connections.
 *
 * Bounds, so a misbehaving local client cannot make the daemon buffer or work without limit:
 * request lines ({@link MAX_REQUEST_BYTES}), connections ({@link MAX_CONNECTIONS}), queued requests
 * per connection ({@link MAX_QUEUED_REQUESTS}) and unread events per subscriber
 * ({@link MAX_EVENT_BACKLOG_BYTES}). A request's work is abandoned (its signal aborted) when its
 * client hangs up.
 */
import { chmod } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import { ErrorCode, KeyroomError } from '../../protocols/core/index.js'
import { controlHandlers, resolveRoom } from './handlers.js'
import {
  LineSplitter, MAX_CONNECTIONS, MAX_EVENT_BACKLOG_BYTES, MAX_QUEUED_REQUESTS, MAX_REQUEST_BYTES, encodeLine, parseRequest, requestIdOf
} from './protocol.js'
import { SyncTracker } from './sync-tracker.js'
import type { ControlNode, DaemonInfo, HandledMethod, Handler } from './handlers.js'
import type { ControlError, ControlRequest, ControlResponse, RequestId } from './protocol.js'
import type { MembershipChange, PeerSummary, RoomMessage, SyncProgress } from '../../node/index.js'

/** Options of {@link serveControl}. */
export interface ControlServerInit {
  node: ControlNode
  info: DaemonInfo
  /** Stops the node and the daemon (the `stop` method); resolves once the node has stopped. */
  stop: () => Promise<void>
  /** Where unexpected errors are reported (the daemon's stderr). */
  log: (line: string) => void
  /** How often the connected peers are compared for `peers` events, ms (default 1000). */
  peersPollMs?: number
}

/** A listening control socket. */
export interface ControlServer {
  /** The socket path (or pipe name). */
  readonly path: string
  /** What `status` reports about catch-up. */
  readonly sync: SyncTracker
  /** Stop accepting connections; the ones open keep being served. */
  stopAccepting: () => void
  /** Finish the requests in flight (briefly), close every connection, stop listening. Idempotent. */
  close: () => Promise<void>
}

/** Time `close()` gives requests in flight to finish before their connections are cut. */
const CLOSE_GRACE_MS = 3_000

/**
 * Listens on `info.socket` (which must not exist: remove a stale one first). On Unix the socket is
 * created with mode 0600 — the process umask is narrowed around the bind so there is no window
 * with a wider mode — and chmod'ed again after, for file systems that ignore the umask on sockets.
 */
export async function serveControl (init: ControlServerInit): Promise<ControlServer> {
  const { node, info, log } = init
  const sync = new SyncTracker(node, info.now)
  const handlers = controlHandlers({ node, info, sync, stop: init.stop })
  const connections = new Set<Connection>()
  const server = createServer({ allowHalfOpen: false })

  // ---- events to subscribers
  const subscribers = (): Connection[] => [...connections].filter((c) => c.subscription !== undefined)
  const forward = (name: string, roomId: string | undefined, data: unknown): void => {
    for (const c of subscribers()) {
      if (roomId === undefined || c.subscription?.roomId === undefined || c.subscription.roomId === roomId) c.sendEvent(name, data)
    }
  }
  const onMessage = (e: CustomEvent<RoomMessage>): void => { forward('message', e.detail.roomId, e.detail) }
  const onMembership = (e: CustomEvent<MembershipChange>): void => { forward('membership', e.detail.roomId, e.detail) }
  const onSync = (e: CustomEvent<SyncProgress>): void => { forward('sync', e.detail.roomId, e.detail) }
  node.addEventListener('message', onMessage)
  node.addEventListener('membership', onMembership)
  node.addEventListener('sync', onSync)
  let lastPeers = ''
  const peersNow = (): PeerSummary[] => {
    try {
      return node.peers()
    } catch {
      return []
    }
  }
  const peersTimer = setInterval(() => {
    if (subscribers().length === 0) return
    const peers = peersNow()
    const text = JSON.stringify(peers)
    if (text === lastPeers) return
    lastPeers = text
    forward('peers', undefined, { peers })
  }, init.peersPollMs ?? 1_000)
  peersTimer.unref()

  const subscribe: Handler = async (params) => {
    const ref = params.room
    if (ref !== undefined && typeof ref !== 'string') {
      throw new KeyroomError(ErrorCode.ControlBadRequest, 'expected params.room to be a string', { hint: 'see docs/cli.md for the control protocol' })
    }
    const roomId = ref === undefined ? undefined : await resolveRoom(node, ref)
    return { roomId }
  }

  server.on('connection', (socket) => {
    if (connections.size >= MAX_CONNECTIONS) {
      socket.end(encodeLine(errorResponse(null, new KeyroomError(ErrorCode.ControlBadRequest, `the node serves at most ${MAX_CONNECTIONS} control connections at once`, { hint: 'close other keyroom commands (chat) and retry' }))))
      return
    }
    const connection = new Connection(socket, async (request, call) => {
      if (request.method === 'subscribe') {
        const result = await subscribe(request.params, call) as { roomId: string | undefined }
        connection.subscription = result.roomId === undefined ? {} : { roomId: result.roomId }
        // The current peers right away, so a client knows at once whether it is online.
        setImmediate(() => { connection.sendEvent('peers', { peers: peersNow() }) })
        return result
      }
      return await handlers[request.method as HandledMethod](request.params, call)
    }, log)
    connections.add(connection)
    socket.on('close', () => { connections.delete(connection) })
  })

  await listen(server, info.socket)
  if (process.platform !== 'win32') await chmod(info.socket, 0o600)

  let closing: Promise<void> | undefined
  return {
    path: info.socket,
    sync,
    stopAccepting: () => { if (server.listening) server.close() },
    close: async () => {
      closing ??= (async () => {
        if (server.listening) server.close()
        clearInterval(peersTimer)
        node.removeEventListener('message', onMessage)
        node.removeEventListener('membership', onMembership)
        node.removeEventListener('sync', onSync)
        sync.close()
        const deadline = Date.now() + CLOSE_GRACE_MS
        while ([...connections].some((c) => c.busy) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
        await Promise.all([...connections].map(async (c) => { await c.close() }))
      })()
      await closing
    }
  }
}

async function listen (server: Server, path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    let restore: number | undefined
    try {
      // Worker threads may not change the umask; the chmod after listen still applies.
      restore = process.umask(0o177)
    } catch {
      restore = undefined
    }
    try {
      server.listen({ path, exclusive: true }, () => {
        server.off('error', reject)
        resolve()
      })
    } finally {
      if (restore !== undefined) process.umask(restore)
    }
  })
}

function errorResponse (id: RequestId | null, err: unknown): ControlResponse {
  return { id, ok: false, error: toControlError(err) }
}

/** An error as the protocol carries it; anything but a KeyroomError is an internal error. */
export function toControlError (err: unknown): ControlError {
  if (err instanceof KeyroomError) return { code: err.code, message: err.message, ...(err.hint === undefined ? {} : { hint: err.hint }) }
  return { code: 'ERR_INTERNAL', message: `internal error in the node: ${err instanceof Error ? err.message : String(err)}`, hint: "the node's own output (where 'keyroom start' runs) may say more" }
}

/** One client connection: its line reader, its request queue (answered in order), its events. */
class Connection {
  subscription: { roomId?: string } | undefined
  busy = false
  readonly #socket: Socket
  readonly #splitter = new LineSplitter(MAX_REQUEST_BYTES)
  readonly #queue: string[] = []
  readonly #abort = new AbortController()
  readonly #serve: (request: ControlRequest, call: { signal: AbortSignal }) => Promise<unknown>
  readonly #log: (line: string) => void

  constructor (socket: Socket, serve: (request: ControlRequest, call: { signal: AbortSignal }) => Promise<unknown>, log: (line: string) => void) {
    this.#socket = socket
    this.#serve = serve
    this.#log = log
    socket.on('data', (chunk: Buffer) => { this.#onData(chunk) })
    socket.on('error', () => {})
    socket.on('close', () => { this.#abort.abort(new KeyroomError(ErrorCode.NotStarted, 'the client hung up')) })
  }

  #onData (chunk: Buffer): void {
    let lines: string[]
    try {
      lines = this.#splitter.push(chunk)
    } catch (err) {
      // The rest of an oversized line cannot be told from the next request: answer and hang up.
      this.#write(errorResponse(null, err))
      this.#socket.end()
      this.#socket.pause()
      return
    }
    this.#queue.push(...lines)
    if (this.#queue.length > MAX_QUEUED_REQUESTS) {
      this.#queue.length = 0
      this.#write(errorResponse(null, new KeyroomError(ErrorCode.ControlBadRequest, `more than ${MAX_QUEUED_REQUESTS} requests queued on one connection`, { hint: 'wait for answers before sending more' })))
      this.#socket.end()
      this.#socket.pause()
      return
    }
    void this.#pump()
  }

  async #pump (): Promise<void> {
    if (this.busy) return
    this.busy = true
    try {
      let line: string | undefined
      while ((line = this.#queue.shift()) !== undefined) {
        if (this.#socket.destroyed) return
        let request: ControlRequest
        try {
          request = parseRequest(line)
        } catch (err) {
          this.#write(errorResponse(requestIdOf(err), err))
          continue
        }
        try {
          const result = await this.#serve(request, { signal: this.#abort.signal })
          this.#write({ id: request.id, ok: true, result: result ?? null })
        } catch (err) {
          if (!(err instanceof KeyroomError)) this.#log(`keyroom: ${request.method} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
          this.#write(errorResponse(request.id, err))
        }
      }
    } finally {
      this.busy = false
    }
  }

  sendEvent (name: string, data: unknown): void {
    if (this.#socket.destroyed) return
    // A subscriber that stopped reading is dropped, not buffered for.
    if (this.#socket.writableLength > MAX_EVENT_BACKLOG_BYTES) {
      this.#socket.destroy()
      return
    }
    this.#socket.write(encodeLine({ event: name, data }))
  }

  #write (response: ControlResponse): void {
    if (!this.#socket.destroyed && this.#socket.writable) this.#socket.write(encodeLine(response))
  }

  async close (): Promise<void> {
    if (this.#socket.destroyed) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { this.#socket.destroy() }, 500)
      this.#socket.once('close', () => {
        clearTimeout(timer)
        resolve()
      })
      this.#socket.end()
    })
  }
}
