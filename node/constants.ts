/**
 * Network-level constants of a keyroom node. Each is a policy choice, explained here.
 */

/**
 * Kademlia protocol ID. Our own, never the public IPFS one (`/ipfs/kad/1.0.0`): keyroom's DHT holds
 * keyroom records only, and joining the IPFS DHT would route strangers' queries through our devices.
 */
export const KAD_PROTOCOL = '/keyroom/kad/1.0.0'

/** mDNS service tag, so keyroom nodes find each other and not every libp2p node on the LAN. */
export const MDNS_SERVICE_TAG = '_keyroom._udp.local'

/** Listen addresses when none are given: TCP and WebSockets on every IPv4 interface, OS-chosen ports. */
export const DEFAULT_LISTEN: readonly string[] = Object.freeze(['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws'])

/**
 * Cap on bytes gossipsub may queue on one outbound stream before libp2p resets it. gossipsub 17 does
 * not wait for drain itself, so without a cap a peer that stops reading makes us buffer everything we
 * publish and forward to it. Our own publishes wait for drain (protocols/gossip), so only such a
 * peer reaches this; it then loses its gossip stream until it reconnects, and catches up by sync.
 */
export const GOSSIP_MAX_OUTBOUND_BUFFER_BYTES = 16 * 1024 * 1024

/**
 * Source addresses whose peers are not counted together by gossipsub's IP-colocation penalty (P6).
 * Several nodes on one host (tests, a desktop plus a sidecar) share the loopback address without
 * being a Sybil attack; LAN devices each have their own address anyway.
 */
export const GOSSIP_IP_COLOCATION_WHITELIST: readonly string[] = Object.freeze(['127.0.0.1', '::1'])

/**
 * Hosts whose inbound connections libp2p's connection manager never rate-limits. Its default lets
 * one host open 5 connections a second; several nodes on one host (tests, a desktop app and its
 * sidecar, a device linking itself on the same machine) all come from loopback and would be refused
 * in bursts. Loopback is the local machine, not a remote flooder.
 */
export const CONNECTION_ALLOW_LIST: readonly string[] = Object.freeze(['/ip4/127.0.0.0/ipcidr/8', '/ip6/::1/ipcidr/128'])

/**
 * How often libp2p's connection monitor pings every connection (`/ipfs/ping/1.0.0`); libp2p's
 * default, stated here because the ping limits below are derived from it.
 */
export const CONNECTION_PING_INTERVAL_MS = 10_000

/**
 * Bounds of the connection monitor's adaptive ping timeout (a moving average of past round trips,
 * times 1.2, clamped to these). A ping that times out *aborts the connection* (the monitor's
 * `abortConnectionOnPingFailure`, kept on: it is how a node notices a peer that vanished without
 * closing its TCP connection, e.g. a phone leaving the Wi-Fi, instead of gossiping into it for the
 * minutes TCP takes to give up). libp2p's floor of 5 s was too short: the ping shares the Yamux
 * connection with gossip and sync, and under sustained gossip load its bytes wait behind
 * megabytes of queued frames, so healthy connections were killed (234 in one bench run). With
 * these bounds a vanished peer is still dropped within interval + 30 s.
 */
export const CONNECTION_PING_TIMEOUT_MS: Readonly<{ minTimeout: number, maxTimeout: number }> = Object.freeze({ minTimeout: 20_000, maxTimeout: 30_000 })

/**
 * Outbound `/ipfs/ping/1.0.0` streams one connection may have open. `@libp2p/ping` defaults to 1
 * (the ping spec's "MUST NOT keep more than one outbound stream"), but in one node several
 * pingers share the protocol: the connection monitor (up to 4 overlapping pings: one every
 * {@link CONNECTION_PING_INTERVAL_MS}, each alive up to 30 s), kad-dht's new- and old-contact checks
 * (one each per peer), and an embedder's `services.ping`. Over the limit, `newStream` fails, and
 * when the monitor's ping is the one refused, the monitor aborts the connection: with the limit
 * at 1, a kad-dht ping of a new contact overlapping the monitor's first round dropped dozens of
 * connections 10 s after start-up in a 20-node mesh, some re-established without gossipsub
 * streams. 4 + 2 + 1 = 7, rounded up to 8. A ping stream carries 32 bytes each way.
 */
export const PING_MAX_OUTBOUND_STREAMS = 8

/**
 * Inbound `/ipfs/ping/1.0.0` streams one connection may have open: twice what a keyroom peer opens
 * ({@link PING_MAX_OUTBOUND_STREAMS}), the ping spec's own ratio (inbound 2 for outbound 1),
 * because a listener sees a stream's close late and may still count the previous ones. A refused
 * inbound ping is reset, which the remote's monitor treats as a dead connection.
 */
export const PING_MAX_INBOUND_STREAMS = 2 * PING_MAX_OUTBOUND_STREAMS

/**
 * How long the ping handler echoes one inbound ping stream before aborting it (`@libp2p/ping`'s
 * `timeout`, default 10 s). At least the remote monitor's longest ping timeout
 * ({@link CONNECTION_PING_TIMEOUT_MS}), or a ping the remote still waits for would be aborted
 * under it, and that abort would end the connection.
 */
export const PING_HANDLER_TIMEOUT_MS = CONNECTION_PING_TIMEOUT_MS.maxTimeout

// ---------------------------------------------------------------------------------------------
// The room engine and the embedding API

/** Folder of the LevelDB room store inside the data directory (the keystore sits next to it). */
export const STORE_DIR_NAME = 'db'

/**
 * Most `prev_events` an event may list (Matrix: "no more than 20"); a node also builds on at most
 * this many heads, the deepest first, so forks merge within a few events.
 */
export const MAX_PREV_EVENTS = 20

/** Most `auth_events` an event may list (Matrix: "no more than 10"). keyroom's selection names at most 8. */
export const MAX_AUTH_EVENTS = 10

/**
 * Most events fetched to fill one gap under a gossiped event (its unknown parents and auth events).
 * A gap larger than this is left to catch-up, which runs on every (re)connect.
 */
export const GAP_FILL_MAX_EVENTS = 1_000

/**
 * Most events one catch-up (a join, a reconnect) fetches before it gives up: the whole DAG of the
 * room is replicated parents-first, so this bounds the history a node takes in one go. 64 KiB per
 * event makes the worst case large; real events are ~1 KiB, and the byte bound below caps memory.
 */
export const CATCH_UP_MAX_EVENTS = 20_000

/** Most event bytes one catch-up holds in memory before ingesting (the events are ordered first). */
export const CATCH_UP_MAX_BYTES = 64 * 1024 * 1024

/** Time one catch-up may take, network and ingest together. */
export const CATCH_UP_TIMEOUT_MS = 60_000

/**
 * Time the room engine gives itself to fetch a gossiped event's unknown parents. Below gossip's
 * validator bound (5 s), so the verdict reaches gossipsub before it gives up on the message.
 */
export const GAP_FILL_TIMEOUT_MS = 4_000

/**
 * How long a gossiped event whose parents are missing waits for them to arrive by gossip (they
 * usually are on their way: gossipsub validates concurrently and out of order) before the node
 * asks the relaying peer for them, ms. Under load this turns a storm of gap-fill requests into
 * waits; a parent that really was missed costs this much extra delay.
 */
export const GAP_GRACE_MS = 250

/**
 * After a gossiped event could not be decided (its gap not fetched within
 * {@link GAP_FILL_TIMEOUT_MS}), the room is caught up from the relaying peer this much later (one
 * pending per room, {@link MAX_PENDING_RETRIES} rooms at most), ms.
 */
export const RETRY_CATCH_UP_DELAY_MS = 2_000

/** Rooms with a catch-up retry pending at once. */
export const MAX_PENDING_RETRIES = 64

/** Tasks (ingests and local sends) queued per room before callers wait. */
export const ROOM_QUEUE_CAPACITY = 1_024

/** Time a join gives each `via` address to answer a dial. */
export const DIAL_TIMEOUT_MS = 5_000

/** Events read per page when a room is loaded from the store or history is listed. */
export const STORE_PAGE_SIZE = 256

/**
 * Positions (room, depth) of stored events the engine keeps in memory: every prev event of a new
 * event is looked up, and those are nearly always recent. ≈ 150 bytes an entry.
 */
export const POSITION_CACHE_ENTRIES = 65_536

/**
 * Bytes of recently stored or served events kept in memory for the sync server (peers filling a
 * gap or catching up ask for the newest events, and a `missing` walk reads each event twice).
 */
export const EVENT_CACHE_BYTES = 8 * 1024 * 1024

/**
 * Events read ahead, in one batch, below an event a `missing` walk reads from the store: its
 * ancestors sit just below it in the room's (depth, event ID) order. One batch instead of one
 * read per event makes a cold catch-up of a long history a few hundred reads, not thousands.
 */
export const SYNC_READ_AHEAD = 256

/** Fewest events in a batch for the ingest checks to use the worker thread (check-pool.ts). */
export const CHECK_WORKER_MIN_BATCH = 64

/** A check worker with no work for this long is stopped (its heap is freed), ms. */
export const CHECK_WORKER_IDLE_MS = 10_000

/** Default and largest `limit` of `messages()`. */
export const DEFAULT_MESSAGES_LIMIT = 50
export const MAX_MESSAGES_LIMIT = 1_000

/** Time given to the hello exchange (who is this device's user) with a newly connected peer. */
export const HELLO_TIMEOUT_MS = 5_000

/**
 * After another user removes this one from a room, when (ms after the removal, then after the
 * first look) the node asks peers whether the user is still joined there — the removal may have
 * lost state resolution (node/create-node.ts, `#scheduleRemovalChecks`).
 */
export const REMOVAL_RECHECK_DELAYS_MS: readonly number[] = Object.freeze([1_000, 5_000])

/** Connected peers asked in one such look. */
export const REMOVAL_RECHECK_PEERS = 4

/** Default anti-entropy period: each joined room compares heads with one member this often, ms. */
export const SYNC_INTERVAL_MS = 30_000

/** Time given to delivering one invite to one of the invitee's devices (per attempt). */
export const INVITE_DELIVERY_TIMEOUT_MS = 5_000

/**
 * Attempts per device and invite. Undelivered invites are also handed over whenever the invitee's
 * device (re)connects, so a second attempt only covers a transient stream failure.
 */
export const INVITE_DELIVERY_ATTEMPTS = 2

/**
 * Time given to one identity-directory lookup made for the API (invite delivery, `lookupUser`). The
 * directory's own bound is longer; a user waiting on `lookupUser` should not wait more than this.
 */
export const DIRECTORY_LOOKUP_TIMEOUT_MS = 5_000

// ---------------------------------------------------------------------------------------------
// Devices: link, renewal

/** Time `linkDevice` gives the whole exchange with the new device (dial, offer, counter-signature). */
export const LINK_TIMEOUT_MS = 15_000

/**
 * When an expiring attestation is renewed: once two thirds of its lifetime (`expires_ts −
 * issued_ts`) have passed, by a device holding the UPK, for the same lifetime again. A third of the
 * lifetime is left for the device to be online at the same time as one holding the UPK.
 */
export const RENEW_AT_LIFETIME_FRACTION = 2 / 3

/** A renewal that could not be made (the device was not connected) is tried again after this long, or when it connects. */
export const RENEW_RETRY_MS = 10_000

/** Longest single timer wait (setTimeout's limit is 2^31 − 1 ms); longer waits are re-armed. */
export const MAX_TIMER_MS = 2_147_483_647
