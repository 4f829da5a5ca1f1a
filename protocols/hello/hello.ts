/**
 * The hello service: answers with this device's statement, asks peers for theirs.
 */
import { serviceCapabilities } from '@libp2p/interface'
import { ErrorCode, KeyroomError, canonicalJsonBytes, parseJson } from '../core/index.js'
import { FrameReader, encodeFrame } from '../sync/index.js'
import { HELLO_INBOUND_TIMEOUT_MS, HELLO_OUTBOUND_TIMEOUT_MS, HELLO_PROTOCOL, MAX_HELLO_BYTES, MAX_HELLO_STREAMS_PER_CONNECTION } from './constants.js'
import type { Hello, HelloComponents, HelloInit } from './index.js'
import type { AbortOptions, Connection, DialTarget, Logger, Startable, Stream } from '@libp2p/interface'

/** The {@link Hello} implementation. */
export class HelloService implements Hello, Startable {
  readonly protocol = HELLO_PROTOCOL
  readonly #components: HelloComponents
  readonly #init: HelloInit
  readonly #log: Logger
  #started = false

  readonly [Symbol.toStringTag] = '@keyroom/hello'
  readonly [serviceCapabilities] = ['@keyroom/hello']

  constructor (components: HelloComponents, init: HelloInit) {
    this.#components = components
    this.#init = init
    this.#log = components.logger.forComponent('keyroom:hello')
  }

  async start (): Promise<void> {
    await this.#components.registrar.handle(this.protocol, (stream, connection) => this.#onStream(stream, connection), {
      maxInboundStreams: MAX_HELLO_STREAMS_PER_CONNECTION,
      maxOutboundStreams: MAX_HELLO_STREAMS_PER_CONNECTION
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

  /** Server: write the statement frame and close. The client sends nothing; we read nothing. */
  async #onStream (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.#init.inboundTimeout ?? HELLO_INBOUND_TIMEOUT_MS)
    // A client has nothing to say: buffer none of it.
    stream.maxReadBufferLength = 1024
    try {
      const payload = canonicalJsonBytes({ attestation: await this.#init.statement() })
      if (payload.byteLength > MAX_HELLO_BYTES) throw new KeyroomError(ErrorCode.PeerBadMessage, 'own hello statement exceeds the frame bound')
      if (!stream.send(encodeFrame(payload))) await stream.onDrain({ signal })
      await stream.close({ signal })
    } catch (err) {
      this.#log('hello to %p failed: %s', connection.remotePeer, err instanceof Error ? err.message : String(err))
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  async hello (peer: DialTarget, options: AbortOptions = {}): Promise<unknown> {
    if (!this.#started) throw new KeyroomError(ErrorCode.NotStarted, 'the hello service is not started')
    const timeout = AbortSignal.timeout(this.#init.outboundTimeout ?? HELLO_OUTBOUND_TIMEOUT_MS)
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout])
    let stream: Stream | undefined
    let reader: FrameReader | undefined
    const onAbort = (): void => { stream?.abort(new KeyroomError(ErrorCode.PeerBadMessage, 'hello aborted')) }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      stream = await this.#components.connectionManager.openStream(peer, this.protocol, { signal })
      // Listen before anything else: the server answers at once, and a stream drops data that
      // arrives while nobody reads it.
      reader = new FrameReader(stream, { maxFrameBytes: MAX_HELLO_BYTES, maxTotalBytes: MAX_HELLO_BYTES + 8, tooLargeCode: ErrorCode.SyncResponseTooLarge })
      await stream.close({ signal })
      const payload = await reader.next()
      if (payload === undefined) throw new KeyroomError(ErrorCode.PeerBadMessage, 'hello stream ended without a statement')
      // No wait for the end of the stream: the answer can arrive with the protocol negotiation
      // (the server speaks first), and libp2p 3 then does not always report the remote's close to
      // this reader. The one frame is all there is; anything after it is ignored, never read.
      let message: unknown
      try {
        message = parseJson(payload)
      } catch (cause) {
        throw new KeyroomError(ErrorCode.PeerBadMessage, 'hello statement is not JSON', { cause })
      }
      if (typeof message !== 'object' || message === null || Array.isArray(message) || !Object.hasOwn(message, 'attestation')) {
        throw new KeyroomError(ErrorCode.PeerBadMessage, 'hello statement has no attestation')
      }
      return (message as { attestation: unknown }).attestation
    } catch (err) {
      stream?.abort(err instanceof Error ? err : new Error(String(err)))
      if (options.signal?.aborted === true) throw options.signal.reason
      if (timeout.aborted) throw new KeyroomError(ErrorCode.PeerBadMessage, 'hello timed out', { cause: err })
      if (err instanceof KeyroomError && err.code === ErrorCode.SyncResponseTooLarge) {
        throw new KeyroomError(ErrorCode.PeerBadMessage, err.message, { cause: err })
      }
      // Once the stream is open, a reset or an early end is the peer refusing to answer properly
      // (e.g. a server that will not send an oversized statement aborts the stream): a named error.
      if (stream !== undefined && !(err instanceof KeyroomError)) {
        throw new KeyroomError(ErrorCode.PeerBadMessage, `hello failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
      }
      throw err
    } finally {
      signal.removeEventListener('abort', onAbort)
      void reader?.close().catch(() => {})
    }
  }
}
