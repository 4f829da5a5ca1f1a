/**
 * Defaults of the store, each with the reason for its value.
 */

/**
 * Most writes in one group commit. Large enough that a burst (catch-up after a reconnect) costs
 * one fsync per few hundred events; small enough that one batch stays a few MiB and a caller at
 * the back of the queue waits at most one batch.
 */
export const GROUP_COMMIT_MAX_WRITES = 256

/**
 * Most event bytes in one group commit (4 MiB): LevelDB's default write buffer is 4 MiB, and a
 * batch much larger than it stalls on a memtable flush mid-write.
 */
export const GROUP_COMMIT_MAX_BYTES = 4 * 1024 * 1024

/**
 * Decoded state-trie nodes kept in memory, counted in encoded bytes (8 MiB; decoded they take
 * roughly 3× that in the JS heap). Nodes are immutable and content-addressed, so the cache never
 * goes stale; 8 MiB holds the whole state of several rooms of 10,000 members (≈ 1 MiB each).
 */
export const STATE_NODE_CACHE_BYTES = 8 * 1024 * 1024

/**
 * Recent events' state roots kept in memory: the next write's state base is nearly always a
 * recent event (its parent), so this saves a read per write.
 */
export const EVENT_STATE_CACHE_ENTRIES = 4096

/** Format version of the key layout and record encodings (`docs/storage.md`). */
export const STORE_FORMAT = 1
