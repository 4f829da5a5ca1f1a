/**
 * Room and user references as people type them, checked at the edge (before anything is sent to
 * the node) so a typo is a usage error with the reason, not a round trip.
 *
 * - a room: its ID (`!…`), a `keyroom:r/!…?via=…` link, or the name of a room this node holds
 *   (resolved by the node; an ambiguous name is refused there);
 * - a user: their ID (`~…`) or a `keyroom:u/~…` link.
 */
import { KeyroomError, parseKeyroomUri, parseRoomId, parseUserId } from '../protocols/core/index.js'
import { usageError } from './errors.js'

const URI_PREFIX = /^keyroom:/iu

/** Checks a room reference; returns it unchanged (the node resolves names and keeps `via`). */
export function checkRoomRef (text: string): string {
  if (text.trim() === '') throw usageError('the room is empty', 'give a room ID (!…), a keyroom:r/… link or a room name')
  if (URI_PREFIX.test(text)) {
    const uri = edge(() => parseKeyroomUri(text), 'a keyroom:r/… link')
    if (uri.kind !== 'room') throw usageError(`${text} is a user link, not a room link`, 'give a room ID (!…) or a keyroom:r/… link')
    return text
  }
  if (text.startsWith('!')) edge(() => parseRoomId(text), 'a room ID (!…), a keyroom:r/… link or a room name')
  return text
}

/** Checks a user reference; returns the user ID (`~…`). */
export function checkUserRef (text: string): string {
  if (URI_PREFIX.test(text)) {
    const uri = edge(() => parseKeyroomUri(text), 'a keyroom:u/… link')
    if (uri.kind !== 'user') throw usageError(`${text} is a room link, not a user link`, 'give a user ID (~…) or a keyroom:u/… link')
    return uri.userId
  }
  edge(() => parseUserId(text), 'a user ID (~…) or a keyroom:u/… link')
  return text
}

function edge<T> (parse: () => T, expected: string): T {
  try {
    return parse()
  } catch (err) {
    if (err instanceof KeyroomError) throw usageError(err.message, `expected ${expected}; in a shell, quote it ('…') so ! and ~ are not expanded`)
    throw err
  }
}
