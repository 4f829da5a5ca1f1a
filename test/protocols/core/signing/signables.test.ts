import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { redactEvent } from '../../../../protocols/core/events/index.js'
import { canonicalJson } from '../../../../protocols/core/json/index.js'
import { roomVersionRules, ROOM_VERSIONS } from '../../../../protocols/core/room-versions.js'
import { contentHashBytes, eventSignables, redactedEventBytes, signedJsonBytes } from '../../../../protocols/core/signing/index.js'

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

const EVENT = {
  type: 'm.room.member',
  state_key: '~b',
  sender: '~a',
  content: { membership: 'invite', displayname: 'Bö', parent_event_id: '$p' },
  hashes: { sha256: 'h' },
  signatures: { '^a': { ed25519: 's' } },
  unsigned: { age: 1 },
  origin: 'o',
  depth: 1
}

describe('signables', () => {
  it('signedJsonBytes: canonical JSON without signatures and unsigned', () => {
    expect(text(signedJsonBytes({ b: 1, a: 'x', signatures: { e: {} }, unsigned: { u: 1 } }))).toBe('{"a":"x","b":1}')
    expect(text(signedJsonBytes({}))).toBe('{}')
    expect(text(signedJsonBytes({ hashes: { sha256: 'h' } }))).toBe('{"hashes":{"sha256":"h"}}')
  })

  it('contentHashBytes: canonical JSON without unsigned, signatures and hashes', () => {
    expect(text(contentHashBytes(EVENT))).toBe('{"content":{"displayname":"Bö","membership":"invite","parent_event_id":"$p"},"depth":1,"origin":"o","sender":"~a","state_key":"~b","type":"m.room.member"}')
  })

  it('redactedEventBytes: the redacted event without signatures and unsigned, per room version', () => {
    expect(text(redactedEventBytes(EVENT, roomVersionRules('10').redaction)))
      .toBe('{"content":{"membership":"invite"},"depth":1,"hashes":{"sha256":"h"},"origin":"o","sender":"~a","state_key":"~b","type":"m.room.member"}')
    expect(text(redactedEventBytes(EVENT, roomVersionRules('12').redaction)))
      .toBe('{"content":{"membership":"invite"},"depth":1,"hashes":{"sha256":"h"},"sender":"~a","state_key":"~b","type":"m.room.member"}')
    expect(text(redactedEventBytes(EVENT, roomVersionRules('keyroom.1').redaction)))
      .toBe('{"content":{"membership":"invite","parent_event_id":"$p"},"depth":1,"hashes":{"sha256":"h"},"sender":"~a","state_key":"~b","type":"m.room.member"}')
  })

  it('redactedEventBytes equals signedJsonBytes(redactEvent(event)) for every version (property)', () => {
    const key = fc.constantFrom('type', 'content', 'signatures', 'unsigned', 'hashes', 'origin', 'membership', 'prev_state', 'event_id', 'room_id', 'depth', 'redacts', 'x', '__proto__')
    const json = fc.jsonValue({ maxDepth: 3 }).map(v => JSON.parse(JSON.stringify(v)) as unknown)
    const contentKey = fc.constantFrom('membership', 'creator', 'join_rule', 'allow', 'users', 'invite', 'redacts', 'aliases', 'history_visibility', 'third_party_invite', 'sender_key', 'via', 'body')
    const content = fc.oneof(fc.dictionary(contentKey, json), json)
    const type = fc.constantFrom('m.room.member', 'm.room.create', 'm.room.join_rules', 'm.room.power_levels', 'm.room.aliases', 'm.room.redaction', 'm.space.child', 'keyroom.device', 'm.room.message')
    const event = fc.record({ type, content, extra: fc.dictionary(key, json) })
      .map(({ type, content, extra }) => {
        const e = JSON.parse(JSON.stringify({ ...extra })) as Record<string, unknown>
        e.type = type
        e.content = content
        return e
      })
      .filter(e => {
        // Only values canonical JSON can write (fast-check's JSON has floats and -0).
        try { canonicalJson(e); return true } catch { return false }
      })
    fc.assert(fc.property(event, fc.constantFrom(...ROOM_VERSIONS), (e, version) => {
      const viaRedact = text(signedJsonBytes(redactEvent(e, version)))
      const direct = text(redactedEventBytes(e, roomVersionRules(version).redaction))
      expect(direct).toBe(viaRedact)
    }), { numRuns: 300 })
  })

  it('eventSignables builds both byte strings', () => {
    const rules = roomVersionRules('keyroom.1').redaction
    const s = eventSignables(EVENT, rules)
    expect(s.contentHashInput).toEqual(contentHashBytes(EVENT))
    expect(s.redactedInput).toEqual(redactedEventBytes(EVENT, rules))
  })

  it('refuses non-plain objects and values canonical JSON cannot write', () => {
    for (const bad of [[], new Map(), new Date(0), Object.create({ a: 1 })]) {
      expect(() => signedJsonBytes(bad as object)).toThrow(expect.objectContaining({ code: 'ERR_NOT_CANONICALIZABLE' }))
      expect(() => contentHashBytes(bad as object)).toThrow(expect.objectContaining({ code: 'ERR_NOT_CANONICALIZABLE' }))
    }
    expect(() => signedJsonBytes({ a: 0.5 })).toThrow(expect.objectContaining({ code: 'ERR_NOT_CANONICALIZABLE' }))
    // A non-canonical value under signatures or unsigned is not signed, so it does not matter.
    expect(text(signedJsonBytes({ a: 1, unsigned: { f: 0.5 }, signatures: { n: Number.NaN } }))).toBe('{"a":1}')
    expect(() => redactedEventBytes({ content: {} }, roomVersionRules('1').redaction)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
  })

  it('accepts null-prototype objects and keeps "__proto__" keys as data', () => {
    const o = Object.create(null) as Record<string, unknown>
    o.b = 1
    expect(text(signedJsonBytes(o))).toBe('{"b":1}')
    const p = JSON.parse('{"__proto__":{"x":1},"signatures":{}}') as object
    expect(text(signedJsonBytes(p))).toBe('{"__proto__":{"x":1}}')
  })
})
