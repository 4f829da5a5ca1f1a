/**
 * Sync access of departed members (node/departed-access.ts): the removal event, the lazy ancestor
 * walk, the limited store, and the room engine's `authorize` handing out such grants.
 */
import { defaultLogger } from '@libp2p/logger'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { AncestorWalk, MAX_REMOVAL_CHAIN, departedSyncStore, removalOf } from '../../node/departed-access.js'
import { checkedFromBuilt } from '../../node/ingest-checks.js'
import {
  TypedEventTarget, buildCreateRoom, buildInvite, buildJoin, buildKick, buildMessage, scenarioSeed, scenarioUser
} from '../../node/index.js'
import { deviceKeyFromSeed, peerIdFromDeviceKey } from '../../node/libp2p.js'
import { deviceIdOfPeer } from '../../node/peer-directory.js'
import { RoomEngine } from '../../node/room-engine.js'
import { headContext } from './engine-fixtures.js'
import { RoomView } from '../../node/room-view.js'
import { stateMapKey } from '../../protocols/core/index.js'
import { createMemoryStore } from '../../store/index.js'
import type { StoredPosition } from '../../node/departed-access.js'
import type { RoomEvent } from '../../node/index.js'
import type { SyncAccess, SyncStore } from '../../protocols/sync/index.js'

const ROOM = '!cm9vbQ'
const encoder = new TextEncoder()

function event (depth: number, prev: string[], extra: Partial<RoomEvent> = {}): RoomEvent {
  return { type: 'm.room.message', room_id: ROOM, sender: '~u', content: {}, origin_server_ts: 0, depth, prev_events: prev, auth_events: [], ...extra }
}

/** A fake store of a DAG: event i's prevs are earlier events; depths follow keyroom.dag.4. Counts reads. */
function fakeDag (prevsOf: number[][]): { read: (id: string) => Promise<StoredPosition | undefined>, depth: number[], reads: Map<string, number>, prevs: string[][] } {
  const depth: number[] = []
  const prevs: string[][] = []
  const stored = new Map<string, StoredPosition>()
  prevsOf.forEach((ps, i) => {
    const ids = [...new Set(ps)].map(p => `$e${p}`)
    depth[i] = ps.length === 0 ? 1 : Math.max(...ps.map(p => depth[p]!)) + 1
    prevs[i] = ids
    stored.set(`$e${i}`, { roomId: ROOM, depth: depth[i]!, prevEvents: ids })
  })
  const reads = new Map<string, number>()
  return {
    depth,
    prevs,
    reads,
    read: async (id) => {
      reads.set(id, (reads.get(id) ?? 0) + 1)
      return stored.get(id)
    }
  }
}

function ancestorsOf (prevs: string[][], tip: number): Set<string> {
  const out = new Set<string>([`$e${tip}`])
  const stack = [tip]
  while (stack.length > 0) {
    for (const p of prevs[stack.pop()!]!) {
      if (out.has(p)) continue
      out.add(p)
      stack.push(Number(p.slice(2)))
    }
  }
  return out
}

describe('AncestorWalk', () => {
  it('answers "the tip or an ancestor of it" exactly, whatever the questions and their order', async () => {
    const dagSpec = fc.array(fc.array(fc.nat(), { maxLength: 3 }), { minLength: 1, maxLength: 40 })
    await fc.assert(fc.asyncProperty(dagSpec, fc.nat(), fc.array(fc.nat(), { maxLength: 60 }), async (spec, tipSeed, questions) => {
      const prevsOf = spec.map((ps, i) => (i === 0 ? [] : ps.map(p => p % i)))
      const dag = fakeDag(prevsOf)
      const tip = tipSeed % prevsOf.length
      const expected = ancestorsOf(dag.prevs, tip)
      const walk = new AncestorWalk({ roomId: ROOM, tips: [{ eventId: `$e${tip}`, depth: dag.depth[tip]! }], read: dag.read })
      // Concurrent questions share one walk.
      const answers = await Promise.all(questions.map(async q => {
        const i = q % prevsOf.length
        return { id: `$e${i}`, got: await walk.includes(`$e${i}`, dag.depth[i]!) }
      }))
      for (const { id, got } of answers) expect(got).toBe(expected.has(id))
      // Each event is read at most twice (once for its depth as a prev, once to expand it).
      for (const n of dag.reads.values()) expect(n).toBeLessThanOrEqual(2)
    }), { numRuns: 200 })
  })

  it('walks only as deep as the questions need', async () => {
    // A chain of 1 000 events; the tip is the last.
    const dag = fakeDag(Array.from({ length: 1000 }, (_, i) => (i === 0 ? [] : [i - 1])))
    const walk = new AncestorWalk({ roomId: ROOM, tips: [{ eventId: '$e999', depth: 1000 }], read: dag.read })
    expect(await walk.includes('$e995', 996)).toBe(true)
    expect([...dag.reads.values()].reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(10)
    // Deeper than the tip, or as deep and not the tip: no read at all.
    dag.reads.clear()
    expect(await walk.includes('$other', 1000)).toBe(false)
    expect(await walk.includes('$other', 1200)).toBe(false)
    expect(dag.reads.size).toBe(0)
    expect(await walk.includes('$e0', 1)).toBe(true)
    expect(walk.known).toBe(1000)
  })

  it('with several tips, answers for any of them; with a bound on expansions, says when a "no" may be wrong', async () => {
    // A chain $e0 … $e99, and $e100 forking off $e50; $e101 forks off $e10 (a descendant of no tip).
    const dag = fakeDag([...Array.from({ length: 100 }, (_, i) => (i === 0 ? [] : [i - 1])), [50], [10]])
    const tips = [{ eventId: '$e99', depth: 100 }, { eventId: '$e100', depth: 52 }]
    const bounded = new AncestorWalk({ roomId: ROOM, tips, read: dag.read, maxExpansions: 10 })
    expect(await bounded.includes('$e95', 96)).toBe(true)
    expect(bounded.incomplete).toBe(false)
    expect(await bounded.includes('$e20', 21)).toBe(false)
    expect(bounded.incomplete).toBe(true)
    const whole = new AncestorWalk({ roomId: ROOM, tips, read: dag.read })
    expect(await whole.includes('$e20', 21)).toBe(true)
    expect(await whole.includes('$e101', 12)).toBe(false)
    expect(whole.incomplete).toBe(false)
  })
})

describe('departedSyncStore', () => {
  it('serves the tip and its ancestors, with the tip as the only head, and nothing of another room', async () => {
    // $e0 ← $e1 ← $e2 (tip);  $e1 ← $e3 (a fork the departed member must not read)
    const dag = fakeDag([[], [0], [1], [1]])
    const base: SyncStore = {
      getHeads: () => ['$e2', '$e3'],
      getEvent: (_roomId, id) => encoder.encode(id),
      getPrevEvents: (_roomId, id) => dag.prevs[Number(id.slice(2))],
      getStateIdsAt: () => ({ stateIds: ['$e0'], authChainIds: [] })
    }
    const walk = new AncestorWalk({ roomId: ROOM, tips: [{ eventId: '$e2', depth: dag.depth[2]! }], read: dag.read })
    const store = departedSyncStore(base, walk, dag.read)
    expect(await store.getHeads(ROOM)).toEqual(['$e2'])
    expect(await store.getHeads('!other')).toBeUndefined()
    for (const id of ['$e0', '$e1', '$e2']) expect(await store.getEvent(ROOM, id)).toBeDefined()
    expect(await store.getEvent(ROOM, '$e3')).toBeUndefined()
    expect(await store.getEvent('!other', '$e1')).toBeUndefined()
    expect(await store.getPrevEvents(ROOM, '$e3')).toBeUndefined()
    expect(await store.getPrevEvents(ROOM, '$e2')).toEqual(['$e1'])
    expect(await store.getStateIdsAt(ROOM, '$e3')).toBeUndefined()
    expect(await store.getStateIdsAt(ROOM, '$e1')).toEqual({ stateIds: ['$e0'], authChainIds: [] })
  })
})

/** A room view whose current state holds `target`'s member event `current`; `chain` are older member events. */
function viewWith (chain: Array<{ id: string, membership: string, previous?: string }>): RoomView {
  const view = new RoomView({ roomId: ROOM, roomVersion: 'keyroom.1', createEventId: '$create', heads: [], current: new Map() })
  for (const [i, m] of chain.entries()) {
    view.remember(m.id, event(i + 2, [], {
      type: 'm.room.member', state_key: '~target', sender: '~mod', content: { membership: m.membership },
      auth_events: m.previous === undefined ? ['$create'] : ['$create', m.previous]
    }), 'accepted')
  }
  const last = chain[chain.length - 1]
  if (last !== undefined) view.setCurrent(new Map([[stateMapKey('m.room.member', '~target'), last.id]]))
  return view
}

describe('removalOf', () => {
  it('is the kick of a joined member, the ban of an invited one, the leave of a member who left', () => {
    expect(removalOf(viewWith([{ id: '$join', membership: 'join' }, { id: '$kick', membership: 'leave', previous: '$join' }]), '~target')?.eventId).toBe('$kick')
    expect(removalOf(viewWith([{ id: '$invite', membership: 'invite' }, { id: '$ban', membership: 'ban', previous: '$invite' }]), '~target')?.eventId).toBe('$ban')
  })

  it('is the first removal after the last membership: a ban over a kick keeps the kick (Matrix visibility)', () => {
    const view = viewWith([
      { id: '$join', membership: 'join' }, { id: '$kick', membership: 'leave', previous: '$join' }, { id: '$ban', membership: 'ban', previous: '$kick' }
    ])
    expect(removalOf(view, '~target')?.eventId).toBe('$kick')
  })

  it('is nothing for a member still in the room, or for a user who never was a member', () => {
    expect(removalOf(viewWith([{ id: '$join', membership: 'join' }]), '~target')).toBeUndefined()
    expect(removalOf(viewWith([{ id: '$ban', membership: 'ban' }]), '~target')).toBeUndefined()
    expect(removalOf(viewWith([{ id: '$ban', membership: 'ban' }, { id: '$unban', membership: 'leave', previous: '$ban' }]), '~target')).toBeUndefined()
    expect(removalOf(viewWith([]), '~nobody')).toBeUndefined()
  })

  it(`gives up after ${MAX_REMOVAL_CHAIN} member events`, () => {
    const chain: Array<{ id: string, membership: string, previous?: string }> = [{ id: '$join', membership: 'join' }]
    for (let i = 0; i <= MAX_REMOVAL_CHAIN; i++) chain.push({ id: `$m${i}`, membership: i % 2 === 0 ? 'leave' : 'ban', previous: chain[chain.length - 1]!.id })
    expect(removalOf(viewWith(chain), '~target')).toBeUndefined()
    expect(removalOf(viewWith(chain.slice(0, MAX_REMOVAL_CHAIN)), '~target')?.eventId).toBe('$m0')
  })
})

describe('RoomEngine.authorize for departed members', () => {
  const alice = scenarioUser('departed/alice')
  const bob = scenarioUser('departed/bob')
  const carol = scenarioUser('departed/carol')
  const T0 = 1_700_000_000_000

  it('grants a kicked member the room up to its kick; refuses a stranger and a revoked device', async () => {
    const store = await createMemoryStore()
    let asUser = bob.userId
    const revoked = new Set<string>()
    const engine = new RoomEngine({
      store, device: alice.device, events: new TypedEventTarget(), log: defaultLogger().forComponent('test:departed'), now: () => T0 + 1e6,
      userOfPeer: async () => asUser, isRevokedDevice: (id) => revoked.has(id)
    })
    const peer = peerIdFromDeviceKey((await deviceKeyFromSeed(new Uint8Array(32).fill(9))).publicKey.raw)
    const created = buildCreateRoom({ device: alice.device, rrkSeed: scenarioSeed('departed/room'), originServerTs: T0, name: 'departed' })
    await engine.createLocalRoom(created.events)
    const roomId = created.roomId
    const ctx = headContext(engine, store, roomId)
    const add = async (built: Parameters<typeof checkedFromBuilt>[0]): Promise<string> => {
      expect(await engine.receive(checkedFromBuilt(built), peer)).toMatchObject({ status: 'stored', decision: { kind: 'accepted' } })
      return built.eventId
    }
    await add(buildInvite(alice.device, await ctx(), { originServerTs: T0 + 10, target: bob.userId }))
    await add(buildJoin(bob.device, await ctx(), { originServerTs: T0 + 20, via: { kind: 'invite' } }))
    const before = await add(buildMessage(bob.device, await ctx(), { originServerTs: T0 + 30, body: 'before' }))
    expect(await engine.authorize(peer, roomId)).toBe(true)
    const kick = await add(buildKick(alice.device, await ctx(), { originServerTs: T0 + 40, target: bob.userId }))
    const after = await add(buildMessage(alice.device, await ctx(), { originServerTs: T0 + 50, body: 'after' }))

    const grantOf = (access: SyncAccess): SyncStore => {
      if (typeof access === 'boolean') throw new Error(`expected a limited grant, got ${String(access)}`)
      return access.store
    }
    const grant = grantOf(await engine.authorize(peer, roomId))
    expect(await grant.getHeads(roomId)).toEqual([kick])
    expect(await grant.getEvent(roomId, before)).toBeDefined()
    expect(await grant.getEvent(roomId, kick)).toBeDefined()
    expect(await grant.getEvent(roomId, after)).toBeUndefined()
    expect(await grant.getStateIdsAt(roomId, after)).toBeUndefined()
    expect(await grant.getPrevEvents(roomId, kick)).toEqual([before])

    // A device of the departed user that the node knows as revoked: nothing.
    revoked.add(deviceIdOfPeer(peer)!)
    expect(await engine.authorize(peer, roomId)).toBe(false)
    revoked.clear()
    // A user who never was a member: nothing.
    asUser = carol.userId
    expect(await engine.authorize(peer, roomId)).toBe(false)
    await engine.stop()
  })
})
