/**
 * A simple in-memory room state: `(type, state_key)` → the event there, with its ID. What the
 * builders read to fill `auth_events` and parents, what scenarios and tests hold, and a ready
 * {@link StateLookup} for the auth checks.
 *
 * Keys are kept in nested maps (type → state key → entry) so no separator character can make two
 * different pairs collide.
 */
import type { IdentifiedEvent, RoomEvent, RoomStateView, StateLookup } from './types.js'

/** A mutable room state. */
export class RoomState implements RoomStateView {
  private readonly byType = new Map<string, Map<string, IdentifiedEvent>>()
  private count = 0

  /** A state holding `entries` (non-state events are ignored; later entries win). */
  constructor (entries: Iterable<IdentifiedEvent> = []) {
    for (const entry of entries) this.apply(entry)
  }

  /** Puts a state event at its `(type, state_key)`; a non-state event (no `state_key`) is ignored. */
  apply (entry: IdentifiedEvent): void {
    const stateKey = entry.event.state_key
    if (typeof stateKey !== 'string') return
    let keys = this.byType.get(entry.event.type)
    if (keys === undefined) {
      keys = new Map()
      this.byType.set(entry.event.type, keys)
    }
    if (!keys.has(stateKey)) this.count++
    keys.set(stateKey, entry)
  }

  /** Removes the entry at `(type, stateKey)`. */
  delete (type: string, stateKey: string): void {
    if (this.byType.get(type)?.delete(stateKey) === true) this.count--
  }

  /** The entry at `(type, stateKey)`. */
  entry (type: string, stateKey: string): IdentifiedEvent | undefined {
    return this.byType.get(type)?.get(stateKey)
  }

  /** The event at `(type, stateKey)`. */
  get (type: string, stateKey: string): RoomEvent | undefined {
    return this.byType.get(type)?.get(stateKey)?.event
  }

  /** This state as a lookup function for the auth checks. */
  readonly lookup: StateLookup = (type, stateKey) => this.get(type, stateKey)

  /** Number of state entries. */
  get size (): number {
    return this.count
  }

  /** Every entry of one type (e.g. all `m.room.member` events). */
  * ofType (type: string): IterableIterator<IdentifiedEvent> {
    const keys = this.byType.get(type)
    if (keys !== undefined) yield * keys.values()
  }

  /** Every entry. */
  * entries (): IterableIterator<IdentifiedEvent> {
    for (const keys of this.byType.values()) yield * keys.values()
  }

  /** An independent copy (entries are shared; they are immutable). */
  clone (): RoomState {
    return new RoomState(this.entries())
  }
}
