/**
 * The libp2p composition: identity from the device seed, keyroom's own DHT protocol in server mode
 * with LAN addresses kept, WebSockets, and gossipsub configured for room gossip.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createKeyroomLibp2p, deviceKeyFromSeed, deviceKeyOfPeer, lanPeerInfoMapper, peerIdFromDeviceKey, usesWebSockets
} from '../../node/libp2p.js'
import { PING_MAX_OUTBOUND_STREAMS } from '../../node/constants.js'
import { ROOM_MESH_DEGREE } from '../../protocols/gossip/index.js'
import { waitFor } from '../helpers/wait-for.js'
import { fakePorts } from '../protocols/gossip/fixtures.js'
import type { KeyroomLibp2p, KeyroomLibp2pOptions } from '../../node/libp2p.js'
import type { GossipsubOpts } from '@libp2p/gossipsub'

const nodes: KeyroomLibp2p[] = []
afterEach(async () => {
  for (const n of nodes.splice(0).reverse()) await n.stop()
})

const seed = (byte: number): Uint8Array => new Uint8Array(32).fill(byte)

async function node (name: string, options: Partial<KeyroomLibp2pOptions> = {}): Promise<KeyroomLibp2p> {
  const n = await createKeyroomLibp2p({
    deviceSeed: seed(nodes.length + 1),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    loggerPrefix: name,
    gossip: fakePorts(),
    sync: {
      store: { getHeads: () => undefined, getEvent: () => undefined, getPrevEvents: () => undefined, getStateIdsAt: () => undefined },
      authorize: () => false
    },
    ...options
  })
  nodes.push(n)
  return n
}

/** The ed25519 public key of a seed, by node:crypto (independent of libp2p): PKCS#8 prefix ‖ seed. */
function publicKeyOfSeed (s: Uint8Array): Uint8Array {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), s])
  const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' })
  return new Uint8Array(spki.subarray(-32))
}

describe('device identity', () => {
  it('the PeerId is the ed25519 key of the device seed (PeerId = UDK)', async () => {
    const n = await node('a', { deviceSeed: seed(7) })
    const expected = publicKeyOfSeed(seed(7))
    expect(deviceKeyOfPeer(n.peerId)).toEqual(expected)
    expect(peerIdFromDeviceKey(expected).equals(n.peerId)).toBe(true)
    expect((await deviceKeyFromSeed(seed(7))).publicKey.raw).toEqual(expected)
  })

  it('refuses a seed of the wrong length', async () => {
    await expect(deviceKeyFromSeed(new Uint8Array(31))).rejects.toMatchObject({ code: 'ERR_INVALID_KEY_MATERIAL' })
    await expect(deviceKeyFromSeed(new Uint8Array(64))).rejects.toMatchObject({ code: 'ERR_INVALID_KEY_MATERIAL' })
    expect(() => peerIdFromDeviceKey(new Uint8Array(33))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY_MATERIAL' }))
  })
})

describe('composition', () => {
  it('serves keyroom protocols, never the public IPFS DHT', async () => {
    const n = await node('a')
    const protocols = n.getProtocols()
    expect(protocols).toContain('/keyroom/kad/1.0.0')
    expect(protocols).toContain('/keyroom/sync/1.0.0')
    expect(protocols.filter(p => p.startsWith('/ipfs/kad'))).toEqual([])
    expect(n.services.dht.getMode()).toBe('server')
    expect(n.services.pubsub.globalSignaturePolicy).toBe('StrictNoSign')
  })

  it('runs gossipsub with the room mesh degree, valid by gossipsub\'s own constraints', async () => {
    const n = await node('a')
    // The router's effective options (public on the class, not on the GossipSub interface).
    const opts = (n.services.pubsub as unknown as { opts: Required<GossipsubOpts> }).opts
    const { D, Dlo, Dhi, Dout, Dscore } = opts
    expect({ D, Dlo, Dhi, Dout, Dscore }).toEqual(ROOM_MESH_DEGREE)
    // gossipsub: Dlo ≤ D ≤ Dhi; Dout < Dlo and Dout ≤ D / 2; Dscore ≤ D.
    expect(Dlo <= D && D <= Dhi).toBe(true)
    expect(Dout < Dlo && Dout <= D / 2).toBe(true)
    expect(Dscore <= D).toBe(true)
    expect(opts.floodPublish).toBe(true)
  })

  it('in DHT client mode only asks', async () => {
    const n = await node('a', { dhtMode: 'client' })
    expect(n.services.dht.getMode()).toBe('client')
    expect(n.getProtocols()).not.toContain('/keyroom/kad/1.0.0')
  })

  it('finds a peer it never met through the DHT over loopback addresses', async () => {
    const [a, b, c] = [await node('a'), await node('b'), await node('c')]
    await a.dial(b.getMultiaddrs())
    await c.dial(b.getMultiaddrs())
    // Retried: C must first enter B's routing table (identify, then a DHT ping), after which B can
    // point A at C — with C's loopback address, which kad-dht's default mapper would have dropped.
    const found = await waitFor(async () => {
      const info = await a.peerRouting.findPeer(c.peerId, { signal: AbortSignal.timeout(2_000) })
      return info.multiaddrs.length > 0 ? info : undefined
    }, { timeout: 8_000, message: 'A finds C' })
    expect(found.id.equals(c.peerId)).toBe(true)
    expect(found.multiaddrs.some(ma => ma.toString().startsWith('/ip4/127.0.0.1/'))).toBe(true)
    await a.dial(c.peerId)
    expect(a.getConnections(c.peerId).length).toBeGreaterThan(0)
  })

  it('connects over WebSockets', async () => {
    const a = await node('a', { listen: ['/ip4/127.0.0.1/tcp/0/ws'] })
    const b = await node('b', { listen: ['/ip4/127.0.0.1/tcp/0/ws'] })
    const ws = a.getMultiaddrs().filter(ma => ma.toString().includes('/ws'))
    expect(ws.length).toBeGreaterThan(0)
    const connection = await b.dial(ws)
    expect(connection.remoteAddr.toString()).toContain('/ws')
  })

  it('a node with no WebSockets address carries no WebSockets transport (it is loaded on demand)', async () => {
    const a = await node('a', { listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'] })
    const tcpOnly = await node('b')
    const ws = a.getMultiaddrs().filter(ma => ma.toString().includes('/ws'))
    expect(ws.length).toBeGreaterThan(0)
    // Not dialable without the transport; the same peer over TCP is.
    await expect(tcpOnly.dial(ws)).rejects.toThrow()
    const tcp = a.getMultiaddrs().filter(ma => !ma.toString().includes('/ws'))
    expect((await tcpOnly.dial(tcp)).remoteAddr.toString()).not.toContain('/ws')
  })
})

describe('usesWebSockets', () => {
  it('is true when a listen, announce or bootstrap address is a WebSockets one', () => {
    expect(usesWebSockets(['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws'])).toBe(true)
    expect(usesWebSockets(['/dns4/example.org/tcp/443/wss/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'])).toBe(true)
    expect(usesWebSockets(['/dns4/example.org/tcp/443/tls/ws'])).toBe(true)
    expect(usesWebSockets(['/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'])).toBe(true)
  })

  it('is false for TCP-only addresses, including ones whose names merely contain "ws"', () => {
    expect(usesWebSockets([])).toBe(false)
    expect(usesWebSockets(['/ip4/127.0.0.1/tcp/0', '/ip6/::1/tcp/0'])).toBe(false)
    expect(usesWebSockets(['/dns4/ws/tcp/4001', '/dns4/news/tcp/1/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'])).toBe(false)
    expect(usesWebSockets(['not a multiaddr'])).toBe(false)
  })
})

describe('ping streams', () => {
  // libp2p's connection monitor, kad-dht and the embedder all ping on `/ipfs/ping/1.0.0`, and a
  // refused monitor ping aborts the connection; `@libp2p/ping`'s default allows one stream.
  const PING = '/ipfs/ping/1.0.0'

  it(`one connection carries ${PING_MAX_OUTBOUND_STREAMS} concurrent ping streams, both ways, and refuses one more without dropping`, async () => {
    const [a, b] = [await node('a'), await node('b')]
    const connection = await a.dial(b.getMultiaddrs())
    // Streams held open (nothing sent: B's handler waits) count against A's outbound and B's
    // inbound limits until closed; the last slot is a real ping, which B must accept and echo.
    const held = await Promise.all(Array.from({ length: PING_MAX_OUTBOUND_STREAMS - 1 }, async () => await connection.newStream(PING)))
    expect(await a.services.ping.ping(b.peerId)).toBeGreaterThanOrEqual(0)
    const last = await connection.newStream(PING)
    await expect(connection.newStream(PING)).rejects.toMatchObject({ name: 'TooManyOutboundProtocolStreamsError' })
    // The other way on the same connection: B's outbound and A's inbound limits.
    const back = b.getConnections(a.peerId)[0]
    expect(back).toBeDefined()
    const heldBack = await Promise.all(Array.from({ length: PING_MAX_OUTBOUND_STREAMS - 1 }, async () => await back!.newStream(PING)))
    expect(await b.services.ping.ping(a.peerId)).toBeGreaterThanOrEqual(0)
    for (const s of [...held, last, ...heldBack]) await s.close()
    expect(connection.status).toBe('open')
    expect(await a.services.ping.ping(b.peerId)).toBeGreaterThanOrEqual(0)
  })
})

describe('lanPeerInfoMapper', () => {
  it('keeps loopback, private and public addresses; drops link-local IPv6 and unspecified ones', async () => {
    const n = await node('a')
    const keep = ['/ip4/127.0.0.1/tcp/1', '/ip4/192.168.1.20/tcp/2', '/ip4/10.0.0.5/tcp/3', '/ip4/8.8.8.8/tcp/4', '/ip6/::1/tcp/5', '/ip6/fd00::1/tcp/6', '/dns4/example.org/tcp/7/ws']
    const drop = ['/ip6/fe80::1/tcp/8', '/ip4/0.0.0.0/tcp/9', '/ip6/::/tcp/10']
    const mapped = lanPeerInfoMapper({ id: n.peerId, multiaddrs: [...keep, ...drop].map(s => multiaddr(s)) })
    expect(mapped.multiaddrs.map(ma => ma.toString())).toEqual(keep)
    expect(mapped.id).toBe(n.peerId)
  })
})
