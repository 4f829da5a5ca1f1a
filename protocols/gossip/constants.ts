/**
 * Names and bounds of room gossip. Each value is a policy choice, explained where it is set.
 */

/** Prefix of every room topic; the trailing `1` versions the message format carried on it. */
export const ROOM_TOPIC_PREFIX = '/keyroom/room/1/'

/**
 * Largest event accepted on or published to a room topic, bytes. Matrix limits a PDU to 65536
 * bytes of canonical JSON ("Size limits"), so anything larger is invalid before it is parsed.
 */
export const MAX_EVENT_BYTES = 65_536

/**
 * Publishes queued (waiting or running) per room before `publish()` itself waits. Bounds memory at
 * 64 × 64 KiB = 4 MiB per room, and turns a burst into backpressure on the caller instead of loss.
 */
export const MAX_QUEUED_PUBLISHES = 64

/**
 * How long a publish waits for a first subscriber of the room topic (right after a dial the remote's
 * subscription takes tens of ms to arrive). After that the outcome is `no-peers`: the event stays in
 * the store and reaches peers through sync.
 */
export const WAIT_FOR_PEERS_TIMEOUT_MS = 5_000

/** How long a publish waits for a recipient's stream to drain before moving on (the bytes stay queued). */
export const DRAIN_TIMEOUT_MS = 5_000

/**
 * Time the validate port gets per message before the message is ignored (not rejected: a slow
 * validator is our problem, not the sender's fault).
 */
export const VALIDATE_TIMEOUT_MS = 5_000

/** How often waiting publishes re-check for subscribers, ms. */
export const PEER_POLL_INTERVAL_MS = 25

/**
 * Gossipsub mesh degree for keyroom nodes (gossipsub's defaults are D 6, Dlo 4, Dhi 12, Dout 2,
 * Dscore 4). Rooms are small and a keyroom node dials every peer it discovers; its own events go
 * to every subscribed peer it is connected to (flood publishing, node/libp2p.ts), so the mesh only
 * relays to members the author is not connected to — and every mesh link costs each node a
 * forward or an IDONTWANT per event. Four links per node (three to six) still give every relay
 * several independent paths; events a node misses reach it by gossip (IHAVE/IWANT to `Dlazy` = 6
 * non-mesh peers per heartbeat) or by sync. Measured with the latency phase of bench/gossip.ts
 * (20 nodes on loopback in one process, raw gossipsub given the same degree; one run each on a
 * shared 2-core machine): keyroom p50 ≈ 34 → 20 ms, raw ≈ 9.1 → 7.8 ms, keyroom / raw 3.8 → 2.6;
 * CPU per event, all nodes, ≈ 44 → 26 ms.
 * `Dout` ≤ D / 2 and < Dlo, as gossipsub requires; `Dscore` keeps three of four links for the
 * best-scoring peers when a mesh is pruned.
 */
export const ROOM_MESH_DEGREE = Object.freeze({ D: 4, Dlo: 3, Dhi: 6, Dout: 2, Dscore: 3 })
