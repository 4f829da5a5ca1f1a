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
