/**
 * A real local-network mesh: three machines (Linux network namespaces on one bridge, addresses in
 * 10.77.0.0/24, multicast routed, no default route — no internet) each run a keyroom libp2p node
 * with mDNS on and no bootstrap list. The test checks that every node finds every other by mDNS
 * alone, connects to it over the LAN, and that a room message published by each node reaches the
 * other two.
 *
 * Each node is a separate process (test/lan/fixtures/lan-node.ts) speaking JSON lines, because a
 * process belongs to one network namespace.
 *
 * This is the libp2p level (the real composition, `createKeyroomLibp2p`, with stand-in events); the
 * nodes dial what they discovered when told to, because nothing in libp2p 3 dials discovered peers.
 *
 * Needs root and iproute2 (as on the dev machines and in CI). Elsewhere the tests are skipped, and
 * the reason is printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLan, hostFacts, netnsSupport } from '../helpers/netns.js'
import { LAN_NODE, portOf, startLanNodes, waitForNodes } from './fixtures/lan-process.js'
import type { Lan } from '../helpers/netns.js'
import type { LanProcess } from './fixtures/lan-process.js'

const ROOM = '!bGFuLW1lc2gtcm9vbQ'

/**
 * mDNS query interval of the test nodes. libp2p's mDNS starts (and sends its first query) before the
 * TCP listeners are up, so a node's answer to its own first query can go out with no addresses;
 * the others then hear of it only at their next query. 2 s instead of libp2p's 10 s keeps that case
 * inside the discovery bound below.
 */
const MDNS_INTERVAL_MS = 2_000

/** Bounds of each phase, ms; together under the test's 30 s. */
const READY_TIMEOUT = 12_000
const DISCOVERY_TIMEOUT = 6_000
const MESH_TIMEOUT = 5_000
const DELIVERY_TIMEOUT = 4_000

const support = await netnsSupport()
/** Set when this machine cannot make network namespaces; the tests below are then skipped. */
const cannotMakeNamespaces = !support.ok
if (!support.ok) console.warn(`[test/lan] SKIPPING the LAN mesh tests: ${support.reason}`)

describe('LAN mesh over mDNS (network namespaces)', () => {
  let lan: Lan | undefined
  let nodes: LanProcess[] = []

  beforeAll(async () => {
    if (cannotMakeNamespaces) return
    lan = await createLan({ hosts: 3 })
  })

  afterAll(async () => {
    await lan?.teardown()
  })

  const waitForAll = async <T>(what: string, timeout: number, predicate: () => T): Promise<NonNullable<T>> =>
    await waitForNodes(nodes, what, timeout, predicate)

  it.skipIf(cannotMakeNamespaces)('each host has its LAN address, multicast and a route for it, and no way to the internet', async () => {
    expect(lan?.hosts).toHaveLength(3)
    for (const host of lan?.hosts ?? []) {
      const facts = await hostFacts(host)
      expect(facts).toEqual({
        up: true,
        multicast: true,
        addresses: [host.address],
        multicastRoute: true,
        defaultRoute: false,
        routesToInternet: false,
        loopbackUp: true
      })
    }
  })

  it.skipIf(cannotMakeNamespaces)('three nodes with no bootstrap list find each other by mDNS, connect over the LAN and gossip room messages', async () => {
    if (lan === undefined) throw new Error('no LAN')
    const started = Date.now()
    nodes = startLanNodes(lan, LAN_NODE, () => [ROOM, String(MDNS_INTERVAL_MS)])

    // 1. Every node starts and listens on its LAN address (expanded from 0.0.0.0).
    await waitForAll('every node is ready', READY_TIMEOUT, () => nodes.every(n => n.ready !== undefined))
    for (const n of nodes) {
      expect(n.ready?.addrs).toContain(`/ip4/${n.host.address}/tcp/${portOf(n.ready, n.host.address)}/p2p/${n.peerId}`)
    }
    const allReady = Math.max(...nodes.map(n => n.ready?.t ?? 0))

    // 2. Discovery alone: nobody dials yet, so each node learns of the others with no connection to
    //    anyone, and with no bootstrap list that can only be mDNS. The addresses learned include the
    //    peer's LAN address.
    const others = (n: LanProcess): LanProcess[] => nodes.filter(o => o !== n)
    await waitForAll('every node discovers the other two by mDNS', DISCOVERY_TIMEOUT, () =>
      nodes.every(n => others(n).every(o => n.of('discovered').some(d => d.peer === o.peerId))))
    for (const n of nodes) {
      expect(n.of('connected')).toEqual([])
      for (const o of others(n)) {
        const d = n.of('discovered').find(l => l.peer === o.peerId)
        expect(d?.connected).toBe(false)
        expect(d?.addrs).toContain(`/ip4/${o.host.address}/tcp/${portOf(o.ready, o.host.address)}`)
      }
    }
    const discoveryMs = Math.max(...nodes.flatMap(n => n.of('discovered').map(d => d.t))) - allReady

    // 3. Each node dials what it discovered. The mDNS answers also carry each peer's 127.0.0.1
    //    address, which from another namespace is the dialer's own loopback; the connections must
    //    be made over the LAN.
    const dialAt = Date.now()
    for (const n of nodes) n.send({ cmd: 'dial-discovered' })
    await waitForAll('every node is connected to and sees room subscriptions of the other two', MESH_TIMEOUT, () =>
      nodes.every(n => {
        const subscribers = n.of('subscribers').at(-1)?.peers
        return others(n).every(o => n.of('connected').some(c => c.peer === o.peerId) &&
          Array.isArray(subscribers) && subscribers.includes(o.peerId))
      }))
    for (const n of nodes) {
      expect(n.of('dial-error')).toEqual([])
      for (const c of n.of('connected')) {
        const remote = nodes.find(o => o.peerId === c.peer)
        expect(remote).toBeDefined()
        expect(String(c.remoteAddr)).toMatch(new RegExp(`^/ip4/${remote?.host.address.replaceAll('.', '\\.')}/tcp/\\d+/p2p/${c.peer as string}$`))
      }
    }
    const meshMs = Math.max(...nodes.map(n => n.of('subscribers').at(-1)?.t ?? 0)) - dialAt

    // 4. Each node publishes one message; each receives exactly the other two.
    for (const n of nodes) n.send({ cmd: 'publish', text: `hello from ${n.name}` })
    await waitForAll('every node receives the messages of the other two', DELIVERY_TIMEOUT, () =>
      nodes.every(n => n.of('message').length >= 2 && n.of('published').length === 1))
    for (const n of nodes) {
      const published = n.of('published')[0]
      expect(published?.status).toBe('sent')
      expect([...(published?.recipients as string[])].sort()).toEqual(others(n).map(o => o.peerId).sort())
      expect(n.of('message').map(m => m.text).sort()).toEqual(others(n).map(o => `hello from ${o.name}`).sort())
      expect(n.of('message').map(m => m.author)).not.toContain(n.name)
    }
    const latencies = nodes.flatMap(n => n.of('message').map(m => m.t - (m.sentAt as number)))

    console.log(`[test/lan] ${lan.id}: processes ready ${allReady - started} ms after spawn; ` +
      `all discovered ${discoveryMs} ms after the last was ready; connected + subscribed ${meshMs} ms after dialing; ` +
      `message publish→receive ${Math.min(...latencies)}–${Math.max(...latencies)} ms`)
  }, 35_000)
})
