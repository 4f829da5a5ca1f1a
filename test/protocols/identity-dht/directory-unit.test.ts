/**
 * The directory against a scripted DHT (no network): what it does with answers that arrive late,
 * queries that fail after answering, background refresh limits, and stopping mid-query.
 */
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { createUserRecord, encodeUserRecord, identityDirectory, userIdFromRecordKey } from '../../../protocols/identity-dht/index.js'
import { waitFor } from '../../helpers/wait-for.js'
import { attest, user } from './fixtures.js'
import type { IdentityDirectory, IdentityDirectoryComponents } from '../../../protocols/identity-dht/index.js'
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

async function directory (script: Script, init = {}): Promise<{ directory: IdentityDirectory & Startable, gets: () => number, active: () => number }> {
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
    logger: defaultLogger()
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
