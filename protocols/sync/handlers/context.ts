/**
 * What every request handler receives and returns. Handlers are pure functions of the store and
 * the parsed request; the service does the framing, bounds and timeouts around them.
 */
import type { ResponseHeader } from '../messages.js'
import type { SyncStore } from '../ports.js'
import type { Logger } from '@libp2p/interface'

/** Dependencies of a handler. */
export interface HandlerContext {
  store: SyncStore
  log: Logger
}

/** A handler's answer: the header frame and, for `events`/`missing`, the event frames it lists. */
export interface HandlerResult {
  header: ResponseHeader
  /** Event bytes, one per ID in `header.event_ids`, same order. */
  events?: Uint8Array[]
}
