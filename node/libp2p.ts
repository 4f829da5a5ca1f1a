/**
 * The libp2p composition of a keyroom node (DESIGN §4): TCP + WebSockets, Noise, Yamux, identify,
 * ping, optional mDNS and bootstrap discovery, a Kademlia DHT on keyroom's own protocol ID,
 * gossipsub configured for room gossip, and the keyroom services (room gossip, sync).
 *
 * Transports and discovery that a node may not use are loaded only when it does (dynamic imports):
 * WebSockets when one of its addresses is a WebSockets one (`@libp2p/websockets` brings `ws` and
 * `node:http`, which in Node 24 loads the bundled undici: ≈ 5 MB of RSS measured on an idle node),
 * and mDNS when it is on. See {@link usesWebSockets}.
 *
 * The device key *is* the libp2p identity: the node's private key is the ed25519 key derived from
 * the 32-byte device seed, so the PeerId encodes the UDK and every Noise handshake proves that the
 * remote holds the UDK it claims.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { gossipsub, StrictNoSign } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { kadDHT } from '@libp2p/kad-dht'
import { defaultLogger, prefixLogger } from '@libp2p/logger'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { ErrorCode, KeyroomError } from '../protocols/core/index.js'
import { ROOM_MESH_DEGREE, roomFastMessageIdFn, roomGossip, roomMessageIdFn } from '../protocols/gossip/index.js'
import { roomSync } from '../protocols/sync/index.js'
import {
  CONNECTION_ALLOW_LIST, CONNECTION_PING_INTERVAL_MS, CONNECTION_PING_TIMEOUT_MS, DEFAULT_LISTEN, GOSSIP_IP_COLOCATION_WHITELIST,
  GOSSIP_MAX_OUTBOUND_BUFFER_BYTES, KAD_PROTOCOL, MDNS_SERVICE_TAG, PING_HANDLER_TIMEOUT_MS, PING_MAX_INBOUND_STREAMS,
  PING_MAX_OUTBOUND_STREAMS
} from './constants.js'
import type { RoomGossip, RoomGossipInit } from '../protocols/gossip/index.js'
import type { RoomSync, RoomSyncInit } from '../protocols/sync/index.js'
import type { GossipSub, GossipsubOpts } from '@libp2p/gossipsub'
import type { Identify } from '@libp2p/identify'
import type { Ed25519PrivateKey, Libp2p, PeerId, PeerInfo } from '@libp2p/interface'
import type { KadDHT, KadDHTInit } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { Datastore } from 'interface-datastore'
import type { Libp2pOptions } from 'libp2p'

/** The services every keyroom libp2p node runs, by name (`libp2p.services.<name>`). */
export interface KeyroomServices {
  identify: Identify
  ping: Ping
  dht: KadDHT
  pubsub: GossipSub
  roomGossip: RoomGossip
  sync: RoomSync
  [name: string]: unknown
}

/** A started (or startable) keyroom libp2p node. */
export type KeyroomLibp2p = Libp2p<KeyroomServices>

/**
 * DHT mode. `server` (default) answers DHT queries: right for LAN meshes, where libp2p's automatic
 * mode would keep every node a client (no public address) and the DHT would have nobody to ask.
 * `client` only asks (battery-bound mobiles); `auto` is libp2p's choice (server once a public address
 * is confirmed).
 */
export type DhtMode = 'server' | 'client' | 'auto'

/** Options of {@link createKeyroomLibp2p}. */
export interface KeyroomLibp2pOptions {
  /** The 32-byte device seed; its ed25519 key is the node's identity (PeerId = UDK). */
  deviceSeed: Uint8Array
  /** Multiaddrs to listen on (default {@link DEFAULT_LISTEN}). */
  listen?: string[]
  /** Multiaddrs to announce instead of the listening ones. */
  announce?: string[]
  /** Bootstrap peers (multiaddrs with `/p2p/<id>`); none by default. */
  bootstrap?: string[]
  /** LAN discovery by mDNS (service tag {@link MDNS_SERVICE_TAG}); off by default. */
  mdns?: boolean | { interval?: number }
  /** DHT mode (default `server`). */
  dhtMode?: DhtMode
  /** DHT record validators and selectors (the identity directory registers its `/keyroom/…` keys here). */
  dht?: Pick<KadDHTInit, 'validators' | 'selectors'>
  /** Datastore for the peer store and DHT records (default: in memory). */
  datastore?: Datastore
  /** Prefix of every log namespace of this node, so several nodes in one process are told apart. */
  loggerPrefix?: string
  /** Room gossip ports and tunables. Its `identifyEvent` also becomes gossipsub's message-ID function. */
  gossip: RoomGossipInit
  /** Sync ports and tunables. */
  sync: RoomSyncInit
  /** Advanced: gossipsub option overrides (e.g. a short `heartbeatInterval` in tests). */
  pubsub?: Partial<GossipsubOpts>
  /** Start the node before returning (default true, as libp2p). */
  start?: boolean
  /**
   * Peers never to connect with, either way (checked when a connection is dialled and once its
   * encryption names the remote): the node refuses devices their users revoked.
   */
  denyPeer?: (peer: PeerId) => boolean
}

/** Derive the device's libp2p private key from its 32-byte seed. Throws `ERR_INVALID_KEY_MATERIAL` on a wrong length. */
export async function deviceKeyFromSeed (seed: Uint8Array): Promise<Ed25519PrivateKey> {
  if (!(seed instanceof Uint8Array) || seed.byteLength !== 32) {
    throw new KeyroomError(ErrorCode.InvalidKeyMaterial, `a device seed is 32 bytes, got ${seed instanceof Uint8Array ? seed.byteLength : typeof seed}`)
  }
  // Not privateKeyFromRaw: for 32 bytes it would not build an ed25519 key from a seed.
  return await generateKeyPairFromSeed('Ed25519', seed)
}

/** The PeerId of a device, from its raw 32-byte ed25519 public key (the UDK's key bytes). */
export function peerIdFromDeviceKey (publicKey: Uint8Array): PeerId {
  if (!(publicKey instanceof Uint8Array) || publicKey.byteLength !== 32) {
    throw new KeyroomError(ErrorCode.InvalidKeyMaterial, 'a device public key is 32 bytes')
  }
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey))
}

/** The raw 32-byte ed25519 public key (the UDK's key bytes) of a peer, or `undefined` for non-ed25519 peers. */
export function deviceKeyOfPeer (peer: PeerId): Uint8Array | undefined {
  return peer.type === 'Ed25519' ? peer.publicKey.raw : undefined
}

/**
 * DHT address mapper for LAN meshes. kad-dht's default (`removePrivateAddressesMapper`) drops every
 * private address, which on a LAN is every address; this keeps private and loopback ones and drops
 * only what no peer can dial: IPv6 link-local (needs a zone the multiaddr does not carry) and the
 * unspecified addresses.
 */
export function lanPeerInfoMapper (peer: PeerInfo): PeerInfo {
  return {
    ...peer,
    multiaddrs: peer.multiaddrs.filter(ma => {
      const host = ma.getComponents()[0]
      if (host === undefined) return false
      if (host.name === 'ip6') {
        const v = (host.value ?? '').toLowerCase()
        return !(v === '::' || /^fe[89ab][0-9a-f]:/.test(v))
      }
      if (host.name === 'ip4') return host.value !== '0.0.0.0'
      return true
    })
  }
}

/**
 * Whether a node with these addresses needs the WebSockets transport: some address it listens on,
 * announces or bootstraps from is a WebSockets one (`/ws`, `/wss`, or the older `/tls/ws`).
 *
 * A node without it listens and dials over TCP only, so it cannot reach a peer that listens on
 * WebSockets alone; keyroom nodes listen on TCP by default (DEFAULT_LISTEN has both), so such a
 * peer is one configured that way on purpose, and a node that must reach it lists a WebSockets
 * address (a bootstrap address is enough).
 */
export function usesWebSockets (addresses: Iterable<string>): boolean {
  for (const address of addresses) {
    let names: string[]
    try {
      names = multiaddr(address).getComponents().map(c => c.name)
    } catch {
      // Not a multiaddr: libp2p refuses it later with its own error; it needs no transport here.
      continue
    }
    if (names.includes('ws') || names.includes('wss')) return true
  }
  return false
}

/** Build (and by default start) a keyroom libp2p node. */
export async function createKeyroomLibp2p (options: KeyroomLibp2pOptions): Promise<KeyroomLibp2p> {
  const privateKey = await deviceKeyFromSeed(options.deviceSeed)
  const dhtMode = options.dhtMode ?? 'server'
  const listen = [...(options.listen ?? DEFAULT_LISTEN)]
  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = []
  if (options.bootstrap !== undefined && options.bootstrap.length > 0) {
    peerDiscovery.push(bootstrap({ list: options.bootstrap }))
  }
  if (options.mdns !== undefined && options.mdns !== false) {
    const interval = typeof options.mdns === 'object' ? options.mdns.interval : undefined
    const { mdns } = await import('@libp2p/mdns')
    peerDiscovery.push(mdns({ serviceTag: MDNS_SERVICE_TAG, ...(interval === undefined ? {} : { interval }) }))
  }
  const transports: NonNullable<Libp2pOptions['transports']> = [tcp()]
  if (usesWebSockets([...listen, ...(options.announce ?? []), ...(options.bootstrap ?? [])])) {
    const { webSockets } = await import('@libp2p/websockets')
    transports.push(webSockets())
  }

  return await createLibp2p<KeyroomServices>({
    privateKey,
    ...(options.datastore === undefined ? {} : { datastore: options.datastore }),
    logger: options.loggerPrefix === undefined ? defaultLogger() : prefixLogger(options.loggerPrefix),
    addresses: {
      listen,
      ...(options.announce === undefined ? {} : { announce: options.announce })
    },
    transports,
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    connectionManager: { allow: [...CONNECTION_ALLOW_LIST] },
    // Pings every connection and aborts the ones that do not answer (dead-peer detection); the
    // timeout is widened for connections busy with gossip, see CONNECTION_PING_TIMEOUT_MS.
    connectionMonitor: {
      pingInterval: CONNECTION_PING_INTERVAL_MS,
      pingTimeout: { ...CONNECTION_PING_TIMEOUT_MS },
      abortConnectionOnPingFailure: true
    },
    ...(options.denyPeer === undefined
      ? {}
      : {
          connectionGater: {
            denyDialPeer: options.denyPeer,
            denyInboundEncryptedConnection: options.denyPeer,
            denyOutboundEncryptedConnection: options.denyPeer
          }
        }),
    services: {
      identify: identify(),
      // The connection monitor and kad-dht ping on one connection at once; see PING_MAX_OUTBOUND_STREAMS.
      ping: ping({ maxOutboundStreams: PING_MAX_OUTBOUND_STREAMS, maxInboundStreams: PING_MAX_INBOUND_STREAMS, timeout: PING_HANDLER_TIMEOUT_MS }),
      dht: kadDHT({
        protocol: KAD_PROTOCOL,
        logPrefix: 'keyroom:kad',
        datastorePrefix: '/keyroom/kad',
        metricsPrefix: 'keyroom_kad',
        // `undefined` = libp2p's automatic mode; see DhtMode.
        ...(dhtMode === 'auto' ? {} : { clientMode: dhtMode === 'client' }),
        peerInfoMapper: lanPeerInfoMapper,
        ...(options.dht?.validators === undefined ? {} : { validators: options.dht.validators }),
        ...(options.dht?.selectors === undefined ? {} : { selectors: options.dht.selectors })
      }),
      pubsub: gossipsub({
        // Every event is signed by its author's device; libp2p-level signing would only add bytes
        // and tie messages to the relaying peer.
        globalSignaturePolicy: StrictNoSign,
        msgIdFn: roomMessageIdFn(options.gossip.identifyEvent, options.gossip.maxEventBytes),
        // Copies with bytes already seen on the topic are duplicates before the message ID is computed.
        fastMsgIdFn: roomFastMessageIdFn(),
        // Room gossip waits for subscribers itself and reports `no-peers`; never publish into the void.
        allowPublishToZeroTopicPeers: false,
        ignoreDuplicatePublishError: false,
        emitSelf: false,
        // Keyroom peers all speak gossipsub; no floodsub fallback to keep.
        fallbackToFloodsub: false,
        // Small meshes: send own events to every subscriber in good standing, not only the mesh.
        floodPublish: true,
        // So the mesh only relays, with fewer links than gossipsub's defaults; see ROOM_MESH_DEGREE.
        ...ROOM_MESH_DEGREE,
        maxOutboundBufferSize: GOSSIP_MAX_OUTBOUND_BUFFER_BYTES,
        scoreParams: { IPColocationFactorWhitelist: new Set(GOSSIP_IP_COLOCATION_WHITELIST) },
        ...options.pubsub
      }),
      roomGossip: roomGossip(options.gossip),
      sync: roomSync(options.sync)
    },
    start: options.start ?? true
  })
}
