/**
 * The spec's rule numbers for each room version, so a rejection names the rule as the room
 * version's page numbers it ("5.3.2: sender does not match state_key").
 *
 * The numbering shifts between versions: v1–v5 have rule 4 for `m.room.aliases` (removed in v6,
 * MSC2432), v1–v2 have rule 11 for `m.room.redaction` (removed in v3), v7 inserts the knock
 * membership (MSC2403), v8 the `join_authorised_via_users_server` signature and `restricted`
 * join rules (MSC3083), v10 the integer checks of `m.room.power_levels` (MSC3667), v12 rule 2 on
 * the room ID (MSC4291) and rule 10.4 on creators (MSC4289). Each number is computed from the
 * same flags the rules branch on.
 */
import type { RoomVersionRules } from '../room-versions.js'

/** Rule numbers (as dotted strings) for one room version. */
export interface RuleNumbers {
  readonly create: string
  readonly createPrev: string
  readonly createRoomId: string
  readonly createVersion: string
  /** v1–v10: 1.4 "no creator"; v12: 1.4 "additional_creators". */
  readonly createContent: string
  /** v12 (and keyroom.1): rule 2 on the room ID; `undefined` before. */
  readonly roomId: string | undefined
  readonly authEvents: string
  readonly federate: string
  readonly aliases: string | undefined
  readonly member: string
  readonly memberMissing: string
  readonly memberVia: string | undefined
  readonly join: string
  readonly invite: string
  readonly leave: string
  readonly ban: string
  readonly knock: string | undefined
  readonly memberUnknown: string
  readonly joinRestricted: string | undefined
  readonly joinPublic: string
  readonly joinOtherwise: string
  readonly senderJoined: string
  readonly thirdPartyInvite: string
  readonly requiredLevel: string
  readonly userStateKey: string
  readonly powerLevels: string
  readonly plIntFields: string | undefined
  readonly plMaps: string | undefined
  readonly plUsers: string
  readonly plCreators: string | undefined
  readonly plNoPrevious: string
  readonly plFields: string
  readonly plEventsOld: string
  readonly plEventsNew: string
  readonly plUsersOld: string
  readonly plUsersNew: string
  readonly redaction: string | undefined
  readonly otherwise: string
}

const cache = new WeakMap<RoomVersionRules, RuleNumbers>()

/** The rule numbers of the room version described by `rules`. */
export function ruleNumbers (rules: RoomVersionRules): RuleNumbers {
  const hit = cache.get(rules)
  if (hit !== undefined) return hit
  let top = 1
  const next = (): string => String(top++)
  const create = next()
  const roomId = rules.roomIdIsCreateEventHash || rules.roomIdIsRootKey ? next() : undefined
  const authEvents = next()
  const federate = next()
  const aliases = rules.specialCaseAliasesAuth ? next() : undefined
  const member = next()
  const senderJoined = next()
  const thirdPartyInvite = next()
  const requiredLevel = next()
  const userStateKey = next()
  const powerLevels = next()
  const redaction = rules.specialCaseRedactionAuth ? next() : undefined
  const otherwise = next()

  let m = 1
  const sub = (): string => `${member}.${m++}`
  const memberMissing = sub()
  const memberVia = rules.restrictedJoinRule ? sub() : undefined
  const join = sub()
  const invite = sub()
  const leave = sub()
  const ban = sub()
  const knock = rules.allowKnocking ? sub() : undefined
  const memberUnknown = sub()

  const joinRestricted = rules.restrictedJoinRule ? `${join}.5` : undefined
  const joinPublic = `${join}.${rules.restrictedJoinRule ? 6 : 5}`
  const joinOtherwise = `${join}.${rules.restrictedJoinRule ? 7 : 6}`

  let p = 1
  const pl = (): string => `${powerLevels}.${p++}`
  const plIntFields = rules.integerPowerLevels ? pl() : undefined
  const plMaps = rules.integerPowerLevels ? pl() : undefined
  const plUsers = pl()
  const plCreators = rules.privilegedCreators ? pl() : undefined
  const plNoPrevious = pl()
  const plFields = pl()
  const plEventsOld = pl()
  const plEventsNew = pl()
  const plUsersOld = pl()
  const plUsersNew = pl()

  const numbers: RuleNumbers = {
    create,
    createPrev: `${create}.1`,
    createRoomId: `${create}.2`,
    createVersion: `${create}.3`,
    createContent: `${create}.4`,
    roomId,
    authEvents,
    federate,
    aliases,
    member,
    memberMissing,
    memberVia,
    join,
    invite,
    leave,
    ban,
    knock,
    memberUnknown,
    joinRestricted,
    joinPublic,
    joinOtherwise,
    senderJoined,
    thirdPartyInvite,
    requiredLevel,
    userStateKey,
    powerLevels,
    plIntFields,
    plMaps,
    plUsers,
    plCreators,
    plNoPrevious,
    plFields,
    plEventsOld,
    plEventsNew,
    plUsersOld,
    plUsersNew,
    redaction,
    otherwise
  }
  cache.set(rules, numbers)
  return numbers
}
