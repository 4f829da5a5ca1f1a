/**
 * Both key-value layers against one model: random batches of puts and deletes, then random range
 * reads (gt/gte/lt/lte, reverse, limit) must give the same keys in memcmp order.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { Level } from 'level'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compareBytes } from '../../store/codec.js'
import { LevelKv } from '../../store/level.js'
import { MemoryKv } from '../../store/memory.js'
import type { KvOp, KvRange, OrderedKv } from '../../store/kv.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const keyArb = fc.uint8Array({ minLength: 0, maxLength: 3, max: 3 }).map(k => Uint8Array.of(7, ...k))
const opArb = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key: keyArb, value: fc.uint8Array({ maxLength: 3 }) }),
  fc.record({ type: fc.constant('del' as const), key: keyArb })
)
const lowerArb = fc.oneof(fc.constant({}), keyArb.map(k => ({ gt: k })), keyArb.map(k => ({ gte: k })))
const upperArb = fc.oneof(fc.constant({}), keyArb.map(k => ({ lt: k })), keyArb.map(k => ({ lte: k })))
const rangeArb: fc.Arbitrary<KvRange> = fc.tuple(lowerArb, upperArb, fc.boolean(), fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }))
  .map(([lower, upper, reverse, limit]) => ({ ...lower, ...upper, reverse, ...(limit === undefined ? {} : { limit }) }))

/** The model: a Map, sorted with memcmp on every read. */
function modelRange (model: Map<string, Uint8Array>, r: KvRange): string[] {
  let keys = [...model.keys()].map(k => Buffer.from(k, 'hex')).sort(compareBytes)
  keys = keys.filter(k =>
    (r.gt === undefined || compareBytes(k, r.gt) > 0) && (r.gte === undefined || compareBytes(k, r.gte) >= 0) &&
    (r.lt === undefined || compareBytes(k, r.lt) < 0) && (r.lte === undefined || compareBytes(k, r.lte) <= 0))
  if (r.reverse === true) keys.reverse()
  return keys.slice(0, r.limit ?? Infinity).map(hex)
}

async function clear (kv: OrderedKv): Promise<void> {
  const keys: Uint8Array[] = []
  for await (const k of kv.keys({})) keys.push(k)
  await kv.write(keys.map(key => ({ type: 'del' as const, key })), { sync: false })
}

function kvSuite (name: string, make: () => Promise<{ kv: OrderedKv, done: () => Promise<void> }>): void {
  describe(`OrderedKv: ${name}`, () => {
    let kv: OrderedKv
    let done: () => Promise<void>
    beforeAll(async () => { ({ kv, done } = await make()) })
    afterAll(async () => { await done() })

    it('matches a sorted-map model under random batches and ranges', async () => {
      await fc.assert(fc.asyncProperty(fc.array(fc.array(opArb, { maxLength: 12 }), { maxLength: 6 }), fc.array(rangeArb, { minLength: 1, maxLength: 6 }), async (batches, ranges) => {
        await clear(kv)
        const model = new Map<string, Uint8Array>()
        for (const ops of batches) {
          await kv.write(ops as KvOp[], { sync: false })
          for (const op of ops) { if (op.type === 'put') model.set(hex(op.key), op.value); else model.delete(hex(op.key)) }
          // Interleave reads with writes (the memory backend sorts lazily on read).
          const r = ranges[batches.indexOf(ops) % ranges.length]!
          const keys: string[] = []
          for await (const k of kv.keys(r)) keys.push(hex(k))
          expect(keys).toEqual(modelRange(model, r))
        }
        for (const r of ranges) {
          const entries: Array<[string, string]> = []
          for await (const [k, v] of kv.entries(r)) entries.push([hex(k), hex(v)])
          expect(entries).toEqual(modelRange(model, r).map(k => [k, hex(model.get(k)!)]))
        }
        const probe: Uint8Array[] = [...[...model.keys()].slice(0, 3).map(k => Buffer.from(k, 'hex')), Uint8Array.of(9)]
        expect((await kv.getMany(probe)).map(v => v === undefined ? undefined : hex(v))).toEqual(probe.map(k => { const v = model.get(hex(k)); return v === undefined ? undefined : hex(v) }))
      }), { numRuns: 60 })
    })
  })
}

kvSuite('memory', async () => {
  const kv = new MemoryKv()
  kv.acquire()
  return { kv, done: async () => { await kv.close() } }
})

kvSuite('level', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keyroom-kv-'))
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  const kv = new LevelKv(db)
  return { kv, done: async () => { await kv.close(); await rm(dir, { recursive: true, force: true }) } }
})
