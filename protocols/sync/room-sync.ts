/**
 * The sync service: the inbound handler (admission, bounded read, dispatch to one handler per
 * message, bounded write) and the cancellable client.
 */
import { serviceCapabilities } from '@libp2p/interface'
import { ErrorCode, KeyroomError } from '../core/index.js'
import { deadline, raceSignal } from './abort.js'
import {
  DEFAULT_MISSING_LIMIT, INBOUND_TIMEOUT_MS, MAX_EVENT_BYTES, MAX_EVENTS_PER_RESPONSE, MAX_HEADER_BYTES, MAX_HEADS,
  MAX_IDS_PER_REQUEST, MAX_INBOUND_STREAMS_PER_CONNECTION, MAX_INBOUND_STREAMS_PER_PEER, MAX_INBOUND_STREAMS_TOTAL,
  MAX_MISSING_LIMIT, MAX_OUTBOUND_STREAMS_PER_CONNECTION, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, MAX_STATE_IDS,
  OUTBOUND_TIMEOUT_MS, SYNC_PROTOCOL
} from './constants.js'
import { FrameReader, writeFrames } from './frames.js'
import { handleEvents } from './handlers/events.js'
import { handleHeads } from './handlers/heads.js'
import { handleMissing } from './handlers/missing.js'
import { handleStateAt } from './handlers/state-at.js'
import { InflightQuota, finishWithFrame } from './inbound.js'
import {
  encodeHeader, encodeRequest, errorHeader, parseEventIdsHeader, parseHeadsHeader, parseJsonObject, parseRequest,
  parseStateHeader, remoteErrorOf
} from './messages.js'
import type { HandlerContext, HandlerResult } from './handlers/context.js'
import type { MissingRange, RoomSync, RoomSyncComponents, RoomSyncInit, SyncedEvent } from './index.js'
import type { SyncRequest } from './messages.js'
import type { StateIds } from './ports.js'
import type { AbortOptions, Connection, DialTarget, Logger, Startable, Stream } from '@libp2p/interface'

/** The {@link RoomSync} implementation. */
export class RoomSyncService implements RoomSync, Startable {
  readonly protocol = SYNC_PROTOCOL
  readonly #components: RoomSyncComponents
  readonly #init: RoomSyncInit
  readonly #log: Logger
  readonly #context: HandlerContext
  readonly #inboundTimeout: number
  readonly #outboundTimeout: number
  /** Inbound streams being served, per remote peer and in total. */
  readonly #inflight: InflightQuota
  #started = false

  readonly [Symbol.toStringTag] = '@keyroom/sync'
  readonly [serviceCapabilities] = ['@keyroom/sync']

  constructor (components: RoomSyncComponents, init: RoomSyncInit) {
    this.#components = components
    this.#init = init
    this.#log = components.logger.forComponent('keyroom:sync')
    this.#context = { store: init.store, log: this.#log }
    this.#inboundTimeout = init.inboundTimeout ?? INBOUND_TIMEOUT_MS
    this.#outboundTimeout = init.outboundTimeout ?? OUTBOUND_TIMEOUT_MS
    this.#inflight = new InflightQuota(init.maxInboundStreamsPerPeer ?? MAX_INBOUND_STREAMS_PER_PEER, init.maxInboundStreamsTotal ?? MAX_INBOUND_STREAMS_TOTAL)
  }

  get inboundInFlight (): number {
    return this.#inflight.total
  }

  async start (): Promise<void> {
    await this.#components.registrar.handle(this.protocol, (stream, connection) => this.#onStream(stream, connection), {
      maxInboundStreams: this.#init.maxInboundStreams ?? MAX_INBOUND_STREAMS_PER_CONNECTION,
      maxOutboundStreams: this.#init.maxOutboundStreams ?? MAX_OUTBOUND_STREAMS_PER_CONNECTION,
      runOnLimitedConnection: this.#init.runOnLimitedConnection ?? false
    })
    this.#started = true
  }

  async stop (): Promise<void> {
    await this.#components.registrar.unhandle(this.protocol)
    this.#started = false
  }

  isStarted (): boolean {
    return this.#started
  }

  // -------------------------------------------------------------------------------------------
  // Server

  async #onStream (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    const log = this.#log

    // Bytes we are willing to buffer from this stream when nobody reads it: the reader stops pulling
    // after the request, and an endless sender then hits this cap (libp2p resets the stream)
    // instead of our memory.
    stream.maxReadBufferLength = MAX_REQUEST_BYTES

    // Admission: per-peer and global caps on streams being served. A refusal is an answer (so the
    // client gets a named error), written without reading the request.
    if (!this.#inflight.acquire(peer)) {
      log('refusing sync stream from %p: %d in flight for the peer, %d in total', peer, this.#inflight.of(peer), this.#inflight.total)
      await finishWithFrame(stream, encodeHeader(errorHeader(ErrorCode.SyncBusy, 'too many sync requests in flight')))
      return
    }

    const { signal } = deadline(this.#inboundTimeout)
    const onTimeout = (): void => { stream.abort(new KeyroomError(ErrorCode.SyncTimeout, 'sync stream timed out')) }
    signal.addEventListener('abort', onTimeout, { once: true })
    const reader = new FrameReader(stream, { maxFrameBytes: MAX_REQUEST_BYTES, maxTotalBytes: MAX_REQUEST_BYTES + 8, tooLargeCode: ErrorCode.SyncRequestTooLarge })
    let answered = false
    try {
      const payload = await raceSignal(reader.next(), signal)
      if (payload === undefined) throw new KeyroomError(ErrorCode.SyncBadMessage, 'stream closed without a request')
      const request = parseRequest(payload)
      log.trace('%s request from %p for room %s', request.type, peer, request.roomId)
      const result = await this.#dispatch(peer, request, { signal })
      answered = true
      await writeFrames(stream, [encodeHeader(result.header), ...(result.events ?? [])], { signal })
      await stream.close({ signal })
    } catch (err) {
      if (signal.aborted) {
        log('sync stream from %p timed out after %dms', peer, this.#inboundTimeout)
      } else if (err instanceof KeyroomError) {
        log('bad sync request from %p: %s %s', peer, err.code, err.message)
        if (!answered) await finishWithFrame(stream, encodeHeader(errorHeader(err.code, err.message)))
        else stream.abort(err)
      } else {
        log.error('sync request from %p failed - %e', peer, err)
        if (!answered) await finishWithFrame(stream, encodeHeader(errorHeader(ErrorCode.SyncRemoteError, 'internal error')))
        else stream.abort(err instanceof Error ? err : new Error(String(err)))
      }
    } finally {
      signal.removeEventListener('abort', onTimeout)
      void reader.close().catch(() => {})
      this.#inflight.release(peer)
    }
  }

  /** Check access, then run the one handler for the message type. */
  async #dispatch (peer: Connection['remotePeer'], request: SyncRequest, options: AbortOptions): Promise<HandlerResult> {
    const access = await this.#init.authorize(peer, request.roomId, options)
    if (access === false) {
      // Same answer as an unknown room, so a refusal does not reveal that the room exists.
      return { header: { errcode: 'K_NOT_FOUND', error: 'unknown room' } }
    }
    // A limited grant answers from its own store: the handlers see only what it serves.
    const context: HandlerContext = access === true ? this.#context : { store: access.store, log: this.#log }
    switch (request.type) {
      case 'heads': return await handleHeads(context, request, options)
      case 'events': return await handleEvents(context, request, options)
      case 'missing': return await handleMissing(context, request, options)
      case 'state_at': return await handleStateAt(context, request, options)
    }
  }

  // -------------------------------------------------------------------------------------------
  // Client

  async heads (peer: DialTarget, roomId: string, options: AbortOptions = {}): Promise<string[]> {
    return await this.#request(peer, { type: 'heads', roomId }, options, async (header) => parseHeadsHeader(header, MAX_HEADS))
  }

  async events (peer: DialTarget, roomId: string, eventIds: string[], options: AbortOptions = {}): Promise<SyncedEvent[]> {
    const wanted = [...new Set(eventIds)]
    const out: SyncedEvent[] = []
    let rest = wanted
    while (rest.length > 0) {
      const chunk = rest.slice(0, MAX_IDS_PER_REQUEST)
      const got = await this.#request(peer, { type: 'events', roomId, eventIds: chunk }, options, async (header, reader) => {
        const ids = parseEventIdsHeader(header, MAX_EVENTS_PER_RESPONSE)
        // The server answers in request order, leaving out what it lacks: anything else is not ours.
        let at = 0
        for (const id of ids) {
          const i = chunk.indexOf(id, at)
          if (i < 0) throw new KeyroomError(ErrorCode.SyncBadMessage, `peer sent ${id}, which was not asked for (or out of order)`)
          at = i + 1
        }
        return await readEvents(ids, reader)
      })
      out.push(...got)
      const last = got.at(-1)
      // Nothing returned: the peer has none of this chunk. Otherwise the answer may have been cut
      // by the byte bound after `last`, so ask again from the ID after it. Each round drops at
      // least one ID, so this ends.
      rest = last === undefined ? rest.slice(chunk.length) : rest.slice(chunk.indexOf(last.eventId) + 1)
    }
    return out
  }

  async missing (peer: DialTarget, roomId: string, range: MissingRange, options: AbortOptions = {}): Promise<SyncedEvent[]> {
    for (const [field, ids] of [['earliest', range.earliest], ['latest', range.latest]] as const) {
      if (ids.length > MAX_IDS_PER_REQUEST) {
        throw new KeyroomError(ErrorCode.SyncTooManyIds, `${field}: ${ids.length} IDs, at most ${MAX_IDS_PER_REQUEST} per request`)
      }
    }
    const limit = Math.max(1, Math.min(range.limit ?? DEFAULT_MISSING_LIMIT, MAX_MISSING_LIMIT))
    const request: SyncRequest = { type: 'missing', roomId, earliest: range.earliest, latest: range.latest, limit }
    return await this.#request(peer, request, options, async (header, reader) => {
      const ids = parseEventIdsHeader(header, Math.min(limit, MAX_EVENTS_PER_RESPONSE))
      return await readEvents(ids, reader)
    })
  }

  async stateAt (peer: DialTarget, roomId: string, eventId: string, options: AbortOptions = {}): Promise<StateIds> {
    return await this.#request(peer, { type: 'state_at', roomId, eventId }, options, async (header) => parseStateHeader(header, MAX_STATE_IDS))
  }

  /**
   * One request on a fresh stream: open, write the request frame, half-close, read the header,
   * let `body` read the rest, then insist the stream ends. Bounded by the caller's signal and by
   * the outbound timeout (which raises `ERR_SYNC_TIMEOUT`); the caller's abort raises its reason.
   */
  async #request<T> (peer: DialTarget, request: SyncRequest, options: AbortOptions, body: (header: Record<string, unknown>, reader: FrameReader) => Promise<T>): Promise<T> {
    if (!this.#started) throw new KeyroomError(ErrorCode.NotStarted, 'the sync service is not started')
    const { signal, timedOut } = deadline(this.#outboundTimeout, options.signal)
    let stream: Stream | undefined
    let reader: FrameReader | undefined
    const onAbort = (): void => { stream?.abort(new KeyroomError(ErrorCode.SyncTimeout, 'sync request aborted')) }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      stream = await this.#components.connectionManager.openStream(peer, this.protocol, {
        signal,
        runOnLimitedConnection: this.#init.runOnLimitedConnection ?? false
      })
      if (signal.aborted) onAbort()
      await writeFrames(stream, [encodeRequest(request)], { signal })
      await stream.close({ signal })
      reader = new FrameReader(stream, { maxFrameBytes: MAX_HEADER_BYTES, maxTotalBytes: MAX_RESPONSE_BYTES, tooLargeCode: ErrorCode.SyncResponseTooLarge })
      const headerBytes = await raceSignal(reader.next(MAX_HEADER_BYTES), signal)
      if (headerBytes === undefined) throw new KeyroomError(ErrorCode.SyncBadMessage, 'stream ended before the response')
      const header = parseJsonObject(headerBytes)
      const remote = remoteErrorOf(header)
      if (remote !== undefined) throw remote
      const result = await raceSignal(body(header, reader), signal)
      await raceSignal(reader.expectEnd(), signal)
      return result
    } catch (err) {
      stream?.abort(err instanceof Error ? err : new Error(String(err)))
      if (timedOut()) throw new KeyroomError(ErrorCode.SyncTimeout, `sync ${request.type} request timed out`, { cause: err })
      if (options.signal?.aborted === true) throw options.signal.reason
      throw err
    } finally {
      signal.removeEventListener('abort', onAbort)
      void reader?.close().catch(() => {})
    }
  }
}

/** Read one event frame per ID (each at most {@link MAX_EVENT_BYTES}). */
async function readEvents (ids: string[], reader: FrameReader): Promise<SyncedEvent[]> {
  const out: SyncedEvent[] = []
  for (const eventId of ids) {
    const bytes = await reader.next(MAX_EVENT_BYTES)
    if (bytes === undefined) throw new KeyroomError(ErrorCode.SyncBadMessage, `stream ended after ${out.length} of ${ids.length} events`)
    out.push({ eventId, bytes })
  }
  return out
}
