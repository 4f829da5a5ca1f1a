/**
 * JSON for the room protocol: the strict parser for received text and Matrix canonical JSON.
 */
export { parseJson } from './parse.js'
export { canonicalJson, canonicalJsonBytes } from './canonical.js'
export { compareCodePoints } from './code-point-order.js'
export { MAX_JSON_DEPTH, MAX_CANONICAL_INTEGER } from './constants.js'
