/**
 * The event's `auth_events`: which state they must name (server-server API, "Auth events
 * selection"), the state-independent rules about them (rule 2 of v1–v11, rules 2–3 of v12), and
 * the auth state they give for checking the rest of the rules against "the event's auth events".
 *
 * keyroom.1 extends the selection (signing device record, invite-link joins); every path — the
 * receipt check `checkAuthEvents`, event builders (room/), state resolution — uses this one
 * definition, so they cannot drift apart.
 */
import type { RoomVersionRules } from '../room-versions.js'
import { getOwn, getString, isJsonObject, parsePdu } from './pdu.js'
import type { PduLike } from './pdu.js'
import { ruleNumbers } from './rule-numbers.js'
import type { AuthResult, AuthStateLookup } from './types.js'

/** A state key pair `[type, state_key]`. */
export type StateKeyPair = readonly [type: string, stateKey: string]

/** Event type constants used by the rules. */
export const EventType = {
  Create: 'm.room.create',
  Member: 'm.room.member',
  PowerLevels: 'm.room.power_levels',
  JoinRules: 'm.room.join_rules',
  ThirdPartyInvite: 'm.room.third_party_invite',
  Aliases: 'm.room.aliases',
  Redaction: 'm.room.redaction',
  /** keyroom.1: a device's attestation and/or revocation record; state key = the UDK. */
  KeyroomDevice: 'keyroom.device'
} as const

/** keyroom.1: the sigil of device IDs (UDK text forms, docs/protocol.md "Identifiers"). */
const DEVICE_ID_SIGIL = 0x5e /* ^ */

/**
 * keyroom.1: the device that signed an event, as the auth events selection reads it — the one
 * entity of `signatures` when there is exactly one and it carries the device sigil `^`;
 * otherwise `undefined`.
 *
 * Deliberately shallow: it names a state key to look up, nothing more. Whether that entity is a
 * well-formed UDK with exactly one `ed25519` signature is the keyroom rules' first check (K1 in
 * room/keyroom-auth.ts), which refuses every event this function answers `undefined` for, and the
 * signature itself was verified on receipt.
 */
export function signingDeviceOf (event: Pick<PduLike, 'signatures'>): string | undefined {
  const signatures = event.signatures
  if (!isJsonObject(signatures)) return undefined
  let signer: string | undefined
  for (const entity in signatures) {
    if (!Object.hasOwn(signatures, entity)) continue
    if (signer !== undefined) return undefined
    signer = entity
  }
  return signer !== undefined && signer.charCodeAt(0) === DEVICE_ID_SIGIL ? signer : undefined
}

/**
 * The `(type, state_key)` pairs an event's `auth_events` should name ("Auth events selection"):
 *
 * - none for `m.room.create`;
 * - the `m.room.create` event, except in room version 12 where the room ID implies it (MSC4291);
 * - the current `m.room.power_levels` event and the sender's `m.room.member` event;
 * - for `m.room.member`: the target's member event; the join rules for `join`, `invite` and
 *   `knock`; for an `invite` with `third_party_invite`, the `m.room.third_party_invite` event keyed
 *   by `signed.token`; for a `join` with `join_authorised_via_users_server` in versions with
 *   restricted rooms (v8+), that user's member event.
 *
 * keyroom.1 (`rules.keySenders`, docs/protocol.md "Auth events selection") adds:
 * - for a `join` through an invite link (`third_party_invite.signed.token`), the
 *   `m.room.third_party_invite` event with that state key, as Matrix does for a 3pid `invite`;
 * - for a `keyroom.device` event, the current `keyroom.device` event with the same state key
 *   (the record it replaces), as Matrix lists the target's member event for a member event;
 * - last, the `keyroom.device` event whose state key is the signing UDK ({@link signingDeviceOf},
 *   or `signer` for an event not signed yet): where the signer's attestation or revocation lives.
 *
 * These pairs are also the keys state resolution's iterative auth checks take from the partially
 * resolved state rather than from the event's own auth events — so a forked event's device is
 * judged by the *resolved* device record (a revocation on the other fork counts), a device record
 * by the resolved record it would replace (a revoked record stays final), and an invite-link join
 * by the resolved link (a revocation of the link counts).
 *
 * Malformed member content yields the pairs that can be read; the member rules reject the event.
 * Pairs are de-duplicated; the order is the spec's, keyroom.1's additions in the order above.
 *
 * @param signer - keyroom.1: the signing device, for an event that is being built and has no
 *   `signatures` yet; default: read from `event.signatures`. Ignored without `keySenders`.
 */
export function authTypesForEvent (
  rules: RoomVersionRules,
  event: Pick<PduLike, 'type' | 'sender' | 'state_key' | 'content' | 'signatures'>,
  signer?: string
): StateKeyPair[] {
  if (event.type === EventType.Create) return []
  const pairs: StateKeyPair[] = []
  const add = (type: string, stateKey: string): void => {
    for (const [t, k] of pairs) if (t === type && k === stateKey) return
    pairs.push([type, stateKey])
  }
  if (!rules.roomIdIsCreateEventHash) add(EventType.Create, '')
  add(EventType.PowerLevels, '')
  add(EventType.Member, event.sender)
  if (event.type === EventType.Member) {
    if (event.state_key !== undefined) add(EventType.Member, event.state_key)
    const membership = getString(event.content, 'membership')
    if (membership === 'join' || membership === 'invite' || membership === 'knock') add(EventType.JoinRules, '')
    // Matrix: a 3pid `invite`; keyroom.1 also an invite-link `join` (no server mints the invite).
    if (membership === 'invite' || (rules.keySenders && membership === 'join')) {
      const tpi = getOwn(event.content, 'third_party_invite')
      const signed = isJsonObject(tpi) ? getOwn(tpi, 'signed') : undefined
      const token = isJsonObject(signed) ? getString(signed, 'token') : undefined
      if (token !== undefined) add(EventType.ThirdPartyInvite, token)
    }
    if (membership === 'join' && rules.restrictedJoinRule) {
      const via = getString(event.content, 'join_authorised_via_users_server')
      if (via !== undefined) add(EventType.Member, via)
    }
  }
  if (rules.keySenders) {
    // The record a `keyroom.device` event replaces, as a member event lists the target's: the
    // rules read it ("a record of another user cannot be replaced", "a revoked record is final").
    if (event.type === EventType.KeyroomDevice && event.state_key !== undefined) add(EventType.KeyroomDevice, event.state_key)
    const device = signer ?? signingDeviceOf(event)
    if (device !== undefined) add(EventType.KeyroomDevice, device)
  }
  return pairs
}

/**
 * Room version 12 (MSC4291): the ID of the `m.room.create` event a room ID denotes — the room ID
 * with the sigil `$` instead of `!` — or `undefined` for a string that is not a room ID.
 */
export function createEventIdForRoom (roomId: string | undefined): string | undefined {
  if (roomId === undefined || roomId.length < 2 || roomId.charCodeAt(0) !== 0x21 /* ! */) return undefined
  return '$' + roomId.slice(1)
}

/** Lookups the state-independent rules need. */
export interface AuthEventSource {
  /** The event with this ID, as stored (validated here); `undefined` if unknown. */
  readonly getEvent: (eventId: string) => unknown
  /** Whether an event was rejected on receipt. Default: none is. */
  readonly isRejected?: ((eventId: string) => boolean) | undefined
}

function reject (rule: string, text: string): AuthResult {
  return { ok: false, rule: `${rule}: ${text}` }
}

function load (source: AuthEventSource, eventId: string): PduLike | undefined {
  const parsed = parsePdu(source.getEvent(eventId), eventId)
  return parsed.ok ? parsed.pdu : undefined
}

/**
 * The state-independent rules about an event's `auth_events`: v1–v11 rule 2.1–2.5, v12 rules 2
 * and 3.1–3.5 (keyroom.1: as v11, the create event is listed). Rules are tried in the spec's
 * order over all entries, so the lowest-numbered broken rule is reported. An `m.room.create`
 * event passes (it has no auth events; rule 1 is in {@link checkAuth}).
 *
 * An auth event that cannot be loaded or is malformed cannot be checked against rules 2.2–2.5
 * and rejects the event under the rule's section number.
 *
 * Rule 2.2 uses {@link authTypesForEvent}, so in keyroom.1 the signing device's `keyroom.device`
 * record and an invite-link join's `m.room.third_party_invite` are accepted entries (and no
 * other device's record is).
 */
export function checkAuthEvents (rules: RoomVersionRules, event: PduLike, source: AuthEventSource): AuthResult {
  if (event.type === EventType.Create) return { ok: true }
  const n = ruleNumbers(rules)
  const isRejected = source.isRejected ?? (() => false)

  // v12 rule 2: "If the event's room_id is not an event ID for an accepted (not rejected)
  // m.room.create event, with the sigil ! instead of $, reject."
  if (rules.roomIdIsCreateEventHash) {
    const createId = createEventIdForRoom(event.room_id)
    const create = createId === undefined ? undefined : load(source, createId)
    if (createId === undefined || create === undefined || create.type !== EventType.Create || create.state_key !== '' || isRejected(createId)) {
      return reject(n.roomId ?? n.authEvents, 'room_id is not the ID of an accepted m.room.create event')
    }
  }

  const entries: Array<{ id: string, pdu: PduLike }> = []
  for (const id of event.auth_events) {
    const pdu = load(source, id)
    if (pdu === undefined) return reject(n.authEvents, `auth event ${id} is unavailable or malformed`)
    entries.push({ id, pdu })
  }
  // 1. "If there are duplicate entries for a given type and state_key pair, reject."
  const seen = new Set<string>()
  for (const { pdu } of entries) {
    const key = JSON.stringify([pdu.type, pdu.state_key ?? null])
    if (seen.has(key)) return reject(`${n.authEvents}.1`, `duplicate auth events for (${pdu.type}, ${pdu.state_key ?? '<none>'})`)
    seen.add(key)
  }
  // 2. "If there are entries whose type and state_key don't match those specified by the auth
  //    events selection algorithm ..., reject." (v12: m.room.create must not be selected.)
  const expected = new Set(authTypesForEvent(rules, event).map(([t, k]) => JSON.stringify([t, k])))
  for (const { pdu } of entries) {
    if (pdu.state_key === undefined || !expected.has(JSON.stringify([pdu.type, pdu.state_key]))) {
      return reject(`${n.authEvents}.2`, `auth event (${pdu.type}, ${pdu.state_key ?? '<none>'}) is not one the auth events selection names`)
    }
  }
  // 3. "If there are entries which were themselves rejected ..., reject."
  for (const { id } of entries) {
    if (isRejected(id)) return reject(`${n.authEvents}.3`, `auth event ${id} was rejected`)
  }
  // 4. (v1–v11) "If there is no m.room.create event among the entries, reject."
  if (!rules.roomIdIsCreateEventHash && !entries.some(({ pdu }) => pdu.type === EventType.Create && pdu.state_key === '')) {
    return reject(`${n.authEvents}.4`, 'no m.room.create event among the auth events')
  }
  // 5. "If any event in auth_events has a room_id which does not match that of the event being
  //    authorised, reject."
  for (const { id, pdu } of entries) {
    if (pdu.room_id !== event.room_id) return reject(`${n.authEvents}.5`, `auth event ${id} is in another room`)
  }
  return { ok: true }
}

/**
 * The auth state an event's own `auth_events` give: each loadable, not rejected auth event under
 * its `(type, state_key)`, and in room version 12 the `m.room.create` event its room ID names.
 * Use it with {@link checkAuth} for the receipt check "passes authorisation rules based on the
 * event's auth events".
 */
export function authStateFromAuthEvents (rules: RoomVersionRules, event: PduLike, source: AuthEventSource): AuthStateLookup {
  const isRejected = source.isRejected ?? (() => false)
  const state = new Map<string, PduLike>()
  const put = (id: string): void => {
    const pdu = load(source, id)
    if (pdu !== undefined && pdu.state_key !== undefined && !isRejected(id)) state.set(JSON.stringify([pdu.type, pdu.state_key]), pdu)
  }
  if (rules.roomIdIsCreateEventHash && event.type !== EventType.Create) {
    const createId = createEventIdForRoom(event.room_id)
    if (createId !== undefined) put(createId)
  }
  for (const id of event.auth_events) put(id)
  return (type, stateKey) => state.get(JSON.stringify([type, stateKey]))
}
