/**
 * keyroom.1's DAG rules (protocols/core/room/dag-rules.ts): each rule refuses what it names and
 * lets the rest through; the depth rule is exact.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkCreateDagRules, checkDagRules, expectedDepth } from '../../../../protocols/core/index.js'
import type { RoomEvent } from '../../../../protocols/core/index.js'

function event (fields: Partial<RoomEvent> = {}): RoomEvent {
  return { type: 'm.room.message', room_id: '!room', sender: '~u', content: {}, origin_server_ts: 0, depth: 4, prev_events: ['$a', '$b'], auth_events: [], ...fields }
}

const prevs = [{ roomId: '!room', depth: 3 }, { roomId: '!room', depth: 1 }]

describe('expectedDepth', () => {
  it('is one more than the deepest prev event, 1 with none', () => {
    expect(expectedDepth([])).toBe(1)
    expect(expectedDepth([3, 7, 5])).toBe(8)
  })

  it('is never below a prev event\'s depth + 1, and equals one of them + 1', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 20 }), (depths) => {
      const d = expectedDepth(depths)
      return depths.every(p => d >= p + 1) && depths.some(p => d === p + 1)
    }))
  })
})

describe('checkDagRules', () => {
  it('lets an event one deeper than its deepest prev event, all in its room, through', () => {
    expect(checkDagRules(event(), prevs)).toBeUndefined()
    expect(checkDagRules(event({ type: 'm.room.topic', state_key: '' }), prevs)).toBeUndefined()
  })

  it('keyroom.dag.1: a second create event', () => {
    expect(checkDagRules(event({ type: 'm.room.create', state_key: '' }), prevs)).toMatch(/^keyroom\.dag\.1:/)
  })

  it('keyroom.dag.2: an event without prev events', () => {
    expect(checkDagRules(event({ prev_events: [] }), [])).toMatch(/^keyroom\.dag\.2:/)
  })

  it('keyroom.dag.3: a prev event of another room', () => {
    expect(checkDagRules(event(), [{ roomId: '!other', depth: 3 }, { roomId: '!room', depth: 1 }])).toMatch(/^keyroom\.dag\.3:/)
  })

  it('keyroom.dag.4: a depth other than one more than the deepest prev event, above or below', () => {
    expect(checkDagRules(event({ depth: 5 }), prevs)).toBe('keyroom.dag.4: depth is 5, expected 4 (one more than the deepest prev event)')
    expect(checkDagRules(event({ depth: 2 }), prevs)).toMatch(/^keyroom\.dag\.4: depth is 2, expected 4/)
  })
})

describe('checkCreateDagRules', () => {
  it('a create event has depth 1 and no prev events', () => {
    const create = event({ type: 'm.room.create', state_key: '', depth: 1, prev_events: [] })
    expect(checkCreateDagRules(create)).toBeUndefined()
    expect(checkCreateDagRules({ ...create, depth: 2 })).toBe('keyroom.dag.4: the create event\'s depth is 2, expected 1')
    expect(checkCreateDagRules({ ...create, prev_events: ['$x'] })).toMatch(/^keyroom\.dag\.2:/)
  })
})
