import { describe, expect, it } from 'vitest'
import { publicKeyFromSeed } from '../../../../protocols/core/crypto/index.js'
import { fromBase64, toBase64 } from '../../../../protocols/core/encoding/base64.js'
import { checkEventIntegrity, contentHash, eventIdFor, redactEvent, signEvent, signEventWithId } from '../../../../protocols/core/events/index.js'
import type { IntegrityOptions } from '../../../../protocols/core/events/index.js'
import { canonicalJson, parseJson } from '../../../../protocols/core/json/index.js'
import { signJson } from '../../../../protocols/core/signing/index.js'

const SEED_A = new Uint8Array(32).fill(1)
const SEED_B = new Uint8Array(32).fill(2)
const KEYS: Record<string, Uint8Array> = { '^a': publicKeyFromSeed(SEED_A), '^b': publicKeyFromSeed(SEED_B) }
const publicKeyFor: IntegrityOptions['publicKeyFor'] = (entity, keyId) => keyId === 'ed25519' ? KEYS[entity] : undefined

const MESSAGE = {
  type: 'm.room.message',
  room_id: '!room',
  sender: '~alice',
  content: { msgtype: 'm.text', body: 'hello' },
  auth_events: ['$create'],
  prev_events: ['$prev'],
  depth: 4,
  origin_server_ts: 1700000000000,
  unsigned: { age: 1 }
}
const V = 'keyroom.1'
const { event: SIGNED, eventId: ID } = signEventWithId(MESSAGE, '^a', 'ed25519', SEED_A, V) as { event: Record<string, unknown>, eventId: string }
const sigOf = (e: Record<string, unknown>): string => (e.signatures as Record<string, Record<string, string>>)['^a']!.ed25519!

describe('checkEventIntegrity', () => {
  it('accepts a signed event and returns its ID', () => {
    expect(checkEventIntegrity(SIGNED, V, { publicKeyFor })).toEqual({ ok: true, eventId: ID })
    expect(checkEventIntegrity(SIGNED, V, { publicKeyFor, expectedEventId: ID, requiredSigners: ['^a'] })).toEqual({ ok: true, eventId: ID })
    expect(checkEventIntegrity(SIGNED, V, { publicKeyFor, backend: 'portable' })).toEqual({ ok: true, eventId: ID })
    expect(ID).toBe(eventIdFor(SIGNED, V))
  })

  it('accepts the event after a round trip through canonical JSON and the strict parser', () => {
    expect(checkEventIntegrity(parseJson(canonicalJson(SIGNED)), V, { publicKeyFor })).toEqual({ ok: true, eventId: ID })
  })

  it('ignores unsigned: relays may change it', () => {
    expect(checkEventIntegrity({ ...SIGNED, unsigned: { age: 99, extra: [1] } }, V, { publicKeyFor })).toEqual({ ok: true, eventId: ID })
  })

  it('event-id-mismatch when the computed ID is not the expected one', () => {
    expect(checkEventIntegrity(SIGNED, V, { publicKeyFor, expectedEventId: '$other' })).toMatchObject({ ok: false, reason: 'event-id-mismatch', eventId: ID })
  })

  it('bad-signature for a wrong signature or a tampered protected key', () => {
    const sig = fromBase64(sigOf(SIGNED))
    sig[0]! ^= 0x80
    const wrong = { ...SIGNED, signatures: { '^a': { ed25519: toBase64(sig) } } }
    expect(checkEventIntegrity(wrong, V, { publicKeyFor })).toMatchObject({ ok: false, reason: 'bad-signature', eventId: ID })
    const tampered = { ...SIGNED, depth: 5 }
    expect(checkEventIntegrity(tampered, V, { publicKeyFor })).toMatchObject({ ok: false, reason: 'bad-signature', eventId: eventIdFor(tampered, V) })
    const padded = { ...SIGNED, signatures: { '^a': { ed25519: sigOf(SIGNED) + '==' } } }
    expect(checkEventIntegrity(padded, V, { publicKeyFor })).toMatchObject({ ok: false, reason: 'bad-signature' })
    const notString = { ...SIGNED, signatures: { '^a': { ed25519: 5 } } }
    expect(checkEventIntegrity(notString, V, { publicKeyFor })).toMatchObject({ ok: false, reason: 'bad-signature' })
  })

  it('bad-signature when any known key of a signer fails, even if another passes', () => {
    const extra = { ...SIGNED, signatures: { '^a': { ed25519: sigOf(SIGNED), 'ed25519:2': sigOf(SIGNED) } } }
    const both = (entity: string, keyId: string): Uint8Array | undefined => entity === '^a' && keyId.startsWith('ed25519') ? KEYS['^b'] : undefined
    expect(checkEventIntegrity(extra, V, { publicKeyFor: both })).toMatchObject({ ok: false, reason: 'bad-signature' })
  })

  it('missing-signature when no known key signed, or a required signer is absent', () => {
    expect(checkEventIntegrity(SIGNED, V, { publicKeyFor: () => undefined })).toMatchObject({ ok: false, reason: 'missing-signature', eventId: ID })
    expect(checkEventIntegrity({ ...SIGNED, signatures: {} }, V, { publicKeyFor })).toMatchObject({ ok: false, reason: 'missing-signature' })
    expect(checkEventIntegrity(SIGNED, V, { publicKeyFor, requiredSigners: ['^b'] })).toMatchObject({ ok: false, reason: 'missing-signature' })
    expect(checkEventIntegrity(SIGNED, V, { publicKeyFor, requiredSigners: [] })).toMatchObject({ ok: false, reason: 'missing-signature' })
    // Unknown algorithms are skipped, not failed ("Checking for a signature", step 2).
    const curve = { ...SIGNED, signatures: { '^a': { 'curve25519:x': 'AAAA' } } }
    expect(checkEventIntegrity(curve, V, { publicKeyFor: () => KEYS['^a'] })).toMatchObject({ ok: false, reason: 'missing-signature' })
  })

  it('unknown extra signers are ignored when not required; a second known signer must be valid', () => {
    const withJunk = { ...SIGNED, signatures: { ...SIGNED.signatures as object, '^zz': { ed25519: 'AAAA' } } }
    expect(checkEventIntegrity(withJunk, V, { publicKeyFor, requiredSigners: ['^a'] })).toEqual({ ok: true, eventId: ID })
    // Default: every entity present is required, and ^zz has no known key.
    expect(checkEventIntegrity(withJunk, V, { publicKeyFor })).toMatchObject({ ok: false, reason: 'missing-signature' })
    const cosigned = signEvent(SIGNED, '^b', 'ed25519', SEED_B, V)
    expect(checkEventIntegrity(cosigned, V, { publicKeyFor })).toEqual({ ok: true, eventId: ID })
  })

  it('bad-hash (with the redacted copy to keep) when only non-protected content changed', () => {
    const edited = { ...SIGNED, content: { msgtype: 'm.text', body: 'edited' } }
    const result = checkEventIntegrity(edited, V, { publicKeyFor })
    expect(result).toEqual({ ok: false, reason: 'bad-hash', eventId: ID, detail: expect.any(String), redacted: redactEvent(edited, V) })
    // A redacted copy of a valid event is exactly this case: the spec says to keep the redacted form.
    expect(checkEventIntegrity(redactEvent(SIGNED, V), V, { publicKeyFor })).toMatchObject({ ok: false, reason: 'bad-hash', eventId: ID })
  })

  it('bad-hash when hashes.sha256 is missing or malformed (but the signature is good)', () => {
    const { unsigned: _u, ...body } = MESSAGE
    for (const hashes of [undefined, {}, { sha256: 5 }, { sha256: contentHash(MESSAGE) + '=' }, { sha256: contentHash(MESSAGE).toLowerCase() }]) {
      const variant = hashes === undefined ? body : { ...body, hashes }
      // Sign the redacted form directly, as signEvent would but without it setting a correct hash.
      const { signatures } = signJson(redactEvent(variant, V), '^a', 'ed25519', SEED_A) as { signatures: unknown }
      const result = checkEventIntegrity({ ...variant, signatures }, V, { publicKeyFor })
      expect(result, JSON.stringify(hashes)).toMatchObject({ ok: false, reason: 'bad-hash' })
    }
  })

  it('checks the signature before the hash: a bad signature is reported even when the hash is also wrong', () => {
    const both = { ...SIGNED, depth: 9, content: { body: 'x' } }
    expect(checkEventIntegrity(both, V, { publicKeyFor })).toMatchObject({ ok: false, reason: 'bad-signature' })
  })

  it('malformed for input it cannot read', () => {
    const cases: unknown[] = [null, 'x', [], new Map(), { ...SIGNED, signatures: undefined }, { ...SIGNED, signatures: [] },
      { ...SIGNED, type: undefined }, { ...SIGNED, type: 7 }, { ...SIGNED, depth: 1.5 }, { ...SIGNED, content: { n: Number.NaN } }]
    for (const c of cases) {
      expect(checkEventIntegrity(c, V, { publicKeyFor })).toMatchObject({ ok: false, reason: 'malformed' })
    }
  })

  it('room versions 1-2: the ID is event_id, which must be present', () => {
    const withId = signEvent({ ...MESSAGE, event_id: '$m:example.org' }, '^a', 'ed25519', SEED_A, '1')
    expect(checkEventIntegrity(withId, '1', { publicKeyFor })).toEqual({ ok: true, eventId: '$m:example.org' })
    const noId = signEvent(MESSAGE, '^a', 'ed25519', SEED_A, '1')
    expect(checkEventIntegrity(noId, '1', { publicKeyFor })).toMatchObject({ ok: false, reason: 'malformed' })
  })

  it('throws for an unknown room version (the caller\'s input, not the event\'s)', () => {
    expect(() => checkEventIntegrity(SIGNED, 'x', { publicKeyFor })).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_ROOM_VERSION' }))
  })

  it('does not modify the event', () => {
    const copy = structuredClone(SIGNED)
    checkEventIntegrity(copy, V, { publicKeyFor })
    checkEventIntegrity({ ...copy, content: {} }, V, { publicKeyFor })
    expect(copy).toEqual(SIGNED)
  })
})

