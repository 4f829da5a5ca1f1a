/**
 * keyroom.1 authorization additions (docs/protocol.md; DESIGN §3 step 2): the checks that run in
 * addition to the Matrix room version 12 authorization rules for every room whose rules have
 * `keySenders`.
 *
 * Numbered like the spec numbers its rules; the `rule` string of a refusal names the step:
 *
 * K1. The event has exactly one signature, by a UDK (`keyroom.signature`). The signature itself
 *     was verified at ingest (events `checkEventIntegrity` with the UDK named in `signatures`,
 *     whose public key is its own text form); here it only matters *who* signed.
 * K2. `sender` is a user ID (UPK) and `room_id` a room ID (RRK) (`keyroom.sender`, `keyroom.room_id`).
 * K3. The room's root: for `m.room.create`, `room_root_key` = the room ID's key, `creator_key` =
 *     `sender`, `room_version` = this version and a valid RRK signature over the content
 *     (MSC3917); for every other event, the `m.room.create` of the auth state is that event
 *     (same `room_id`, matching `room_root_key`, valid RRK signature) (`keyroom.create.*`).
 * K4. The signing UDK is attested by `sender` in the auth state and not revoked there; the
 *     attestation is in force at the event's `origin_server_ts` (`keyroom.attestation.*`,
 *     `keyroom.device.revoked`). Where the attestation is found, in this order:
 *       1. the `keyroom.device` state event whose state key is the UDK, sent by `sender`:
 *          `content.attestation`; its `content.revocation` revokes the UDK for events with
 *          `origin_server_ts` ≥ `revoked_ts` (a revocation event may carry the attestation it
 *          ends, so that the device's earlier events stay verifiable against later state);
 *       2. the sender's `m.room.member` join in the auth state: `content.sender_key`;
 *       3. the event itself, when it introduces the UDK: `m.room.create` (`sender_key`), an
 *          `m.room.member` event about the sender themself (`sender_key`: a join, a leave, a
 *          knock), a `keyroom.device` attestation of the signing UDK.
 *     Only statements about (`sender`, signing UDK) count; a record about another UPK's key is
 *     skipped, so one UPK can never lend a device to another.
 * K5. MSC3917 fields present and consistent (`keyroom.msc3917.*`): member invites and joins carry
 *     `user_key` = state key, `room_root_key` = the room's, `sender_key` = an attestation of the
 *     signer by the sender, `parent_event_id`; public/restricted join rules, invite links and
 *     space children carry `sender_key` and `parent_event_id` (and, for a space child, the
 *     child's `room_root_key`; for an invite link, a state key that is the link key's text).
 * K6. `keyroom.device` (`keyroom.device.*`): the state key is a device ID; the sender is joined;
 *     the content is an attestation and/or a revocation by the sender of that UDK; a UDK another
 *     user recorded cannot be overwritten; a revoked UDK is never re-attested (nor un-revoked).
 *     These events are a member's statements about their own keys and are *not* governed by the
 *     power levels' `state_default`: see room-auth.ts for how that exemption reaches the Matrix
 *     rules.
 *
 * The soft-fail check (decide.ts, against the current state) passes `now`: an attestation that has
 * expired by `now`, or a revocation in force by `now`, then also refuses the event, so a lost
 * device cannot keep talking by back-dating its events.
 */
import { toBase64Url } from '../encoding/base64.js'
import { roomVersionRules } from '../room-versions.js'
import type { RoomVersionRules } from '../room-versions.js'
import type { Attestation } from '../identity/index.js'
import { AttestationCache, attestationInForceAt } from './attestation-cache.js'
import { RoomEventType, ContentField } from './constants.js'
import { decodeKey, deviceKey, eventSigner, isObject, membershipOf, own, ownString, roomKey, rootKeyText, userKey } from './event-fields.js'
import type { AuthOutcome, EventView, StateLookup } from './types.js'

/** Options of {@link checkKeyroomAuth}. */
export interface KeyroomAuthOptions {
  /** Room version rules; keyroom.1 by default. */
  rules?: RoomVersionRules
  /** Verified-statement cache; a shared module-level one by default. */
  attestations?: AttestationCache
  /**
   * The current time, for the soft-fail check against the current state: attestations must
   * also be in force at `now`, and revocations in force by `now` apply whatever the event's
   * timestamp. Omit it for the checks against the auth events and the state before the event.
   */
  now?: number
}

/** The module's default cache, shared by callers that do not bring their own. */
export const defaultAttestationCache = new AttestationCache()

const KEYROOM_RULES = roomVersionRules('keyroom.1')

const OK: AuthOutcome = Object.freeze({ ok: true })

function refuse (rule: string): AuthOutcome {
  return { ok: false, rule }
}

/** Join rules under which a join needs no invite, so the rules event carries MSC3917 fields. */
const OPEN_JOIN_RULES: ReadonlySet<string> = new Set(['public', 'restricted', 'knock_restricted'])

/** What the auth state says about one (user, device) pair. */
export interface DeviceStanding {
  /** The attestation in force for the pair, if any source has one. */
  attestation?: Attestation
  /** `revoked_ts` of a revocation of the pair, if the state holds one. */
  revokedTs?: number
}

/**
 * Looks up what the auth state says about `deviceId` of `userId` (K4 sources 1 and 2; the event's
 * own introduction, source 3, is the caller's).
 */
export function deviceStanding (userId: string, deviceId: string, authState: StateLookup, cache: AttestationCache): DeviceStanding {
  const standing: DeviceStanding = {}
  const record = authState(RoomEventType.Device, deviceId)
  if (record !== undefined && record.sender === userId) {
    const revocation = own(record.content, ContentField.Revocation)
    if (revocation !== undefined) {
      const check = cache.revocation(revocation)
      if (check.ok && check.revocation.upk === userId && check.revocation.udk === deviceId) standing.revokedTs = check.revocation.revokedTs
    }
    const attestation = matchingAttestation(own(record.content, ContentField.Attestation), userId, deviceId, cache)
    if (attestation !== undefined) standing.attestation = attestation
  }
  if (standing.attestation === undefined) {
    const member = authState(RoomEventType.Member, userId)
    if (member !== undefined && membershipOf(member) === 'join' && member.sender === userId) {
      const attestation = matchingAttestation(own(member.content, ContentField.SenderKey), userId, deviceId, cache)
      if (attestation !== undefined) standing.attestation = attestation
    }
  }
  return standing
}

/** The attestation in `value` if it is genuine and about exactly (`userId`, `deviceId`). */
export function matchingAttestation (value: unknown, userId: string, deviceId: string, cache: AttestationCache): Attestation | undefined {
  if (value === undefined) return undefined
  const check = cache.attestation(value)
  if (!check.ok || check.attestation.upk !== userId || check.attestation.udk !== deviceId) return undefined
  return check.attestation
}

/** The attestation an event introduces for its own signer (K4 source 3), if it may. */
function selfIntroduction (event: EventView, deviceId: string, cache: AttestationCache): Attestation | undefined {
  switch (event.type) {
    case RoomEventType.Create:
      return matchingAttestation(own(event.content, ContentField.SenderKey), event.sender, deviceId, cache)
    case RoomEventType.Member:
      if (event.state_key !== event.sender) return undefined
      return matchingAttestation(own(event.content, ContentField.SenderKey), event.sender, deviceId, cache)
    case RoomEventType.Device:
      if (event.state_key !== deviceId) return undefined
      return matchingAttestation(own(event.content, ContentField.Attestation), event.sender, deviceId, cache)
    default:
      return undefined
  }
}

/**
 * The keyroom.1 authorization additions (K1–K6 above), to run in addition to the Matrix rules.
 *
 * @param event - the event being authorized (after the ingest checks).
 * @param authState - the state to judge it against: its auth events, the state before it, or the
 *   current state.
 * @returns `{ ok: true }` or `{ ok: false, rule }`. Never throws on bad data.
 */
export function checkKeyroomAuth (event: EventView, authState: StateLookup, options: KeyroomAuthOptions = {}): AuthOutcome {
  const rules = options.rules ?? KEYROOM_RULES
  const cache = options.attestations ?? defaultAttestationCache
  const now = options.now

  // K1: exactly one signature, by a UDK.
  const signer = eventSigner(event)
  if (!signer.ok) return refuse(`keyroom.signature.${signer.problem}`)
  const deviceId = signer.deviceId

  // K2: the sender is a UPK, the room a RRK.
  if (userKey(event.sender) === undefined) return refuse('keyroom.sender')
  const roomId = event.room_id
  if (roomId === undefined || roomKey(roomId) === undefined) return refuse('keyroom.room_id')
  const rootKey = rootKeyText(roomId)

  // K3: the room's root.
  if (event.type === RoomEventType.Create) {
    if (event.state_key !== '') return refuse('keyroom.create.state_key')
    if (own(event.content, 'room_version') !== rules.id) return refuse('keyroom.create.room_version')
    if (own(event.content, ContentField.RoomRootKey) !== rootKey) return refuse('keyroom.create.room_root_key')
    if (own(event.content, ContentField.CreatorKey) !== event.sender) return refuse('keyroom.create.creator_key')
    if (!cache.rrkSignature(event.content, roomId)) return refuse('keyroom.create.rrk_signature')
  } else {
    const create = authState(RoomEventType.Create, '')
    if (create === undefined) return refuse('keyroom.create.missing')
    if (create.room_id !== roomId) return refuse('keyroom.create.room_id')
    if (own(create.content, ContentField.RoomRootKey) !== rootKey) return refuse('keyroom.create.room_root_key')
    if (!cache.rrkSignature(create.content, roomId)) return refuse('keyroom.create.rrk_signature')
  }

  // K4: the signer is attested by the sender, unrevoked, in force.
  const ts = event.origin_server_ts
  const standing = deviceStanding(event.sender, deviceId, authState, cache)
  if (standing.revokedTs !== undefined && standing.revokedTs <= (now === undefined ? ts : Math.max(ts, now))) {
    return refuse('keyroom.device.revoked')
  }
  const attestation = standing.attestation ?? selfIntroduction(event, deviceId, cache)
  if (attestation === undefined) return refuse('keyroom.attestation.missing')
  if (!attestationInForceAt(attestation, ts) || (now !== undefined && !attestationInForceAt(attestation, now))) {
    return refuse('keyroom.attestation.expired')
  }

  // K5: MSC3917 fields.
  const fields = checkMsc3917Fields(event, deviceId, rootKey, cache)
  if (!fields.ok) return fields

  // K6: device records.
  if (event.type === RoomEventType.Device) return checkDeviceEvent(event, authState, cache)
  return OK
}

/** `sender_key` attests (sender, signer) and is in force at the event's timestamp. */
function senderKeyAttestsSigner (event: EventView, deviceId: string, cache: AttestationCache): boolean {
  const attestation = matchingAttestation(own(event.content, ContentField.SenderKey), event.sender, deviceId, cache)
  return attestation !== undefined && attestationInForceAt(attestation, event.origin_server_ts)
}

function hasParentEventId (event: EventView): boolean {
  const parent = ownString(event.content, ContentField.ParentEventId)
  return parent !== undefined && parent.length > 1 && parent.startsWith('$')
}

/** K5. */
function checkMsc3917Fields (event: EventView, deviceId: string, rootKey: string, cache: AttestationCache): AuthOutcome {
  const content = event.content
  let needsSenderFields = false
  switch (event.type) {
    case RoomEventType.Member: {
      const membership = membershipOf(event)
      if (membership === 'invite' || membership === 'join') {
        if (own(content, ContentField.UserKey) !== event.state_key) return refuse('keyroom.msc3917.user_key')
        if (own(content, ContentField.RoomRootKey) !== rootKey) return refuse('keyroom.msc3917.room_root_key')
        needsSenderFields = true
      } else if (own(content, ContentField.SenderKey) !== undefined && event.state_key === event.sender &&
        !senderKeyAttestsSigner(event, deviceId, cache)) {
        // An own leave or knock may introduce its signer; if it names an attestation, it must be the signer's.
        return refuse('keyroom.msc3917.sender_key')
      }
      break
    }
    case RoomEventType.JoinRules:
      needsSenderFields = OPEN_JOIN_RULES.has(ownString(content, 'join_rule') ?? '')
      break
    case RoomEventType.ThirdPartyInvite: {
      // An invite link; empty content (no public_key) is the Matrix way of revoking it.
      const publicKey = own(content, ContentField.PublicKey)
      if (publicKey === undefined) break
      const key = typeof publicKey === 'string' ? decodeKey(publicKey) : undefined
      if (key === undefined) return refuse('keyroom.msc3917.public_key')
      // The token (state key) is the link key's URL-safe text: one link, one key.
      if (event.state_key !== toBase64Url(key)) return refuse('keyroom.msc3917.token')
      needsSenderFields = true
      break
    }
    case RoomEventType.SpaceChild: {
      // A child is removed by content without `via` (Matrix spaces); only a live link is signed.
      if (own(content, 'via') === undefined) break
      const child = event.state_key
      if (roomKey(child) === undefined || own(content, ContentField.RoomRootKey) !== rootKeyText(child ?? '')) {
        return refuse('keyroom.msc3917.room_root_key')
      }
      needsSenderFields = true
      break
    }
    default:
      break
  }
  if (needsSenderFields) {
    if (!senderKeyAttestsSigner(event, deviceId, cache)) return refuse('keyroom.msc3917.sender_key')
    if (!hasParentEventId(event)) return refuse('keyroom.msc3917.parent_event_id')
  }
  return OK
}

/** K6. */
function checkDeviceEvent (event: EventView, authState: StateLookup, cache: AttestationCache): AuthOutcome {
  const deviceId = event.state_key
  if (deviceId === undefined || deviceKey(deviceId) === undefined) return refuse('keyroom.device.state_key')
  // "allowed for a joined sender about their own UDKs only"
  if (membershipOf(authState(RoomEventType.Member, event.sender)) !== 'join') return refuse('keyroom.device.not_joined')
  const existing = authState(RoomEventType.Device, deviceId)
  if (existing !== undefined) {
    if (existing.sender !== event.sender) return refuse('keyroom.device.other_user')
    // Once revoked, the record is final: no re-attestation, no moving `revoked_ts`.
    if (own(existing.content, ContentField.Revocation) !== undefined) return refuse('keyroom.device.already_revoked')
  }
  const attestationValue = own(event.content, ContentField.Attestation)
  const revocationValue = own(event.content, ContentField.Revocation)
  if (attestationValue === undefined && revocationValue === undefined) return refuse('keyroom.device.content')
  for (const key of Object.keys(isObject(event.content) ? event.content : {})) {
    if (key !== ContentField.Attestation && key !== ContentField.Revocation) return refuse('keyroom.device.content')
  }
  if (attestationValue !== undefined) {
    const attestation = matchingAttestation(attestationValue, event.sender, deviceId, cache)
    if (attestation === undefined) return refuse('keyroom.device.attestation')
    if (revocationValue === undefined && !attestationInForceAt(attestation, event.origin_server_ts)) {
      return refuse('keyroom.device.attestation_expired')
    }
  }
  if (revocationValue !== undefined) {
    const check = cache.revocation(revocationValue)
    if (!check.ok || check.revocation.upk !== event.sender || check.revocation.udk !== deviceId) {
      return refuse('keyroom.device.revocation')
    }
  }
  return OK
}
