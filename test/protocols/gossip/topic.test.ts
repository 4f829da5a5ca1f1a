/**
 * Room topics and message IDs.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'
import { roomFastMessageIdFn, roomIdFromTopic, roomMessageIdFn, roomTopic } from '../../../protocols/gossip/index.js'
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

describe('room fast message IDs', () => {
  it('are equal exactly for equal bytes on one topic', () => {
    const fast = roomFastMessageIdFn()
    const a = fast({ topic: roomTopic(ROOM), data: fakeEvent('$abc', ROOM) })
    expect(a).toMatch(/^\d+\.[0-9a-f]{32}$/)
    // Another copy (another array, same bytes): the same ID, so gossipsub drops it before parsing.
    expect(fast({ topic: roomTopic(ROOM), data: fakeEvent('$abc', ROOM) })).toBe(a)
    // Other bytes with the same event ID (a forged signature): another ID.
    expect(fast({ topic: roomTopic(ROOM), data: fakeEvent('$abc', ROOM, { signatures: { a: { 'ed25519:x': 'forged' } } }) })).not.toBe(a)
    // The same bytes replayed on another room's topic: another ID (that copy is rejected there).
    const replayed = fast({ topic: roomTopic(OTHER_ROOM), data: fakeEvent('$abc', ROOM) })
    expect(replayed).not.toBe(a)
    expect(fast({ topic: roomTopic(OTHER_ROOM), data: fakeEvent('$abc', ROOM) })).toBe(replayed)
  })

  it('copes with a message without data, and numbers topics per router (no state shared between nodes)', () => {
    const one = roomFastMessageIdFn()
    const two = roomFastMessageIdFn()
    one({ topic: roomTopic(OTHER_ROOM), data: new Uint8Array(1) })
    expect(one({ topic: roomTopic(ROOM) })).toBe('1.' + bytesToHex(sha256(new Uint8Array(0)).subarray(0, 16)))
    expect(two({ topic: roomTopic(ROOM), data: null })).toBe('0.' + bytesToHex(sha256(new Uint8Array(0)).subarray(0, 16)))
  })
})
