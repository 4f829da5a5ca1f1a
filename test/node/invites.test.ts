/**
 * `inviteFollows`: whether a delivered invite comes after the membership a node holds for itself
 * (the room's order, by depth), which decides what `rooms()` lists and whether a ban refuses it.
 */
import { describe, expect, it } from 'vitest'
import { inviteFollows } from '../../node/invites.js'
import type { IdentifiedEvent } from '../../protocols/core/index.js'

/** A held `m.room.member` event of the local user at `depth` (only the fields the order reads matter). */
function held (eventId: string, membership: string, depth: number): IdentifiedEvent {
  return {
    eventId,
    event: {
      type: 'm.room.member',
      room_id: '!room',
      sender: '~mod',
      state_key: '~me',
      content: { membership },
      origin_server_ts: 1,
      depth,
      prev_events: [],
      auth_events: []
    }
  }
}

describe('inviteFollows', () => {
  it('an invite to a room held without a membership of this user follows it', () => {
    expect(inviteFollows({ eventId: '$i', depth: 1 }, undefined)).toBe(true)
    expect(inviteFollows({ eventId: '$i' }, undefined)).toBe(true)
  })

  it('an invite deeper than the held kick, leave or ban follows it (an unban may lie between, unseen)', () => {
    expect(inviteFollows({ eventId: '$i', depth: 9 }, held('$k', 'leave', 8))).toBe(true)
    expect(inviteFollows({ eventId: '$i', depth: 12 }, held('$b', 'ban', 8))).toBe(true)
  })

  it('an invite no deeper than the held membership is older or concurrent: it does not follow', () => {
    expect(inviteFollows({ eventId: '$i', depth: 7 }, held('$k', 'leave', 8))).toBe(false)
    expect(inviteFollows({ eventId: '$i', depth: 8 }, held('$b', 'ban', 8))).toBe(false)
  })

  it('the held invite itself follows (a redelivery)', () => {
    expect(inviteFollows({ eventId: '$i', depth: 3 }, held('$i', 'invite', 3))).toBe(true)
  })

  it('an invite remembered without its depth does not supersede a held membership', () => {
    expect(inviteFollows({ eventId: '$i' }, held('$k', 'leave', 8))).toBe(false)
  })
})
