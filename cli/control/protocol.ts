/**
 * The control protocol between `keyroom start` (the daemon) and the other commands: line-delimited
 * JSON over a local socket (docs/cli.md). One request per line, one response per request, in order;
 * after `subscribe`, event lines interleave with responses on that connection.
 *
 * ```
 * → {"id":1,"method":"send","params":{"room":"!…","body":"hi"}}
 * ← {"id":1,"ok":true,"result":{"eventId":"$…"}}
 * ← {"id":2,"ok":false,"error":{"code":"ERR_UNKNOWN_ROOM","message":"…","hint":"…"}}
 * ← {"event":"message","data":{…}}
 * ```
 *
 * Everything read from the socket goes through the parsers here (validate once, at the edge).
 */
import { ErrorCode, KeyroomError } from '../../protocols/core/index.js'

/** Version of this protocol, reported by `hello`. Bumped on any incompatible change. */
export const CONTROL_PROTOCOL_VERSION = 1

/**
 * Longest request line the daemon reads, in bytes (the newline excluded). A message body is at
 * most one event (Matrix caps events at 64 KiB); JSON escaping can double it, so 256 KiB leaves room
 * without letting a client make the daemon buffer without bound.
 */
export const MAX_REQUEST_BYTES = 256 * 1024

/**
 * Longest response or event line a client reads, in bytes. `history` returns at most 1000 messages
 * of at most 64 KiB each (escaped); beyond this the daemon is not speaking this protocol.
 */
export const MAX_RESPONSE_BYTES = 160 * 1024 * 1024

/** Connections the daemon serves at once; more are answered with an error and closed. */
export const MAX_CONNECTIONS = 64

/** Requests one connection may have queued (read, not answered yet) before it is closed. */
export const MAX_QUEUED_REQUESTS = 32

/**
 * Bytes of events the daemon lets pile up unread on one subscribed connection before dropping it:
 * a client that stops reading must not make the daemon buffer its rooms' traffic for ever.
 */
export const MAX_EVENT_BACKLOG_BYTES = 8 * 1024 * 1024

/** Every method of the protocol. */
export const CONTROL_METHODS = [
  'hello', 'status', 'stop', 'connect',
  'room.create', 'room.invite', 'room.join', 'room.leave', 'room.kick', 'room.ban', 'room.unban', 'room.name', 'room.topic', 'room.power', 'room.members', 'room.list', 'room.link', 'room.sync',
  'send', 'history', 'whois', 'device.list', 'device.link', 'device.revoke',
  'subscribe'
] as const

/** A method name. */
export type ControlMethod = typeof CONTROL_METHODS[number]

/** A request id: a number or a string, echoed in the response. */
export type RequestId = number | string

/** A request as read from a line. */
export interface ControlRequest {
  id: RequestId
  method: ControlMethod
  params: Record<string, unknown>
}

/** An error as it travels in a response. */
export interface ControlError {
  code: string
  message: string
  hint?: string
}

/** A response line. */
export type ControlResponse =
  | { id: RequestId | null, ok: true, result: unknown }
  | { id: RequestId | null, ok: false, error: ControlError }

/** An event line (after `subscribe`). */
export interface ControlEvent {
  event: string
  data: unknown
}

function badRequest (message: string): KeyroomError {
  return new KeyroomError(ErrorCode.ControlBadRequest, message, { hint: 'see docs/cli.md for the control protocol' })
}

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'string' ? 'a string' : typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

/**
 * Parses one request line. Throws `ERR_CONTROL_BAD_REQUEST` (with the request's id when it could
 * be read, in `id`) for anything but `{"id": number|string, "method": <known>, "params"?: object}`.
 */
export function parseRequest (line: string): ControlRequest {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    throw badRequest('the request is not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest(`expected a request object, got ${describe(value)}`)
  const { id, method, params } = value as Record<string, unknown>
  if (!(typeof id === 'number' && Number.isSafeInteger(id)) && !(typeof id === 'string' && id.length <= 64)) {
    throw badRequest(`expected "id" to be an integer or a short string, got ${describe(id)}`)
  }
  const withId = (err: KeyroomError): KeyroomError => Object.assign(err, { requestId: id })
  if (typeof method !== 'string' || !(CONTROL_METHODS as readonly string[]).includes(method)) {
    throw withId(badRequest(typeof method === 'string' ? `unknown method ${JSON.stringify(method.slice(0, 40))}` : `expected "method" to be a string, got ${describe(method)}`))
  }
  if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
    throw withId(badRequest(`expected "params" to be an object, got ${describe(params)}`))
  }
  return { id, method: method as ControlMethod, params: (params ?? {}) as Record<string, unknown> }
}

/** The request id an error from {@link parseRequest} carries, if the line had a readable one. */
export function requestIdOf (err: unknown): RequestId | null {
  const id = (err as { requestId?: unknown } | null)?.requestId
  return typeof id === 'number' || typeof id === 'string' ? id : null
}

/** Parses one line read by a client: a response or an event. Throws `ERR_CONTROL_BAD_REQUEST` otherwise. */
export function parseServerLine (line: string): ControlResponse | ControlEvent {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    throw new KeyroomError(ErrorCode.ControlBadRequest, 'the node sent a line that is not JSON', { hint: 'is the socket a keyroom control socket of the same version?' })
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const v = value as Record<string, unknown>
    if (typeof v.event === 'string') return { event: v.event, data: v.data }
    const id = typeof v.id === 'number' || typeof v.id === 'string' ? v.id : null
    if (v.ok === true) return { id, ok: true, result: v.result }
    const error = v.error as Record<string, unknown> | undefined
    if (v.ok === false && typeof error?.code === 'string' && typeof error.message === 'string') {
      return { id, ok: false, error: { code: error.code, message: error.message, ...(typeof error.hint === 'string' ? { hint: error.hint } : {}) } }
    }
  }
  throw new KeyroomError(ErrorCode.ControlBadRequest, 'the node sent a line that is neither a response nor an event', { hint: 'is the socket a keyroom control socket of the same version?' })
}

/** One line of JSON (the protocol's framing): `JSON.stringify` never emits a raw newline. */
export function encodeLine (value: unknown): string {
  return JSON.stringify(value) + '\n'
}

/**
 * Splits a byte stream into lines, refusing any line longer than `maxBytes`. `push` returns the
 * complete lines in the chunk; it throws `ERR_CONTROL_REQUEST_TOO_LARGE` as soon as the pending
 * line passes the bound, so an endless line is never buffered whole.
 */
export class LineSplitter {
  readonly #maxBytes: number
  #pending: Buffer[] = []
  #pendingBytes = 0

  constructor (maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  push (chunk: Buffer): string[] {
    const lines: string[] = []
    let start = 0
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start)
      const end = nl < 0 ? chunk.length : nl
      const piece = chunk.subarray(start, end)
      if (this.#pendingBytes + piece.length > this.#maxBytes) {
        this.#pending = []
        this.#pendingBytes = 0
        throw new KeyroomError(ErrorCode.ControlRequestTooLarge, `a line is longer than ${this.#maxBytes} bytes`, { hint: 'send a shorter message' })
      }
      if (nl < 0) {
        this.#pending.push(Buffer.from(piece))
        this.#pendingBytes += piece.length
        break
      }
      const line = Buffer.concat([...this.#pending, piece]).toString('utf8').replace(/\r$/u, '')
      this.#pending = []
      this.#pendingBytes = 0
      if (line.trim() !== '') lines.push(line)
      start = nl + 1
    }
    return lines
  }
}
