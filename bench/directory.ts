/**
 * Identity directory: UPK → devices lookups in a 30-node loopback network, p50/p99, against a raw
 * kad-dht `get` of a record of the same size in the same network and run (targets: lookup p50 ≤
 * 50 ms and ≤ 1.1× the raw get's p50). Lookups skip the cache (`maxAge: 0`), so each one is a DHT
 * query; the raw get and the lookup alternate per sample (same reader, same moment) so both see the
 * same load. Cache hits and lookups with address resolution are reported alongside.
 *
 *   npx tsx bench/directory.ts
 */
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { defaultLogger } from '@libp2p/logger'
import { createKeyroomLibp2p } from '../node/libp2p.js'
import { createAttestation, userKeyPair } from '../protocols/core/index.js'
import {
  createUserRecord, encodeUserRecord, identityDhtRecords, identityDirectory
} from '../protocols/identity-dht/index.js'
import { ratio } from './harness.js'
import type { KeyroomLibp2p } from '../node/libp2p.js'
import type { IdentityDirectory } from '../protocols/identity-dht/index.js'
import type { Startable } from '@libp2p/interface'

/** Options of {@link runDirectoryBench}. */
export interface DirectoryBenchOptions {
  /** Nodes in the network (default 30). */
  nodes?: number
  /** Users published (default 30), three devices each. */
  users?: number
  /** Measured samples of each kind (default 120). */
  samples?: number
}

/** What {@link runDirectoryBench} measured, in milliseconds. */
export interface DirectoryBenchResult {
  recordBytes: number
  raw: { p50: number, p99: number }
  lookup: { p50: number, p99: number }
  lookupWithAddresses: { p50: number, p99: number }
  lookupQuorum3: { p50: number, p99: number }
  cacheHit: { p50: number, p99: number }
  ratioP50: number
}

function seed (n: number): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => (i * 31 + n * 7 + 1) & 0xff)
}

function percentile (sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN
}

function summary (samples: number[]): { p50: number, p99: number } {
  const sorted = [...samples].sort((a, b) => a - b)
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) }
}

async function waitUntil (predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

const routingTableSize = (node: KeyroomLibp2p): number =>
  (node.services.dht as unknown as { routingTable: { size: number } }).routingTable.size

/** Run the directory benchmark, print its figures, and return them. */
export async function runDirectoryBench (options: DirectoryBenchOptions = {}): Promise<DirectoryBenchResult> {
  const nodeCount = options.nodes ?? 30
  const userCount = options.users ?? 30
  const sampleCount = options.samples ?? 120
  console.log(`\n# Identity directory: UPK → devices lookups, ${nodeCount}-node loopback network`)

  const nodes: KeyroomLibp2p[] = []
  const directories: Array<IdentityDirectory & Startable> = []
  try {
    // Nodes: the keyroom validator/selector, plus a `bench` namespace with a no-op validator for
    // the raw baseline records (kad-dht refuses keys with no validator).
    for (let i = 0; i < nodeCount; i++) {
      const records = identityDhtRecords()
      nodes.push(await createKeyroomLibp2p({
        deviceSeed: seed(1000 + i),
        listen: ['/ip4/127.0.0.1/tcp/0'],
        loggerPrefix: `bench-${i}`,
        dht: {
          validators: { ...records.validators, bench: () => {} },
          selectors: { ...records.selectors, bench: () => 0 }
        },
        gossip: { identifyEvent: () => undefined, validate: () => 'ignore', onEvent: () => {} },
        sync: {
          store: { getHeads: () => undefined, getEvent: () => undefined, getPrevEvents: () => undefined, getStateIdsAt: () => undefined },
          authorize: () => false
        }
      }))
    }
    // A full mesh, as mDNS makes on a LAN, dialled in paced rounds: libp2p refuses more than five
    // inbound connections per second from one host (`inboundConnectionThreshold`), and here every
    // peer is 127.0.0.1. In round r node i dials node i + r, so each node takes one dial per round.
    for (let r = 1; r <= Math.floor(nodeCount / 2); r++) {
      await Promise.all(nodes.map(async (node, i) => { await node.dial(nodes[(i + r) % nodeCount]!.getMultiaddrs()) }))
      await new Promise(resolve => setTimeout(resolve, 250))
    }
    const wanted = Math.min(20, nodeCount - 1)
    await waitUntil(() => nodes.every(n => routingTableSize(n) >= wanted), 60_000, `routing tables of ${wanted}`)
    for (const node of nodes) {
      const directory = identityDirectory()({ dht: node.services.dht, peerRouting: node.peerRouting, logger: defaultLogger() })
      await directory.start()
      directories.push(directory)
    }

    // Users: three devices each, the devices being nodes of the network (so addresses resolve).
    const users: Array<{ upk: string, rawKey: Uint8Array, publisher: number }> = []
    let recordBytes = 0
    for (let u = 0; u < userCount; u++) {
      const user = userKeyPair(seed(u))
      const devices = [0, 1, 2].map(k => createAttestation({
        upkSeed: user.seed, udkSeed: seed(1000 + ((u * 3 + k) % nodeCount)), issuedTs: 1_790_000_000_000
      }))
      const bytes = encodeUserRecord(createUserRecord({ upkSeed: user.seed, seq: 1, devices }))
      recordBytes = bytes.length
      const publisher = u % nodeCount
      const published = await directories[publisher]!.publish(bytes)
      if (published.stored === 0) throw new Error(`user ${u}: no peer stored the record`)
      // The raw baseline: a record of the same size under a `/bench/` key, put from the same node.
      const rawKey = new TextEncoder().encode(`/bench/${u}`)
      for await (const _ of nodes[publisher]!.services.dht.put(rawKey, new Uint8Array(bytes.length).fill(0x61))) { /* drain */ }
      users.push({ upk: user.userId, rawKey, publisher })
    }

    const rawGet = async (reader: number, key: Uint8Array): Promise<void> => {
      for await (const event of nodes[reader]!.services.dht.get(key)) if (event.name === 'VALUE') return
      throw new Error('raw get found nothing')
    }
    const lookup = async (reader: number, upk: string, addresses: boolean, quorum?: number): Promise<void> => {
      const found = await directories[reader]!.lookup(upk, { maxAge: 0, addresses, ...(quorum === undefined ? {} : { quorum }) })
      if (found === undefined || found.devices.length !== 3) throw new Error('lookup found nothing')
    }
    const time = async (fn: () => Promise<void>): Promise<number> => {
      const t0 = performance.now()
      await fn()
      return performance.now() - t0
    }

    // A deterministic walk over (reader, user) pairs with reader ≠ publisher.
    let state = 12345
    const pick = (): { reader: number, user: typeof users[number] } => {
      state = (state * 1103515245 + 12345) & 0x7fffffff
      const user = users[state % users.length]!
      const reader = (user.publisher + 1 + ((state >> 8) % (nodeCount - 1))) % nodeCount
      return { reader, user }
    }

    const raw: number[] = []
    const devicesOnly: number[] = []
    const withAddresses: number[] = []
    const quorum3: number[] = []
    const hits: number[] = []
    const warmup = 20
    for (let s = 0; s < warmup + sampleCount; s++) {
      const { reader, user } = pick()
      const runs: Array<[number[], () => Promise<void>]> = [
        [raw, async () => { await rawGet(reader, user.rawKey) }],
        [devicesOnly, async () => { await lookup(reader, user.upk, false) }],
        [withAddresses, async () => { await lookup(reader, user.upk, true) }],
        [quorum3, async () => { await lookup(reader, user.upk, false, 3) }]
      ]
      const settle = async (): Promise<void> => {
        // A quorum lookup returns while its query runs on; join that query (untimed) so it does not
        // overlap the next measurement.
        await directories[reader]!.lookup(user.upk, { maxAge: 0, addresses: false })
      }
      // Rotate the order per sample so no kind always runs first.
      for (let k = 0; k < runs.length; k++) {
        const [into, fn] = runs[(s + k) % runs.length]!
        const ms = await time(fn)
        if (s >= warmup) into.push(ms)
        if (into === quorum3) await settle()
      }
      const hit = await time(async () => { await directories[reader]!.lookup(user.upk) })
      if (s >= warmup) hits.push(hit)
    }

    const result: DirectoryBenchResult = {
      recordBytes,
      raw: summary(raw),
      lookup: summary(devicesOnly),
      lookupWithAddresses: summary(withAddresses),
      lookupQuorum3: summary(quorum3),
      cacheHit: summary(hits),
      ratioP50: summary(devicesOnly).p50 / summary(raw).p50
    }
    const line = (label: string, s: { p50: number, p99: number }): void => {
      console.log(`  ${label.padEnd(52)} p50 ${s.p50.toFixed(2).padStart(7)} ms   p99 ${s.p99.toFixed(2).padStart(7)} ms`)
    }
    console.log(`  ${sampleCount} samples each, records of ${recordBytes} bytes (3 devices), ${userCount} users`)
    line('raw kad-dht get (same-size record, no-op validator)', result.raw)
    line('directory lookup, UPK → devices (maxAge 0)', result.lookup)
    line('directory lookup, UPK → devices + addresses', result.lookupWithAddresses)
    line('directory lookup, UPK → devices, quorum 3', result.lookupQuorum3)
    line('directory lookup, cache hit', result.cacheHit)
    ratio('lookup p50 (ms)', result.lookup.p50, '≤ 50', result.lookup.p50 <= 50)
    ratio('lookup p50 / raw get p50', result.ratioP50, '≤ 1.1', result.ratioP50 <= 1.1)
    ratio('quorum-3 lookup p50 (ms)', result.lookupQuorum3.p50, '≤ 50', result.lookupQuorum3.p50 <= 50)
    return result
  } finally {
    for (const directory of directories.reverse()) await directory.stop()
    for (const node of nodes.reverse()) await node.stop()
  }
}

// Standalone (`npx tsx bench/directory.ts`): run when this file is the entry point, not when imported.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await runDirectoryBench()
