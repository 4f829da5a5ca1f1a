/**
 * Names, bounds and timings of the identity directory (DESIGN §4). Each value is a policy choice,
 * explained where it is set; docs/dht.md summarises them.
 */

/**
 * The kad-dht namespace of keyroom records. kad-dht 16 picks a record's validator and selector by
 * the key's first path segment (`/<namespace>/…`, `record/validators.js` `verifyRecord` and
 * `record/selectors.js` `bestRecord`), so every `/keyroom/…` key reaches this module's validator.
 */
export const DHT_NAMESPACE = 'keyroom'

/** Prefix of a user record key: `/keyroom/upk/` followed by the 33 raw UPK bytes (version ‖ key). */
export const USER_RECORD_KEY_PREFIX = `/${DHT_NAMESPACE}/upk/`

/**
 * Largest record value accepted, bytes of canonical JSON. An attestation is ≈ 450–480 bytes and a
 * revocation ≈ 300 (up to ≈ 1.8 KiB with a 512-character reason), so 16 KiB holds 32 devices and a
 * few revocations, or ≈ 53 reason-less revocations and no device: this bound, not the counts, is
 * the one publishers meet first (fit.ts chooses what gives way). It is checked before parsing, so a
 * hostile peer cannot make a node parse or verify more than this per record.
 */
export const MAX_RECORD_BYTES = 16 * 1024

/**
 * Most attestations in one record. Verification costs two signatures per device; 32 devices are
 * 65 ed25519 verifications (≈ 5 ms) — the worst case a peer can ask of us per distinct record.
 */
export const MAX_DEVICES = 32

/**
 * Most revocations in one record. Revocations never lapse, so they accumulate; a publisher near the
 * bound (or the byte bound, which comes first) drops the revocations of devices whose attestations
 * expired long ago first (rooms keep their own copies in room state, DESIGN §2; fit.ts). The
 * validator refuses a record with more (`too-large`, checked before any signature).
 */
export const MAX_REVOCATIONS = 64

/**
 * A revoked device counts as long-expired — its revocation the first to give way when a record
 * must shrink — once every attestation known of it expired at least this long ago. A week leaves
 * ample room for clocks that disagree (mesh devices without network time) about whether it has
 * expired at all.
 */
export const REVOCATION_EXPIRY_GRACE_MS = 7 * 24 * 60 * 60 * 1000

/** Validation verdicts remembered by content hash, so the ~20 copies of one record a lookup receives are verified once. */
export const VALIDATION_MEMO_ENTRIES = 512

/**
 * Parsed records the validator keeps of the latest genuine values it verified, so the directory,
 * which needs the parsed record, does not verify the signatures kad-dht's call to the validator
 * just verified (≈ 1.5 ms for a 3-device record on this machine, 7 ed25519 verifications).
 */
export const VERIFIED_RECORD_ENTRIES = 64

/**
 * UPKs whose highest accepted `seq` a node remembers. kad-dht 16's PUT_VALUE handler stores whatever
 * validates, with no comparison against the record it already holds (go-libp2p-kad-dht does compare);
 * the validator refuses a record older than one it has accepted for the same UPK, so a replayed old
 * record cannot overwrite a newer one on a node that has seen the newer one.
 */
export const SEQ_HIGH_WATER_ENTRIES = 4096

/**
 * How long kad-dht 16 keeps a record received from another peer: its GET_VALUE handler deletes
 * records older than `PROVIDERS_VALIDITY` (48 h, `rpc/handlers/get-value.js`). Re-publishing must
 * happen well inside this.
 */
export const DHT_RECORD_LIFETIME_MS = 48 * 60 * 60 * 1000

/**
 * How often an own record is put again. One hour (the original Kademlia republish period) is far
 * inside the 48 h lifetime, and on a LAN mesh, where devices come and go, it also places the
 * record on nodes that became closest to the key since the last put.
 */
export const REPUBLISH_INTERVAL_MS = 60 * 60 * 1000

/**
 * First retry after a put that no peer accepted (e.g. published before any peer was known);
 * doubled after each failure up to {@link REPUBLISH_INTERVAL_MS}.
 */
export const REPUBLISH_RETRY_MS = 5_000

/** Time bound of one put (publish or re-publish), ms. */
export const PUBLISH_TIMEOUT_MS = 30_000

/**
 * Time bound of one DHT lookup, ms. When it passes, the best record received so far is used (a
 * lookup that has heard from some holders is better than none).
 */
export const LOOKUP_TIMEOUT_MS = 10_000

/**
 * Default lookup policy: a lookup that has to ask the DHT answers with the best (highest `seq`,
 * verified) of the records returned by the first this-many holders, and the same query runs on to
 * completion in the background, moving the cache (and `onRecord`) forward if a later holder has a
 * higher `seq`.
 *
 * Why 3: a put goes to the 20 closest peers (kad-dht K), so a record that was published reaches
 * many holders; three independent answers make it unlikely that every one of them missed the latest
 * put, while the answer no longer waits for the slowest of ~20 holders (measured in a 30-node
 * loopback network: full query p50 ≈ 100 ms, first three answers ≈ 45 ms; docs/dht.md).
 *
 * Risk, and why it is acceptable: if all three missed the latest put, the answer is briefly
 * outdated (until the query ends, at most {@link LOOKUP_TIMEOUT_MS}). It can never be older than
 * what this node already knows: the validator drops answers below its high-water `seq`, and the
 * cache never goes backwards. A revocation also reaches every room as a device state event, and
 * room auth never consults the directory, so an outdated answer can at worst route one message
 * to a revoked device's address — which honest peers already refuse at the connection once they
 * know the revocation. A caller that must see the newest record (read-modify-write of the user's
 * own record) asks with `quorum: 'all'`.
 */
export const LOOKUP_QUORUM = 3

/** Time bound of the address lookups (`peerRouting.findPeer`) of one user's devices, ms. */
export const FIND_PEER_TIMEOUT_MS = 3_000

/** Most devices of one user whose addresses a lookup resolves (usable devices only). */
export const MAX_ADDRESS_LOOKUPS = 8

/**
 * Cache: a looked-up user is served from memory without any network for this long. Device lists
 * change rarely (linking or losing a device), and a revocation also reaches every room through room
 * state, so five minutes of staleness costs little.
 */
export const CACHE_TTL_MS = 5 * 60 * 1000

/**
 * Cache: after this age a hit still answers at once but starts a background refresh
 * (refresh-ahead), so users in active use never reach the TTL and sending never waits on the DHT.
 */
export const CACHE_REFRESH_AFTER_MS = 2 * 60 * 1000

/**
 * Cache: an entry past its TTL is still served (marked `stale`, refreshed in the background) up to
 * this age, then dropped. A day covers a night offline without losing the device list.
 */
export const CACHE_MAX_STALE_MS = 24 * 60 * 60 * 1000

/** Cache: most users held (least recently used dropped first). */
export const CACHE_MAX_ENTRIES = 1024

/** Most background refreshes running at once; further stale hits do not start one. */
export const MAX_BACKGROUND_REFRESHES = 4
