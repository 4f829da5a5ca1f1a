/**
 * Keys of a room state map.
 *
 * The spec's state map is keyed by the pair `(event_type, state_key)`. keyroom keys JavaScript
 * `Map`s by one string made from the pair:
 *
 *     <length of event_type in UTF-16 code units, decimal>:<event_type><state_key>
 *
 * e.g. `13:m.room.member@alice:example.org`, `19:m.room.power_levels` (empty state key). The
 * length prefix makes the encoding injective for every pair of strings (no separator can be
 * confused with content, whatever characters the type or state key hold), and the key stays
 * readable in logs and snapshots.
 */
import { ErrorCode, KeyroomError } from '../errors.js'

/** The state map key of `(type, stateKey)`; injective (see the module comment for the format). */
export function stateMapKey (type: string, stateKey: string): string {
  return `${type.length}:${type}${stateKey}`
}

/**
 * The `(type, stateKey)` pair of a key made by {@link stateMapKey}.
 *
 * @throws KeyroomError `ERR_INVALID_EVENT` when `key` is not such a key.
 */
export function parseStateMapKey (key: string): readonly [type: string, stateKey: string] {
  const colon = key.indexOf(':')
  const digits = colon > 0 ? key.slice(0, colon) : ''
  const length = /^(?:0|[1-9][0-9]*)$/.test(digits) ? Number(digits) : NaN
  if (!Number.isSafeInteger(length) || colon + 1 + length > key.length) {
    throw new KeyroomError(ErrorCode.InvalidEvent, `not a state map key: ${JSON.stringify(key)}`)
  }
  const start = colon + 1
  return [key.slice(start, start + length), key.slice(start + length)]
}
