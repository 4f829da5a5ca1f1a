/**
 * Protocol ID and bounds of the hello exchange. Each value is a policy choice, explained here.
 */

/** Versioned protocol ID, under the one `/keyroom/` prefix (STYLE habit 3). */
export const HELLO_PROTOCOL = '/keyroom/hello/1.0.0'

/**
 * Largest hello frame, payload bytes. An attestation is ~400 bytes of JSON (two keys, two
 * signatures, two timestamps); 8 KiB leaves room for fields added later and refuses anything else.
 */
export const MAX_HELLO_BYTES = 8 * 1024

/** Time an inbound hello stream may take, open to last byte written. */
export const HELLO_INBOUND_TIMEOUT_MS = 5_000

/** Time an outbound hello may take, dial included, unless the caller's signal says otherwise. */
export const HELLO_OUTBOUND_TIMEOUT_MS = 5_000

/** Inbound hello streams per connection (the registrar's cap); a peer needs one per connection. */
export const MAX_HELLO_STREAMS_PER_CONNECTION = 2
