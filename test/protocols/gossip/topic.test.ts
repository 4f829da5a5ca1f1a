/**
 * Room topics and message IDs.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'
import { roomIdFromTopic, roomMessageIdFn, roomTopic } from '../../../protocols/gossip/index.js'
import { fakePorts, fakeEvent, OTHER_ROOM, ROOM } from './fixtures.js'
import type { Message } from '@libp2p/gossipsub'

const text = (b: Uint8Array): string => new TextDecoder().decode(b)

describe('room topics', () => {
  it('derives the topic from the room ID and back', () => {
    expect(roomTopic(ROOM)).toBe('/keyroom/room/1/!cm9vbS1vbmU')
    expect(roomIdFromTopic(roomTopic(ROOM))).toBe(ROOM)
  })

  it('refuses strings that are not room IDs', () => {
    for (const bad of ['', '!', 'cm9vbS1vbmU', '!a/b', '!a b', '$event', `!${'a'.repeat(255)}`]) {
      expect(() => roomTopic(bad), bad).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY' }))
    }
    expect(roomIdFromTopic('/meshsub/other')).toBeUndefined()
    expect(roomIdFromTopic('/keyroom/room/1/!a/b')).toBeUndefined()
  })
})

describe('room message IDs', () => {
  const msgId = roomMessageIdFn(fakePorts().identifyEvent)
  const msg = (topic: string, data: Uint8Array): Message => ({ type: 'unsigned', topic, data })

  it('is the event ID and a 128-bit digest of the bytes for an event on its own room\'s topic', () => {
    const bytes = fakeEvent('$abc', ROOM)
    const id = text(msgId(msg(roomTopic(ROOM), bytes)))
    expect(id).toBe('$abc.' + bytesToHex(sha256(bytes).subarray(0, 16)))
    // Honest copies of one event are the same bytes: one ID, so gossipsub dedupes them.
    expect(text(msgId(msg(roomTopic(ROOM), fakeEvent('$abc', ROOM))))).toBe(id)
  })

  it('gives a copy of an event with other signatures (same event ID) another message ID', () => {
    const genuine = text(msgId(msg(roomTopic(ROOM), fakeEvent('$abc', ROOM, { signatures: { a: { 'ed25519:x': 'genuine' } } }))))
    const forged = text(msgId(msg(roomTopic(ROOM), fakeEvent('$abc', ROOM, { signatures: { a: { 'ed25519:x': 'forged' } } }))))
    const withUnsigned = text(msgId(msg(roomTopic(ROOM), fakeEvent('$abc', ROOM, { signatures: { a: { 'ed25519:x': 'genuine' } }, unsigned: {} }))))
    for (const id of [genuine, forged, withUnsigned]) expect(id).toMatch(/^\$abc\.[0-9a-f]{32}$/)
    expect(new Set([genuine, forged, withUnsigned]).size).toBe(3)
  })

  it('is a content hash for junk, oversized data, and events on another room\'s topic', () => {
    const junk = text(msgId(msg(roomTopic(ROOM), new TextEncoder().encode('not json'))))
    expect(junk).toMatch(/^#[0-9a-f]{64}$/)
    const moved = text(msgId(msg(roomTopic(OTHER_ROOM), fakeEvent('$abc', ROOM))))
    expect(moved).toMatch(/^#[0-9a-f]{64}$/)
    const big = fakeEvent('$big', ROOM, { pad: 'x'.repeat(70_000) })
    expect(text(msgId(msg(roomTopic(ROOM), big)))).toMatch(/^#[0-9a-f]{64}$/)
    // Different bytes, different IDs.
    expect(moved).not.toBe(junk)
  })

  it('never throws, even when the port does', () => {
    const throwing = roomMessageIdFn(() => { throw new Error('parse error') })
    expect(text(throwing(msg(roomTopic(ROOM), fakeEvent('$x'))))).toMatch(/^#/)
  })
})
