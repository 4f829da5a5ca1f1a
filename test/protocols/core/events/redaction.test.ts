import { describe, expect, it } from 'vitest'
import { MSC3917_PROTECTED_CONTENT_KEYS, redactEvent } from '../../../../protocols/core/events/redaction.js'
import { ROOM_VERSIONS } from '../../../../protocols/core/room-versions.js'

const MATRIX_VERSIONS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12']
const ALL_VERSIONS = [...MATRIX_VERSIONS, 'keyroom.1']

/** Room version as a number for the expectation tables; keyroom.1 redacts like 12 plus its keys. */
function num (version: string): number {
  return version === 'keyroom.1' ? 12 : Number(version)
}

const SIGNED_3PID = { mxid: '@alice:example.org', token: 'abc123', signatures: { 'magic.forest': { 'ed25519:3': 'sig' } } }

/** Every key that any version or type protects, plus keys that nothing protects. */
const KITCHEN_SINK_CONTENT = {
  membership: 'join',
  join_authorised_via_users_server: '@u:example.org',
  third_party_invite: { display_name: 'alice', signed: SIGNED_3PID },
  displayname: 'Alice',
  sender_key: { upk: '~a', udk: '^b' },
  parent_event_id: '$parent',
  user_key: '~target',
  room_root_key: '!rrk',
  creator: '@c:example.org',
  creator_key: '~creator',
  room_version: '11',
  signatures: { '!rrk': { ed25519: 'rrksig' } },
  join_rule: 'restricted',
  allow: [{ type: 'm.room_membership', room_id: '!a:b' }],
  ban: 50,
  events: { 'm.room.name': 50 },
  events_default: 0,
  invite: 0,
  kick: 50,
  redact: 50,
  state_default: 50,
  users: { '@c:example.org': 100 },
  users_default: 0,
  notifications: { room: 50 },
  aliases: ['#a:example.org'],
  history_visibility: 'shared',
  redacts: '$redacted',
  via: ['example.org'],
  public_key: 'pk',
  public_keys: [{ public_key: 'pk2' }],
  attestation: { upk: '~a', udk: '^b' },
  revocation: { udk: '^old' },
  body: 'hello',
  'other.key': { nested: true }
}

/**
 * The spec's per-version lists, written out by version number (independently of the flags in
 * room-versions.ts, so a wrong flag fails here).
 */
function expectedContentKeys (version: string, type: string): string[] | 'all' {
  const v = num(version)
  const keyroom = version === 'keyroom.1'
  switch (type) {
    case 'm.room.member':
      return ['membership', ...(v >= 9 ? ['join_authorised_via_users_server'] : []), ...(v >= 11 ? ['third_party_invite'] : []),
        ...(keyroom ? ['sender_key', 'parent_event_id', 'user_key', 'room_root_key'] : [])]
    case 'm.room.create':
      return v >= 11 ? 'all' : ['creator']
    case 'm.room.join_rules':
      return ['join_rule', ...(v >= 8 ? ['allow'] : []), ...(keyroom ? ['sender_key', 'parent_event_id', 'room_root_key'] : [])]
    case 'm.room.power_levels':
      return ['ban', 'events', 'events_default', ...(v >= 11 ? ['invite'] : []), 'kick', 'redact', 'state_default', 'users', 'users_default']
    case 'm.room.aliases':
      return v <= 5 ? ['aliases'] : []
    case 'm.room.history_visibility':
      return ['history_visibility']
    case 'm.room.redaction':
      return v >= 11 ? ['redacts'] : []
    case 'm.space.child':
      return keyroom ? ['sender_key', 'room_root_key', 'parent_event_id', 'via'] : []
    case 'm.room.third_party_invite':
      return keyroom ? ['sender_key', 'parent_event_id', 'public_key', 'public_keys'] : []
    case 'keyroom.device':
      return keyroom ? ['attestation', 'revocation'] : []
    default:
      return []
  }
}

const TYPES = [
  'm.room.member', 'm.room.create', 'm.room.join_rules', 'm.room.power_levels', 'm.room.aliases',
  'm.room.history_visibility', 'm.room.redaction', 'm.space.child', 'm.room.third_party_invite',
  'keyroom.device', 'm.room.message', 'm.room.topic', 'm.room.server_acl', 'M.ROOM.MEMBER', 'm.room.member '
]

function pick (object: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k of keys) if (k in object) out[k] = object[k]
  return out
}

function kitchenSinkEvent (type: string): Record<string, unknown> {
  return {
    event_id: '$ev',
    type,
    room_id: '!room:example.org',
    sender: '@c:example.org',
    state_key: '',
    content: structuredClone(KITCHEN_SINK_CONTENT),
    hashes: { sha256: 'hash' },
    signatures: { 'example.org': { 'ed25519:1': 'sig' } },
    depth: 7,
    prev_events: ['$p'],
    prev_state: [],
    auth_events: ['$a'],
    origin: 'example.org',
    origin_server_ts: 1234,
    membership: 'join',
    unsigned: { age_ts: 1, replaces_state: '$old', redacted_because: {} },
    redacts: '$top',
    age: 5,
    age_ts: 6,
    user_id: '@c:example.org',
    prev_content: { membership: 'leave' },
    other_key: 'x'
  }
}

function expectedTopLevelKeys (version: string): string[] {
  const keys = ['event_id', 'type', 'room_id', 'sender', 'state_key', 'content', 'hashes', 'signatures', 'depth', 'prev_events', 'auth_events', 'origin_server_ts']
  return num(version) <= 10 ? [...keys, 'prev_state', 'origin', 'membership'] : keys
}

describe('redactEvent: per-version tables', () => {
  it('covers exactly the known room versions', () => {
    expect([...ROOM_VERSIONS].sort()).toEqual([...ALL_VERSIONS].sort())
  })

  for (const version of ALL_VERSIONS) {
    describe(`room version ${version}`, () => {
      it('keeps exactly the protected top-level keys and drops unsigned', () => {
        const redacted = redactEvent(kitchenSinkEvent('m.room.message'), version) as Record<string, unknown>
        expect(Object.keys(redacted).sort()).toEqual(expectedTopLevelKeys(version).sort())
        expect(redacted).not.toHaveProperty('unsigned')
        expect(redacted).not.toHaveProperty('redacts')
        expect(redacted.content).toEqual({})
      })

      for (const type of TYPES) {
        it(`content of ${JSON.stringify(type)}`, () => {
          const event = kitchenSinkEvent(type)
          const redacted = redactEvent(event, version) as Record<string, unknown>
          const want = expectedContentKeys(version, type)
          if (want === 'all') {
            expect(redacted.content).toEqual(KITCHEN_SINK_CONTENT)
            return
          }
          const expected = pick(KITCHEN_SINK_CONTENT, want)
          if (want.includes('third_party_invite')) expected.third_party_invite = { signed: SIGNED_3PID }
          expect(redacted.content).toEqual(expected)
          // Top-level keys do not depend on the type.
          expect(Object.keys(redacted).sort()).toEqual(expectedTopLevelKeys(version).sort())
        })
      }
    })
  }
})

describe('redactEvent: edge cases', () => {
  it('replaces non-object content with {} for every version and type', () => {
    for (const version of ALL_VERSIONS) {
      for (const type of TYPES) {
        for (const content of ['text', 42, true, null, [], [{ membership: 'join' }]]) {
          const redacted = redactEvent({ type, content, sender: '@a:b' }, version)
          expect(redacted, `${version} ${type} ${JSON.stringify(content)}`).toEqual({ type, content: {}, sender: '@a:b' })
        }
      }
    }
  })

  it('leaves a missing content missing', () => {
    expect(redactEvent({ type: 'm.room.member', state_key: '@a:b' }, '10')).toEqual({ type: 'm.room.member', state_key: '@a:b' })
    expect(redactEvent({ type: 'm.room.create' }, '11')).toEqual({ type: 'm.room.create' })
  })

  it('v11+: third_party_invite keeps only signed; {} without signed; removed when not an object', () => {
    const base = { type: 'm.room.member', content: { membership: 'invite', other_key: 'x' } }
    const withInvite = (invite: unknown): object => ({ ...base, content: { ...base.content, third_party_invite: invite } })
    for (const version of ['11', '12', 'keyroom.1']) {
      expect(redactEvent(withInvite({ display_name: 'a', signed: { token: 't' } }), version))
        .toEqual({ type: 'm.room.member', content: { membership: 'invite', third_party_invite: { signed: { token: 't' } } } })
      expect(redactEvent(withInvite({ display_name: 'a' }), version))
        .toEqual({ type: 'm.room.member', content: { membership: 'invite', third_party_invite: {} } })
      expect(redactEvent(withInvite({ signed: null }), version))
        .toEqual({ type: 'm.room.member', content: { membership: 'invite', third_party_invite: { signed: null } } })
      for (const bad of ['stripped', 1, null, [{ signed: {} }]]) {
        expect(redactEvent(withInvite(bad), version)).toEqual({ type: 'm.room.member', content: { membership: 'invite' } })
      }
    }
    expect(redactEvent(withInvite({ signed: { token: 't' } }), '10')).toEqual({ type: 'm.room.member', content: { membership: 'invite' } })
  })

  it('keeps protected values whatever their JSON type, including null', () => {
    const event = { type: 'm.room.power_levels', content: { ban: null, users: 'not-an-object', kick: [1], other: 1 } }
    expect(redactEvent(event, '1')).toEqual({ type: 'm.room.power_levels', content: { ban: null, users: 'not-an-object', kick: [1] } })
  })

  it('keeps hashes and signatures as they are, even malformed', () => {
    const event = { type: 'X', hashes: 'nope', signatures: [1], content: {} }
    expect(redactEvent(event, '12')).toEqual(event)
  })

  it('v1-v10 keep top-level origin/membership/prev_state; v11+ drop them (MSC2176)', () => {
    const event = { type: 'X', content: {}, origin: 'o', membership: 'join', prev_state: [] }
    for (const version of ALL_VERSIONS) {
      const kept = num(version) <= 10
      expect(redactEvent(event, version)).toEqual(kept ? event : { type: 'X', content: {} })
    }
  })

  it('v11+ keep the whole create content; earlier versions keep only creator', () => {
    const event = { type: 'm.room.create', content: { creator: '@a:b', room_version: '1', 'm.federate': false } }
    expect(redactEvent(event, '10')).toEqual({ type: 'm.room.create', content: { creator: '@a:b' } })
    expect(redactEvent(event, '11')).toEqual(event)
    expect(redactEvent({ type: 'm.room.create', content: { room_version: '12' } }, '12')).toEqual({ type: 'm.room.create', content: { room_version: '12' } })
  })

  it('a v12 create event keeps room_id if present (the spec list still names it)', () => {
    const event = { type: 'm.room.create', room_id: '!r', content: {} }
    expect(redactEvent(event, '12')).toEqual(event)
  })

  it('does not mutate its input and returns an independent copy', () => {
    const event = kitchenSinkEvent('m.room.create')
    const before = structuredClone(event)
    const redacted = redactEvent(event, '11') as { content: { users: Record<string, number> }, signatures: Record<string, unknown> }
    expect(event).toEqual(before)
    redacted.content.users['@x:y'] = 1
    redacted.signatures.other = {}
    expect(event).toEqual(before)
  })

  it('is idempotent', () => {
    for (const version of ALL_VERSIONS) {
      for (const type of TYPES) {
        const once = redactEvent(kitchenSinkEvent(type), version)
        expect(redactEvent(once, version)).toEqual(once)
      }
    }
  })

  it('keeps "__proto__" content keys as own data and never touches prototypes', () => {
    const event = JSON.parse('{"type":"m.room.create","content":{"__proto__":{"polluted":true},"room_version":"11"}}') as object
    const redacted = redactEvent(event, '11') as { content: Record<string, unknown> }
    expect(Object.hasOwn(redacted.content, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(redacted.content)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(JSON.stringify(redacted.content)).toBe('{"__proto__":{"polluted":true},"room_version":"11"}')
  })

  it('does not read protected keys from the prototype chain', () => {
    const content = Object.create({ membership: 'join' }) as object
    expect(redactEvent({ type: 'm.room.member', content }, '1')).toEqual({ type: 'm.room.member', content: {} })
  })

  it('throws ERR_INVALID_EVENT without a string type, or for a non-object', () => {
    for (const bad of [{}, { type: 1 }, { type: null }, [], Object.assign([], { type: 'X' })]) {
      expect(() => redactEvent(bad, '1')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_EVENT' }))
    }
  })

  it('throws ERR_UNKNOWN_ROOM_VERSION for unknown versions', () => {
    for (const bad of ['0', '13', 'keyroom.2', '', ' 1', 'v1']) {
      expect(() => redactEvent({ type: 'X' }, bad)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_ROOM_VERSION' }))
    }
  })
})

describe('redactEvent: examples from other implementations\' suites (rewritten)', () => {
  it('power levels (v1 without invite, v11 with invite)', () => {
    const content = { ban: 50, events: { 'm.room.name': 50 }, events_default: 0, invite: 0, kick: 50, redact: 50, state_default: 50, users: { '@example:localhost': 100 }, users_default: 0 }
    const event = { content, event_id: '$15139375512JaHAW:localhost', origin_server_ts: 45, sender: '@example:localhost', room_id: '!room:localhost', state_key: '', type: 'm.room.power_levels', unsigned: { age: 45 } }
    const { unsigned: _u, ...withoutUnsigned } = event
    const { invite: _i, ...v1Content } = content
    expect(redactEvent(event, '1')).toEqual({ ...withoutUnsigned, content: v1Content })
    expect(redactEvent(event, '11')).toEqual(withoutUnsigned)
  })

  it('aliases kept through v5, stripped from v6 (MSC2432)', () => {
    const event = { content: { aliases: ['#somewhere:localhost'] }, type: 'm.room.aliases', state_key: 'room.com' }
    for (const v of ['1', '5']) expect(redactEvent(event, v)).toEqual(event)
    for (const v of ['6', '9', '12']) expect(redactEvent(event, v)).toEqual({ ...event, content: {} })
  })

  it('join_rules allow kept from v8 (MSC3083); member join_authorised_via_users_server from v9 (MSC3375)', () => {
    const jr = { type: 'm.room.join_rules', content: { join_rule: 'invite', allow: [], other_key: 'stripped' } }
    expect(redactEvent(jr, '7')).toEqual({ type: 'm.room.join_rules', content: { join_rule: 'invite' } })
    expect(redactEvent(jr, '8')).toEqual({ type: 'm.room.join_rules', content: { join_rule: 'invite', allow: [] } })
    const m = { type: 'm.room.member', content: { membership: 'join', join_authorised_via_users_server: '@u:d', other_key: 'stripped' } }
    expect(redactEvent(m, '8')).toEqual({ type: 'm.room.member', content: { membership: 'join' } })
    expect(redactEvent(m, '9')).toEqual({ type: 'm.room.member', content: { membership: 'join', join_authorised_via_users_server: '@u:d' } })
  })

  it('m.room.redaction keeps content.redacts from v11; top-level redacts never survives', () => {
    const event = { type: 'm.room.redaction', content: { redacts: '$x:d', reason: 'spam' }, redacts: '$x:d' }
    expect(redactEvent(event, '10')).toEqual({ type: 'm.room.redaction', content: {} })
    expect(redactEvent(event, '11')).toEqual({ type: 'm.room.redaction', content: { redacts: '$x:d' } })
  })
})

describe('redactEvent: keyroom.1 keeps the MSC3917 keys', () => {
  it('lists the protected keys per type', () => {
    expect(MSC3917_PROTECTED_CONTENT_KEYS).toEqual({
      'm.room.member': ['sender_key', 'parent_event_id', 'user_key', 'room_root_key'],
      'm.room.join_rules': ['sender_key', 'parent_event_id', 'room_root_key'],
      'm.space.child': ['sender_key', 'room_root_key', 'parent_event_id', 'via'],
      'm.room.third_party_invite': ['sender_key', 'parent_event_id', 'public_key', 'public_keys'],
      'keyroom.device': ['attestation', 'revocation']
    })
  })

  it('a redacted join still carries its chain link', () => {
    const join = {
      type: 'm.room.member',
      room_id: '!rrk',
      sender: '~alice',
      state_key: '~alice',
      content: { membership: 'join', displayname: 'Alice', avatar_url: 'mxc://x', sender_key: { upk: '~alice', udk: '^dev' }, parent_event_id: '$invite', user_key: '~alice', room_root_key: '!rrk' },
      origin: 'not-kept'
    }
    expect(redactEvent(join, 'keyroom.1')).toEqual({
      type: 'm.room.member',
      room_id: '!rrk',
      sender: '~alice',
      state_key: '~alice',
      content: { membership: 'join', sender_key: { upk: '~alice', udk: '^dev' }, parent_event_id: '$invite', user_key: '~alice', room_root_key: '!rrk' }
    })
    // Matrix v12 does not keep them.
    expect(redactEvent(join, '12')).toEqual({ type: 'm.room.member', room_id: '!rrk', sender: '~alice', state_key: '~alice', content: { membership: 'join' } })
  })

  it('the create event keeps room_root_key, creator_key and the RRK signatures', () => {
    const create = { type: 'm.room.create', state_key: '', content: { room_version: 'keyroom.1', room_root_key: '!rrk', creator_key: '~c', signatures: { '!rrk': { ed25519: 's' } }, attestation: { upk: '~c' } } }
    expect(redactEvent(create, 'keyroom.1')).toEqual(create)
  })

  it('device records keep attestation and revocation only', () => {
    const device = { type: 'keyroom.device', state_key: '^dev', content: { attestation: { a: 1 }, revocation: { r: 1 }, display_name: 'phone' } }
    expect(redactEvent(device, 'keyroom.1')).toEqual({ type: 'keyroom.device', state_key: '^dev', content: { attestation: { a: 1 }, revocation: { r: 1 } } })
    expect(redactEvent(device, '12')).toEqual({ type: 'keyroom.device', state_key: '^dev', content: {} })
  })
})
