import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareByDepth, parentsFirst, stateDelta } from '../../node/dag.js'
import type { RoomEvent } from '../../node/index.js'

function ev (eventId: string, depth: number, prev: string[], auth: string[] = []): { eventId: string, event: RoomEvent } {
  return { eventId, event: { type: 'm.room.message', room_id: '!r', sender: '~u', content: {}, origin_server_ts: 0, depth, prev_events: prev, auth_events: auth } }
}

describe('compareByDepth', () => {
  it('orders by depth, then by event ID code points', () => {
    const sorted = [{ depth: 2, eventId: '$b' }, { depth: 1, eventId: '$z' }, { depth: 2, eventId: '$a' }].sort(compareByDepth)
    expect(sorted.map(p => p.eventId)).toEqual(['$z', '$a', '$b'])
  })
})

describe('parentsFirst', () => {
  it('puts every event after its prev and auth events in the set, whatever the input order', () => {
    // Random DAGs: event i may point at any earlier events (by prev or auth); depths are arbitrary
    // (received events may lie), so only the edges may be trusted.
    const dag = fc.array(fc.record({ prevs: fc.array(fc.nat(), { maxLength: 3 }), auths: fc.array(fc.nat(), { maxLength: 2 }), depth: fc.integer({ min: 1, max: 5 }) }), { minLength: 1, maxLength: 30 })
    fc.assert(fc.property(dag, fc.nat(), (spec, seed) => {
      const events = spec.map((s, i) => ev(`$e${i}`, s.depth, i === 0 ? [] : s.prevs.map(p => `$e${p % i}`), i === 0 ? [] : s.auths.map(p => `$e${p % i}`)))
      const shuffled = [...events].sort((x, y) => ((x.eventId.length * 31 + seed) % 7) - ((y.eventId.length * 17 + seed) % 7))
      const order = parentsFirst(shuffled)
      expect(order).toHaveLength(events.length)
      const at = new Map(order.map((e, n) => [e.eventId, n]))
      for (const e of order) {
        for (const parent of [...e.event.prev_events, ...e.event.auth_events]) expect(at.get(parent)!).toBeLessThan(at.get(e.eventId)!)
      }
      expect(parentsFirst(events).map(e => e.eventId)).toEqual(order.map(e => e.eventId))
    }))
  })

  it('ignores parents outside the set', () => {
    expect(parentsFirst([ev('$b', 3, ['$a', '$x']), ev('$a', 2, ['$y'])]).map(e => e.eventId)).toEqual(['$a', '$b'])
  })
})

describe('stateDelta', () => {
  it('sets changed and new keys, removes missing ones', () => {
    const from = new Map([['k1', '$1'], ['k2', '$2'], ['k3', '$3']])
    const to = new Map([['k1', '$1'], ['k2', '$9'], ['k4', '$4']])
    expect(stateDelta(from, to)).toEqual(new Map<string, string | null>([['k2', '$9'], ['k4', '$4'], ['k3', null]]))
    expect(stateDelta(to, to).size).toBe(0)
  })
})
