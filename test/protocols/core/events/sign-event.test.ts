import { describe, expect, it } from 'vitest'
import { publicKeyFromSeed, signBytes } from '../../../../protocols/core/crypto/index.js'
import { toBase64 } from '../../../../protocols/core/encoding/base64.js'
import { contentHash, eventIdFor, redactEvent, signEvent, signEventWithId } from '../../../../protocols/core/events/index.js'
import { canonicalJsonBytes } from '../../../../protocols/core/json/index.js'
import { verifyJson } from '../../../../protocols/core/signing/index.js'

const SEED_A = new Uint8Array(32).fill(1)
const SEED_B = new Uint8Array(32).fill(2)
const KEY_A = publicKeyFromSeed(SEED_A)
const KEY_B = publicKeyFromSeed(SEED_B)

const MEMBER = {
  type: 'm.room.member',
  room_id: '!room',
  sender: '~alice',
  state_key: '~alice',
  content: { membership: 'join', displayname: 'Alice', sender_key: { upk: '~alice', udk: '^a' }, parent_event_id: '$invite' },
  auth_events: ['$create'],
  prev_events: ['$prev'],
  depth: 3,
  origin_server_ts: 1700000000000,
  unsigned: { age: 10 }
}

type Sigs = Record<string, Record<string, string>>

describe('signEvent', () => {
  it('adds hashes.sha256 and a signature over the redacted event (spec "Signing events")', () => {
    for (const version of ['1', '3', '10', '11', '12', 'keyroom.1']) {
      const signed = signEvent(MEMBER, '^a', 'ed25519', SEED_A, version) as Record<string, unknown>
      expect(signed.hashes).toEqual({ sha256: contentHash(MEMBER) })
      const { signatures: _s, unsigned: _u, ...redactedRest } = redactEvent(signed, version) as Record<string, unknown>
      const expected = toBase64(signBytes(SEED_A, canonicalJsonBytes(redactedRest)))
      expect((signed.signatures as Sigs)['^a']!.ed25519).toBe(expected)
      expect(verifyJson(redactEvent(signed, version), '^a', 'ed25519', KEY_A)).toBe(true)
    }
  })

  it('keeps unsigned and every other key, and does not mutate the input', () => {
    const input = structuredClone(MEMBER)
    const signed = signEvent(input, '^a', 'ed25519', SEED_A, '12') as Record<string, unknown>
    expect(input).toEqual(MEMBER)
    const { hashes: _h, signatures: _s, ...rest } = signed
    expect(rest).toEqual(MEMBER)
  })

  it('merges signatures: a second signer keeps the first signature valid', () => {
    const once = signEvent(MEMBER, '^a', 'ed25519', SEED_A, '12')
    const twice = signEvent(once, '^b', 'ed25519', SEED_B, '12') as Record<string, unknown>
    const sigs = twice.signatures as Sigs
    expect(Object.keys(sigs).sort()).toEqual(['^a', '^b'])
    const redacted = redactEvent(twice, '12')
    expect(verifyJson(redacted, '^a', 'ed25519', KEY_A)).toBe(true)
    expect(verifyJson(redacted, '^b', 'ed25519', KEY_B)).toBe(true)
    // Signing does not change what the event ID covers.
    expect(eventIdFor(twice, '12')).toBe(eventIdFor(once, '12'))
  })

  it('sets sha256 and keeps other hashes entries (which are then signed too)', () => {
    const withHashes = { ...MEMBER, hashes: { sha256: 'stale', sha512: 'other' } }
    const signed = signEvent(withHashes, '^a', 'ed25519', SEED_A, '12') as Record<string, unknown>
    expect(signed.hashes).toEqual({ sha256: contentHash(MEMBER), sha512: 'other' })
    expect(verifyJson(redactEvent(signed, '12'), '^a', 'ed25519', KEY_A)).toBe(true)
    expect(verifyJson(redactEvent({ ...signed, hashes: { sha256: contentHash(MEMBER) } }, '12'), '^a', 'ed25519', KEY_A)).toBe(false)
  })

  it('the signature covers the hash, so a changed content breaks the hash but not the signature', () => {
    const signed = signEvent(MEMBER, '^a', 'ed25519', SEED_A, 'keyroom.1') as Record<string, unknown>
    const edited = { ...signed, content: { ...MEMBER.content, displayname: 'Mallory' } }
    expect(verifyJson(redactEvent(edited, 'keyroom.1'), '^a', 'ed25519', KEY_A)).toBe(true)
    expect(contentHash(edited)).not.toBe((signed.hashes as { sha256: string }).sha256)
    // Editing a key the redaction keeps breaks the signature.
    const forged = { ...signed, content: { ...MEMBER.content, parent_event_id: '$elsewhere' } }
    expect(verifyJson(redactEvent(forged, 'keyroom.1'), '^a', 'ed25519', KEY_A)).toBe(false)
    // ...in keyroom.1, but not in v12, where parent_event_id is not protected.
    const signed12 = signEvent(MEMBER, '^a', 'ed25519', SEED_A, '12') as Record<string, unknown>
    const forged12 = { ...signed12, content: { ...MEMBER.content, parent_event_id: '$elsewhere' } }
    expect(verifyJson(redactEvent(forged12, '12'), '^a', 'ed25519', KEY_A)).toBe(true)
  })

  it('signEventWithId returns the same event and its ID', () => {
    for (const version of ['3', '4', '11', '12', 'keyroom.1']) {
      const { event, eventId } = signEventWithId(MEMBER, '^a', 'ed25519', SEED_A, version)
      expect(event).toEqual(signEvent(MEMBER, '^a', 'ed25519', SEED_A, version))
      expect(eventId).toBe(eventIdFor(event, version))
      expect(eventId).toMatch(version === '3' ? /^\$[A-Za-z0-9+/]{43}$/ : /^\$[A-Za-z0-9_-]{43}$/)
    }
    expect(signEventWithId({ ...MEMBER, event_id: '$m:d' }, 'd', 'ed25519:1', SEED_A, '2').eventId).toBe('$m:d')
    expect(() => signEventWithId(MEMBER, 'd', 'ed25519:1', SEED_A, '1')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
    // signEvent itself does not need an event_id in versions 1 and 2 (the spec's vectors have none).
    expect(() => signEvent(MEMBER, 'd', 'ed25519:1', SEED_A, '1')).not.toThrow()
  })

  it('is backend-independent', () => {
    expect(signEvent(MEMBER, '^a', 'ed25519', SEED_A, '12', { backend: 'portable' })).toEqual(signEvent(MEMBER, '^a', 'ed25519', SEED_A, '12', { backend: 'native' }))
  })

  it('refuses bad input with named errors', () => {
    expect(() => signEvent(MEMBER, '^a', 'ed25519', SEED_A, '0')).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_ROOM_VERSION' }))
    expect(() => signEvent(MEMBER, '^a', 'rsa:1', SEED_A, '12')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY' }))
    expect(() => signEvent(MEMBER, '^a', 'ed25519', new Uint8Array(16), '12')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_KEY_MATERIAL' }))
    expect(() => signEvent({ content: {} }, '^a', 'ed25519', SEED_A, '12')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
    expect(() => signEvent({ ...MEMBER, hashes: [] }, '^a', 'ed25519', SEED_A, '12')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
    expect(() => signEvent({ ...MEMBER, signatures: 'x' }, '^a', 'ed25519', SEED_A, '12')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
    expect(() => signEvent({ ...MEMBER, depth: 1.5 }, '^a', 'ed25519', SEED_A, '12')).toThrow(expect.objectContaining({ code: 'ERR_NOT_CANONICALIZABLE' }))
  })
})
