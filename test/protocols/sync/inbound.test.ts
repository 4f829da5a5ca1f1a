import { describe, expect, it } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { InflightQuota } from '../../../protocols/sync/index.js'

const a = peerIdFromString('12D3KooWDzLBE4ZCDNiuH8X1d9txx9iztPohodUpRftZr35YD93G')
const b = peerIdFromString('12D3KooWR2EfVUzFnQ97hYHPYzZ1nCkAsZdvkXrB3wpyxkLJwfXi')

describe('InflightQuota', () => {
  it('caps requests per peer and in total, and gives slots back', () => {
    const quota = new InflightQuota(2, 3)
    expect([quota.acquire(a), quota.acquire(a), quota.acquire(a)]).toEqual([true, true, false])
    expect(quota.of(a)).toBe(2)
    expect(quota.acquire(b)).toBe(true)
    // The total cap holds even for a peer under its own cap.
    expect(quota.acquire(b)).toBe(false)
    expect(quota.total).toBe(3)
    quota.release(a)
    expect(quota.acquire(b)).toBe(true)
    quota.release(a)
    quota.release(b)
    quota.release(b)
    expect([quota.total, quota.of(a), quota.of(b)]).toEqual([0, 0, 0])
  })
})
