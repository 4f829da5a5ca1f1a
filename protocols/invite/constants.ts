/**
 * Protocol ID and bounds of invite delivery. Each value is a policy choice, explained here.
 */

/** Versioned protocol ID, under the one `/keyroom/` prefix (STYLE habit 3). */
export const INVITE_PROTOCOL = '/keyroom/invite/1.0.0'

/** Largest invite frame: one event, so the Matrix PDU bound (65536 bytes of canonical JSON). */
export const MAX_INVITE_BYTES = 65_536

/** Largest answer frame: `{"ok":true}` or an error of at most 200 characters of text. */
export const MAX_ANSWER_BYTES = 1_024

/** Longest error text sent in an answer (as in sync). */
export const MAX_ERROR_TEXT = 200

/** Time an inbound invite stream may take, open to last byte written (the port's check included). */
export const INVITE_INBOUND_TIMEOUT_MS = 5_000

/** Time an outbound delivery may take, dial included, unless the caller's signal says otherwise. */
export const INVITE_OUTBOUND_TIMEOUT_MS = 10_000

/** Inbound invites handled at once for one peer; an honest inviter sends one at a time per room. */
export const MAX_INBOUND_INVITES_PER_PEER = 2

/** Inbound invites handled at once in total. */
export const MAX_INBOUND_INVITES_TOTAL = 16

/** Registrar cap per connection: above the per-peer cap so excess streams get a named answer. */
export const MAX_INVITE_STREAMS_PER_CONNECTION = 4
