/**
 * `createNode({ denyPeer })`: peers the application refuses, both ways, next to the revoked devices
 * the node always refuses.
 */
import { describe, expect, it } from 'vitest'
import { startNode } from './fixtures.js'

describe('denyPeer', () => {
  it('refuses dials to and connections from the peers it names', async () => {
    const blocked = await startNode('blocked')
    const other = await startNode('other')
    const a = await startNode('a', { denyPeer: (peer) => peer.equals(blocked.libp2p.peerId) })
    await expect(a.connect(blocked.multiaddrs())).rejects.toThrow()
    await blocked.connect(a.multiaddrs()).catch(() => {})
    await other.connect(a.multiaddrs())
    expect(a.peers().map(p => p.peerId)).toEqual([other.peerId])
  })
})
