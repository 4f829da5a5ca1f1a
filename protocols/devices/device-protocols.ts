/**
 * The device protocols' service: bounded inbound handlers (admission, one frame in, the port, one
 * frame out) and the cancellable clients, in the shape of the invite service.
 */
import { serviceCapabilities } from '@libp2p/interface'
import { ErrorCode, KeyroomError } from '../core/index.js'
import { FrameReader, InflightQuota, encodeFrame, finishWithFrame } from '../sync/index.js'
import {
  INBOUND_TIMEOUT_MS, LINK_PROTOCOL, MAX_INBOUND_PER_PEER, MAX_INBOUND_TOTAL, MAX_LINK_FRAME_BYTES, MAX_ROOMS_ANSWER_BYTES,
  MAX_ROOMS_REQUEST_BYTES, MAX_STREAMS_PER_CONNECTION, OUTBOUND_TIMEOUT_MS, ROOMS_PROTOCOL
} from './constants.js'
import {
  encodeError, encodeLinkAnswer, encodeLinkOffer, encodeRoomsAnswer, encodeRoomsRequest, parseLinkAnswer, parseLinkOffer, parseRoomsAnswer,
  parseRoomsRequest
} from './messages.js'
import type { DeviceProtocols, DeviceProtocolsComponents, DeviceProtocolsInit } from './index.js'
import type { Answer, LinkOffer } from './messages.js'
import type { AbortOptions, Connection, DialTarget, Logger, PeerId, Startable, Stream } from '@libp2p/interface'

/** The {@link DeviceProtocols} implementation. */
export class DeviceProtocolsService implements DeviceProtocols, Startable {
  readonly #components: DeviceProtocolsComponents
  readonly #init: DeviceProtocolsInit
  readonly #log: Logger
  readonly #inflight: InflightQuota
  #started = false
  readonly #handled: string[] = []

  readonly [Symbol.toStringTag] = '@keyroom/devices'
  readonly [serviceCapabilities] = ['@keyroom/devices']

  constructor (components: DeviceProtocolsComponents, init: DeviceProtocolsInit) {
    this.#components = components
    this.#init = init
    this.#inflight = new InflightQuota(MAX_INBOUND_PER_PEER, MAX_INBOUND_TOTAL)
    this.#log = components.logger.forComponent('keyroom:devices')
  }

  async start (): Promise<void> {
    const options = { maxInboundStreams: MAX_STREAMS_PER_CONNECTION, maxOutboundStreams: MAX_STREAMS_PER_CONNECTION }
    if (this.#init.onOffer !== undefined) {
      await this.#components.registrar.handle(LINK_PROTOCOL, (stream, connection) => this.#serve(stream, connection, MAX_LINK_FRAME_BYTES, this.#answerOffer), options)
      this.#handled.push(LINK_PROTOCOL)
    }
    if (this.#init.onRoomsRequest !== undefined) {
      await this.#components.registrar.handle(ROOMS_PROTOCOL, (stream, connection) => this.#serve(stream, connection, MAX_ROOMS_REQUEST_BYTES, this.#answerRooms), options)
      this.#handled.push(ROOMS_PROTOCOL)
    }
    this.#started = true
  }

  async stop (): Promise<void> {
    this.#started = false
    for (const protocol of this.#handled.splice(0)) await this.#components.registrar.unhandle(protocol)
  }

  isStarted (): boolean {
    return this.#started
  }

  readonly #answerOffer = async (payload: Uint8Array, peer: PeerId, options: AbortOptions): Promise<{ reply: Uint8Array, after?: () => void }> => {
    const offer = parseLinkOffer(payload)
    if (!offer.ok) return { reply: encodeError('K_BAD_REQUEST', offer.reason) }
    const verdict = await this.#init.onOffer!(offer.value, peer, options)
    if (!verdict.ok) return { reply: encodeError(verdict.problem === 'malformed' ? 'K_BAD_REQUEST' : 'K_FORBIDDEN', verdict.reason) }
    return { reply: encodeLinkAnswer(verdict.attestation), ...(verdict.after === undefined ? {} : { after: verdict.after }) }
  }

  readonly #answerRooms = async (payload: Uint8Array, peer: PeerId, options: AbortOptions): Promise<{ reply: Uint8Array }> => {
    const request = parseRoomsRequest(payload)
    if (!request.ok) return { reply: encodeError('K_BAD_REQUEST', request.reason) }
    const rooms = await this.#init.onRoomsRequest!(peer, options)
    return { reply: rooms === undefined ? encodeError('K_FORBIDDEN', 'not a device this node will tell') : encodeRoomsAnswer(rooms) }
  }

  async #serve (
    stream: Stream, connection: Connection, maxRequestBytes: number,
    answer: (payload: Uint8Array, peer: PeerId, options: AbortOptions) => Promise<{ reply: Uint8Array, after?: () => void }>
  ): Promise<void> {
    const peer = connection.remotePeer
    stream.maxReadBufferLength = maxRequestBytes + 8
    if (!this.#inflight.acquire(peer)) {
      await finishWithFrame(stream, encodeError('K_LIMIT_EXCEEDED', 'too many requests in flight'))
      return
    }
    const signal = AbortSignal.timeout(this.#init.inboundTimeout ?? INBOUND_TIMEOUT_MS)
    const onTimeout = (): void => { stream.abort(new KeyroomError(ErrorCode.PeerBadMessage, 'device protocol stream timed out')) }
    signal.addEventListener('abort', onTimeout, { once: true })
    const reader = new FrameReader(stream, { maxFrameBytes: maxRequestBytes, maxTotalBytes: maxRequestBytes + 8, tooLargeCode: ErrorCode.SyncRequestTooLarge })
    try {
      let payload: Uint8Array | undefined
      try {
        // One frame is the whole request (no wait for the stream's end; see the invite service).
        payload = await reader.next()
      } catch (err) {
        this.#log('bad request frame from %p: %s', peer, err instanceof Error ? err.message : String(err))
      }
      if (payload === undefined) {
        await finishWithFrame(stream, encodeError('K_BAD_REQUEST', 'expected one frame'))
        return
      }
      const { reply, after } = await answer(payload, peer, { signal })
      const sent = await finishWithFrame(stream, reply)
      if (!sent) this.#log('the answer to %p could not be sent', peer)
      // The port has acted on the request either way (a linked device stays linked).
      after?.()
    } catch (err) {
      if (!signal.aborted) {
        this.#log.error('request from %p failed - %e', peer, err)
        await finishWithFrame(stream, encodeError('K_UNKNOWN', 'internal error'))
      }
    } finally {
      signal.removeEventListener('abort', onTimeout)
      void reader.close().catch(() => {})
      this.#inflight.release(peer)
    }
  }

  async offer (peer: DialTarget, offer: LinkOffer, options: AbortOptions = {}): Promise<Record<string, unknown>> {
    const answer = await this.#request(peer, LINK_PROTOCOL, encodeLinkOffer(offer), MAX_LINK_FRAME_BYTES, parseLinkAnswer, options)
    return answer
  }

  async rooms (peer: DialTarget, options: AbortOptions = {}): Promise<string[]> {
    return await this.#request(peer, ROOMS_PROTOCOL, encodeRoomsRequest(), MAX_ROOMS_ANSWER_BYTES, parseRoomsAnswer, options)
  }

  async #request<T> (peer: DialTarget, protocol: string, request: Uint8Array, maxAnswerBytes: number, parse: (bytes: Uint8Array) => Answer<T>, options: AbortOptions): Promise<T> {
    if (!this.#started) throw new KeyroomError(ErrorCode.NotStarted, 'the device protocols are not started')
    const timeout = AbortSignal.timeout(this.#init.outboundTimeout ?? OUTBOUND_TIMEOUT_MS)
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout])
    let stream: Stream | undefined
    let reader: FrameReader | undefined
    const onAbort = (): void => { stream?.abort(new KeyroomError(ErrorCode.PeerBadMessage, `${protocol} request aborted`)) }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      stream = await this.#components.connectionManager.openStream(peer, protocol, { signal })
      // Listen before writing: a stream drops data that arrives while nobody reads it.
      reader = new FrameReader(stream, { maxFrameBytes: maxAnswerBytes, maxTotalBytes: maxAnswerBytes + 8, tooLargeCode: ErrorCode.SyncResponseTooLarge })
      if (!stream.send(encodeFrame(request))) await stream.onDrain({ signal })
      await stream.close({ signal })
      const payload = await reader.next()
      if (payload === undefined) throw new KeyroomError(ErrorCode.PeerBadMessage, `the peer closed the ${protocol} stream without an answer`)
      const answer = parse(payload)
      if (answer.ok) return answer.value
      if ('malformed' in answer) throw new KeyroomError(ErrorCode.PeerBadMessage, `the peer's ${protocol} answer is malformed: ${answer.malformed}`)
      throw new KeyroomError(protocol === LINK_PROTOCOL ? ErrorCode.LinkRefused : ErrorCode.Forbidden, `the peer refused (${answer.errcode}): ${answer.error}`)
    } catch (err) {
      stream?.abort(err instanceof Error ? err : new Error(String(err)))
      if (options.signal?.aborted === true) throw options.signal.reason
      if (timeout.aborted) throw new KeyroomError(ErrorCode.PeerBadMessage, `${protocol} request timed out`, { cause: err })
      if (err instanceof KeyroomError && err.code === ErrorCode.SyncResponseTooLarge) throw new KeyroomError(ErrorCode.PeerBadMessage, err.message, { cause: err })
      throw err
    } finally {
      signal.removeEventListener('abort', onAbort)
      void reader?.close().catch(() => {})
    }
  }
}
