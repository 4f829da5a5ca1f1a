/**
 * The authorization rules of Matrix room versions 1–12 (and keyroom.1, which is version 12 with
 * the room ID being the Room Root Key), as one function that branches on the room version's
 * flags.
 *
 * Sources: the room version pages, section "Authorization rules" (v1 and v3 fragments for
 * v1–v5, v6, v7, the v8 fragment for v8–v9, v10, v11, v12), the server-server API
 * ("Definitions", "Auth events selection") and MSC4289 (creator privileges). Comments quote the
 * rule they implement; rejections carry the rule number of the version in force
 * (see rule-numbers.ts).
 *
 * What {@link checkAuth} covers: rule 1 (`m.room.create`) and every rule that reads room state —
 * everything except the rules about the `auth_events` list itself, which are in
 * {@link checkAuthEvents} (state-independent, checked once on receipt). State resolution's
 * iterative auth checks run exactly `checkAuth`.
 *
 * Choices where the spec is silent (each matches Synapse):
 * - No `m.room.join_rules` event, or one without a string `join_rule`, counts as `invite`.
 * - A power-levels property that is absent on one side of a change is not compared ("If the
 *   current value is higher…": an added property has no current value; a removed one no new
 *   value).
 * - A power level that cannot be read where a rule needs it (a v1–v9 string that is not an
 *   integer, a `users` that is not an object) rejects the event under that rule.
 */
import { findRoomVersion } from '../room-versions.js'
import type { RoomVersionRules } from '../room-versions.js'
import { EventType } from './auth-events.js'
import { getOwn, getString, isJsonObject } from './pdu.js'
import type { PduLike } from './pdu.js'
import { INT_FIELDS, creatorsOf, fieldLevel, parsePowerLevels, requiredLevel, userLevel } from './power-levels.js'
import type { Creators, LevelMap, PowerLevelsContent } from './power-levels.js'
import { ruleNumbers } from './rule-numbers.js'
import type { RuleNumbers } from './rule-numbers.js'
import { thirdPartyInvitePublicKeys, verifyThirdPartyInviteSigned } from './third-party-invite.js'
import type { AuthHooks, AuthResult, AuthStateLookup } from './types.js'
import { domainOf, isValidUserId, userIdSigil } from './user-id.js'

const ALLOW: AuthResult = Object.freeze({ ok: true })

function reject (rule: string, text: string): AuthResult {
  return { ok: false, rule: `${rule}: ${text}` }
}

/** Everything the state-dependent rules read, gathered once per check. */
interface Context {
  readonly rules: RoomVersionRules
  readonly n: RuleNumbers
  readonly event: PduLike
  readonly state: AuthStateLookup
  readonly create: PduLike
  readonly creators: Creators
  readonly pl: PowerLevelsContent | undefined
  readonly hooks: AuthHooks
}

/** The `membership` of `userId` in the auth state, `undefined` when they have no member event. */
function membershipOf (ctx: Context, userId: string): string | undefined {
  const member = ctx.state(EventType.Member, userId)
  return member === undefined ? undefined : getString(member.content, 'membership')
}

/** The room's join rule; no join rules event (or no string `join_rule`) reads as `invite`. */
function joinRuleOf (ctx: Context): string {
  const jr = ctx.state(EventType.JoinRules, '')
  if (jr === undefined) return 'invite'
  const value = getOwn(jr.content, 'join_rule')
  return value === undefined ? 'invite' : typeof value === 'string' ? value : '<malformed>'
}

function levelOf (ctx: Context, userId: string): number | undefined {
  return userLevel(ctx.rules, ctx.pl, ctx.creators, userId)
}

/**
 * Check `event` against the room version's authorization rules, reading room state through
 * `authState`.
 *
 * Use it for each of the receipt checks (against the event's auth events — see
 * `authStateFromAuthEvents` and `checkAuthEvents` — the state before the event, and the current
 * state for soft failure) and for state resolution's iterative auth checks.
 *
 * @param rules - the room version's rules (`roomVersionRules(version)`).
 * @param event - the event to authorise (validated with `parsePdu`).
 * @param authState - the state to check against; in room version 12 it must also return the
 *   room's `m.room.create` event (which `auth_events` no longer list).
 * @param hooks - checks needing keys or keyroom's own rules (see {@link AuthHooks}).
 * @returns `{ ok: true }`, or `{ ok: false, rule }` naming the rule that rejects.
 */
export function checkAuth (rules: RoomVersionRules, event: PduLike, authState: AuthStateLookup, hooks: AuthHooks = {}): AuthResult {
  const result = matrixRules(rules, event, authState, hooks)
  if (!result.ok || hooks.extraRules === undefined) return result
  return hooks.extraRules(rules, event, authState)
}

function matrixRules (rules: RoomVersionRules, event: PduLike, state: AuthStateLookup, hooks: AuthHooks): AuthResult {
  const n = ruleNumbers(rules)

  // 1. "If type is m.room.create: …"
  if (event.type === EventType.Create) return checkCreate(rules, n, event)

  // The room version's own replacements for the rules below (AuthHooks.overrideRules).
  const override = hooks.overrideRules?.(rules, event, state)
  if (override !== undefined) return override

  // The create event is in every auth state: v1–v11 rule 2.4 requires it among the auth events,
  // v12 rule 2 derives it from the room ID.
  const create = state(EventType.Create, '')
  if (create === undefined || create.type !== EventType.Create) {
    return reject(n.roomId ?? `${n.authEvents}.4`, 'no m.room.create event in the auth state')
  }
  const creators = creatorsOf(rules, create)
  const plEvent = state(EventType.PowerLevels, '')
  const pl = plEvent === undefined ? undefined : parsePowerLevels(rules, plEvent.content)
  const ctx: Context = { rules, n, event, state, create, creators, pl, hooks }

  // 3 (v12: 4). "If the content of the m.room.create event in the room state has the property
  // m.federate set to false, and the sender domain of the event does not match the sender
  // domain of the create event, reject." keyroom's user IDs have no domain: not applicable.
  if (!rules.keySenders && getOwn(create.content, 'm.federate') === false && domainOf(event.sender) !== domainOf(create.sender)) {
    return reject(n.federate, 'room is not federated and the sender is on another server than the creator')
  }

  // 4 (v1–v5 only). "If type is m.room.aliases: …"
  if (n.aliases !== undefined && event.type === EventType.Aliases) {
    // 4.1 "If event has no state_key, reject."
    if (event.state_key === undefined) return reject(`${n.aliases}.1`, 'm.room.aliases event has no state_key')
    // 4.2 "If sender's domain doesn't match state_key, reject."
    if (domainOf(event.sender) !== event.state_key) return reject(`${n.aliases}.2`, "sender's domain does not match state_key")
    // 4.3 "Otherwise, allow."
    return ALLOW
  }

  // "If type is m.room.member: …"
  if (event.type === EventType.Member) return checkMember(ctx)

  // "If the sender's current membership state is not join, reject."
  if (membershipOf(ctx, event.sender) !== 'join') return reject(n.senderJoined, 'sender not joined')

  const senderLevel = levelOf(ctx, event.sender)

  // "If type is m.room.third_party_invite: Allow if and only if sender's current power level is
  // greater than or equal to the invite level."
  if (event.type === EventType.ThirdPartyInvite) {
    const invite = fieldLevel(pl, 'invite')
    if (senderLevel === undefined || invite === undefined) return reject(`${n.thirdPartyInvite}.1`, 'malformed m.room.power_levels')
    return senderLevel >= invite ? ALLOW : reject(`${n.thirdPartyInvite}.1`, "sender's power level is below the invite level")
  }

  // "If the event type's required power level is greater than the sender's power level, reject."
  const required = requiredLevel(pl, event.type, event.state_key !== undefined)
  if (senderLevel === undefined || required === undefined) return reject(n.requiredLevel, 'malformed m.room.power_levels')
  if (required > senderLevel) return reject(n.requiredLevel, "sender's power level is below the event's required power level")

  // "If the event has a state_key that starts with an @ and does not match the sender, reject."
  // (keyroom.1: user IDs are `~` UPKs, so the user-ID sigil is `~`.)
  if (event.state_key !== undefined && event.state_key.startsWith(userIdSigil(rules)) && event.state_key !== event.sender) {
    return reject(n.userStateKey, "state_key is another user's ID")
  }

  // "If type is m.room.power_levels: …"
  if (event.type === EventType.PowerLevels) return checkPowerLevels(ctx, senderLevel)

  // 11 (v1–v2 only). "If type is m.room.redaction: …"
  if (n.redaction !== undefined && event.type === EventType.Redaction) {
    // 11.1 "If the sender's power level is greater than or equal to the redact level, allow."
    const redact = fieldLevel(pl, 'redact')
    if (redact === undefined) return reject(`${n.redaction}.1`, 'malformed m.room.power_levels')
    if (senderLevel >= redact) return ALLOW
    // 11.2 "If the domain of the event_id of the event being redacted is the same as the domain
    // of the event_id of the m.room.redaction, allow."
    const redactedDomain = event.redacts === undefined ? undefined : domainOf(event.redacts)
    if (redactedDomain !== undefined && redactedDomain === domainOf(event.event_id)) return ALLOW
    // 11.3 "Otherwise, reject."
    return reject(`${n.redaction}.3`, 'sender may not redact events of another server')
  }

  // "Otherwise, allow."
  return ALLOW
}

/** Rule 1: `m.room.create`. */
function checkCreate (rules: RoomVersionRules, n: RuleNumbers, event: PduLike): AuthResult {
  // 1.1 "If it has any prev_events, reject."
  if (event.prev_events.length > 0) return reject(n.createPrev, 'm.room.create has prev_events')
  // 1.2
  if (rules.roomIdIsCreateEventHash) {
    // v12: "If the event has a room_id, reject." (the room ID is the create event's ID)
    if (event.room_id !== undefined) return reject(n.createRoomId, 'm.room.create has a room_id')
  } else if (rules.roomIdIsRootKey) {
    // keyroom.1: the room ID is the Room Root Key; the create event names it. That the RRK signed
    // the content is checked by membership verification (MSC3917), not here.
    if (event.room_id === undefined) return reject(n.createRoomId, 'm.room.create has no room_id')
  } else {
    // v1–v11: "If the domain of the room_id does not match the domain of the sender, reject."
    const roomDomain = event.room_id === undefined ? undefined : domainOf(event.room_id)
    if (roomDomain === undefined || roomDomain !== domainOf(event.sender)) {
      return reject(n.createRoomId, 'domain of room_id does not match the domain of the sender')
    }
  }
  // 1.3 "If content.room_version is present and is not a recognised version, reject."
  const version = getOwn(event.content, 'room_version')
  if (version !== undefined && (typeof version !== 'string' || findRoomVersion(version) === undefined)) {
    return reject(n.createVersion, 'unrecognised room_version')
  }
  // 1.4 (v1–v10) "If content has no creator property, reject."
  if (!rules.creatorIsSender && getOwn(event.content, 'creator') === undefined) {
    return reject(n.createContent, 'm.room.create content has no creator')
  }
  // 1.4 (v12) "If additional_creators is present in content and is not an array of strings where
  // each string passes the same user ID validation applied to sender, reject."
  if (rules.privilegedCreators) {
    const extra = getOwn(event.content, 'additional_creators')
    if (extra !== undefined && (!Array.isArray(extra) || !extra.every((id) => typeof id === 'string' && isValidUserId(rules, id)))) {
      return reject(n.createContent, 'additional_creators is not an array of valid user IDs')
    }
  }
  // "Otherwise, allow."
  return ALLOW
}

/** "If type is m.room.member: …" */
function checkMember (ctx: Context): AuthResult {
  const { n, event } = ctx
  const target = event.state_key
  // x.1 "If there is no state_key property, or no membership property in content, reject."
  if (target === undefined || getOwn(event.content, 'membership') === undefined) {
    return reject(n.memberMissing, 'no state_key or no membership')
  }
  // x.2 (v8+) "If content has a join_authorised_via_users_server key: If the event is not validly
  // signed by the homeserver of the user ID denoted by the key, reject."
  const via = getOwn(event.content, 'join_authorised_via_users_server')
  if (n.memberVia !== undefined && via !== undefined) {
    if (typeof via !== 'string') return reject(`${n.memberVia}.1`, 'join_authorised_via_users_server is not a user ID')
    if (ctx.hooks.verifyJoinAuthorisedVia !== undefined && !ctx.hooks.verifyJoinAuthorisedVia(event, via)) {
      return reject(`${n.memberVia}.1`, 'not validly signed by the server of join_authorised_via_users_server')
    }
  }
  const membership = getOwn(event.content, 'membership')
  switch (membership) {
    case 'join': return checkJoin(ctx, target, via)
    case 'invite': return checkInvite(ctx, target)
    case 'leave': return checkLeave(ctx, target)
    case 'ban': return checkBan(ctx, target)
    case 'knock': if (n.knock !== undefined) return checkKnock(ctx, target); break
  }
  // "Otherwise, the membership is unknown. Reject."
  return reject(n.memberUnknown, 'unknown membership')
}

function checkJoin (ctx: Context, target: string, via: unknown): AuthResult {
  const { rules, n, event } = ctx
  const j = n.join
  // .1 "If the only previous event is an m.room.create and the state_key is the creator (v11+:
  // the sender of the m.room.create), allow."
  if (event.prev_events.length === 1 && event.prev_events[0] === ctx.create.event_id && target === ctx.creators.primary) return ALLOW
  // .2 "If the sender does not match state_key, reject."
  if (event.sender !== target) return reject(`${j}.2`, 'sender does not match state_key')
  const current = membershipOf(ctx, target)
  // .3 "If the sender is banned, reject."
  if (current === 'ban') return reject(`${j}.3`, 'sender is banned')
  const joinRule = joinRuleOf(ctx)
  // .4 "If the join_rule is invite (v7+: or knock) then allow if membership state is invite or join."
  if ((joinRule === 'invite' || (rules.allowKnocking && joinRule === 'knock')) && (current === 'invite' || current === 'join')) return ALLOW
  // .5 (v8+) "If the join_rule is restricted (v10+: or knock_restricted):"
  if (n.joinRestricted !== undefined && ((rules.restrictedJoinRule && joinRule === 'restricted') || (rules.knockRestrictedJoinRule && joinRule === 'knock_restricted'))) {
    // .5.1 "If membership state is join or invite, allow."
    if (current === 'join' || current === 'invite') return ALLOW
    // .5.2 "If the join_authorised_via_users_server key in content is not a user with sufficient
    // permission to invite other users or is not a joined member of the room, reject."
    if (typeof via !== 'string' || membershipOf(ctx, via) !== 'join') {
      return reject(`${n.joinRestricted}.2`, 'join_authorised_via_users_server is not a joined member')
    }
    const viaLevel = levelOf(ctx, via)
    const invite = fieldLevel(ctx.pl, 'invite')
    if (viaLevel === undefined || invite === undefined) return reject(`${n.joinRestricted}.2`, 'malformed m.room.power_levels')
    if (viaLevel < invite) return reject(`${n.joinRestricted}.2`, 'join_authorised_via_users_server may not invite')
    // .5.3 "Otherwise, allow."
    return ALLOW
  }
  // "If the join_rule is public, allow."
  if (joinRule === 'public') return ALLOW
  // "Otherwise, reject."
  return reject(n.joinOtherwise, `join_rule ${joinRule} does not let the sender join`)
}

function checkInvite (ctx: Context, target: string): AuthResult {
  const { n, event } = ctx
  const i = n.invite
  // .1 "If content has a third_party_invite property:"
  const tpi = getOwn(event.content, 'third_party_invite')
  if (tpi !== undefined) {
    // .1.1 "If target user is banned, reject."
    if (membershipOf(ctx, target) === 'ban') return reject(`${i}.1.1`, 'target user is banned')
    // .1.2 "If content.third_party_invite does not have a signed property, reject."
    const signed = isJsonObject(tpi) ? getOwn(tpi, 'signed') : undefined
    if (!isJsonObject(signed)) return reject(`${i}.1.2`, 'third_party_invite has no signed object')
    // .1.3 "If signed does not have mxid and token properties, reject."
    const mxid = getOwn(signed, 'mxid')
    const token = getOwn(signed, 'token')
    if (typeof mxid !== 'string' || typeof token !== 'string') return reject(`${i}.1.3`, 'signed has no mxid or token')
    // .1.4 "If mxid does not match state_key, reject."
    if (mxid !== target) return reject(`${i}.1.4`, 'mxid does not match state_key')
    // .1.5 "If there is no m.room.third_party_invite event in the current room state with
    // state_key matching token, reject."
    const invite = ctx.state(EventType.ThirdPartyInvite, token)
    if (invite === undefined) return reject(`${i}.1.5`, 'no m.room.third_party_invite for the token')
    // .1.6 "If sender does not match sender of the m.room.third_party_invite, reject."
    if (event.sender !== invite.sender) return reject(`${i}.1.6`, 'sender is not the sender of the m.room.third_party_invite')
    // .1.7 "If any signature in signed matches any public key in the m.room.third_party_invite
    // event, allow."
    const keys = thirdPartyInvitePublicKeys(invite.content)
    const verify = ctx.hooks.verifyThirdPartyInvite ?? verifyThirdPartyInviteSigned
    if (verify(signed, keys)) return ALLOW
    // .1.8 "Otherwise, reject."
    return reject(`${i}.1.8`, 'no signature in signed matches a public key of the invite')
  }
  // .2 "If the sender's current membership state is not join, reject."
  if (membershipOf(ctx, event.sender) !== 'join') return reject(`${i}.2`, 'sender not joined')
  // .3 "If target user's current membership state is join or ban, reject."
  const current = membershipOf(ctx, target)
  if (current === 'join' || current === 'ban') return reject(`${i}.3`, `target user is already ${current}`)
  // .4 "If the sender's power level is greater than or equal to the invite level, allow."
  const senderLevel = levelOf(ctx, event.sender)
  const invite = fieldLevel(ctx.pl, 'invite')
  if (senderLevel === undefined || invite === undefined) return reject(`${i}.4`, 'malformed m.room.power_levels')
  if (senderLevel >= invite) return ALLOW
  // .5 "Otherwise, reject."
  return reject(`${i}.5`, "sender's power level is below the invite level")
}

function checkLeave (ctx: Context, target: string): AuthResult {
  const { rules, n, event } = ctx
  const l = n.leave
  // .1 "If the sender matches state_key, allow if and only if that user's current membership
  // state is invite, join (v7+: or knock)."
  if (event.sender === target) {
    const current = membershipOf(ctx, target)
    if (current === 'invite' || current === 'join' || (rules.allowKnocking && current === 'knock')) return ALLOW
    return reject(`${l}.1`, `cannot leave from membership ${current ?? 'none'}`)
  }
  // .2 "If the sender's current membership state is not join, reject."
  if (membershipOf(ctx, event.sender) !== 'join') return reject(`${l}.2`, 'sender not joined')
  const senderLevel = levelOf(ctx, event.sender)
  const targetLevel = levelOf(ctx, target)
  const ban = fieldLevel(ctx.pl, 'ban')
  const kick = fieldLevel(ctx.pl, 'kick')
  if (senderLevel === undefined || targetLevel === undefined || ban === undefined || kick === undefined) {
    return reject(`${l}.3`, 'malformed m.room.power_levels')
  }
  // .3 "If the target user's current membership state is ban, and the sender's power level is
  // less than the ban level, reject."
  if (membershipOf(ctx, target) === 'ban' && senderLevel < ban) return reject(`${l}.3`, "sender's power level is below the ban level (unban)")
  // .4 "If the sender's power level is greater than or equal to the kick level, and the target
  // user's power level is less than the sender's power level, allow."
  if (senderLevel >= kick && targetLevel < senderLevel) return ALLOW
  // .5 "Otherwise, reject."
  return reject(`${l}.5`, 'sender may not kick the target user')
}

function checkBan (ctx: Context, target: string): AuthResult {
  const { n, event } = ctx
  const b = n.ban
  // .1 "If the sender's current membership state is not join, reject."
  if (membershipOf(ctx, event.sender) !== 'join') return reject(`${b}.1`, 'sender not joined')
  const senderLevel = levelOf(ctx, event.sender)
  const targetLevel = levelOf(ctx, target)
  const ban = fieldLevel(ctx.pl, 'ban')
  if (senderLevel === undefined || targetLevel === undefined || ban === undefined) return reject(`${b}.2`, 'malformed m.room.power_levels')
  // .2 "If the sender's power level is greater than or equal to the ban level, and the target
  // user's power level is less than the sender's power level, allow."
  if (senderLevel >= ban && targetLevel < senderLevel) return ALLOW
  // .3 "Otherwise, reject."
  return reject(`${b}.3`, 'sender may not ban the target user')
}

function checkKnock (ctx: Context, target: string): AuthResult {
  const { rules, n, event } = ctx
  const k = n.knock as string
  // .1 "If the join_rule is anything other than knock (v10+: or knock_restricted), reject."
  const joinRule = joinRuleOf(ctx)
  if (joinRule !== 'knock' && !(rules.knockRestrictedJoinRule && joinRule === 'knock_restricted')) {
    return reject(`${k}.1`, `join_rule ${joinRule} does not allow knocking`)
  }
  // .2 "If sender does not match state_key, reject."
  if (event.sender !== target) return reject(`${k}.2`, 'sender does not match state_key')
  // .3 "If the sender's current membership is not ban, invite, or join, allow."
  const current = membershipOf(ctx, event.sender)
  if (current !== 'ban' && current !== 'invite' && current !== 'join') return ALLOW
  // .4 "Otherwise, reject."
  return reject(`${k}.4`, `cannot knock from membership ${current}`)
}

/** Is `map` (when present) an object whose values are all valid levels? */
function validLevelMap (map: LevelMap | null | undefined): boolean {
  if (map === undefined) return true
  if (map === null) return false
  for (const value of map.values()) if (value === null) return false
  return true
}

/**
 * The entries of one map (`events`, `notifications` or `users`) that differ between the current
 * and the new content, as `[key, current, new]` with `undefined` for absent; `'malformed'` when
 * either map, or a differing value, is not a power level.
 */
function changedEntries (
  current: LevelMap | null | undefined,
  next: LevelMap | null | undefined
): Array<[string, number | undefined, number | undefined]> | 'malformed' {
  if (current === null || next === null) return 'malformed'
  const keys = new Set<string>()
  if (current !== undefined) for (const key of current.keys()) keys.add(key)
  if (next !== undefined) for (const key of next.keys()) keys.add(key)
  const changed: Array<[string, number | undefined, number | undefined]> = []
  for (const key of keys) {
    const before = current?.get(key)
    const after = next?.get(key)
    if (before === null || after === null) return 'malformed'
    if (before !== after) changed.push([key, before, after])
  }
  return changed
}

/** "If type is m.room.power_levels: …" */
function checkPowerLevels (ctx: Context, senderLevel: number): AuthResult {
  const { rules, n, event } = ctx
  const next = parsePowerLevels(rules, event.content)

  if (n.plIntFields !== undefined && n.plMaps !== undefined) {
    // 1 (v10+) "If any of the properties users_default, events_default, state_default, ban,
    // redact, kick, or invite in content are present and not an integer, reject."
    for (const field of INT_FIELDS) {
      if (next.fields.get(field) === null) return reject(n.plIntFields, `${field} is not an integer`)
    }
    // 2 (v10+) "If either of the properties events or notifications in content are present and
    // not an object with values that are integers, reject."
    if (!validLevelMap(next.events) || !validLevelMap(next.notifications)) {
      return reject(n.plMaps, 'events or notifications is not an object of integers')
    }
  }
  // "If the users property in content is not an object with keys that are valid user IDs with
  // values that are integers (v1–v9: or a string that is an integer), reject."
  if (!validLevelMap(next.users)) return reject(n.plUsers, 'users is not an object of integer levels')
  if (next.users !== undefined && next.users !== null) {
    for (const userId of next.users.keys()) {
      if (!isValidUserId(rules, userId)) return reject(n.plUsers, `users has a key that is not a valid user ID: ${JSON.stringify(userId)}`)
    }
  }
  // 4 (v12) "If the users property in content contains the sender of the m.room.create event or
  // any of the additional_creators array (if present) from the content of the m.room.create
  // event, reject."
  if (n.plCreators !== undefined && next.users !== undefined && next.users !== null) {
    for (const creator of ctx.creators.all) {
      if (next.users.has(creator)) return reject(n.plCreators, 'users lists a room creator')
    }
  }
  // "If there is no previous m.room.power_levels event in the room, allow."
  const current = ctx.pl
  if (current === undefined) return ALLOW

  // "For the properties users_default, events_default, state_default, ban, redact, kick, invite
  // check if they were added, changed or removed. For each found alteration:
  //   If the current value is higher than the sender's current power level, reject.
  //   If the new value is higher than the sender's current power level, reject."
  for (const field of INT_FIELDS) {
    const before = current.fields.get(field)
    const after = next.fields.get(field)
    if (before === null || after === null) return reject(n.plFields, `${field} is not a power level`)
    if (before === after) continue
    if (before !== undefined && before > senderLevel) return reject(n.plFields, `sender may not change ${field} from ${before}`)
    if (after !== undefined && after > senderLevel) return reject(n.plFields, `sender may not set ${field} to ${after}`)
  }

  // "For each entry being changed in, or removed from, the events (v6+: or notifications)
  // properties: If the current value is greater than the sender's current power level, reject."
  // "For each entry being added to, or changed in, the events (v6+: or notifications)
  // properties: If the new value is greater than the sender's current power level, reject."
  const eventMaps = [changedEntries(current.events, next.events)]
  if (rules.notificationsPowerLevels) eventMaps.push(changedEntries(current.notifications, next.notifications))
  for (const changed of eventMaps) {
    if (changed === 'malformed') return reject(n.plEventsOld, 'events or notifications is not an object of power levels')
    for (const [key, before] of changed) {
      if (before !== undefined && before > senderLevel) return reject(n.plEventsOld, `sender may not change or remove the level of ${key} (${before})`)
    }
  }
  for (const changed of eventMaps) {
    if (changed === 'malformed') continue
    for (const [key, , after] of changed) {
      if (after !== undefined && after > senderLevel) return reject(n.plEventsNew, `sender may not set the level of ${key} to ${after}`)
    }
  }

  // "For each entry being changed in, or removed from, the users property, other than the
  // sender's own entry: If the current value is greater than or equal to the sender's current
  // power level, reject."
  // "For each entry being added to, or changed in, the users property: If the new value is
  // greater than the sender's current power level, reject."
  const users = changedEntries(current.users, next.users)
  if (users === 'malformed') return reject(n.plUsersOld, 'users is not an object of power levels')
  for (const [userId, before] of users) {
    if (userId !== event.sender && before !== undefined && before >= senderLevel) {
      return reject(n.plUsersOld, `sender may not change the level of ${userId} (${before}), at or above their own`)
    }
  }
  for (const [userId, , after] of users) {
    if (after !== undefined && after > senderLevel) return reject(n.plUsersNew, `sender may not raise ${userId} to ${after}, above their own level`)
  }

  // "Otherwise, allow."
  return ALLOW
}
