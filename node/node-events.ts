/**
 * The node's typed events: what an embedding application listens to (DESIGN §6 "typed events").
 *
 * The node is an `EventTarget`; each event is a `CustomEvent` whose `detail` has the type named in
 * {@link KeyroomNodeEvents}. `addEventListener('message', e => e.detail.body)` is fully typed.
 */
import type { Membership } from '../store/index.js'

/** A message shown in a room: an accepted `m.room.message`. Same shape as `messages()` returns. */
export interface RoomMessage {
  readonly roomId: string
  readonly eventId: string
  /** The author's user ID (UPK). */
  readonly sender: string
  /** The event content (`msgtype`, `body`, …), as signed. */
  readonly content: Readonly<Record<string, unknown>>
  /** The author's `origin_server_ts` (ms since the epoch): the author's claim, not a verified time. */
  readonly originServerTs: number
}

/** A member's membership changed in a room's current state, or an invite reached this node. */
export interface MembershipChange {
  readonly roomId: string
  /** Whose membership changed. */
  readonly userId: string
  /** The membership now (Matrix words). */
  readonly membership: Membership
  /** The membership before, when there was one. */
  readonly previous?: Membership
  /** The `m.room.member` event that made the change. */
  readonly eventId: string
  /** Who sent that event (the user themself, or whoever invited, kicked or banned them). */
  readonly sender: string
  /**
   * True for an invite delivered directly to this node (`/keyroom/invite/1.0.0`) for a room it does
   * not hold yet: call `join(roomId)` to accept it.
   */
  readonly direct?: boolean
}

/** Progress of a catch-up with one peer (a join, a reconnect, a gap under a gossiped event). */
export interface SyncProgress {
  readonly roomId: string
  /** The peer caught up from (its PeerId, which is its device ID's key). */
  readonly peer: string
  /** `started`, then `fetched` (events received and checked), then `done` or `failed`. */
  readonly phase: 'started' | 'fetched' | 'done' | 'failed'
  /** Events fetched so far. */
  readonly fetched: number
  /** Events stored by this catch-up (set on `done`). */
  readonly stored?: number
  /** Why it failed (set on `failed`). */
  readonly error?: string
}

/** The events of a keyroom node, by name. */
export interface KeyroomNodeEvents {
  /** A new message in a room (own sends included, history included while catching up). */
  message: CustomEvent<RoomMessage>
  /** A membership changed (joins, invites, leaves, kicks, bans), or an invite arrived. */
  membership: CustomEvent<MembershipChange>
  /** Catch-up progress. */
  sync: CustomEvent<SyncProgress>
}

/** A listener of one node event. */
export type KeyroomNodeListener<K extends keyof KeyroomNodeEvents> =
  | ((event: KeyroomNodeEvents[K]) => void)
  | { handleEvent: (event: KeyroomNodeEvents[K]) => void }

/** `addEventListener` options (the DOM's `AddEventListenerOptions`, which Node's typings keep module-private). */
export interface ListenerOptions extends EventListenerOptions {
  once?: boolean
  passive?: boolean
  signal?: AbortSignal
}

type UntypedListener = Parameters<EventTarget['addEventListener']>[1]

/**
 * An `EventTarget` typed by an event map. Listeners that throw are reported by the runtime (as for
 * any `EventTarget`), never into the node.
 */
export class TypedEventTarget<EventMap extends { [K in keyof EventMap]: Event }> extends EventTarget {
  override addEventListener<K extends keyof EventMap & string> (
    type: K, listener: ((event: EventMap[K]) => void) | { handleEvent: (event: EventMap[K]) => void },
    options?: boolean | ListenerOptions
  ): void {
    super.addEventListener(type, listener as UntypedListener, options)
  }

  override removeEventListener<K extends keyof EventMap & string> (
    type: K, listener: ((event: EventMap[K]) => void) | { handleEvent: (event: EventMap[K]) => void },
    options?: boolean | EventListenerOptions
  ): void {
    super.removeEventListener(type, listener as UntypedListener, options)
  }

  /** Dispatch a `CustomEvent` named `type` with `detail`. */
  emit<K extends keyof EventMap & string> (type: K, detail: EventMap[K] extends CustomEvent<infer D> ? D : never): void {
    this.dispatchEvent(new CustomEvent(type, { detail }))
  }
}
