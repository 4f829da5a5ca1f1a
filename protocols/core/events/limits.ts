/**
 * Size limits of events (Matrix spec, "Size limits": "The complete event MUST NOT be larger than
 * 65536 bytes, when formatted with the federation event format, including any signatures, and
 * encoded as Canonical JSON").
 */

/** Largest event, bytes of canonical JSON: anything larger is invalid before it is parsed. */
export const MAX_PDU_BYTES = 65_536
