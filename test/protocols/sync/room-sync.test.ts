/**
 * The sync protocol end to end over real libp2p nodes on loopback, against a fake store:
 * heads, events, missing (Matrix /get_missing_events semantics), state_at, access control and
 * cancellation.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_IDS_PER_REQUEST } from '../../../protocols/sync/index.js'
import { FakeStore, OTHER_ROOM, ROOM, fakeEvent, syncNode } from './fixtures.js'
import type { SyncNode } from './fixtures.js'
import type { RoomSyncInit } from '../../../protocols/sync/index.js'

const nodes: SyncNode[] = []
afterEach(async () => {
  for (const n of nodes.splice(0).reverse()) await n.stop()
})

async function pair (store: FakeStore, init: Partial<RoomSyncInit> = {}): Promise<{ client: SyncNode, server: SyncNode }> {
  const server = await syncNode('server', store, init)
  const client = await syncNode('client', new FakeStore())
  nodes.push(server, client)
  await client.dial(server.getMultiaddrs())
  return { client, server }
}

//   $a ← $b ← $c ← $d
//          ↖ $e ←──── $f  ($f's prev_events: [$d, $e])
function dag (): FakeStore {
  const store = new FakeStore().add(
    fakeEvent('$a', []), fakeEvent('$b', ['$a']), fakeEvent('$c', ['$b']), fakeEvent('$d', ['$c']),
    fakeEvent('$e', ['$b']), fakeEvent('$f', ['$d', '$e']),
    fakeEvent('$x', [], OTHER_ROOM)
  )
  store.heads.set(ROOM, ['$f'])
  store.heads.set(OTHER_ROOM, ['$x'])
  store.state.set('$d', { stateIds: ['$a', '$b'], authChainIds: ['$a'] })
  return store
}

const ids = (events: Array<{ eventId: string }>): string[] => events.map(e => e.eventId)

describe('sync: heads', () => {
  it('returns the forward extremities of a room', async () => {
    const { client, server } = await pair(dag())
    expect(await client.services.sync.heads(server.peerId, ROOM)).toEqual(['$f'])
  })

  it('answers ERR_SYNC_NOT_FOUND for an unknown room', async () => {
    const { client, server } = await pair(dag())
    await expect(client.services.sync.heads(server.peerId, '!dW5rbm93bg')).rejects.toMatchObject({ code: 'ERR_SYNC_NOT_FOUND' })
  })

  it('answers a refused room exactly like an unknown one', async () => {
    const { client, server } = await pair(dag(), { authorize: (_peer, roomId) => roomId !== OTHER_ROOM })
    await expect(client.services.sync.heads(server.peerId, OTHER_ROOM)).rejects.toMatchObject({ code: 'ERR_SYNC_NOT_FOUND' })
    await expect(client.services.sync.events(server.peerId, OTHER_ROOM, ['$x'])).rejects.toMatchObject({ code: 'ERR_SYNC_NOT_FOUND' })
    expect(await client.services.sync.heads(server.peerId, ROOM)).toEqual(['$f'])
  })

  it('answers a peer with a limited grant from the grant\'s store only', async () => {
    // The grant: $c and its ancestors, $c as the only head (a departed member's view).
    const full = dag()
    const limited = new FakeStore().add(...['$a', '$b', '$c'].map(id => full.events.get(id)!))
    limited.heads.set(ROOM, ['$c'])
    const { client, server } = await pair(full, { authorize: () => ({ store: limited }) })
    expect(await client.services.sync.heads(server.peerId, ROOM)).toEqual(['$c'])
    expect(ids(await client.services.sync.events(server.peerId, ROOM, ['$f', '$c', '$a']))).toEqual(['$c', '$a'])
    expect(ids(await client.services.sync.missing(server.peerId, ROOM, { earliest: [], latest: ['$f'] }))).toEqual([])
    expect(full.calls.getHeads + full.calls.getEvent + full.calls.getPrevEvents).toBe(0)
  })
})

describe('sync: events', () => {
  it('returns the stored events in request order with their exact bytes, leaving out unknown ones', async () => {
    const store = dag()
    const { client, server } = await pair(store)
    const got = await client.services.sync.events(server.peerId, ROOM, ['$c', '$nope', '$a', '$c'])
    expect(ids(got)).toEqual(['$c', '$a'])
    expect(got[0]?.bytes).toEqual(store.events.get('$c')?.bytes)
    expect(got[1]?.bytes).toEqual(store.events.get('$a')?.bytes)
  })

  it('does not serve an event of another room under this room', async () => {
    const { client, server } = await pair(dag())
    expect(await client.services.sync.events(server.peerId, ROOM, ['$x', '$a'])).toHaveLength(1)
  })

  it('fetches more IDs than one request may carry over several requests', async () => {
    const store = new FakeStore()
    const all = Array.from({ length: 2 * MAX_IDS_PER_REQUEST + 30 }, (_, i) => `$e${i}`)
    store.add(...all.map(id => fakeEvent(id, [])))
    const { client, server } = await pair(store)
    const got = await client.services.sync.events(server.peerId, ROOM, all)
    expect(ids(got)).toEqual(all)
  })

  it('asks again when an answer was cut by the response byte bound', async () => {
    const store = new FakeStore()
    // 100 events of ~60 KB: about 6 MB, more than one 4 MiB response holds.
    const all = Array.from({ length: 100 }, (_, i) => `$big${i}`)
    store.add(...all.map(id => fakeEvent(id, [], ROOM, 60_000)))
    const { client, server } = await pair(store)
    const got = await client.services.sync.events(server.peerId, ROOM, all)
    expect(ids(got)).toEqual(all)
    // The first answer stopped before 100 events, so more than one request reached the store.
    expect(store.calls.getEvent).toBeGreaterThan(100)
  })
})

describe('sync: missing (Matrix /get_missing_events)', () => {
  it('walks back from latest to earliest, returning parents first and neither end', async () => {
    const { client, server } = await pair(dag())
    const got = await client.services.sync.missing(server.peerId, ROOM, { earliest: ['$a'], latest: ['$f'], limit: 10 })
    // Walk from $f: $d, $e; then $c (from $d), $b (from $e); $a is in earliest.
    // Parents first, ties to the event found later in the walk: $b, $c, $e, $d.
    expect(ids(got)).toEqual(['$b', '$c', '$e', '$d'])
  })

  it('stops at the limit, keeping the events closest to latest', async () => {
    const { client, server } = await pair(dag())
    const got = await client.services.sync.missing(server.peerId, ROOM, { earliest: [], latest: ['$f'], limit: 2 })
    expect(ids(got)).toEqual(['$e', '$d'])
  })

  it('skips earliest itself but not other paths around it (Synapse semantics)', async () => {
    const { client, server } = await pair(dag())
    const got = await client.services.sync.missing(server.peerId, ROOM, { earliest: ['$c'], latest: ['$f'], limit: 10 })
    expect(ids(got)).toEqual(['$a', '$b', '$e', '$d'])
  })

  it('returns nothing when latest is unknown', async () => {
    const { client, server } = await pair(dag())
    expect(await client.services.sync.missing(server.peerId, ROOM, { earliest: [], latest: ['$zzz'] })).toEqual([])
  })

  it('refuses too many IDs locally, before any stream is opened', async () => {
    const { client, server } = await pair(dag())
    const many = Array.from({ length: MAX_IDS_PER_REQUEST + 1 }, (_, i) => `$m${i}`)
    await expect(client.services.sync.missing(server.peerId, ROOM, { earliest: many, latest: ['$f'] }))
      .rejects.toMatchObject({ code: 'ERR_SYNC_TOO_MANY_IDS' })
  })
})

describe('sync: state_at', () => {
  it('returns state and auth chain IDs', async () => {
    const { client, server } = await pair(dag())
    expect(await client.services.sync.stateAt(server.peerId, ROOM, '$d')).toEqual({ stateIds: ['$a', '$b'], authChainIds: ['$a'] })
  })

  it('answers ERR_SYNC_NOT_FOUND for an event without stored state', async () => {
    const { client, server } = await pair(dag())
    await expect(client.services.sync.stateAt(server.peerId, ROOM, '$c')).rejects.toMatchObject({ code: 'ERR_SYNC_NOT_FOUND' })
  })
})

describe('sync: cancellation', () => {
  it('rejects with the caller\'s abort reason while the server is still working', async () => {
    const store = dag()
    let release!: () => void
    store.gate = new Promise(resolve => { release = resolve })
    const { client, server } = await pair(store)
    const controller = new AbortController()
    const pending = client.services.sync.heads(server.peerId, ROOM, { signal: controller.signal })
    setTimeout(() => { controller.abort(new Error('user gave up')) }, 50)
    await expect(pending).rejects.toThrow('user gave up')
    release()
  })

  it('times out with ERR_SYNC_TIMEOUT under the outbound bound', async () => {
    const store = dag()
    let release!: () => void
    store.gate = new Promise(resolve => { release = resolve })
    const server = await syncNode('server', store)
    const client = await syncNode('client', new FakeStore(), { outboundTimeout: 200 })
    nodes.push(server, client)
    const started = Date.now()
    await expect(client.services.sync.heads(server.getMultiaddrs(), ROOM)).rejects.toMatchObject({ code: 'ERR_SYNC_TIMEOUT' })
    expect(Date.now() - started).toBeLessThan(2_000)
    release()
  })
})
