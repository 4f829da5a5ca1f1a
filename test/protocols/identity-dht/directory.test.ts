/**
 * The identity directory on real keyroom nodes over loopback: publish on one node, look up on
 * another; forged, wrong-key, oversized and stale records put node-to-node are refused or lose;
 * the cache answers without the network; statuses of revoked and expired devices; re-publishing
 * and its timer; every wait bounded.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { canonicalJsonBytes } from '../../../protocols/core/index.js'
import {
  createUserRecord, encodeUserRecord, MAX_RECORD_BYTES, userRecordKey
} from '../../../protocols/identity-dht/index.js'
import { waitFor } from '../../helpers/wait-for.js'
import { attest, deviceId, revoke, startNetwork, startNode, stopAll, user } from './fixtures.js'
import type { TestNode } from './fixtures.js'
import type { UserRecordJson } from '../../../protocols/identity-dht/index.js'

afterEach(stopAll)

/** Put raw bytes through a node's DHT as an attacker would: how many peers stored them, how many refused. */
async function rawPut (node: TestNode, key: Uint8Array, value: Uint8Array): Promise<{ stored: number, refused: number }> {
  const putTo = new Set<string>()
  let stored = 0
  let refused = 0
  for await (const event of node.libp2p.services.dht.put(key, value, { signal: AbortSignal.timeout(5_000) })) {
    if (event.name === 'SEND_QUERY' && event.messageName === 'PUT_VALUE') putTo.add(event.to.toString())
    if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE' && event.record !== undefined && event.record !== null) stored++
    if (event.name === 'QUERY_ERROR' && putTo.has(event.from.toString())) refused++
  }
  return { stored, refused }
}

const alice = user(1)
const aliceRecord = (seq: number, devices = [attest(1, 11), attest(1, 12)], revocations: ReturnType<typeof revoke>[] = []): UserRecordJson =>
  createUserRecord({ upkSeed: alice.seed, seq, devices, revocations })

describe('publish and lookup across nodes', () => {
  it('a record published by one node is found by another, with its devices\' addresses', async () => {
    // Five nodes; alice's two devices are nodes n1 and n2 (device seeds 11 and 12).
    const nodes = await startNetwork(5, 10)
    const publisher = await nodes[1]!.directory()
    const result = await publisher.publish(aliceRecord(1))
    expect(result).toMatchObject({ seq: 1 })
    expect(result.stored).toBeGreaterThanOrEqual(1)

    const reader = await nodes[4]!.directory()
    const found = await reader.lookup(alice.upk, { signal: AbortSignal.timeout(10_000) })
    expect(found).toMatchObject({ upk: alice.upk, seq: 1, source: 'network', stale: false })
    expect(found!.devices.map(d => [d.deviceId, d.usable])).toEqual([[deviceId(11), true], [deviceId(12), true]].sort())
    for (const device of found!.devices) {
      const node = nodes.find(n => n.libp2p.peerId.equals(device.peerId))
      expect(node, device.deviceId).toBeDefined()
      const actual = node!.libp2p.getMultiaddrs().map(ma => ma.decapsulateCode(421).toString())
      expect(device.multiaddrs.map(String).some(ma => actual.includes(ma))).toBe(true)
    }
  })

  it('the kad-dht of each node runs the identity-dht validator and selector', async () => {
    const node = await startNode('solo', 10)
    expect(node.libp2p.services.dht.validators.keyroom).toBe(node.records.validators.keyroom)
    expect(node.libp2p.services.dht.selectors.keyroom).toBe(node.records.selectors.keyroom)
  })

  it('a newer record from another device replaces the one a node re-publishes', async () => {
    const nodes = await startNetwork(3, 10)
    const first = await nodes[0]!.directory()
    await first.publish(aliceRecord(1))
    const second = await nodes[1]!.directory()
    await second.publish(aliceRecord(2, [attest(1, 11)], [revoke(1, 12)]))
    const seen = await first.lookup(alice.upk, { maxAge: 0, addresses: false })
    expect(seen?.seq).toBe(2)
    expect(first.published().map(r => r.seq)).toEqual([2])
  })
})

describe('hostile records put node to node', () => {
  it('forged, wrong-key and oversized records are refused by every holder and never returned', async () => {
    const nodes = await startNetwork(4, 10)
    const owner = await nodes[0]!.directory()
    await owner.publish(aliceRecord(1))
    const attacker = nodes[3]!
    const key = userRecordKey(alice.upk)
    const genuine = aliceRecord(2)
    const hostile = {
      forged: canonicalJsonBytes({ ...genuine, devices: [attest(9, 13)] }),
      wrongKey: encodeUserRecord(createUserRecord({ upkSeed: user(9).seed, seq: 5, devices: [] })),
      oversized: new Uint8Array(MAX_RECORD_BYTES + 1).fill(0x20)
    }
    for (const [name, value] of Object.entries(hostile)) {
      const outcome = await rawPut(attacker, key, value)
      expect(outcome.stored, name).toBe(0)
      expect(outcome.refused, name).toBeGreaterThanOrEqual(1)
    }
    // The attacker holds its last put itself (kad-dht stores its own puts unchecked) and serves
    // it; readers refuse it and find the genuine record.
    for (const reader of [nodes[1]!, nodes[2]!]) {
      const found = await (await reader.directory()).lookup(alice.upk, { maxAge: 0, addresses: false })
      expect(found?.seq, reader.name).toBe(1)
    }
  })

  it('a stale record (lower seq) replayed to the holders is refused, and never wins a lookup', async () => {
    const nodes = await startNetwork(4, 10)
    const owner = await nodes[0]!.directory()
    const old = aliceRecord(1)
    await owner.publish(old)
    const newer = await owner.publish(aliceRecord(2, [attest(1, 11)], [revoke(1, 12, Date.now() - 1000)]))
    expect(newer.stored).toBeGreaterThanOrEqual(1)
    const replay = await rawPut(nodes[3]!, userRecordKey(alice.upk), encodeUserRecord(old))
    expect(replay.stored).toBe(0)
    expect(replay.refused).toBeGreaterThanOrEqual(1)
    for (const reader of [nodes[1]!, nodes[2]!]) {
      const found = await (await reader.directory()).lookup(alice.upk, { maxAge: 0, addresses: false })
      expect(found?.seq, reader.name).toBe(2)
      expect(found?.devices.find(d => d.deviceId === deviceId(12))).toMatchObject({ revoked: true, usable: false })
    }
  })

  it('a reader never goes back to a stale record it sees after a newer one, even where holders took the stale one', async () => {
    // Holders here do not remember seqs, so the replay overwrites every stored copy.
    const nodes = await startNetwork(3, 10, { highWaterEntries: 0 })
    const owner = await nodes[0]!.directory()
    await owner.publish(aliceRecord(1))
    await owner.publish(aliceRecord(2, [attest(1, 11)]))
    const reader = await nodes[1]!.directory()
    expect((await reader.lookup(alice.upk, { maxAge: 0, addresses: false }))?.seq).toBe(2)
    const replay = await rawPut(nodes[2]!, userRecordKey(alice.upk), encodeUserRecord(aliceRecord(1)))
    expect(replay.stored).toBeGreaterThanOrEqual(1)
    // A node with no memory of seq 2 now gets the replayed record (the attack took effect)…
    const fresh = await nodes[2]!.directory()
    expect((await fresh.lookup(alice.upk, { maxAge: 0, addresses: false }))?.seq).toBe(1)
    // …but the reader that knew seq 2 keeps it, and counts it as confirmed.
    const again = await reader.lookup(alice.upk, { maxAge: 0, addresses: false })
    expect(again).toMatchObject({ seq: 2, source: 'network', stale: false })
  })
})

describe('cache', () => {
  it('a cache hit does not touch the network', async () => {
    const nodes = await startNetwork(3, 10)
    await (await nodes[0]!.directory()).publish(aliceRecord(1))
    const reader = nodes[2]!
    const directory = await reader.directory()
    expect((await directory.lookup(alice.upk))?.source).toBe('network')
    const before = { ...reader.counts }
    expect(before.get).toBe(1)
    const hit = await directory.lookup(alice.upk)
    expect(hit).toMatchObject({ source: 'cache', seq: 1, stale: false })
    expect(directory.cached(alice.upk)?.seq).toBe(1)
    expect(reader.counts).toEqual(before)
    // Addresses found by the first lookup are served from the cache as well.
    expect(hit!.devices.filter(d => d.multiaddrs.length > 0).length).toBeGreaterThan(0)
  })

  it('refreshes ahead in the background, serves stale entries while revalidating, and waits when maxAge says so', async () => {
    const nodes = await startNetwork(3, 10)
    const owner = await nodes[0]!.directory()
    await owner.publish(aliceRecord(1))
    let now = Date.now()
    const reader = nodes[2]!
    const directory = await reader.directory({ now: () => now, cacheTtl: 60_000, cacheRefreshAfter: 30_000, cacheMaxStale: 600_000 })
    await directory.lookup(alice.upk, { addresses: false })
    expect(reader.counts.get).toBe(1)

    now += 10_000
    expect((await directory.lookup(alice.upk))?.source).toBe('cache')
    expect(reader.counts.get).toBe(1)

    // Refresh-ahead: a fresh answer at once, a DHT lookup behind it.
    now += 25_000
    expect(await directory.lookup(alice.upk)).toMatchObject({ source: 'cache', stale: false })
    await waitFor(() => reader.counts.get === 2 && directory.cached(alice.upk)?.fetchedAt === now, { timeout: 5_000, message: 'refresh-ahead' })

    // Past the TTL: the stale answer at once (no waiting on the DHT), the newer record behind it.
    await owner.publish(aliceRecord(2, [attest(1, 11)], [revoke(1, 12)]))
    now += 61_000
    const stale = await directory.lookup(alice.upk)
    expect(stale).toMatchObject({ source: 'cache', stale: true, seq: 1 })
    await waitFor(() => directory.cached(alice.upk)?.seq === 2, { timeout: 5_000, message: 'stale-while-revalidate' })

    // maxAge: the caller wants no older answer, so it waits for the DHT.
    now += 5_000
    const gets = reader.counts.get
    expect(await directory.lookup(alice.upk, { maxAge: 1_000, addresses: false })).toMatchObject({ source: 'network', seq: 2 })
    expect(reader.counts.get).toBe(gets + 1)
  })

  it('concurrent lookups of one user share one DHT query', async () => {
    const nodes = await startNetwork(3, 10)
    await (await nodes[0]!.directory()).publish(aliceRecord(1))
    const reader = nodes[1]!
    const directory = await reader.directory()
    const answers = await Promise.all([directory.lookup(alice.upk), directory.lookup(alice.upk), directory.lookup(alice.upk, { addresses: false })])
    expect(answers.map(a => a?.seq)).toEqual([1, 1, 1])
    expect(reader.counts.get).toBe(1)
  })
})

describe('quorum', () => {
  it('answers from the first holders when asked to, and from the whole query when fewer hold the record', async () => {
    const nodes = await startNetwork(4, 10)
    await (await nodes[0]!.directory()).publish(aliceRecord(1))
    const quick = await nodes[1]!.directory()
    expect(await quick.lookup(alice.upk, { quorum: 1, addresses: false })).toMatchObject({ seq: 1, source: 'network' })
    const patient = await nodes[2]!.directory()
    expect(await patient.lookup(alice.upk, { quorum: 100, addresses: false })).toMatchObject({ seq: 1, source: 'network' })
    expect(await patient.lookup(user(5).upk, { quorum: 1, addresses: false })).toBeUndefined()
  })
})

describe('device statuses', () => {
  it('revoked and expired devices are reported as such, and only usable ones are looked up for addresses', async () => {
    const nodes = await startNetwork(3, 10)
    const now = Date.now()
    const record = aliceRecord(1, [attest(1, 11), attest(1, 12, { issuedTs: now - 10_000, expiresTs: now - 5_000 }), attest(1, 13)], [revoke(1, 13, now - 1000, 'lost')])
    await (await nodes[0]!.directory()).publish(record)
    const reader = nodes[2]!
    const found = await (await reader.directory()).lookup(alice.upk)
    const byId = new Map(found!.devices.map(d => [d.deviceId, d]))
    expect(byId.get(deviceId(11))).toMatchObject({ usable: true, revoked: false, expired: false })
    expect(byId.get(deviceId(12))).toMatchObject({ usable: false, expired: true, expiresTs: now - 5_000, multiaddrs: [] })
    expect(byId.get(deviceId(13))).toMatchObject({ usable: false, revoked: true, revokedTs: now - 1000, multiaddrs: [] })
    expect(byId.get(deviceId(11))!.multiaddrs.length).toBeGreaterThan(0)
    expect(reader.counts.findPeer).toBe(1)
  })
})

describe('publishing', () => {
  it('refuses invalid and stale records, accepts the same record again', async () => {
    const node = await startNode('solo', 10)
    const directory = await node.directory({ publishTimeout: 200, republishRetry: 60_000 })
    await expect(directory.publish(canonicalJsonBytes({ ...aliceRecord(1), seq: 2 }))).rejects.toMatchObject({ code: 'ERR_DHT_INVALID_RECORD' })
    const two = aliceRecord(2)
    await directory.publish(two)
    await expect(directory.publish(aliceRecord(1))).rejects.toMatchObject({ code: 'ERR_DHT_STALE_RECORD' })
    await expect(directory.publish(aliceRecord(2, [attest(1, 11)]))).rejects.toMatchObject({ code: 'ERR_DHT_STALE_RECORD' })
    await expect(directory.publish(two)).resolves.toMatchObject({ seq: 2 })
    expect(directory.published().map(r => r.seq)).toEqual([2])
  })

  it('retries a put no peer confirmed, re-publishes on its interval, and stop() clears the timer', async () => {
    const lonely = await startNode('lonely', 10)
    const retrying = await lonely.directory({ publishTimeout: 150, republishRetry: 50 })
    expect(await retrying.publish(aliceRecord(1))).toMatchObject({ stored: 0 })
    // Retries after 50, 100, 200 ms (each put bounded at 150 ms).
    await waitFor(() => lonely.counts.put >= 3, { timeout: 5_000, message: 'retries after unconfirmed puts' })

    const nodes = await startNetwork(3, 20)
    const directory = await nodes[0]!.directory({ republishInterval: 100 })
    expect((await directory.publish(aliceRecord(1))).stored).toBeGreaterThanOrEqual(1)
    await waitFor(() => nodes[0]!.counts.put >= 3, { timeout: 5_000, message: 're-publishes' })
    await directory.stop()
    const puts = nodes[0]!.counts.put
    // Absence of puts can only be shown by waiting: three intervals.
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(nodes[0]!.counts.put).toBe(puts)
    await expect(directory.publish(aliceRecord(3))).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' })
    await expect(directory.lookup(alice.upk)).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' })
    expect(directory.published().map(r => r.seq)).toEqual([1])
  })
})

describe('bounds', () => {
  it('a lookup with nobody to ask ends at its time bound with no answer; the caller can cancel sooner', async () => {
    const node = await startNode('lonely', 10)
    const bounded = await node.directory({ lookupTimeout: 200 })
    const t0 = Date.now()
    expect(await bounded.lookup(alice.upk)).toBeUndefined()
    expect(Date.now() - t0).toBeLessThan(2_000)

    const patient = await node.directory({ lookupTimeout: 60_000 })
    const t1 = Date.now()
    await expect(patient.lookup(user(2).upk, { signal: AbortSignal.timeout(100) })).rejects.toMatchObject({ name: 'TimeoutError' })
    expect(Date.now() - t1).toBeLessThan(2_000)
    await expect(patient.lookup('~not-a-user')).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' })
  })

  it('a lookup of a user nobody published answers undefined', async () => {
    const nodes = await startNetwork(3, 10)
    const directory = await nodes[1]!.directory()
    expect(await directory.lookup(user(5).upk, { signal: AbortSignal.timeout(10_000) })).toBeUndefined()
  })
})
