/**
 * `/keyroom/hello/1.0.0` between two real libp2p nodes on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { hello } from '../../../protocols/hello/index.js'
import { gossipNode } from '../gossip/fixtures.js'
import { componentsOf } from './fixtures.js'
import type { KeyroomLibp2p } from '../../../node/libp2p.js'

const nodes: KeyroomLibp2p[] = []
const services: Array<{ stop: () => Promise<void> }> = []
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop()
  for (const n of nodes.splice(0).reverse()) await n.stop()
})

async function pair (statement: () => unknown): Promise<{ asker: ReturnType<ReturnType<typeof hello>>, server: KeyroomLibp2p }> {
  const [a, b] = [(await gossipNode('a')).node, (await gossipNode('b')).node]
  nodes.push(a, b)
  const asker = hello({ statement: () => ({ mine: true }) })(componentsOf(a))
  const answering = hello({ statement })(componentsOf(b))
  await asker.start()
  await answering.start()
  services.push(asker, answering)
  await a.dial(b.getMultiaddrs())
  return { asker, server: b }
}

describe('hello', () => {
  it('returns the peer\'s statement', async () => {
    const statement = { upk: '~x', udk: '^y', issued_ts: 1, signatures: {} }
    const { asker, server } = await pair(() => statement)
    expect(await asker.hello(server.peerId)).toEqual(statement)
  })

  it('refuses an oversized statement with ERR_PEER_BAD_MESSAGE', async () => {
    const { asker, server } = await pair(() => ({ padding: 'x'.repeat(9000) }))
    await expect(asker.hello(server.peerId)).rejects.toMatchObject({ code: 'ERR_PEER_BAD_MESSAGE' })
  })

  it('honours the caller\'s signal and refuses when not started', async () => {
    const { asker, server } = await pair(() => ({}))
    const signal = AbortSignal.abort(new Error('no time'))
    await expect(asker.hello(server.peerId, { signal })).rejects.toThrow('no time')
    await asker.stop()
    await expect(asker.hello(server.peerId)).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' })
  })
})
