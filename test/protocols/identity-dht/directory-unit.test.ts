/**
 * The directory against a scripted DHT (no network): the default lookup policy (best of the first
 * three holders' answers, the query running on in the background), what it does with answers that
 * arrive late, queries that fail after answering, background refresh limits, and stopping mid-query.
 */
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { createUserRecord, encodeUserRecord, identityDhtRecords, identityDirectory, parseUserRecord, userIdFromRecordKey, userRecordKey } from '../../../protocols/identity-dht/index.js'
import { waitFor } from '../../helpers/wait-for.js'
import { attest, user } from './fixtures.js'
import type { IdentityDirectory, IdentityDirectoryComponents, IdentityDirectoryInit, UserRecord } from '../../../protocols/identity-dht/index.js'
import type { AbortOptions, Startable } from '@libp2p/interface'
import type { QueryEvent } from '@libp2p/kad-dht'

const alice = user(1)
const HOLDER = peerIdFromString('12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA')
const record = (seq: number): Uint8Array => encodeUserRecord(createUserRecord({ upkSeed: alice.seed, seq, devices: [attest(1, 11)] }))

/** A holder's answer carrying a record, as kad-dht reports it. */
const answer = (value: Uint8Array): QueryEvent => ({ name: 'PEER_RESPONSE', messageName: 'GET_VALUE', from: HOLDER, record: { key: new Uint8Array(), value }, closer: [], providers: [] }) as unknown as QueryEvent

/** A gate a scripted query waits on. */
function gate (): { wait: (signal?: AbortSignal) => Promise<void>, open: () => void } {
  let open = (): void => {}
  const opened = new Promise<void>(resolve => { open = resolve })
  return {
    open,
    wait: async (signal) => {
      await new Promise<void>((resolve, reject) => {
        void opened.then(resolve)
        signal?.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
      })
    }
  }
}

type Script = (key: Uint8Array, options: AbortOptions) => AsyncGenerator<QueryEvent>

const running: Array<IdentityDirectory & Startable> = []
afterEach(async () => { for (const d of running.splice(0)) await d.stop() })

async function directory (script: Script, init: IdentityDirectoryInit = {}, records?: IdentityDirectoryComponents['records']): Promise<{ directory: IdentityDirectory & Startable, gets: () => number, active: () => number }> {
  let gets = 0
  let active = 0
  const components: IdentityDirectoryComponents = {
    dht: {
      get: (key, options = {}) => (async function * () {
        gets++
        active++
        try { yield * script(key, options) } finally { active-- }
      })(),
      put: () => (async function * () {})()
    },
    peerRouting: { findPeer: async () => { throw new Error('not found') } },
    logger: defaultLogger(),
    ...(records === undefined ? {} : { records })
  }
  const d = identityDirectory(init)(components)
  await d.start()
  running.push(d)
  return { directory: d, gets: () => gets, active: () => active }
}

describe('directory with a scripted DHT', () => {
  it('a quorum answer is replaced in the cache when a slower holder has a newer record', async () => {
    const late = gate()
    const { directory: d } = await directory(async function * (_key, options) {
      yield answer(record(1))
      await late.wait(options.signal)
      yield answer(record(2))
    })
    expect(await d.lookup(alice.upk, { quorum: 1, addresses: false })).toMatchObject({ seq: 1, source: 'network' })
    late.open()
    await waitFor(() => d.cached(alice.upk)?.seq === 2, { timeout: 2_000, message: 'cache updated by the rest of the query' })
  })

  it('keeps the answers of a query that fails at its end (kad-dht throws when a correction is refused)', async () => {
    const { directory: d } = await directory(async function * () {
      yield answer(record(3))
      yield answer(new TextEncoder().encode('{"junk":true}'))
      throw new Error('Could not send correction')
    })
    expect(await d.lookup(alice.upk, { addresses: false })).toMatchObject({ seq: 3 })
  })

  it('ignores forged and foreign records among the answers', async () => {
    const forged = new TextEncoder().encode(new TextDecoder().decode(record(4)).replace('"seq":4', '"seq":9'))
    const { directory: d } = await directory(async function * () {
      yield answer(forged)
      yield answer(encodeUserRecord(createUserRecord({ upkSeed: user(2).seed, seq: 8, devices: [] })))
      yield answer(record(4))
    })
    expect(await d.lookup(alice.upk, { addresses: false })).toMatchObject({ seq: 4 })
  })

  it('runs at most maxBackgroundRefreshes refreshes at once', async () => {
    const hold = gate()
    let now = 1_000_000
    const users = [1, 2, 3, 4, 5].map(user)
    const { directory: d, gets, active } = await directory(async function * (key, options) {
      // Each user's first lookup is answered; every later one (the refreshes) is held.
      if (gets() <= users.length) {
        const u = users.find(x => x.upk === userIdFromRecordKey(key))!
        yield answer(encodeUserRecord(createUserRecord({ upkSeed: u.seed, seq: 1, devices: [] })))
        return
      }
      await hold.wait(options.signal)
    }, { now: () => now, maxBackgroundRefreshes: 2, cacheTtl: 1_000 })
    for (const u of users) expect(await d.lookup(u.upk, { addresses: false })).toMatchObject({ seq: 1 })
    now += 5_000
    for (const u of users) expect(await d.lookup(u.upk)).toMatchObject({ stale: true, source: 'cache' })
    await waitFor(() => active() === 2, { timeout: 2_000, message: 'two refreshes running' })
    expect(gets()).toBe(users.length + 2)
    hold.open()
    await waitFor(() => active() === 0, { timeout: 2_000, message: 'refreshes done' })
  })

  it('stop() ends a lookup waiting on the DHT with ERR_NOT_STARTED', async () => {
    const { directory: d } = await directory(async function * (_key, options) {
      await gate().wait(options.signal)
      yield answer(record(1))
    })
    const pending = d.lookup(alice.upk)
    await waitFor(() => true)
    const t0 = Date.now()
    await d.stop()
    await expect(pending).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' })
    expect(Date.now() - t0).toBeLessThan(1_000)
  })
})

describe('default lookup policy: the first three holders answer, the query runs on', () => {
  it('answers with the best of the first three answers while the query is still running', async () => {
    const late = gate()
    let finished = false
    const { directory: d, active } = await directory(async function * (_key, options) {
      yield answer(record(1))
      yield answer(record(3))
      yield answer(record(2))
      await late.wait(options.signal)
      finished = true
    })
    expect(await d.lookup(alice.upk, { addresses: false })).toMatchObject({ seq: 3, source: 'network' })
    expect(finished).toBe(false)
    expect(active()).toBe(1)
    late.open()
    await d.idle()
    expect(finished).toBe(true)
    expect(active()).toBe(0)
  })

  it('a higher seq from a slower holder moves the cache forward and calls onRecord; a lower one does not', async () => {
    const late = gate()
    const seen: Array<[number, number | undefined]> = []
    const onRecord = (r: UserRecord, previous: UserRecord | undefined): void => { seen.push([r.seq, previous?.seq]) }
    const { directory: d } = await directory(async function * (_key, options) {
      yield answer(record(2))
      yield answer(record(2))
      yield answer(record(2))
      await late.wait(options.signal)
      yield answer(record(1))
      yield answer(record(5))
    }, { onRecord })
    expect(await d.lookup(alice.upk, { addresses: false })).toMatchObject({ seq: 2 })
    expect(seen).toEqual([[2, undefined]])
    late.open()
    await d.idle()
    expect(d.cached(alice.upk)).toMatchObject({ seq: 5 })
    expect(seen).toEqual([[2, undefined], [5, 2]])
  })

  it('the cache never goes backwards: a later query whose holders all have an older record leaves it in place', async () => {
    let round = 0
    const seen: number[] = []
    const { directory: d } = await directory(async function * () {
      round++
      const seq = round === 1 ? 4 : 3
      for (let i = 0; i < 4; i++) yield answer(record(seq))
    }, { onRecord: (r) => { seen.push(r.seq) } })
    expect(await d.lookup(alice.upk, { addresses: false })).toMatchObject({ seq: 4 })
    await d.idle()
    expect(await d.lookup(alice.upk, { addresses: false, maxAge: 0 })).toMatchObject({ seq: 4 })
    await d.idle()
    expect(round).toBe(2)
    expect(seen).toEqual([4])
  })

  it("quorum 'all' (per call or as the directory's default) waits for the whole query", async () => {
    for (const init of [{}, { lookupQuorum: 'all' as const }]) {
      const late = gate()
      const { directory: d } = await directory(async function * (_key, options) {
        for (let i = 0; i < 3; i++) yield answer(record(1))
        await late.wait(options.signal)
        yield answer(record(2))
      }, init)
      const pending = d.lookup(alice.upk, { addresses: false, ...('lookupQuorum' in init ? {} : { quorum: 'all' as const }) })
      let settled = false
      void pending.then(() => { settled = true })
      await waitFor(async () => { await new Promise(resolve => setTimeout(resolve, 20)); return true })
      expect(settled).toBe(false)
      late.open()
      expect(await pending).toMatchObject({ seq: 2 })
    }
  })

  it('with fewer holders than the quorum, the answer is the whole query\'s', async () => {
    const { directory: d } = await directory(async function * () {
      yield answer(record(1))
      yield answer(record(6))
    })
    expect(await d.lookup(alice.upk, { addresses: false })).toMatchObject({ seq: 6 })
  })

  it('a forged answer among the first three does not win; the best valid one does', async () => {
    const forged = new TextEncoder().encode(new TextDecoder().decode(record(2)).replace('"seq":2', '"seq":9'))
    const late = gate()
    const { directory: d } = await directory(async function * (_key, options) {
      yield answer(forged)
      yield answer(record(2))
      yield answer(record(1))
      await late.wait(options.signal)
    })
    expect(await d.lookup(alice.upk, { addresses: false })).toMatchObject({ seq: 2 })
    late.open()
  })

  it('onRecord throwing does not break the lookup', async () => {
    const { directory: d } = await directory(async function * () {
      for (let i = 0; i < 3; i++) yield answer(record(1))
    }, { onRecord: () => { throw new Error('listener bug') } })
    expect(await d.lookup(alice.upk, { addresses: false })).toMatchObject({ seq: 1 })
  })
})

describe('verifying once per node', () => {
  it('takes an answer the node\'s DHT validator just verified from it, parsed, instead of verifying it again', async () => {
    const records = identityDhtRecords()
    const bytes = record(2)
    await records.validators.keyroom!(userRecordKey(alice.upk), bytes)
    const fromValidator = records.verifiedRecord(userRecordKey(alice.upk), bytes)
    expect(fromValidator).toBeDefined()
    const { directory: d } = await directory(async function * () {
      for (let i = 0; i < 3; i++) yield answer(bytes)
    }, {}, records)
    expect((await d.lookup(alice.upk, { addresses: false }))?.record).toBe(fromValidator)
  })

  it('verifies itself what the validator does not vouch for, or vouches for under another user', async () => {
    const bob = user(2)
    const bobs = parseUserRecord(encodeUserRecord(createUserRecord({ upkSeed: bob.seed, seq: 7, devices: [] })))
    if (!bobs.ok) throw new Error('fixture')
    const { directory: d } = await directory(async function * () {
      for (let i = 0; i < 3; i++) yield answer(record(3))
    }, {}, { verifiedRecord: () => bobs.record })
    expect(await d.lookup(alice.upk, { addresses: false })).toMatchObject({ upk: alice.upk, seq: 3 })
  })
})
