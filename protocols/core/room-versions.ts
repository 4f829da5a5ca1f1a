/**
 * Room-version behaviour as data (ruma `RoomVersionRules`): code branches on these flags, never
 * on version strings.
 *
 * Sources: the Matrix specification's room version pages (v1–v12) and, for `keyroom.1`,
 * docs/protocol.md: Matrix room version 12 with the room ID being the Room Root Key (MSC3917),
 * UPK senders signed by an attested UDK (MSC2787), and redaction that keeps the MSC3917 keys.
 */
import { ErrorCode, KeyroomError } from './errors.js'

/** Event ID format: v1/v2 are chosen by the origin server; v3 standard base64; v4+ URL-safe. */
export type EventIdFormat = 'origin' | 'hash-std' | 'hash-url'

/** Which redaction algorithm generation applies (spec "Redactions" per room version). */
export interface RedactionRules {
  /** v1–v5: `m.room.aliases` keeps `aliases` (removed from v6 on, MSC2432). */
  keepAliases: boolean
  /** v1–v10: top-level `origin`, `membership` and `prev_state` survive redaction (removed in v11, MSC2176). */
  keepOriginMembershipPrevState: boolean
  /** v8+: `m.room.join_rules` keeps `allow` (MSC3083). */
  keepJoinRulesAllow: boolean
  /** v9+: `m.room.member` keeps `join_authorised_via_users_server` (MSC3375). */
  keepJoinAuthorisedVia: boolean
  /** v11+: `m.room.create` keeps its whole content (MSC2176); before, only `creator`. */
  keepAllCreateContent: boolean
  /** v11+: `m.room.redaction` keeps `redacts` in content (MSC2174/MSC2176). */
  keepRedactsInContent: boolean
  /** v11+: `m.room.power_levels` keeps `invite` (MSC2176). */
  keepPowerLevelsInvite: boolean
  /** v11+: `m.room.member` keeps `third_party_invite.signed` (MSC3821). */
  keepThirdPartyInviteSigned: boolean
  /** keyroom.1: keep the MSC3917 keys so membership chains stay verifiable after redaction. */
  keepMsc3917Keys: boolean
}

/** The rules for one room version. */
export interface RoomVersionRules {
  /** The version string as it appears in `m.room.create` content. */
  id: string
  /** Event ID derivation. */
  eventIdFormat: EventIdFormat
  /** State resolution algorithm: v1 (room v1 only), v2, or v2.1 (MSC4297, room v12). */
  stateRes: 'v1' | 'v2' | 'v2.1'
  /** Redaction algorithm flags. */
  redaction: RedactionRules
  /** v6+: strict canonical JSON — integers only, within ±(2^53−1) (MSC2540 and spec v6). */
  strictCanonicalJson: boolean
  /** v6+: `m.room.aliases` has no special auth rule (MSC2432). */
  specialCaseAliasesAuth: boolean
  /**
   * v1–v2: `m.room.redaction` has its own auth rule (sender ≥ redact level, or the redaction and the
   * redacted event come from the same event-ID domain). Removed in v3 ("redaction events are subject
   * to auth rules in the same way as any other event"; v3 "Authorization rules").
   */
  specialCaseRedactionAuth: boolean
  /** v6+: the power-levels auth rule also guards `notifications` like `events` (MSC2209, v6 "Authorization rules"). */
  notificationsPowerLevels: boolean
  /** v7+: knocking (MSC2403). */
  allowKnocking: boolean
  /** v8+: `restricted` join rule (MSC3083). */
  restrictedJoinRule: boolean
  /** v10+: `knock_restricted` join rule (MSC3787). */
  knockRestrictedJoinRule: boolean
  /** v10+: power level values must be integers, not strings (MSC3667). */
  integerPowerLevels: boolean
  /** v11+: `m.room.create` has no `creator`; the sender is the creator (MSC2175). */
  creatorIsSender: boolean
  /** v11+: `redacts` lives in content (MSC2174). */
  redactsInContent: boolean
  /** v12: creators (sender + `additional_creators`) have unbounded power (MSC4289). */
  privilegedCreators: boolean
  /** v12: the room ID is the create event's reference hash; the create event has no `room_id` and is never listed in `auth_events` (MSC4291). */
  roomIdIsCreateEventHash: boolean
  /** keyroom.1: the room ID is the Room Root Key and the create content carries its signature (MSC3917). */
  roomIdIsRootKey: boolean
  /** keyroom.1: `sender` is a UPK and signatures are by a UDK attested in the auth state (MSC2787). */
  keySenders: boolean
}

const REDACTION_V1: RedactionRules = {
  keepAliases: true,
  keepOriginMembershipPrevState: true,
  keepJoinRulesAllow: false,
  keepJoinAuthorisedVia: false,
  keepAllCreateContent: false,
  keepRedactsInContent: false,
  keepPowerLevelsInvite: false,
  keepThirdPartyInviteSigned: false,
  keepMsc3917Keys: false
}
const REDACTION_V6: RedactionRules = { ...REDACTION_V1, keepAliases: false }
const REDACTION_V8: RedactionRules = { ...REDACTION_V6, keepJoinRulesAllow: true }
const REDACTION_V9: RedactionRules = { ...REDACTION_V8, keepJoinAuthorisedVia: true }
const REDACTION_V11: RedactionRules = {
  ...REDACTION_V9,
  keepOriginMembershipPrevState: false,
  keepAllCreateContent: true,
  keepRedactsInContent: true,
  keepPowerLevelsInvite: true,
  keepThirdPartyInviteSigned: true
}

const V1: RoomVersionRules = {
  id: '1',
  eventIdFormat: 'origin',
  stateRes: 'v1',
  redaction: REDACTION_V1,
  strictCanonicalJson: false,
  specialCaseAliasesAuth: true,
  specialCaseRedactionAuth: true,
  notificationsPowerLevels: false,
  allowKnocking: false,
  restrictedJoinRule: false,
  knockRestrictedJoinRule: false,
  integerPowerLevels: false,
  creatorIsSender: false,
  redactsInContent: false,
  privilegedCreators: false,
  roomIdIsCreateEventHash: false,
  roomIdIsRootKey: false,
  keySenders: false
}
const V2: RoomVersionRules = { ...V1, id: '2', stateRes: 'v2' }
const V3: RoomVersionRules = { ...V2, id: '3', eventIdFormat: 'hash-std', specialCaseRedactionAuth: false }
const V4: RoomVersionRules = { ...V3, id: '4', eventIdFormat: 'hash-url' }
const V5: RoomVersionRules = { ...V4, id: '5' }
const V6: RoomVersionRules = { ...V5, id: '6', redaction: REDACTION_V6, strictCanonicalJson: true, specialCaseAliasesAuth: false, notificationsPowerLevels: true }
const V7: RoomVersionRules = { ...V6, id: '7', allowKnocking: true }
const V8: RoomVersionRules = { ...V7, id: '8', redaction: REDACTION_V8, restrictedJoinRule: true }
const V9: RoomVersionRules = { ...V8, id: '9', redaction: REDACTION_V9 }
const V10: RoomVersionRules = { ...V9, id: '10', knockRestrictedJoinRule: true, integerPowerLevels: true }
const V11: RoomVersionRules = { ...V10, id: '11', redaction: REDACTION_V11, creatorIsSender: true, redactsInContent: true }
const V12: RoomVersionRules = { ...V11, id: '12', stateRes: 'v2.1', privilegedCreators: true, roomIdIsCreateEventHash: true }
const KEYROOM_1: RoomVersionRules = {
  ...V12,
  id: 'keyroom.1',
  redaction: { ...REDACTION_V11, keepMsc3917Keys: true },
  roomIdIsCreateEventHash: false,
  roomIdIsRootKey: true,
  keySenders: true
}

/** keyroom's own room version: the one every room created by keyroom uses. */
export const KEYROOM_ROOM_VERSION = 'keyroom.1'

const RULES: ReadonlyMap<string, RoomVersionRules> = new Map(
  [V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12, KEYROOM_1].map(r => [r.id, Object.freeze(r)])
)

/** The rules for a room version, or `undefined` if unknown. */
export function findRoomVersion (version: string): RoomVersionRules | undefined {
  return RULES.get(version)
}

/** The rules for a room version; throws `ERR_UNKNOWN_ROOM_VERSION` if unknown. */
export function roomVersionRules (version: string): RoomVersionRules {
  const rules = RULES.get(version)
  if (rules === undefined) {
    throw new KeyroomError(ErrorCode.UnknownRoomVersion, `unknown room version ${JSON.stringify(version)}`)
  }
  return rules
}

/** Every room version this code knows, in order. */
export const ROOM_VERSIONS: readonly string[] = [...RULES.keys()]
