/**
 * Fixtures for the identity directory: deterministic keys and statements, and keyroom libp2p nodes
 * on loopback built by the real composition (node/libp2p.ts) with the directory's DHT validator
 * and selector, plus a directory per node whose DHT and peer-routing calls are counted.
 */
import { defaultLogger } from '@libp2p/logger'
import { createKeyroomLibp2p } from '../../../node/libp2p.js'
import { createAttestation, createRevocation, deviceKeyPair, userKeyPair } from '../../../protocols/core/index.js'
import { identityDhtRecords, identityDirectory } from '../../../protocols/identity-dht/index.js'
import { waitFor } from '../../helpers/wait-for.js'
import { fakePorts } from '../gossip/fixtures.js'
import type { KeyroomLibp2p } from '../../../node/libp2p.js'
import type { AttestationJson, RevocationJson } from '../../../protocols/core/index.js'
import type {
  IdentityDhtRecords, IdentityDhtRecordsInit, IdentityDirectory, IdentityDirectoryComponents, IdentityDirectoryInit
} from '../../../protocols/identity-dht/index.js'
import type { Startable } from '@libp2p/interface'

/** A 32-byte seed filled with one byte (distinct bytes give distinct keys). */
export const seed = (byte: number): Uint8Array => new Uint8Array(32).fill(byte)

/** 2023-11-14T22:13:20Z, the fixed "now" of pure tests. */
export const NOW = 1_700_000_000_000
export const DAY = 24 * 60 * 60 * 1000

/** A user: UPK seed and ID. */
export function user (byte: number): { seed: Uint8Array, upk: string } {
  const pair = userKeyPair(seed(byte))
  return { seed: pair.seed, upk: pair.userId }
}

/** The device ID of a seed byte. */
export const deviceId = (byte: number): string => deviceKeyPair(seed(byte)).deviceId

/** An attestation of device `deviceByte` by user `userByte`. */
export function attest (userByte: number, deviceByte: number, times: { issuedTs?: number, expiresTs?: number } = {}): AttestationJson {
  return createAttestation({
    upkSeed: seed(userByte),
    udkSeed: seed(deviceByte),
    issuedTs: times.issuedTs ?? NOW - DAY,
    ...(times.expiresTs === undefined ? {} : { expiresTs: times.expiresTs })
  })
}

/** A revocation of device `deviceByte` by user `userByte`. */
export function revoke (userByte: number, deviceByte: number, revokedTs = NOW - 1000, reason?: string): RevocationJson {
  return createRevocation({ upkSeed: seed(userByte), udk: deviceId(deviceByte), revokedTs, ...(reason === undefined ? {} : { reason }) })
}

/** Calls a directory made DHT and peer-routing calls. */
export interface Counts { get: number, put: number, findPeer: number }

/** A keyroom node on loopback with the identity-dht validator/selector, and a counted directory factory. */
export interface TestNode {
  name: string
  libp2p: KeyroomLibp2p
  records: IdentityDhtRecords
  counts: Counts
  /** A started directory on this node (stopped by {@link stopAll}). */
  directory(init?: IdentityDirectoryInit): Promise<IdentityDirectory & Startable>
}

const started: Array<{ stop(): void | Promise<void> }> = []

/** Start one node; `deviceByte` chooses its device seed (its PeerId is that UDK). */
export async function startNode (name: string, deviceByte: number, dht: IdentityDhtRecordsInit = {}): Promise<TestNode> {
  const records = identityDhtRecords(dht)
  const libp2p = await createKeyroomLibp2p({
    deviceSeed: seed(deviceByte),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    loggerPrefix: name,
    dht: records,
    gossip: fakePorts(),
    sync: {
      store: { getHeads: () => undefined, getEvent: () => undefined, getPrevEvents: () => undefined, getStateIdsAt: () => undefined },
      authorize: () => false
    }
  })
  started.push(libp2p)
  const counts: Counts = { get: 0, put: 0, findPeer: 0 }
  const dhtService = libp2p.services.dht
  const components: IdentityDirectoryComponents = {
    dht: {
      validators: dhtService.validators,
      get: (key, options) => { counts.get++; return dhtService.get(key, options) },
      put: (key, value, options) => { counts.put++; return dhtService.put(key, value, options) }
    },
    peerRouting: {
      findPeer: async (peer, options) => { counts.findPeer++; return await libp2p.peerRouting.findPeer(peer, options) }
    },
    logger: defaultLogger()
  }
  return {
    name,
    libp2p,
    records,
    counts,
    async directory (init = {}) {
      const directory = identityDirectory(init)(components)
      await directory.start()
      started.push(directory)
      return directory
    }
  }
}

/**
 * Start `count` nodes (device bytes `firstDevice`, `firstDevice + 1`, …), all dialled to the first,
 * and wait until every node's DHT routing table knows every other node.
 */
export async function startNetwork (count: number, firstDevice: number, dht: IdentityDhtRecordsInit = {}): Promise<TestNode[]> {
  const nodes: TestNode[] = []
  for (let i = 0; i < count; i++) nodes.push(await startNode(`n${i}`, firstDevice + i, dht))
  const hub = nodes[0]!
  for (const n of nodes.slice(1)) await n.libp2p.dial(hub.libp2p.getMultiaddrs())
  await waitFor(() => nodes.every(n => routingTableSize(n.libp2p) >= count - 1), { timeout: 10_000, message: 'routing tables filled' })
  return nodes
}

/** Peers in a node's DHT routing table. */
export function routingTableSize (libp2p: KeyroomLibp2p): number {
  return (libp2p.services.dht as unknown as { routingTable: { size: number } }).routingTable.size
}

/** Stop every directory and node started since the last call, one after another, newest first. */
export async function stopAll (): Promise<void> {
  for (const s of started.splice(0).reverse()) await s.stop()
}
