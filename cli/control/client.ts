/**
 * The commands' side of the control socket: connect to the running node of a data directory,
 * send requests, read responses and (after `subscribe`) events. Errors the node reports come back
 * as `KeyroomError`s with the node's code, message and hint.
 */
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { ErrorCode, KeyroomError } from '../../protocols/core/index.js'
import { CliError } from '../errors.js'
import { LineSplitter, MAX_RESPONSE_BYTES, encodeLine, parseServerLine } from './protocol.js'
import type { ControlEvent, ControlMethod, ControlResponse } from './protocol.js'

/** Time given to connecting to the control socket. */
export const CONNECT_TIMEOUT_MS = 5_000

/** Default time a request may take before the command gives up on the answer. */
export const REQUEST_TIMEOUT_MS = 30_000

/** Options of {@link connectControl}. */
export interface ConnectControlOptions {
  /** The data directory, named in the "no running node" error. */
  dataDir: string
  /** The socket path (see socket-path.ts). */
  path: string
}

/**
 * Connects to a running node. Throws `ERR_NO_RUNNING_NODE` (exit code 3) when nothing listens on
 * the socket — no file, or a stale file left by a killed node.
 */
export async function connectControl (options: ConnectControlOptions): Promise<ControlClient> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ path: options.path })
    const timer = setTimeout(() => {
      s.destroy()
      reject(new CliError(`the node for ${options.dataDir} does not accept connections`, "it may be busy or stuck; check its terminal, or restart it with 'keyroom start'"))
    }, CONNECT_TIMEOUT_MS)
    s.once('connect', () => {
      clearTimeout(timer)
      resolve(s)
    })
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK') {
        reject(new KeyroomError(ErrorCode.NoRunningNode, `no running node for ${options.dataDir}`, {
          hint: `start one with 'keyroom --data-dir ${options.dataDir} start' (it runs in the foreground: use another terminal)`
        }))
      } else if (err.code === 'EACCES' || err.code === 'EPERM') {
        reject(new CliError(`not allowed to use the control socket ${options.path}`, 'run the command as the user that started the node'))
      } else {
        reject(err)
      }
    })
  })
  return new ControlClient(socket)
}

interface Pending {
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
  timer: NodeJS.Timeout
  method: ControlMethod
}

/** A connection to a running node. */
export class ControlClient {
  readonly #socket: Socket
  readonly #splitter = new LineSplitter(MAX_RESPONSE_BYTES)
  readonly #pending = new Map<number, Pending>()
  readonly #eventHandlers: Array<(event: ControlEvent) => void> = []
  readonly #closeHandlers: Array<() => void> = []
  #nextId = 1
  #closed = false

  constructor (socket: Socket) {
    this.#socket = socket
    socket.on('data', (chunk: Buffer) => { this.#onData(chunk) })
    socket.on('error', () => {})
    socket.on('close', () => { this.#onClose() })
  }

  /** True once the connection is gone (the node stopped, or {@link close}). */
  get closed (): boolean {
    return this.#closed
  }

  /**
   * Sends a request and resolves to its result. Rejects with the node's error (a KeyroomError),
   * or a CliError when the node does not answer in `timeoutMs` or the connection closes.
   */
  async request<T = unknown> (method: ControlMethod, params: Record<string, unknown> = {}, options: { timeoutMs?: number } = {}): Promise<T> {
    if (this.#closed) throw new CliError('the node closed the connection', "check that it still runs with 'keyroom status'")
    const id = this.#nextId++
    const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new CliError(`the node did not answer ${method} within ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}`, "check the node's terminal and 'keyroom status'; peers may be slow to reach"))
      }, timeoutMs)
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer, method })
      this.#socket.write(encodeLine({ id, method, params }))
    })
  }

  /** Calls `handler` for every event line (after a `subscribe` request). */
  onEvent (handler: (event: ControlEvent) => void): void {
    this.#eventHandlers.push(handler)
  }

  /** Calls `handler` once the connection is gone. */
  onClose (handler: () => void): void {
    if (this.#closed) queueMicrotask(handler)
    else this.#closeHandlers.push(handler)
  }

  /** Closes the connection (pending requests are rejected). */
  close (): void {
    this.#socket.end()
    this.#socket.destroy()
    this.#onClose()
  }

  #onData (chunk: Buffer): void {
    let lines: string[]
    try {
      lines = this.#splitter.push(chunk)
    } catch (err) {
      this.#fail(err)
      return
    }
    for (const line of lines) {
      let message: ControlResponse | ControlEvent
      try {
        message = parseServerLine(line)
      } catch (err) {
        this.#fail(err)
        return
      }
      if ('event' in message) {
        for (const handler of this.#eventHandlers) handler(message)
        continue
      }
      if (typeof message.id !== 'number') {
        // An answer to no request: the node refused the connection as a whole.
        if (!message.ok) this.#fail(new KeyroomError(message.error.code, message.error.message, message.error.hint === undefined ? {} : { hint: message.error.hint }))
        continue
      }
      const pending = this.#pending.get(message.id)
      if (pending === undefined) continue
      this.#pending.delete(message.id)
      clearTimeout(pending.timer)
      if (message.ok) pending.resolve(message.result)
      else pending.reject(new KeyroomError(message.error.code, message.error.message, message.error.hint === undefined ? {} : { hint: message.error.hint }))
    }
  }

  #fail (err: unknown): void {
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id)
      clearTimeout(pending.timer)
      pending.reject(err)
    }
    this.#socket.destroy()
  }

  #onClose (): void {
    if (this.#closed) return
    this.#closed = true
    this.#fail(new CliError('the node closed the connection before answering', "it may have stopped; check with 'keyroom status'"))
    for (const handler of this.#closeHandlers.splice(0)) handler()
  }
}
