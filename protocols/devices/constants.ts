/**
 * Protocol IDs and bounds of the device protocols (linking a device, renewing its attestation,
 * listing the user's rooms). Each value is a policy choice, explained here.
 */

/** Offering a UPK-signed attestation to a device for its counter-signature (link and renewal). */
export const LINK_PROTOCOL = '/keyroom/link/1.0.0'

/** Asking a peer which rooms it shares with the asking device's user. */
export const ROOMS_PROTOCOL = '/keyroom/rooms/1.0.0'

/**
 * Largest link offer or answer frame: an attestation (≈ 430 bytes), a code and a few addresses.
 * 8 KiB leaves room for long multiaddrs and nothing for abuse.
 */
export const MAX_LINK_FRAME_BYTES = 8_192

/** Most addresses an offer carries (where the linking device listens). */
export const MAX_OFFER_ADDRESSES = 16

/** Longest multiaddr text accepted in an offer. */
export const MAX_ADDRESS_LENGTH = 512

/** Longest link code accepted (the code is 16 random bytes, 22 characters in base64url). */
export const MAX_CODE_LENGTH = 64

/** Largest rooms request frame: the request is `{}`. */
export const MAX_ROOMS_REQUEST_BYTES = 64

/** Most room IDs one rooms answer lists; a user in more rooms gets the rest from other peers or later. */
export const MAX_ROOMS_LISTED = 1_024

/** Largest rooms answer frame: 1024 room IDs of 44 characters plus quotes and commas. */
export const MAX_ROOMS_ANSWER_BYTES = 65_536

/** Longest error text sent in an answer (as in sync and invite). */
export const MAX_ERROR_TEXT = 200

/** Time an inbound stream may take, open to last byte written (the port's work included). */
export const INBOUND_TIMEOUT_MS = 5_000

/** Time an outbound request may take, dial included, unless the caller's signal says otherwise. */
export const OUTBOUND_TIMEOUT_MS = 10_000

/** Inbound requests handled at once for one peer. */
export const MAX_INBOUND_PER_PEER = 2

/** Inbound requests handled at once in total. */
export const MAX_INBOUND_TOTAL = 16

/** Registrar cap per connection: above the per-peer cap so excess streams get a named answer. */
export const MAX_STREAMS_PER_CONNECTION = 4
