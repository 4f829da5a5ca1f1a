/**
 * Reading `m.room.power_levels` and `m.room.create` the way each room version's authorization
 * rules do.
 *
 * Value formats (room version pages):
 * - v10+ (`integerPowerLevels`, MSC3667): only JSON integers.
 * - v1–v9: integers, or strings holding an integer ("`m.room.power_levels` events accept values
 *   as strings": optional surrounding whitespace, optional single `+`/`-`, base-10 digits with any
 *   leading zeroes).
 * - v1–v5 (no strict canonical JSON): also JSON numbers with a fraction, truncated toward zero
 *   ("`m.room.power_levels` events accept values as floats").
 *
 * Defaults (client-server API, `m.room.power_levels`; server-server API, "Definitions"):
 * `users_default` 0, `events_default` 0, `state_default` 50, `ban` 50, `kick` 50, `redact` 50,
 * `invite` 0 — with or without a power levels event. Without one, the creator has 100 in
 * v1–v11; in v12 (MSC4289) the creators (sender + `additional_creators`) have an infinite level
 * always, represented here as `Infinity`, which compares above every integer.
 */
import type { RoomVersionRules } from '../room-versions.js'
import { getOwn, getString, isJsonObject } from './pdu.js'
import type { JsonObject, PduLike } from './pdu.js'

/** The integer-valued top-level properties of `m.room.power_levels` content. */
export const INT_FIELDS = ['users_default', 'events_default', 'state_default', 'ban', 'redact', 'kick', 'invite'] as const
/** One of {@link INT_FIELDS}. */
export type IntField = typeof INT_FIELDS[number]

/** Each property's value when the content (or the whole event) does not give one. */
export const DEFAULT_LEVELS: Readonly<Record<IntField, number>> = Object.freeze({
  users_default: 0,
  events_default: 0,
  state_default: 50,
  ban: 50,
  redact: 50,
  kick: 50,
  invite: 0
})

/** v1–v11: the creator's level when the room has no power levels event. */
export const CREATOR_DEFAULT_LEVEL = 100

const INT_STRING = /^\s*[+-]?[0-9]+\s*$/

/**
 * One power level value under the version's format rules: the number, or `null` when the value
 * is not a power level in this room version.
 */
export function parseLevel (rules: RoomVersionRules, value: unknown): number | null {
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return Number.isSafeInteger(value) || !rules.strictCanonicalJson ? value : null
    // Floats are only representable where canonical JSON is not enforced (v1–v5).
    return rules.strictCanonicalJson || !Number.isFinite(value) ? null : Math.trunc(value)
  }
  if (typeof value === 'string' && !rules.integerPowerLevels && INT_STRING.test(value)) {
    const n = Number(value.trim())
    return Number.isFinite(n) ? n : null
  }
  return null
}

/** A parsed `events` / `notifications` / `users` map: key → level, or `null` for a bad value. */
export type LevelMap = ReadonlyMap<string, number | null>

/** `m.room.power_levels` content, parsed once under one room version's rules. */
export interface PowerLevelsContent {
  /** Present integer properties: the level, or `null` when the value is not a power level. */
  readonly fields: ReadonlyMap<IntField, number | null>
  /** `undefined` when absent, `null` when present but not an object. */
  readonly events: LevelMap | null | undefined
  readonly notifications: LevelMap | null | undefined
  readonly users: LevelMap | null | undefined
}

function parseLevelMap (rules: RoomVersionRules, value: unknown): LevelMap | null | undefined {
  if (value === undefined) return undefined
  if (!isJsonObject(value)) return null
  const map = new Map<string, number | null>()
  for (const key of Object.keys(value)) map.set(key, parseLevel(rules, value[key]))
  return map
}

const parsedCache = new WeakMap<JsonObject, { rules: RoomVersionRules, value: PowerLevelsContent }>()

/** Parse power levels content (memoised per content object and rules). */
export function parsePowerLevels (rules: RoomVersionRules, content: JsonObject): PowerLevelsContent {
  const hit = parsedCache.get(content)
  if (hit !== undefined && hit.rules === rules) return hit.value
  const fields = new Map<IntField, number | null>()
  for (const field of INT_FIELDS) {
    const raw = getOwn(content, field)
    if (raw !== undefined) fields.set(field, parseLevel(rules, raw))
  }
  const value: PowerLevelsContent = {
    fields,
    events: parseLevelMap(rules, getOwn(content, 'events')),
    notifications: parseLevelMap(rules, getOwn(content, 'notifications')),
    users: parseLevelMap(rules, getOwn(content, 'users'))
  }
  parsedCache.set(content, { rules, value })
  return value
}

/**
 * The room's creators as the version defines them: v1–v10 `content.creator`; v11+ the create
 * event's `sender` (MSC2175); v12 also every string in `content.additional_creators` (MSC4289).
 */
export interface Creators {
  /** The creator named by the version (`creator` or `sender`); `undefined` if the content lacks it. */
  readonly primary: string | undefined
  /** `primary` plus, with `privilegedCreators`, the additional creators. */
  readonly all: ReadonlySet<string>
}

const creatorsCache = new WeakMap<PduLike, { rules: RoomVersionRules, value: Creators }>()

/** The creators according to an `m.room.create` event (memoised per event object and rules). */
export function creatorsOf (rules: RoomVersionRules, create: PduLike): Creators {
  const hit = creatorsCache.get(create)
  if (hit !== undefined && hit.rules === rules) return hit.value
  const primary = rules.creatorIsSender ? create.sender : getString(create.content, 'creator')
  const all = new Set<string>()
  if (primary !== undefined) all.add(primary)
  if (rules.privilegedCreators) {
    const extra = getOwn(create.content, 'additional_creators')
    if (Array.isArray(extra)) {
      for (const id of extra) if (typeof id === 'string') all.add(id)
    }
  }
  const value: Creators = { primary, all }
  creatorsCache.set(create, { rules, value })
  return value
}

/**
 * The power level of `userId`: `Infinity` for a v12 creator; else the `users` entry, else
 * `users_default`, else 0; with no power levels event, 100 for the v1–v11 creator and 0 for
 * everyone else.
 *
 * @returns the level, or `undefined` when the power levels event is malformed where it matters
 *   (the rules then reject, as an event cannot be authorised by a level that does not exist).
 */
export function userLevel (rules: RoomVersionRules, pl: PowerLevelsContent | undefined, creators: Creators, userId: string): number | undefined {
  if (rules.privilegedCreators && creators.all.has(userId)) return Infinity
  if (pl === undefined) return !rules.privilegedCreators && creators.primary === userId ? CREATOR_DEFAULT_LEVEL : DEFAULT_LEVELS.users_default
  if (pl.users === null) return undefined
  const own = pl.users?.get(userId)
  if (own !== undefined) return own ?? undefined
  return fieldLevel(pl, 'users_default')
}

/** A named level (`ban`, `kick`, `invite`, `redact`, the defaults), or `undefined` if malformed. */
export function fieldLevel (pl: PowerLevelsContent | undefined, field: IntField): number | undefined {
  const value = pl?.fields.get(field)
  if (value === undefined) return DEFAULT_LEVELS[field]
  return value ?? undefined
}

/**
 * The event type's *required power level* (server-server API, "Definitions"): `events[type]`,
 * else `state_default` for state events or `events_default` for others.
 */
export function requiredLevel (pl: PowerLevelsContent | undefined, type: string, isState: boolean): number | undefined {
  if (pl?.events === null) return undefined
  const own = pl?.events?.get(type)
  if (own !== undefined) return own ?? undefined
  return fieldLevel(pl, isState ? 'state_default' : 'events_default')
}
