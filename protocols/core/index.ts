/**
 * The pure room protocol: canonical JSON, event crypto, identity, room rules.
 * No I/O, no clock, no randomness.
 */
export { KeyroomError, ErrorCode } from './errors.js'
export type { ErrorCodeValue } from './errors.js'
export { toBase64, toBase64Url, fromBase64, fromBase64Url } from './encoding/base64.js'
export { compareBytes } from './encoding/bytes.js'
export { roomVersionRules, findRoomVersion, ROOM_VERSIONS, KEYROOM_ROOM_VERSION } from './room-versions.js'
export type { RoomVersionRules, RedactionRules, EventIdFormat } from './room-versions.js'
export * from './json/index.js'
export { Lru } from './collections/lru.js'
export { BinaryHeap } from './state-res/binary-heap.js'
export * from './crypto/index.js'
export * from './signing/index.js'
export * from './events/index.js'
export * from './identity/index.js'
export * from './auth/index.js'
export * from './state-res/index.js'
export * from './room/index.js'
