/**
 * Limits shared by the strict parser and the canonical encoder.
 *
 * Both sides use the same numbers on purpose: every value `parseJson` accepts can be written by
 * `canonicalJson`, and every value `canonicalJson` writes is accepted by `parseJson`. Two keyroom
 * nodes must never disagree on whether an event is valid JSON, so these are consensus constants:
 * changing one is a room-version change.
 */

/**
 * Deepest nesting of containers (objects and arrays) accepted: a top-level object or array is
 * depth 1, so `[[1]]` has depth 2 and scalars at the top level have depth 0.
 *
 * Why 128: Matrix sets no nesting limit, but a PDU is at most 65536 bytes, so without one a hostile
 * peer could send ~32 000 nested `[` and make a recursive parser use deep stack for every gossip
 * message. Real events nest a handful of levels (`content.m.relates_to.…`, `signatures.<key>.<alg>`).
 * 128 is the default recursion limit of serde_json, the parser behind ruma and conduit, so event
 * content that those Matrix implementations accept is not refused here for its depth, and 128
 * stack frames are cheap on every runtime we target.
 */
export const MAX_JSON_DEPTH = 128

/**
 * Largest integer magnitude Matrix canonical JSON allows, 2^53 − 1.
 *
 * Matrix appendices, "Canonical JSON": "Numbers in the JSON must be integers in the range
 * `[-(2**53)+1, (2**53)-1]`, represented without exponents or decimal places, and negative zero
 * `-0` MUST NOT appear." Equal to `Number.MAX_SAFE_INTEGER`.
 */
export const MAX_CANONICAL_INTEGER = 9007199254740991
