import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareBytes } from '../../store/codec.js'
import {
  EMPTY_ROOT, LEAF_MAX, chunk, countOf, decodeNode, hashNode, isEmptyRoot, lookupState, readState, rootToHex, updateState
} from '../../store/state-trie.js'
import type { NodeSource, TrieNode } from '../../store/state-trie.js'

/** Nodes by hex hash, stored as encoded bytes and decoded (with the hash check) on load. */
class NodeMap implements NodeSource {
  readonly bytes = new Map<string, Uint8Array>()
  loads = 0

  sink = (hash: Uint8Array, bytes: Uint8Array): void => { this.bytes.set(rootToHex(hash), bytes) }

  async load (hashes: readonly Uint8Array[]): Promise<TrieNode[]> {
    this.loads += hashes.length
    return hashes.map(h => {
      const b = this.bytes.get(rootToHex(h))
      if (b === undefined) throw new Error(`missing node ${rootToHex(h)}`)
      return decodeNode(h, b)
    })
  }
}

function memberKey (i: number): string {
  return `m.room.member\u0000@user${i}:example.org`
}

async function apply (nodes: NodeMap, root: Uint8Array, changes: Array<[string, string | null]>): Promise<Uint8Array> {
  return await updateState(root, new Map(changes), nodes, nodes.sink)
}

describe('state trie', () => {
  it('the empty state reads as an empty map and has the all-zero root', async () => {
    const nodes = new NodeMap()
    expect(isEmptyRoot(EMPTY_ROOT)).toBe(true)
    expect(await readState(EMPTY_ROOT, nodes)).toEqual(new Map())
    expect(await apply(nodes, EMPTY_ROOT, [['a', null]])).toEqual(EMPTY_ROOT)
    expect(nodes.bytes.size).toBe(0)
  })

  it('a small state is one leaf; removing every key gives the empty root back', async () => {
    const nodes = new NodeMap()
    const root = await apply(nodes, EMPTY_ROOT, [['k1', '$a'], ['k2', '$b']])
    expect(nodes.bytes.size).toBe(1)
    expect(await readState(root, nodes)).toEqual(new Map([['k1', '$a'], ['k2', '$b']]))
    expect(isEmptyRoot(await apply(nodes, root, [['k1', null], ['k2', null]]))).toBe(true)
  })

  it('an update that changes nothing keeps the root and writes no node', async () => {
    const nodes = new NodeMap()
    const entries: Array<[string, string]> = Array.from({ length: 500 }, (_, i) => [memberKey(i), `$e${i}`])
    const root = await apply(nodes, EMPTY_ROOT, entries)
    const before = nodes.bytes.size
    expect(await apply(nodes, root, [[memberKey(7), '$e7'], ['absent', null]])).toEqual(root)
    expect(nodes.bytes.size).toBe(before)
  })

  it('10,000 members: one change rewrites one path (≤ 4 nodes) and point lookups read ≤ 4 nodes', async () => {
    const nodes = new NodeMap()
    const entries: Array<[string, string]> = Array.from({ length: 10_000 }, (_, i) => [memberKey(i), `$join${i}`])
    const root = await apply(nodes, EMPTY_ROOT, entries)
    const before = nodes.bytes.size
    const next = await apply(nodes, root, [[memberKey(1234), '$leave1234']])
    expect(nodes.bytes.size - before).toBeGreaterThan(0)
    expect(nodes.bytes.size - before).toBeLessThanOrEqual(4)
    nodes.loads = 0
    expect(await lookupState(next, [memberKey(1234), memberKey(9), 'absent'], nodes)).toEqual(new Map([[memberKey(1234), '$leave1234'], [memberKey(9), '$join9']]))
    expect(nodes.loads).toBeLessThanOrEqual(12)
    const all = await readState(next, nodes)
    expect(all.size).toBe(10_000)
    expect(all.get(memberKey(1234))).toBe('$leave1234')
    // The old version is still there, untouched.
    expect((await readState(root, nodes)).get(memberKey(1234))).toBe('$join1234')
  })

  it('is canonical: the root depends on the set of entries, not on the order of updates', async () => {
    const keys = fc.uniqueArray(fc.string({ maxLength: 12 }).filter(s => s.isWellFormed()), { minLength: 0, maxLength: 120 })
    await fc.assert(fc.asyncProperty(keys, fc.integer({ min: 1, max: 7 }), async (ks, step) => {
      const nodes = new NodeMap()
      const all = ks.map((k, i): [string, string] => [k, `$v${i}`])
      const oneShot = await apply(nodes, EMPTY_ROOT, all)
      let incremental = EMPTY_ROOT
      for (let i = all.length; i > 0; i -= step) incremental = await apply(nodes, incremental, all.slice(Math.max(0, i - step), i))
      expect(rootToHex(incremental)).toBe(rootToHex(oneShot))
    }), { numRuns: 60 })
  })

  it('matches a Map model under random sets and removals (splits and collapses included)', async () => {
    const key = fc.integer({ min: 0, max: 150 }).map(i => `k${i}`)
    const op = fc.tuple(key, fc.option(fc.integer({ min: 0, max: 5 }).map(v => `$${v}`), { nil: null }))
    const batches = fc.array(fc.array(op, { minLength: 1, maxLength: 60 }), { minLength: 1, maxLength: 12 })
    await fc.assert(fc.asyncProperty(batches, async (bs) => {
      const nodes = new NodeMap()
      const model = new Map<string, string>()
      let root = EMPTY_ROOT
      for (const b of bs) {
        const changes = new Map(b)
        for (const [k, v] of changes) { if (v === null) model.delete(k); else model.set(k, v) }
        root = await updateState(root, changes, nodes, nodes.sink)
        expect(await readState(root, nodes)).toEqual(model)
        // Equal maps, equal roots: rebuilding the model from scratch gives the same root.
        expect(rootToHex(await apply(new NodeMap(), EMPTY_ROOT, [...model]))).toBe(rootToHex(root))
        expect(isEmptyRoot(root)).toBe(model.size === 0)
      }
    }), { numRuns: 80 })
  })

  it('keeps every node within the canonical shape (leaves ≤ LEAF_MAX, branches > LEAF_MAX)', async () => {
    const nodes = new NodeMap()
    const root = await apply(nodes, EMPTY_ROOT, Array.from({ length: 3000 }, (_, i): [string, string] => [memberKey(i), '$x']))
    for (const [hex, bytes] of nodes.bytes) {
      const node = decodeNode(Buffer.from(hex, 'hex'), bytes)
      if (node.kind === 'leaf') expect(node.entries.length).toBeLessThanOrEqual(LEAF_MAX)
      else expect(countOf(node)).toBeGreaterThan(LEAF_MAX)
    }
    expect((await readState(root, nodes)).size).toBe(3000)
  })

  it('refuses a node whose bytes do not match its hash, or that is not canonical', () => {
    const leaf = Uint8Array.of(0x01, 0x01, 0x01, 0x61, 0x02, 0x24, 0x61)
    expect(decodeNode(hashNode(leaf), leaf).kind).toBe('leaf')
    const flipped = leaf.slice()
    flipped[6] = 0x62
    expect(() => decodeNode(hashNode(leaf), flipped)).toThrow(expect.objectContaining({ code: 'ERR_CORRUPT_STORE' }))
    // A branch claiming 3 entries cannot be canonical (it would be a leaf).
    const branch = Uint8Array.of(0x02, 0x03, 0, 0, 0, 1, ...new Uint8Array(20))
    expect(() => decodeNode(hashNode(branch), branch)).toThrow(expect.objectContaining({ code: 'ERR_CORRUPT_STORE' }))
    // Leaf keys out of order.
    const unsorted = Uint8Array.of(0x01, 0x02, 0x01, 0x62, 0x01, 0x24, 0x01, 0x61, 0x01, 0x24)
    expect(() => decodeNode(hashNode(unsorted), unsorted)).toThrow(expect.objectContaining({ code: 'ERR_CORRUPT_STORE' }))
  })

  it('takes path bits most-significant first, 5 per level', () => {
    const path = Uint8Array.of(0b10110_011, 0b01_00001_1, 0xff)
    expect(chunk(path, 0)).toBe(0b10110)
    expect(chunk(path, 1)).toBe(0b01101)
    expect(chunk(path, 2)).toBe(0b00001)
    expect(chunk(path, 3)).toBe(0b11111)
    expect(compareBytes(Uint8Array.of(1), Uint8Array.of(1, 0))).toBeLessThan(0)
  })
})
