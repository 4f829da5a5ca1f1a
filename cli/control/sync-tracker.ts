/**
 * The daemon's view of catch-up ("sync state" in `status`): which catch-ups run now, and how the
 * last one of each room ended. Fed by the node's `sync` events.
 */
import type { ControlNode } from './handlers.js'
import type { SyncProgress } from '../../node/index.js'

/** A catch-up in progress. */
export interface ActiveSync {
  roomId: string
  peer: string
  fetched: number
  /** When it started, ms since the epoch. */
  since: number
}

/** How the last catch-up of a room from one peer ended. */
export interface LastSync {
  roomId: string
  peer: string
  phase: 'done' | 'failed'
  stored?: number
  error?: string
  /** When it ended, ms since the epoch. */
  at: number
}

/** What `status` reports about sync. */
export interface SyncSnapshot {
  /** `catching-up` while any catch-up runs, else `idle`. */
  state: 'catching-up' | 'idle'
  active: ActiveSync[]
  /**
   * The last outcome per room and peer. A peer that does not share a room answers "not found",
   * which is normal: a room is in trouble only when no peer's last catch-up of it is `done`.
   */
  last: LastSync[]
}

/** Room-and-peer outcomes remembered (the oldest is forgotten first). */
const MAX_REMEMBERED_OUTCOMES = 256

/** Listens to a node's `sync` events until {@link SyncTracker.close}. */
export class SyncTracker {
  readonly #node: Pick<ControlNode, 'addEventListener' | 'removeEventListener'>
  readonly #now: () => number
  readonly #active = new Map<string, ActiveSync>()
  readonly #last = new Map<string, LastSync>()

  constructor (node: Pick<ControlNode, 'addEventListener' | 'removeEventListener'>, now: () => number) {
    this.#node = node
    this.#now = now
    node.addEventListener('sync', this.#onSync)
  }

  readonly #onSync = (event: CustomEvent<SyncProgress>): void => {
    const p = event.detail
    const key = `${p.roomId} ${p.peer}`
    if (p.phase === 'started' || p.phase === 'fetched') {
      const since = this.#active.get(key)?.since ?? this.#now()
      this.#active.set(key, { roomId: p.roomId, peer: p.peer, fetched: p.fetched, since })
      return
    }
    this.#active.delete(key)
    this.#last.delete(key)
    this.#last.set(key, {
      roomId: p.roomId,
      peer: p.peer,
      phase: p.phase,
      ...(p.stored === undefined ? {} : { stored: p.stored }),
      ...(p.error === undefined ? {} : { error: p.error }),
      at: this.#now()
    })
    if (this.#last.size > MAX_REMEMBERED_OUTCOMES) this.#last.delete(this.#last.keys().next().value!)
  }

  snapshot (): SyncSnapshot {
    const active = [...this.#active.values()].map((a) => ({ ...a }))
    return { state: active.length > 0 ? 'catching-up' : 'idle', active, last: [...this.#last.values()].map((l) => ({ ...l })) }
  }

  close (): void {
    this.#node.removeEventListener('sync', this.#onSync)
  }
}
