/**
 * The `RoomStore` conformance suite, run against every backend (`memory.test.ts`,
 * `level.test.ts`). A backend supplies a harness that opens a store on a fresh "directory",
 * reopens it, and lets a test touch the raw key-value layer while the store is closed (to plant
 * corrupt bytes).
 */
import { Key } from 'interface-datastore'
import { afterEach, describe, expect, it } from 'vitest'
import { compareBytes, utf8 } from '../../store/codec.js'
import { FORMAT_KEY, Table, eventKey, headsKey, orderKey, roomMetaKey } from '../../store/keys.js'
import { metaKey } from '../../store/meta-key.js'
import type { Decision, EventWrite, RoomStore, StateUpdate } from '../../store/contract.js'
import type { OrderedKv } from '../../store/kv.js'

/** One store on one fresh directory. */
export interface StoreHandle {
  readonly store: RoomStore
  /** Closes the current store (if open) and opens a new one on the same directory. */
  reopen(): Promise<RoomStore>
  /** Closes the store, runs `fn` on the raw key-value store of the directory, reopens. */
  tamper(fn: (kv: OrderedKv) => Promise<void>): Promise<RoomStore>
  /** Opens another store on the same directory while this one is open (must be refused). */
  openConcurrent(): Promise<RoomStore>
  /** Closes everything and removes the directory. */
  cleanup(): Promise<void>
}

export interface StoreHarness {
  /** Opens a store on a fresh, empty directory. */
  create(): Promise<StoreHandle>
}

const CODE = (code: string): unknown => expect.objectContaining({ code })

/** A test event: its bytes name its ID so a mix-up cannot go unnoticed. */
export function makeEvent (roomId: string, eventId: string, depth: number, more: Partial<EventWrite> = {}): EventWrite {
  return {
    eventId,
    roomId,
    depth,
    bytes: utf8(`{"event_id":${JSON.stringify(eventId)},"room_id":${JSON.stringify(roomId)},"depth":${depth}}`),
    decision: { kind: 'accepted' },
    heads: [eventId],
    ...more
  }
}

function state (base: string | null, changes: Array<[string, string | null]> = []): StateUpdate {
  return { base, changes: new Map(changes) }
}

async function keysWithPrefix (kv: OrderedKv, table: number): Promise<number> {
  let n = 0
  for await (const _ of kv.keys({ gte: Uint8Array.of(table), lt: Uint8Array.of(table + 1) })) n++
  return n
}

async function collect<T> (it: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

export function storeConformance (name: string, harness: StoreHarness): void {
  describe(`RoomStore conformance: ${name}`, () => {
    let handles: StoreHandle[] = []
    afterEach(async () => {
      for (const h of handles) await h.cleanup()
      handles = []
    })
    async function open (): Promise<StoreHandle> {
      const h = await harness.create()
      handles.push(h)
      return h
    }

    describe('events', () => {
      it('gives back what was written: bytes, decision, room, depth', async () => {
        const { store } = await open()
        const e = makeEvent('!room', '$create', 0, { state: state(null, [['m.room.create\u0000', '$create']]) })
        expect(await store.writeEvent(e)).toEqual({ written: true })
        const got = await store.getEvent('$create')
        expect(got).toMatchObject({ eventId: '$create', roomId: '!room', depth: 0, decision: { kind: 'accepted' } })
        expect(got?.bytes).toEqual(e.bytes)
        expect(got?.stateId).toMatch(/^[0-9a-f]{40}$/)
        expect(await store.hasEvent('$create')).toBe(true)
        expect(await store.hasEvent('$nope')).toBe(false)
        expect(await store.getEvent('$nope')).toBeUndefined()
      })

      it('hasEvents answers many IDs at once, in the order given, from the cache or the database', async () => {
        const handle = await open()
        await handle.store.writeEvent(makeEvent('!room', '$create', 0, { state: state(null, [['m.room.create\u0000', '$create']]) }))
        expect(await handle.store.hasEvents([])).toEqual([])
        expect(await handle.store.hasEvents(['$nope', '$create', '$nope', '$other'])).toEqual([false, true, false, false])
        // A reopened store has nothing cached: the answer comes from the database.
        const reopened = await handle.reopen()
        expect(await reopened.hasEvents(['$create', '$nope'])).toEqual([true, false])
      })

      it('getEvents reads many events at once, in the order given, like getEvent one by one', async () => {
        const { store } = await open()
        const create = makeEvent('!room', '$create', 0, { state: state(null, [['m.room.create\u0000', '$create']]) })
        const message = makeEvent('!room', '$msg', 1, { state: state('$create') })
        await store.writeEvent(create)
        await store.writeEvent(message)
        expect(await store.getEvents([])).toEqual([])
        const got = await store.getEvents(['$msg', '$nope', '$create'])
        expect(got).toEqual([await store.getEvent('$msg'), undefined, await store.getEvent('$create')])
        expect(got[0]?.bytes).toEqual(message.bytes)
        expect(got[2]).toMatchObject({ eventId: '$create', roomId: '!room', depth: 0 })
      })

      it('keeps rejected and soft-failed decisions with their rule', async () => {
        const { store } = await open()
        const rejected: Decision = { kind: 'rejected', rule: 'm.room.power_levels: sender level too low' }
        const soft: Decision = { kind: 'soft-failed', rule: '' }
        await store.writeEvent(makeEvent('!r', '$a', 1, { decision: rejected }))
        await store.writeEvent(makeEvent('!r', '$b', 2, { decision: soft, state: state(null) }))
        expect((await store.getEvent('$a'))?.decision).toEqual(rejected)
        expect((await store.getEvent('$a'))?.stateId).toBeUndefined()
        expect((await store.getEvent('$b'))?.decision).toEqual(soft)
        expect((await store.roomEvents('!r', { limit: 10, direction: 'forward' })).map(e => e.decision)).toEqual(['rejected', 'soft-failed'])
      })

      it('a second write of a stored event changes nothing (first write wins)', async () => {
        const { store } = await open()
        await store.writeEvent(makeEvent('!r', '$a', 1, { heads: ['$a'] }))
        const again = makeEvent('!r', '$a', 9, { decision: { kind: 'rejected', rule: 'x' }, heads: ['$zzz'], roomMeta: { roomVersion: '12', createEventId: '$a' } })
        expect(await store.writeEvent(again)).toEqual({ written: false })
        expect(await store.getEvent('$a')).toMatchObject({ depth: 1, decision: { kind: 'accepted' } })
        expect(await store.getHeads('!r')).toEqual(['$a'])
        expect(await store.getRoomMeta('!r')).toBeUndefined()
        // Also within one group commit.
        const [x, y] = await Promise.all([store.writeEvent(makeEvent('!r', '$b', 2)), store.writeEvent(makeEvent('!r', '$b', 2))])
        expect([x.written, y.written]).toEqual([true, false])
      })

      it('writes vouched for as new (knownNew) are stored like any other, also mixed with checked writes in one group commit', async () => {
        const handle = await open()
        const results = await Promise.all([
          handle.store.writeEvent({ ...makeEvent('!r', '$n1', 1, { heads: ['$n1'] }), knownNew: true }),
          handle.store.writeEvent(makeEvent('!r', '$n2', 2, { heads: ['$n2'] })),
          handle.store.writeEvent({ ...makeEvent('!r', '$n3', 3, { heads: ['$n3'] }), knownNew: true })
        ])
        expect(results.map(r => r.written)).toEqual([true, true, true])
        const reopened = await handle.reopen()
        expect((await reopened.roomEvents('!r', { limit: 10, direction: 'forward' })).map(e => e.eventId)).toEqual(['$n1', '$n2', '$n3'])
        expect(await reopened.getHeads('!r')).toEqual(['$n3'])
        expect((await reopened.getEvent('$n1'))?.bytes).toEqual(makeEvent('!r', '$n1', 1).bytes)
      })

      it('copies the bytes: reusing the caller buffer after the call does not change the event', async () => {
        const { store } = await open()
        const e = makeEvent('!r', '$a', 1)
        const original = e.bytes.slice()
        const p = store.writeEvent(e)
        e.bytes.fill(0)
        await p
        expect((await store.getEvent('$a'))?.bytes).toEqual(original)
      })

      it('refuses malformed writes with ERR_INVALID_STORE_WRITE', async () => {
        const { store } = await open()
        const bad: Array<Partial<EventWrite>> = [
          { depth: -1 }, { depth: 1.5 }, { depth: 2 ** 53 }, { eventId: '' }, { roomId: '' }, { eventId: '$\ud800' },
          { heads: ['$\udc00'] }, { decision: { kind: 'maybe' } as unknown as Decision },
          { state: { base: '', changes: new Map() } }, { state: { base: null, changes: new Map([['k', '']]) } },
          { bytes: 'text' as unknown as Uint8Array }
        ]
        for (const more of bad) {
          await expect(store.writeEvent(makeEvent('!r', '$ok', 1, more))).rejects.toEqual(CODE('ERR_INVALID_STORE_WRITE'))
        }
        expect(await store.hasEvent('$ok')).toBe(false)
      })
    })

    describe('heads and rooms', () => {
      it('stores the heads of the latest write, sorted by UTF-8 bytes, without duplicates', async () => {
        const { store } = await open()
        expect(await store.getHeads('!r')).toEqual([])
        await store.writeEvent(makeEvent('!r', '$a', 1))
        // U+FF61 sorts before U+1F600 in UTF-8, after it in UTF-16.
        await store.writeEvent(makeEvent('!r', '$b', 2, { heads: ['$\u{1F600}', '$b', '$\uFF61', '$b'] }))
        expect(await store.getHeads('!r')).toEqual(['$b', '$\uFF61', '$\u{1F600}'])
        expect(await store.getHeads('!other')).toEqual([])
      })

      it('lists rooms that have events or metadata, sorted by bytes', async () => {
        const { store } = await open()
        expect(await store.listRooms()).toEqual([])
        await store.writeEvent(makeEvent('!b', '$1', 1))
        await store.putRoomMeta('!a', { roomVersion: '12', createEventId: '$c' })
        await store.writeEvent(makeEvent('!a', '$2', 1))
        await store.writeEvent(makeEvent('!\u{1F600}', '$3', 1))
        await store.writeEvent(makeEvent('!\uFF61', '$4', 1))
        expect(await store.listRooms()).toEqual(['!a', '!b', '!\uFF61', '!\u{1F600}'])
      })

      it('room metadata: put, replace, read back; written atomically with an event', async () => {
        const { store } = await open()
        expect(await store.getRoomMeta('!r')).toBeUndefined()
        await store.writeEvent(makeEvent('!r', '$create', 0, { roomMeta: { roomVersion: 'keyroom.1', createEventId: '$create' } }))
        expect(await store.getRoomMeta('!r')).toEqual({ roomVersion: 'keyroom.1', createEventId: '$create' })
        await store.putRoomMeta('!r', { roomVersion: 'keyroom.1', createEventId: '$create', localMembership: 'join' })
        expect(await store.getRoomMeta('!r')).toEqual({ roomVersion: 'keyroom.1', createEventId: '$create', localMembership: 'join' })
        await expect(store.putRoomMeta('!r', { roomVersion: '1', createEventId: '$c', localMembership: 'lurk' as 'join' })).rejects.toEqual(CODE('ERR_INVALID_STORE_WRITE'))
      })

      it('membership-verification results: by event write and by putVerifications, per room', async () => {
        const { store } = await open()
        await store.writeEvent(makeEvent('!r', '$a', 1, { verifications: new Map([['~alice', Uint8Array.of(1)], ['~bob', Uint8Array.of(0, 7)]]) }))
        await store.putVerifications('!r', new Map([['~bob', Uint8Array.of(1)]]))
        await store.putVerifications('!r2', new Map([['~carol', Uint8Array.of(2)]]))
        expect(await store.getVerifications('!r')).toEqual(new Map([['~alice', Uint8Array.of(1)], ['~bob', Uint8Array.of(1)]]))
        expect(await store.getVerifications('!r2')).toEqual(new Map([['~carol', Uint8Array.of(2)]]))
        expect(await store.getVerifications('!none')).toEqual(new Map())
      })
    })

    describe('state', () => {
      it('state after each event: deltas on a base, message events share their parent state', async () => {
        const { store } = await open()
        await store.writeEvent(makeEvent('!r', '$create', 0, { state: state(null, [['create', '$create']]), currentState: { base: '$create' } }))
        await store.writeEvent(makeEvent('!r', '$join', 1, { state: state('$create', [['member\u0000~a', '$join']]), currentState: { base: '$join' } }))
        await store.writeEvent(makeEvent('!r', '$msg', 2, { state: { base: '$join' }, currentState: { base: '$msg' } }))
        expect(await store.getStateAt('$create')).toEqual(new Map([['create', '$create']]))
        expect(await store.getStateAt('$msg')).toEqual(new Map([['create', '$create'], ['member\u0000~a', '$join']]))
        expect((await store.getEvent('$msg'))?.stateId).toBe((await store.getEvent('$join'))?.stateId)
        expect((await store.getEvent('$msg'))?.stateId).not.toBe((await store.getEvent('$create'))?.stateId)
        expect(await store.getCurrentState('!r')).toEqual(await store.getStateAt('$msg'))
        expect(await store.getStateAt('$nope')).toBeUndefined()
        expect(await store.getCurrentState('!nope')).toBeUndefined()
      })

      it('removes keys given null, and equal states have equal state IDs whatever the path', async () => {
        const { store } = await open()
        await store.writeEvent(makeEvent('!r', '$1', 1, { state: state(null, [['a', '$1']]) }))
        await store.writeEvent(makeEvent('!r', '$2', 2, { state: state('$1', [['b', '$2']]) }))
        await store.writeEvent(makeEvent('!r', '$3', 3, { state: state('$2', [['b', null]]) }))
        await store.writeEvent(makeEvent('!r', '$4', 3, { state: state(null, [['a', '$1']]) }))
        expect(await store.getStateAt('$3')).toEqual(new Map([['a', '$1']]))
        expect((await store.getEvent('$3'))?.stateId).toBe((await store.getEvent('$1'))?.stateId)
        expect((await store.getEvent('$4'))?.stateId).toBe((await store.getEvent('$1'))?.stateId)
        await store.writeEvent(makeEvent('!r', '$5', 4, { state: state('$3', [['a', null]]) }))
        expect(await store.getStateAt('$5')).toEqual(new Map())
      })

      it('reads only the asked keys with { keys }', async () => {
        const { store } = await open()
        const changes: Array<[string, string]> = Array.from({ length: 300 }, (_, i) => [`member\u0000~u${i}`, `$j${i}`])
        await store.writeEvent(makeEvent('!r', '$big', 1, { state: state(null, changes), currentState: { base: '$big' } }))
        const keys = ['member\u0000~u7', 'member\u0000~u299', 'member\u0000~nobody']
        const expected = new Map([['member\u0000~u7', '$j7'], ['member\u0000~u299', '$j299']])
        expect(await store.getStateAt('$big', { keys })).toEqual(expected)
        expect(await store.getCurrentState('!r', { keys })).toEqual(expected)
      })

      it('current state: based on another event, left unchanged when omitted', async () => {
        const { store } = await open()
        await store.writeEvent(makeEvent('!r', '$1', 1, { state: state(null, [['a', '$1']]), currentState: { base: '$1' } }))
        await store.writeEvent(makeEvent('!r', '$2', 2, { decision: { kind: 'soft-failed', rule: 'r' }, state: state('$1', [['b', '$2']]) }))
        expect(await store.getCurrentState('!r')).toEqual(new Map([['a', '$1']]))
        // A merge: the engine resolved the heads and hands the result as a delta on one of them.
        await store.writeEvent(makeEvent('!r', '$3', 3, { state: state('$1', [['c', '$3']]), currentState: state('$3', [['b', '$2']]) }))
        expect(await store.getCurrentState('!r')).toEqual(new Map([['a', '$1'], ['b', '$2'], ['c', '$3']]))
      })

      it('refuses a state base that is not stored or has no state, without failing the rest of the group', async () => {
        const { store } = await open()
        await store.writeEvent(makeEvent('!r', '$nostate', 1))
        const results = await Promise.allSettled([
          store.writeEvent(makeEvent('!r', '$a', 2, { state: state('$missing') })),
          store.writeEvent(makeEvent('!r', '$b', 2, { state: state('$nostate') })),
          store.writeEvent(makeEvent('!r', '$c', 2, { state: state(null, [['k', '$c']]) })),
          store.writeEvent(makeEvent('!r', '$d', 3, { state: state('$c', [['k2', '$d']]) })),
          store.writeEvent(makeEvent('!r', '$e', 3, { currentState: { base: '$e' } }))
        ])
        expect(results.map(r => r.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'fulfilled', 'rejected'])
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toEqual(CODE('ERR_INVALID_STORE_WRITE'))
        expect(await store.hasEvent('$a')).toBe(false)
        expect(await store.hasEvent('$b')).toBe(false)
        expect(await store.hasEvent('$e')).toBe(false)
        expect(await store.getStateAt('$d')).toEqual(new Map([['k', '$c'], ['k2', '$d']]))
      })

      it('10,000 members: a state change writes a handful of nodes; state at any event reads back', async () => {
        const h = await open()
        const members: Array<[string, string]> = Array.from({ length: 10_000 }, (_, i) => [`m.room.member\u0000~user${i}`, `$join${i}`])
        await h.store.writeEvent(makeEvent('!big', '$members', 1, { state: state(null, members), currentState: { base: '$members' } }))
        // 200 more events, a state change every 4th, written concurrently (one group commit).
        const writes: Array<Promise<unknown>> = []
        let base = '$members'
        for (let i = 0; i < 200; i++) {
          const id = `$e${i}`
          const changes: Array<[string, string]> = i % 4 === 0 ? [[`m.room.member\u0000~user${i * 37}`, id]] : []
          writes.push(h.store.writeEvent(makeEvent('!big', id, 2 + i, { heads: [id], state: state(base, changes), currentState: { base: id } })))
          base = id
        }
        await Promise.all(writes)
        let nodes = 0
        let store = await h.tamper(async kv => { nodes = await keysWithPrefix(kv, Table.StateNode) })
        await store.writeEvent(makeEvent('!big', '$leave', 500, { state: state('$e199', [['m.room.member\u0000~user5', '$leave']]) }))
        store = await h.tamper(async kv => {
          const added = await keysWithPrefix(kv, Table.StateNode) - nodes
          expect(added).toBeGreaterThan(0)
          expect(added).toBeLessThanOrEqual(4)
        })
        const at100 = await store.getStateAt('$e100')
        expect(at100?.size).toBe(10_000)
        expect(at100?.get('m.room.member\u0000~user3700')).toBe('$e100')
        expect(at100?.get('m.room.member\u0000~user3737')).toBe('$join3737')
        const atLeave = await store.getStateAt('$leave')
        expect(atLeave?.get('m.room.member\u0000~user5')).toBe('$leave')
        expect(atLeave?.get('m.room.member\u0000~user7252')).toBe('$e196')
        expect((await store.getCurrentState('!big'))?.get('m.room.member\u0000~user5')).toBe('$join5')
      })
    })

    describe('room order', () => {
      async function seed (store: RoomStore): Promise<void> {
        // Deliberately written out of order; the index orders by (depth, event ID bytes).
        const events: Array<[string, number]> = [['$c', 2], ['$a', 1], ['$\u{1F600}', 2], ['$b', 2], ['$\uFF61', 2], ['$z', 0], ['$x', 10], ['$y', 300]]
        await Promise.all(events.map(([id, depth]) => store.writeEvent(makeEvent('!r', id, depth))))
        // A room whose ID extends this one's must not leak into it.
        await store.writeEvent(makeEvent('!rr', '$other', 1))
      }
      const ORDER = ['$z', '$a', '$b', '$c', '$\uFF61', '$\u{1F600}', '$x', '$y']

      it('lists forward and backward by (depth, event ID bytes)', async () => {
        const { store } = await open()
        await seed(store)
        const fwd = await store.roomEvents('!r', { limit: 100, direction: 'forward' })
        expect(fwd.map(e => e.eventId)).toEqual(ORDER)
        expect(fwd[0]).toEqual({ eventId: '$z', depth: 0, decision: 'accepted' })
        const back = await store.roomEvents('!r', { limit: 100, direction: 'backward' })
        expect(back.map(e => e.eventId)).toEqual([...ORDER].reverse())
        expect(await store.roomEvents('!nothing', { limit: 5, direction: 'forward' })).toEqual([])
      })

      it('pages with exclusive before/after bounds and a limit', async () => {
        const { store } = await open()
        await seed(store)
        const page = async (q: Parameters<RoomStore['roomEvents']>[1]): Promise<string[]> => (await store.roomEvents('!r', q)).map(e => e.eventId)
        expect(await page({ limit: 3, direction: 'forward' })).toEqual(['$z', '$a', '$b'])
        expect(await page({ limit: 3, direction: 'forward', after: { depth: 2, eventId: '$b' } })).toEqual(['$c', '$\uFF61', '$\u{1F600}'])
        expect(await page({ limit: 3, direction: 'backward', before: { depth: 2, eventId: '$c' } })).toEqual(['$b', '$a', '$z'])
        expect(await page({ limit: 10, direction: 'forward', after: { depth: 1, eventId: '$a' }, before: { depth: 10, eventId: '$x' } })).toEqual(['$b', '$c', '$\uFF61', '$\u{1F600}'])
        expect(await page({ limit: 10, direction: 'backward', after: { depth: 1, eventId: '$a' }, before: { depth: 10, eventId: '$x' } })).toEqual(['$\u{1F600}', '$\uFF61', '$c', '$b'])
        // Positions need not be stored events.
        expect(await page({ limit: 2, direction: 'forward', after: { depth: 2, eventId: '$bb' } })).toEqual(['$c', '$\uFF61'])
        // Paging through everything one at a time visits each event once, in order.
        const seen: string[] = []
        let after: { depth: number, eventId: string } | undefined
        for (;;) {
          const [next] = await store.roomEvents('!r', { limit: 1, direction: 'forward', ...(after === undefined ? {} : { after }) })
          if (next === undefined) break
          seen.push(next.eventId)
          after = next
        }
        expect(seen).toEqual(ORDER)
        await expect(store.roomEvents('!r', { limit: 0, direction: 'forward' })).rejects.toEqual(CODE('ERR_INVALID_STORE_WRITE'))
      })
    })

    describe('node metadata', () => {
      it('typed values: string, bytes, JSON; delete', async () => {
        const { store } = await open()
        const name = metaKey.string('display-name')
        const blob = metaKey.bytes('blob')
        const cursor = metaKey.json('cursor', (v): v is { seq: number } => typeof v === 'object' && v !== null && typeof (v as { seq?: unknown }).seq === 'number')
        expect(await store.getMeta(name)).toBeUndefined()
        await store.putMeta(name, 'Alice ✓')
        await store.putMeta(blob, Uint8Array.of(0, 255))
        await store.putMeta(cursor, { seq: 42 })
        expect(await store.getMeta(name)).toBe('Alice ✓')
        expect(await store.getMeta(blob)).toEqual(Uint8Array.of(0, 255))
        expect(await store.getMeta(cursor)).toEqual({ seq: 42 })
        await store.deleteMeta(name)
        expect(await store.getMeta(name)).toBeUndefined()
      })

      it('a value that fails its key\'s check reads as ERR_CORRUPT_STORE', async () => {
        const { store } = await open()
        await store.putMeta(metaKey.json('n', (_v): _v is unknown => true), 'not a number')
        const strict = metaKey.json('n', (v): v is number => typeof v === 'number')
        await expect(store.getMeta(strict)).rejects.toEqual(CODE('ERR_CORRUPT_STORE'))
      })
    })

    describe('group commit', () => {
      it('coalesces concurrent writes; all resolve and are applied in call order', async () => {
        const { store } = await open()
        const ids = Array.from({ length: 600 }, (_, i) => `$e${String(i).padStart(4, '0')}`)
        const results = await Promise.all(ids.map((id, i) => store.writeEvent(makeEvent('!r', id, i, { heads: [id] }))))
        expect(results.every(r => r.written)).toBe(true)
        expect(await store.getHeads('!r')).toEqual([ids.at(-1)])
        expect((await store.roomEvents('!r', { limit: 1000, direction: 'forward' })).map(e => e.eventId)).toEqual(ids)
      })

      it('a later write in the same batch may build on an earlier one\'s state', async () => {
        const { store } = await open()
        const writes = [store.writeEvent(makeEvent('!r', '$1', 1, { state: state(null, [['a', '$1']]) }))]
        for (let i = 2; i <= 50; i++) writes.push(store.writeEvent(makeEvent('!r', `$${i}`, i, { state: state(`$${i - 1}`, [[`k${i}`, `$${i}`]]) })))
        await Promise.all(writes)
        const s = await store.getStateAt('$50')
        expect(s?.size).toBe(50)
        expect(s?.get('k37')).toBe('$37')
      })

      it('an abort while queued drops that write; an already aborted signal is refused at once', async () => {
        const { store } = await open()
        const ac = new AbortController()
        const first = store.writeEvent(makeEvent('!r', '$1', 1))
        const second = store.writeEvent(makeEvent('!r', '$2', 2), { signal: ac.signal })
        ac.abort()
        const [a, b] = await Promise.allSettled([first, second])
        expect(a.status).toBe('fulfilled')
        expect(b.status === 'rejected' ? String(b.reason) : 'fulfilled').toMatch(/abort/i)
        expect(await store.hasEvent('$2')).toBe(false)
        await expect(store.writeEvent(makeEvent('!r', '$3', 3), { signal: AbortSignal.abort() })).rejects.toThrow(/abort/i)
        await expect(store.getEvent('$1', { signal: AbortSignal.abort() })).rejects.toThrow(/abort/i)
        expect(await store.hasEvent('$3')).toBe(false)
      })
    })

    describe('lifecycle', () => {
      it('close() waits for queued writes; everything is there after reopening; a closed store refuses calls', async () => {
        const h = await open()
        const writes = Array.from({ length: 100 }, (_, i) => h.store.writeEvent(makeEvent('!r', `$${i}`, i, { state: state(null, [['k', `$${i}`]]) })))
        const closing = h.store.close()
        await Promise.all(writes)
        await closing
        await expect(h.store.getEvent('$1')).rejects.toEqual(CODE('ERR_STORE_CLOSED'))
        await expect(h.store.writeEvent(makeEvent('!r', '$late', 1))).rejects.toEqual(CODE('ERR_STORE_CLOSED'))
        await h.store.close()
        const store = await h.reopen()
        expect(await store.hasEvent('$99')).toBe(true)
        expect(await store.getStateAt('$42')).toEqual(new Map([['k', '$42']]))
      })

      it('a second store on the same open directory is refused with ERR_STORE_LOCKED', async () => {
        const h = await open()
        await h.store.writeEvent(makeEvent('!r', '$1', 1))
        await expect(h.openConcurrent()).rejects.toEqual(CODE('ERR_STORE_LOCKED'))
        // The refused open did not disturb the open store.
        expect(await h.store.hasEvent('$1')).toBe(true)
        await h.store.writeEvent(makeEvent('!r', '$2', 2))
        expect(await (await h.reopen()).hasEvent('$2')).toBe(true)
      })
    })

    describe('corrupt data', () => {
      async function seeded (): Promise<StoreHandle> {
        const h = await open()
        await h.store.writeEvent(makeEvent('!r', '$1', 1, { state: state(null, [['a', '$1']]), currentState: { base: '$1' }, roomMeta: { roomVersion: '12', createEventId: '$1' } }))
        return h
      }

      it('a flipped bit in an event record is ERR_CORRUPT_STORE', async () => {
        const h = await seeded()
        const store = await h.tamper(async kv => {
          const v = (await kv.get(eventKey('$1')))!.slice()
          v[v.length - 10]! ^= 0x01
          await kv.write([{ type: 'put', key: eventKey('$1'), value: v }], { sync: false })
        })
        await expect(store.getEvent('$1')).rejects.toEqual(CODE('ERR_CORRUPT_STORE'))
        await expect(store.getStateAt('$1')).rejects.toEqual(CODE('ERR_CORRUPT_STORE'))
      })

      it('truncated or garbage records of every table are ERR_CORRUPT_STORE', async () => {
        const h = await seeded()
        let nodeKey: Uint8Array | undefined
        const store = await h.tamper(async kv => {
          for await (const k of kv.keys({ gte: Uint8Array.of(Table.StateNode), lt: Uint8Array.of(Table.StateNode + 1) })) nodeKey = k
          await kv.write([
            { type: 'put', key: eventKey('$short'), value: Uint8Array.of(1, 2) },
            { type: 'put', key: headsKey('!r'), value: Uint8Array.of(5, 1) },
            { type: 'put', key: roomMetaKey('!r'), value: utf8('{"roomVersion":12}') },
            { type: 'put', key: orderKey('!r', 2, '$bad'), value: Uint8Array.of(9) },
            { type: 'put', key: nodeKey!, value: Uint8Array.of(1, 1, 1, 0x61, 2, 0x24, 0x62) }
          ], { sync: false })
        })
        expect(nodeKey).toBeDefined()
        await expect(store.getEvent('$short')).rejects.toEqual(CODE('ERR_CORRUPT_STORE'))
        await expect(store.getHeads('!r')).rejects.toEqual(CODE('ERR_CORRUPT_STORE'))
        await expect(store.getRoomMeta('!r')).rejects.toEqual(CODE('ERR_CORRUPT_STORE'))
        await expect(store.roomEvents('!r', { limit: 10, direction: 'forward' })).rejects.toEqual(CODE('ERR_CORRUPT_STORE'))
        await expect(store.getStateAt('$1')).rejects.toEqual(CODE('ERR_CORRUPT_STORE'))
        await expect(store.getCurrentState('!r')).rejects.toEqual(CODE('ERR_CORRUPT_STORE'))
      })

      it('a missing state node is ERR_CORRUPT_STORE, and so is a store of another format', async () => {
        const h = await seeded()
        const store = await h.tamper(async kv => {
          const keys = await collect(kv.keys({ gte: Uint8Array.of(Table.StateNode), lt: Uint8Array.of(Table.StateNode + 1) }))
          await kv.write(keys.map(key => ({ type: 'del' as const, key })), { sync: false })
        })
        await expect(store.getStateAt('$1')).rejects.toEqual(CODE('ERR_CORRUPT_STORE'))
        await expect(h.tamper(async kv => {
          await kv.write([{ type: 'put', key: FORMAT_KEY, value: Uint8Array.of(99) }], { sync: false })
        })).rejects.toEqual(CODE('ERR_CORRUPT_STORE'))
      })
    })

    describe('libp2p datastore', () => {
      const k = (s: string): Key => new Key(s)
      const bytes = (s: string): Uint8Array => utf8(s)

      it('put / get / has / delete; a missing key throws NotFoundError', async () => {
        const { store } = await open()
        const ds = store.datastore
        await ds.put(k('/z/one'), bytes('one'))
        expect(await ds.get(k('/z/one'))).toEqual(bytes('one'))
        expect(await ds.has(k('/z/one'))).toBe(true)
        await ds.delete(k('/z/one'))
        expect(await ds.has(k('/z/one'))).toBe(false)
        await expect(ds.get(k('/does/not/exist'))).rejects.toMatchObject({ name: 'NotFoundError' })
        await expect(collect(ds.getMany([k('/does/not/exist')]))).rejects.toMatchObject({ name: 'NotFoundError' })
      })

      it('parallel puts, putMany / getMany / deleteMany streaming in order', async () => {
        const { store } = await open()
        const ds = store.datastore
        const data = Array.from({ length: 100 }, (_, i) => ({ key: k(`/z/key${i}`), value: bytes(`data${i}`) }))
        await Promise.all(data.map(async d => { await ds.put(d.key, d.value) }))
        expect(await collect(ds.getMany(data.map(d => d.key)))).toEqual(data)
        const more = Array.from({ length: 50 }, (_, i) => ({ key: k(`/a/key${i}`), value: bytes(`x${i}`) }))
        expect((await collect(ds.putMany(more))).map(String)).toEqual(more.map(d => d.key.toString()))
        expect((await collect(ds.deleteMany(more.map(d => d.key)))).map(String)).toEqual(more.map(d => d.key.toString()))
        expect(await Promise.all(more.map(async d => await ds.has(d.key)))).toEqual(more.map(() => false))
      })

      it('batch commits puts and deletes together', async () => {
        const { store } = await open()
        const ds = store.datastore
        await ds.put(k('/z/old'), bytes('old'))
        const b = ds.batch()
        b.put(k('/a/one'), bytes('1'))
        b.put(k('/q/two'), bytes('2'))
        b.put(k('/q/three'), bytes('3'))
        b.delete(k('/z/old'))
        await b.commit()
        expect(await Promise.all(['/a/one', '/q/two', '/q/three', '/z/old'].map(async s => await ds.has(k(s))))).toEqual([true, true, true, false])
        const many = ds.batch()
        for (let i = 0; i < 400; i++) { many.put(k(`/a/hello${i}`), bytes('a')); many.put(k(`/q/hello${i}`), bytes('q')) }
        await many.commit()
        expect((await collect(ds.query({ prefix: '/q' }))).length).toBe(402)
      })

      it('query and queryKeys: prefix, filters, orders, limit, offset', async () => {
        const { store } = await open()
        const ds = store.datastore
        const hello = { key: k('/q/1hello'), value: bytes('1') }
        const world = { key: k('/z/2world'), value: bytes('2') }
        const hello2 = { key: k('/z/3hello2'), value: bytes('3') }
        const b = ds.batch()
        for (const p of [hello, world, hello2]) b.put(p.key, p.value)
        await b.commit()
        await store.writeEvent(makeEvent('!r', '$room-data-is-not-in-the-datastore', 1))
        const keysOf = async (q: Parameters<typeof ds.query>[0]): Promise<string[]> => (await collect(ds.query(q))).map(p => p.key.toString())
        expect((await keysOf({})).sort()).toEqual(['/q/1hello', '/z/2world', '/z/3hello2'])
        expect((await keysOf({ prefix: '/z' })).sort()).toEqual(['/z/2world', '/z/3hello2'])
        expect(await keysOf({ prefix: '/z/3' })).toEqual(['/z/3hello2'])
        expect((await keysOf({ filters: [e => !e.key.toString().endsWith('hello')] })).sort()).toEqual(['/z/2world', '/z/3hello2'])
        expect(await keysOf({ orders: [(a, b) => compareBytes(b.value, a.value) < 0 ? -1 : 1] })).toEqual(['/z/3hello2', '/z/2world', '/q/1hello'])
        expect(await keysOf({ limit: 1 })).toHaveLength(1)
        expect(await keysOf({ offset: 1 })).toHaveLength(2)
        expect((await collect(ds.queryKeys({ prefix: '/q' }))).map(String)).toEqual(['/q/1hello'])
        expect((await collect(ds.queryKeys({ prefix: '/z', limit: 1 })))).toHaveLength(1)
        expect((await collect(ds.query({}))).find(p => p.key.toString() === '/z/2world')?.value).toEqual(bytes('2'))
      })

      it('a query tolerates writes while it runs', async () => {
        const { store } = await open()
        const ds = store.datastore
        for (const s of ['/a', '/b', '/c']) await ds.put(k(s), bytes(s))
        let first = true
        for await (const _ of ds.query({})) {
          if (first) { await ds.delete(k('/c')); await ds.put(k('/d'), bytes('d')); first = false }
        }
        expect((await collect(ds.queryKeys({}))).map(String).sort()).toEqual(['/a', '/b', '/d'])
      })

      it('honours abort signals', async () => {
        const { store } = await open()
        const ds = store.datastore
        const signal = AbortSignal.abort()
        await ds.put(k('/z/one'), bytes('x'))
        await expect(Promise.resolve().then(async () => await ds.put(k('/z/one'), bytes('y'), { signal }))).rejects.toThrow(/abort/)
        await expect(Promise.resolve().then(async () => await ds.get(k('/z/one'), { signal }))).rejects.toThrow(/abort/)
        await expect(Promise.resolve().then(async () => { await ds.delete(k('/z/one'), { signal }) })).rejects.toThrow(/abort/)
        await expect(collect(ds.query({}, { signal }))).rejects.toThrow(/abort/)
        await expect(collect(ds.queryKeys({}, { signal }))).rejects.toThrow(/abort/)
        await expect(collect(ds.putMany([{ key: k('/z/two'), value: bytes('2') }], { signal }))).rejects.toThrow(/abort/)
        const b = ds.batch()
        b.put(k('/z/three'), bytes('3'))
        await expect(Promise.resolve().then(async () => { await b.commit({ signal }) })).rejects.toThrow(/abort/)
        expect(await ds.get(k('/z/one'))).toEqual(bytes('x'))
        expect(await ds.has(k('/z/three'))).toBe(false)
      })

      it('persists across reopening, next to the rooms', async () => {
        const h = await open()
        await h.store.datastore.put(k('/peers/abc'), Uint8Array.of(1, 2, 3))
        await h.store.writeEvent(makeEvent('!r', '$1', 1))
        const store = await h.reopen()
        expect(await store.datastore.get(k('/peers/abc'))).toEqual(Uint8Array.of(1, 2, 3))
        expect(await store.hasEvent('$1')).toBe(true)
        expect(await store.listRooms()).toEqual(['!r'])
      })
    })
  })
}

