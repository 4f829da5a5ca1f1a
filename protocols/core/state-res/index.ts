/**
 * Matrix state resolution v2 and v2.1, pure: merges forked room states into one, the same on
 * every node. See docs/state-resolution.md.
 */
export { resolveState } from './resolve.js'
export type { ResolveStateOptions } from './resolve.js'
export { stateMapKey, parseStateMapKey } from './state-map-key.js'
