/**
 * The invite service: bounded inbound handler (admission, one frame in, the port, one frame out)
 * and the cancellable delivering client.
 */
import { serviceCapabilities } from '@libp2p/interface'
import { ErrorCode, KeyroomError, canonicalJsonBytes, parseJson } from '../core/index.js'
import { FrameReader, InflightQuota, encodeFrame, finishWithFrame } from '../sync/index.js'
import {
  INVITE_INBOUND_TIMEOUT_MS, INVITE_OUTBOUND_TIMEOUT_MS, INVITE_PROTOCOL, MAX_ANSWER_BYTES, MAX_ERROR_TEXT, MAX_INBOUND_INVITES_PER_PEER,
  MAX_INBOUND_INVITES_TOTAL, MAX_INVITE_BYTES, MAX_INVITE_STREAMS_PER_CONNECTION
} from './constants.js'
import type { InviteComponents, InviteDelivery, InviteInit } from './index.js'
import type { AbortOptions, Connection, DialTarget, Logger, Startable, Stream } from '@libp2p/interface'

/** The answer codes on the wire. */
type AnswerCode = 'K_BAD_REQUEST' | 'K_FORBIDDEN' | 'K_LIMIT_EXCEEDED' | 'K_UNKNOWN'

function answer (errcode?: AnswerCode, error?: string): Uint8Array {
  return canonicalJsonBytes(errcode === undefined ? { ok: true } : { errcode, error: (error ?? '').slice(0, MAX_ERROR_TEXT) })
}

/** The {@link InviteDelivery} implementation. */
export class InviteService implements InviteDelivery, Startable {
  readonly protocol = INVITE_PROTOCOL
  readonly #components: InviteComponents
  readonly #init: InviteInit
  readonly #log: Logger
  readonly #inflight: InflightQuota
  #started = false

  readonly [Symbol.toStringTag] = '@keyroom/invite'
  readonly [serviceCapabilities] = ['@keyroom/invite']

  constructor (components: InviteComponents, init: InviteInit) {
    this.#components = components
    this.#init = init
    this.#inflight = new InflightQuota(MAX_INBOUND_INVITES_PER_PEER, MAX_INBOUND_INVITES_TOTAL)
    this.#log = components.logger.forComponent('keyroom:invite')
  }

  async start (): Promise<void> {
    await this.#components.registrar.handle(this.protocol, (stream, connection) => this.#onStream(stream, connection), {
      maxInboundStreams: MAX_INVITE_STREAMS_PER_CONNECTION,
      maxOutboundStreams: MAX_INVITE_STREAMS_PER_CONNECTION
    })
    this.#started = true
  }

  async stop (): Promise<void> {
    this.#started = false
    await this.#components.registrar.unhandle(this.protocol)
  }

  isStarted (): boolean {
    return this.#started
  }

  async #onStream (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    stream.maxReadBufferLength = MAX_INVITE_BYTES + 8
    if (!this.#inflight.acquire(peer)) {
      await finishWithFrame(stream, answer('K_LIMIT_EXCEEDED', 'too many invites in flight'))
      return
    }
    const signal = AbortSignal.timeout(this.#init.inboundTimeout ?? INVITE_INBOUND_TIMEOUT_MS)
    const onTimeout = (): void => { stream.abort(new KeyroomError(ErrorCode.PeerBadMessage, 'invite stream timed out')) }
    signal.addEventListener('abort', onTimeout, { once: true })
    const reader = new FrameReader(stream, { maxFrameBytes: MAX_INVITE_BYTES, maxTotalBytes: MAX_INVITE_BYTES + 8, tooLargeCode: ErrorCode.SyncRequestTooLarge })
    try {
      let reply: Uint8Array
      let payload: Uint8Array | undefined
      try {
        // One frame is the whole request. No wait for the stream's end: the request can arrive
        // with the protocol negotiation, and libp2p 3 then does not always report the client's
        // close to this reader. Anything after the frame is never read (the buffer cap bounds it).
        payload = await reader.next()
      } catch (err) {
        payload = undefined
        this.#log('bad invite frame from %p: %s', peer, err instanceof Error ? err.message : String(err))
      }
      if (payload === undefined) {
        reply = answer('K_BAD_REQUEST', 'expected one frame holding an invite event')
      } else {
        const verdict = await this.#init.onInvite(payload, peer, { signal })
        reply = verdict.ok ? answer() : answer(verdict.problem === 'malformed' ? 'K_BAD_REQUEST' : 'K_FORBIDDEN', verdict.reason)
      }
      await finishWithFrame(stream, reply)
    } catch (err) {
      if (!signal.aborted) {
        this.#log.error('invite from %p failed - %e', peer, err)
        await finishWithFrame(stream, answer('K_UNKNOWN', 'internal error'))
      }
    } finally {
      signal.removeEventListener('abort', onTimeout)
      void reader.close().catch(() => {})
      this.#inflight.release(peer)
    }
  }

  async deliver (peer: DialTarget, eventBytes: Uint8Array, options: AbortOptions = {}): Promise<void> {
    if (!this.#started) throw new KeyroomError(ErrorCode.NotStarted, 'the invite service is not started')
    if (eventBytes.byteLength > MAX_INVITE_BYTES) throw new KeyroomError(ErrorCode.PeerBadMessage, `an invite of ${eventBytes.byteLength} bytes exceeds ${MAX_INVITE_BYTES}`)
    const timeout = AbortSignal.timeout(this.#init.outboundTimeout ?? INVITE_OUTBOUND_TIMEOUT_MS)
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout])
    let stream: Stream | undefined
    let reader: FrameReader | undefined
    const onAbort = (): void => { stream?.abort(new KeyroomError(ErrorCode.PeerBadMessage, 'invite delivery aborted')) }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      stream = await this.#components.connectionManager.openStream(peer, this.protocol, { signal })
      // Listen before writing: a stream drops data that arrives while nobody reads it.
      reader = new FrameReader(stream, { maxFrameBytes: MAX_ANSWER_BYTES, maxTotalBytes: MAX_ANSWER_BYTES + 8, tooLargeCode: ErrorCode.SyncResponseTooLarge })
      if (!stream.send(encodeFrame(eventBytes))) await stream.onDrain({ signal })
      await stream.close({ signal })
      const payload = await reader.next()
      if (payload === undefined) throw new KeyroomError(ErrorCode.PeerBadMessage, 'the invitee closed the stream without an answer')
      let message: unknown
      try {
        message = parseJson(payload)
      } catch (cause) {
        throw new KeyroomError(ErrorCode.PeerBadMessage, 'the invitee\'s answer is not JSON', { cause })
      }
      if (typeof message !== 'object' || message === null || Array.isArray(message)) throw new KeyroomError(ErrorCode.PeerBadMessage, 'the invitee\'s answer is not an object')
      const fields = message as Record<string, unknown>
      if (fields.ok === true) return
      const text = typeof fields.error === 'string' ? fields.error.slice(0, MAX_ERROR_TEXT) : 'no reason given'
      throw new KeyroomError(ErrorCode.InviteRefused, `the invitee's device refused the invite (${String(fields.errcode)}): ${text}`)
    } catch (err) {
      stream?.abort(err instanceof Error ? err : new Error(String(err)))
      if (options.signal?.aborted === true) throw options.signal.reason
      if (timeout.aborted) throw new KeyroomError(ErrorCode.PeerBadMessage, 'invite delivery timed out', { cause: err })
      if (err instanceof KeyroomError && err.code === ErrorCode.SyncResponseTooLarge) {
        throw new KeyroomError(ErrorCode.PeerBadMessage, err.message, { cause: err })
      }
      throw err
    } finally {
      signal.removeEventListener('abort', onAbort)
      void reader?.close().catch(() => {})
    }
  }
}
