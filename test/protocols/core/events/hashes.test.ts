import { describe, expect, it } from 'vitest'
import { sha256 } from '../../../../protocols/core/crypto/index.js'
import { toBase64, toBase64Url } from '../../../../protocols/core/encoding/base64.js'
import { contentHash, eventIdFor, eventIdFromReferenceHash, redactEvent, referenceHash } from '../../../../protocols/core/events/index.js'
import { canonicalJsonBytes } from '../../../../protocols/core/json/index.js'

/** A real room version 4 create event from jki.re (gomatrixserverlib `headeredevent_test.go`), with its published ID. */
const JKI_CREATE = {
  auth_events: [],
  prev_events: [],
  type: 'm.room.create',
  room_id: '!uXDCzlYgCTHtiWCkEx:jki.re',
  sender: '@erikj:jki.re',
  content: { room_version: '5', predecessor: { room_id: '!gdRMqOrTFdOCYHNwOo:half-shot.uk', event_id: '$LP7ROBc4b+cMc1UE9haIz8q5AK2AIW4eJ90FfKLvyZI' }, creator: '@erikj:jki.re' },
  depth: 1,
  prev_state: [],
  state_key: '',
  origin: 'jki.re',
  origin_server_ts: 1560284621137,
  hashes: { sha256: 'IX6zuNiJpJPNf70BLleL3HSCpjKeq9Uhu7uUpyDjBmc' },
  signatures: { 'jki.re': { 'ed25519:auto': 'O4IyFfF2PPtGp5uaDm8t57dZbdh8vc8Q64LgCwvzYRVItAMI0uisfiAFaxkVT7MRpzh6N2QNN5NMRXZKmgPYDA' } },
  unsigned: { age: 1321650 }
}
const JKI_CREATE_ID = '$RrGxF28UrHLmoASHndYb9Jb_1SFww2ptmtur9INS438'

/** A room version 10 message from synapse's `rust/src/events/utils.rs` test, with its IDs in v10 and v3. */
const SYNAPSE_MESSAGE = {
  auth_events: ['$gbHO7IPUHybc7ULFnT7P0r3iWlZFHGmr6zBfEYCUyKw', '$hy1eZFYcgNxMFNNBgCD5fyOzyWRcBkxfNcrUI5ZpZlE', '$Nt_z68EwFfPqBeHjzEHGsp461Z4EfNEzR-KH5bOYdOY'],
  prev_events: ['$4FbpZrgPQTwoLD9H5y7jcikucCypUOn78mXhQX7WliY'],
  type: 'm.room.message',
  room_id: '!DHmIIVvxFASSFgDGzr:localhost:8008',
  sender: '@tester_b:localhost:8008',
  content: { msgtype: 'm.text', body: 'invited people can see history', 'm.mentions': {} },
  depth: 24,
  origin: 'localhost:8008',
  origin_server_ts: 1731769874137,
  hashes: { sha256: 'FoYV1w3TW/B2mVT0gX2/BZKpCwrrvGXqXFdUhN9LZYU' },
  signatures: { 'localhost:8008': { 'ed25519:a_phSE': 'G8cfk/m97sndxMNrEZ2nMMSXkVeJE05G7if4JiVzAwGfD3TwnF/jfSHt2acWrpNqv/aEhZug3WLofc2id+rVBw' } },
  unsigned: { age_ts: 1731769874137 }
}

describe('contentHash', () => {
  it('matches real events\' hashes.sha256', () => {
    expect(contentHash(JKI_CREATE)).toBe(JKI_CREATE.hashes.sha256)
    expect(contentHash(SYNAPSE_MESSAGE)).toBe(SYNAPSE_MESSAGE.hashes.sha256)
  })

  it('ignores unsigned, signatures and hashes, and covers everything else', () => {
    const base = { type: 'X', content: { a: 1 } }
    const h = contentHash(base)
    expect(contentHash({ ...base, unsigned: { x: 1 }, signatures: { s: {} }, hashes: { sha256: 'zzz' } })).toBe(h)
    expect(contentHash({ ...base, content: { a: 2 } })).not.toBe(h)
    expect(contentHash({ ...base, extra: null })).not.toBe(h)
    expect(h).toBe(toBase64(sha256(new TextEncoder().encode('{"content":{"a":1},"type":"X"}'))))
    expect(h).toMatch(/^[A-Za-z0-9+/]{43}$/)
  })

  it('throws ERR_NOT_CANONICALIZABLE for values canonical JSON cannot write', () => {
    expect(() => contentHash({ type: 'X', content: { f: 1.5 } })).toThrow(expect.objectContaining({ code: 'ERR_NOT_CANONICALIZABLE' }))
    expect(() => contentHash([] as object)).toThrow(expect.objectContaining({ code: 'ERR_NOT_CANONICALIZABLE' }))
  })
})

describe('eventIdFor', () => {
  it('matches a real room version 4 event ID', () => {
    expect(eventIdFor(JKI_CREATE, '4')).toBe(JKI_CREATE_ID)
    expect(eventIdFor(JKI_CREATE, '3')).toBe(JKI_CREATE_ID.replaceAll('_', '/').replaceAll('-', '+'))
  })

  it('uses the standard alphabet in v3 and the URL-safe one from v4 (synapse vector)', () => {
    expect(eventIdFor(SYNAPSE_MESSAGE, '10')).toBe('$zRz9jjiT9wZc3Hl9ij_74aCmTjqV3YMlj9sj3Uqxg6o')
    expect(eventIdFor(SYNAPSE_MESSAGE, '3')).toBe('$zRz9jjiT9wZc3Hl9ij/74aCmTjqV3YMlj9sj3Uqxg6o')
    for (const v of ['4', '5', '6', '7', '8', '9']) expect(eventIdFor(SYNAPSE_MESSAGE, v)).toBe('$zRz9jjiT9wZc3Hl9ij_74aCmTjqV3YMlj9sj3Uqxg6o')
  })

  it('gives the same ID for the event and its redacted copy', () => {
    for (const v of ['3', '4', '10', '11', '12', 'keyroom.1']) {
      expect(eventIdFor(redactEvent(SYNAPSE_MESSAGE, v), v)).toBe(eventIdFor(SYNAPSE_MESSAGE, v))
      expect(eventIdFor(redactEvent(JKI_CREATE, v), v)).toBe(eventIdFor(JKI_CREATE, v))
    }
  })

  it('from v11 the top-level origin no longer counts (MSC2176)', () => {
    const { origin: _o, ...withoutOrigin } = SYNAPSE_MESSAGE
    expect(eventIdFor(withoutOrigin, '10')).not.toBe(eventIdFor(SYNAPSE_MESSAGE, '10'))
    expect(eventIdFor(withoutOrigin, '11')).toBe(eventIdFor(SYNAPSE_MESSAGE, '11'))
    expect(eventIdFor(SYNAPSE_MESSAGE, '11')).toBe(eventIdFor(SYNAPSE_MESSAGE, '12'))
    expect(eventIdFor(SYNAPSE_MESSAGE, '12')).toBe(eventIdFor(SYNAPSE_MESSAGE, 'keyroom.1'))
  })

  it('is $ + SHA-256 of the canonical redacted event without signatures and unsigned', () => {
    for (const v of ['3', '4', '11', 'keyroom.1']) {
      const { signatures: _s, unsigned: _u, ...rest } = redactEvent(SYNAPSE_MESSAGE, v) as Record<string, unknown>
      const hash = sha256(canonicalJsonBytes(rest))
      expect(referenceHash(SYNAPSE_MESSAGE, v)).toEqual(hash)
      expect(eventIdFor(SYNAPSE_MESSAGE, v)).toBe('$' + (v === '3' ? toBase64(hash) : toBase64Url(hash)))
    }
  })

  it('signatures, unsigned and redacted keys do not change the ID; protected keys do', () => {
    const id = eventIdFor(SYNAPSE_MESSAGE, '12')
    expect(eventIdFor({ ...SYNAPSE_MESSAGE, signatures: {}, unsigned: { anything: 1 }, content: { other: 1 }, extra: 1 }, '12')).toBe(id)
    expect(eventIdFor({ ...SYNAPSE_MESSAGE, depth: 25 }, '12')).not.toBe(id)
    expect(eventIdFor({ ...SYNAPSE_MESSAGE, hashes: { sha256: 'x' } }, '12')).not.toBe(id)
    // event_id is on the list of kept keys, so an (unexpected) event_id changes the reference hash.
    expect(eventIdFor({ ...SYNAPSE_MESSAGE, event_id: '$x' }, '12')).not.toBe(id)
  })

  it('room versions 1 and 2 return the event\'s own event_id', () => {
    expect(eventIdFor({ type: 'X', event_id: '$abc:example.org' }, '1')).toBe('$abc:example.org')
    expect(eventIdFor({ type: 'X', event_id: '$abc:example.org' }, '2')).toBe('$abc:example.org')
    for (const bad of [{ type: 'X' }, { type: 'X', event_id: 5 }, { type: 'X', event_id: null }]) {
      expect(() => eventIdFor(bad, '1')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
      expect(() => eventIdFor(bad, '2')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
    }
    expect(() => eventIdFor(Object.create({ event_id: '$inherited' }) as object, '1')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
  })

  it('throws for unknown room versions and unredactable events', () => {
    expect(() => eventIdFor(SYNAPSE_MESSAGE, '13')).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_ROOM_VERSION' }))
    expect(() => eventIdFor({ content: {} }, '12')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
    expect(() => referenceHash(SYNAPSE_MESSAGE, 'nope')).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_ROOM_VERSION' }))
  })

  it('eventIdFromReferenceHash picks the alphabet', () => {
    const hash = Uint8Array.from({ length: 32 }, () => 0xfb)
    expect(eventIdFromReferenceHash(hash, 'hash-std')).toBe('$' + toBase64(hash))
    expect(eventIdFromReferenceHash(hash, 'hash-std')).toContain('+')
    expect(eventIdFromReferenceHash(hash, 'hash-url')).toContain('-')
    expect(eventIdFromReferenceHash(hash, 'hash-url')).not.toMatch(/[+/=]/)
    expect(eventIdFromReferenceHash(hash, 'hash-url')).toHaveLength(44)
  })
})
