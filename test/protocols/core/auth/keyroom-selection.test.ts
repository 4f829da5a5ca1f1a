/**
 * keyroom.1's auth events selection (flag `keySenders`): the signing device's `keyroom.device`
 * record, the record a device event replaces, and an invite-link join's link — read from the
 * event's `signatures`, which the parsed view keeps. Matrix room versions are unchanged.
 */
import { describe, expect, it } from 'vitest'
import { authTypesForEvent, checkAuthEvents, parsePdu, signingDeviceOf } from '../../../../protocols/core/auth/index.js'
import type { PduLike } from '../../../../protocols/core/auth/index.js'
import { roomVersionRules } from '../../../../protocols/core/room-versions.js'
import { eventMaker, verdict } from './helpers.js'

const upk = (c: string): string => `~AQ${c.repeat(42)}`
const udk = (c: string): string => `^AQ${c.repeat(42)}`
const ALICE = upk('A')
const BOB = upk('B')
const PHONE = udk('P')
const LAPTOP = udk('L')
const ROOM = `!${'R'.repeat(43)}`
const keyroom = roomVersionRules('keyroom.1')
const v12 = roomVersionRules('12')

const ev = eventMaker(ROOM, '$s')
const signedBy = (device: string): { signatures: Record<string, unknown> } => ({ signatures: { [device]: { ed25519: 'c2ln' } } })
const MATRIX_MESSAGE_PAIRS = [['m.room.create', ''], ['m.room.power_levels', ''], ['m.room.member', BOB]]

describe('signingDeviceOf', () => {
  it('names the one signing entity when it is a device ID', () => {
    expect(signingDeviceOf(signedBy(PHONE))).toBe(PHONE)
  })

  it('names none for no signatures, two entities, or an entity that is not a device ID', () => {
    expect(signingDeviceOf({})).toBeUndefined()
    expect(signingDeviceOf({ signatures: {} })).toBeUndefined()
    expect(signingDeviceOf({ signatures: { [PHONE]: {}, [LAPTOP]: {} } })).toBeUndefined()
    expect(signingDeviceOf({ signatures: { [BOB]: {} } })).toBeUndefined()
    expect(signingDeviceOf({ signatures: { 'example.org': {} } })).toBeUndefined()
  })
})

describe('authTypesForEvent: keyroom.1 additions', () => {
  it('a message lists the Matrix pairs, then the signing device\'s record', () => {
    expect(authTypesForEvent(keyroom, ev('m.room.message', BOB, {}, undefined, signedBy(PHONE)))).toEqual([
      ...MATRIX_MESSAGE_PAIRS, ['keyroom.device', PHONE]
    ])
  })

  it('an event not signed yet takes the signer from the third argument; without either, no device record', () => {
    const draft = ev('m.room.message', BOB, {})
    expect(authTypesForEvent(keyroom, draft, LAPTOP)).toEqual([...MATRIX_MESSAGE_PAIRS, ['keyroom.device', LAPTOP]])
    expect(authTypesForEvent(keyroom, draft)).toEqual(MATRIX_MESSAGE_PAIRS)
  })

  it('an invite-link join lists the link\'s m.room.third_party_invite, as a Matrix 3pid invite does', () => {
    const join = ev('m.room.member', BOB, { membership: 'join', third_party_invite: { signed: { token: 'tok' } } }, BOB, signedBy(PHONE))
    expect(authTypesForEvent(keyroom, join)).toEqual([
      ['m.room.create', ''], ['m.room.power_levels', ''], ['m.room.member', BOB], ['m.room.join_rules', ''],
      ['m.room.third_party_invite', 'tok'], ['keyroom.device', PHONE]
    ])
  })

  it('a device record lists the record it replaces, then its signer\'s (once when the device signs its own)', () => {
    const record = (signer: string): PduLike => ev('keyroom.device', BOB, { attestation: {} }, PHONE, signedBy(signer))
    expect(authTypesForEvent(keyroom, record(LAPTOP))).toEqual([...MATRIX_MESSAGE_PAIRS, ['keyroom.device', PHONE], ['keyroom.device', LAPTOP]])
    expect(authTypesForEvent(keyroom, record(PHONE))).toEqual([...MATRIX_MESSAGE_PAIRS, ['keyroom.device', PHONE]])
  })

  it('Matrix room versions are unchanged: no device record, no third-party invite for a join', () => {
    const message = ev('m.room.message', '@bob:example.org', {}, undefined, signedBy('example.org'))
    expect(authTypesForEvent(v12, message, LAPTOP)).toEqual([['m.room.power_levels', ''], ['m.room.member', '@bob:example.org']])
    const join = ev('m.room.member', '@bob:example.org', { membership: 'join', third_party_invite: { signed: { token: 'tok' } } }, '@bob:example.org')
    expect(authTypesForEvent(v12, join)).not.toContainEqual(['m.room.third_party_invite', 'tok'])
    expect(authTypesForEvent(v12, ev('keyroom.device', '@bob:example.org', {}, PHONE))).not.toContainEqual(['keyroom.device', PHONE])
  })
})

describe('checkAuthEvents: keyroom.1 accepts the selection\'s device records and links', () => {
  const create = ev('m.room.create', ALICE, { room_version: 'keyroom.1' }, '', { prev_events: [] })
  const pl = ev('m.room.power_levels', ALICE, {}, '')
  const bobJoin = ev('m.room.member', BOB, { membership: 'join' }, BOB)
  const jr = ev('m.room.join_rules', ALICE, { join_rule: 'invite' }, '')
  const phoneRecord = ev('keyroom.device', BOB, { attestation: {} }, PHONE)
  const laptopRecord = ev('keyroom.device', BOB, { attestation: {} }, LAPTOP)
  const link = ev('m.room.third_party_invite', ALICE, { public_key: 'a2V5' }, 'tok')
  const events = new Map([create, pl, bobJoin, jr, phoneRecord, laptopRecord, link].map((e) => [e.event_id, e]))
  const source = { getEvent: (id: string): unknown => events.get(id) }
  const ids = (...list: PduLike[]): string[] => list.map((e) => e.event_id)

  it('the signing device\'s record is accepted; another device\'s record is not (3.2)', () => {
    const message = (auth: PduLike[]): PduLike => ev('m.room.message', BOB, {}, undefined, { ...signedBy(PHONE), auth_events: ids(...auth) })
    expect(verdict(checkAuthEvents(keyroom, message([create, pl, bobJoin, phoneRecord]), source))).toBe('allow')
    expect(verdict(checkAuthEvents(keyroom, message([create, pl, bobJoin, laptopRecord]), source))).toBe('3.2')
  })

  it('an invite-link join may list the link; a join without a claim may not (3.2)', () => {
    const claim = { third_party_invite: { signed: { token: 'tok' } } }
    const join = (content: Record<string, unknown>): PduLike => ev('m.room.member', upk('X'), { membership: 'join', ...content }, upk('X'), {
      ...signedBy(udk('X')), auth_events: ids(create, pl, jr, link)
    })
    expect(verdict(checkAuthEvents(keyroom, join(claim), source))).toBe('allow')
    expect(verdict(checkAuthEvents(keyroom, join({}), source))).toBe('3.2')
  })

  it('a device record may list the record it replaces', () => {
    const revoke = ev('keyroom.device', BOB, { revocation: {} }, PHONE, { ...signedBy(LAPTOP), auth_events: ids(create, pl, bobJoin, phoneRecord, laptopRecord) })
    expect(verdict(checkAuthEvents(keyroom, revoke, source))).toBe('allow')
  })

  it('room version 12 still refuses a link listed by a join (Matrix selection)', () => {
    const roomV12 = '!create'
    const v12Events = new Map<string, PduLike>()
    const put = (e: PduLike): PduLike => { v12Events.set(e.event_id, e); return e }
    put({ ...ev('m.room.create', '@alice:example.org', { room_version: '12' }, '', { prev_events: [] }), event_id: '$create', room_id: undefined })
    const v12Pl = put({ ...ev('m.room.power_levels', '@alice:example.org', {}, ''), room_id: roomV12 })
    const v12Link = put({ ...ev('m.room.third_party_invite', '@alice:example.org', {}, 'tok'), room_id: roomV12 })
    const join = { ...ev('m.room.member', '@x:example.org', { membership: 'join', third_party_invite: { signed: { token: 'tok' } } }, '@x:example.org'), room_id: roomV12, auth_events: [v12Pl.event_id, v12Link.event_id] }
    expect(verdict(checkAuthEvents(v12, join, { getEvent: (id) => v12Events.get(id) }))).toBe('3.2')
  })
})

describe('parsePdu keeps signatures', () => {
  const raw = { type: 'm.room.message', sender: BOB, room_id: ROOM, content: {}, prev_events: [], auth_events: [], origin_server_ts: 1 }

  it('keeps the signatures object, or none when absent', () => {
    const parsed = parsePdu({ ...raw, ...signedBy(PHONE) }, '$x')
    expect(parsed.ok && parsed.pdu.signatures).toEqual({ [PHONE]: { ed25519: 'c2ln' } })
    const bare = parsePdu(raw, '$x')
    expect(bare.ok && bare.pdu.signatures).toBeUndefined()
  })

  it('refuses signatures that are not an object', () => {
    for (const bad of ['sig', [], null, 1]) {
      expect(parsePdu({ ...raw, signatures: bad }, '$x')).toEqual({ ok: false, reason: 'expected signatures to be an object' })
    }
  })
})
