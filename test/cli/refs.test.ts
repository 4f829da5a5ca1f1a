import { describe, expect, it } from 'vitest'
import { checkRoomRef, checkUserRef } from '../../cli/refs.js'
import { ids } from './control/stub-node.js'

describe('room and user references', () => {
  it('takes room IDs, room links and names as they are', () => {
    const link = `keyroom:r/${ids.room(1)}?via=/ip4/127.0.0.1/tcp/1/p2p/12D3KooWx`
    expect(checkRoomRef(ids.room(1))).toBe(ids.room(1))
    expect(checkRoomRef(link)).toBe(link)
    expect(checkRoomRef('general')).toBe('general')
  })

  it('refuses malformed room references as usage errors, with the reason and the quoting hint', () => {
    for (const [ref, message] of [
      ['!abc', /invalid room ID "!abc"/],
      ['keyroom:r/!abc', /invalid keyroom URI/],
      [`KEYROOM:u/${ids.user(1)}`, /is a user link, not a room link/],
      ['  ', /the room is empty/]
    ] as const) {
      expect(() => checkRoomRef(ref), ref).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringMatching(message) }))
    }
    expect(() => checkRoomRef('!abc')).toThrow(expect.objectContaining({ hint: expect.stringMatching(/quote it/) }))
  })

  it('turns user links into user IDs and refuses anything else', () => {
    expect(checkUserRef(ids.user(2))).toBe(ids.user(2))
    expect(checkUserRef(`keyroom:u/${ids.user(2)}`)).toBe(ids.user(2))
    for (const ref of ['bob', ids.device(2), ids.room(2), `keyroom:r/${ids.room(2)}`, '~short']) {
      expect(() => checkUserRef(ref), ref).toThrow(expect.objectContaining({ exitCode: 2 }))
    }
  })
})
