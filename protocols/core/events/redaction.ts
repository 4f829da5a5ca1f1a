/**
 * The Matrix redaction algorithm, room versions 1–12, and keyroom.1's extension of it.
 *
 * Spec: room version pages, section "Redactions" (v1 fragment `v1-redactions`, v6
 * `v6-redactions`, v8 page text, v9 `v9-redactions`, v11/v12 `v11-redactions`):
 *
 * > Upon receipt of a redaction event, the server must strip off any keys not in the following
 * > list: `event_id`, `type`, `room_id`, `sender`, `state_key`, `content`, `hashes`,
 * > `signatures`, `depth`, `prev_events`, `prev_state` (≤ v10), `auth_events`, `origin` (≤ v10),
 * > `origin_server_ts`, `membership` (≤ v10).
 * >
 * > The content object must also be stripped of all keys, unless it is one of the following
 * > event types: […]
 *
 * The redacted form is what event signatures and reference hashes (event IDs) cover
 * (server-server API, "Signing events", "Calculating the reference hash for an event"), so every
 * byte of it is consensus: branch on the room version's redaction flags
 * (`roomVersionRules(v).redaction`), never on version strings.
 *
 * Choices where the spec text is silent, with what the reference implementations do:
 *
 * - `unsigned` is not in the list, so it is removed entirely (ruma `redact`,
 *   gomatrixserverlib `redactEventJSON`). Synapse keeps `unsigned.age_ts` and
 *   `unsigned.replaces_state` for its own bookkeeping; that is not the spec and never reaches a
 *   hash or signature (both strip `unsigned` anyway).
 * - A `content` that is present but not a JSON object becomes `{}`: none of its data is protected
 *   (synapse `redact`; gomatrixserverlib refuses such events; ruma passes the value through).
 *   A missing `content` stays missing: redaction only removes keys (ruma).
 * - v11+ `m.room.member` `third_party_invite`: when it is an object, only its `signed` key is kept
 *   (an object without `signed` becomes `{}`); when it is not an object it is removed, since it
 *   has no `signed` key (synapse and ruma agree on objects; synapse's rule for the rest).
 * - An event without a string `type` cannot be redacted (its protected keys depend on the type):
 *   `ERR_INVALID_EVENT`, as ruma and synapse refuse it too.
 * - v12 (MSC4291): the spec's list still contains `room_id`, so a create event that (wrongly)
 *   carries one keeps it. Synapse drops it there; such an event is invalid in v12 anyway.
 */
import { ErrorCode, KeyroomError } from '../errors.js'
import { roomVersionRules } from '../room-versions.js'
import type { RedactionRules } from '../room-versions.js'
import { cloneJson, getOwn, isJsonObject, setOwn } from '../signing/json-object.js'
import type { JsonObject } from '../signing/json-object.js'

/** Top-level keys every room version keeps (spec list, minus the three dropped in v11). */
const KEPT_TOP_LEVEL_KEYS: readonly string[] = [
  'event_id', 'type', 'room_id', 'sender', 'state_key', 'content', 'hashes', 'signatures',
  'depth', 'prev_events', 'auth_events', 'origin_server_ts'
]

/**
 * v1–v10 also keep these; room version 11 (MSC2176): "The top-level `origin`, `membership`, and
 * `prev_state` properties are no longer protected from redaction."
 */
const LEGACY_TOP_LEVEL_KEYS: readonly string[] = ['prev_state', 'origin', 'membership']

/**
 * keyroom.1: content keys that survive redaction in addition to v12's, per event type.
 *
 * Why: MSC3917 membership verification walks each member's chain — join → invite → … → the
 * RRK-signed create event — using these keys (the sender's attestation, the parent event the
 * membership derives from, the target UPK, the room root key, invite-link keys, device
 * attestations and revocations). A redaction must not be able to cut that chain: after
 * redaction, every membership, join rule, space link, invite link and device record must stay
 * verifiable, exactly as v9 keeps `join_authorised_via_users_server` so that "redacted join
 * events [do not] become invalid when verifying the auth chain" (room version 9, "Redactions").
 * `m.room.create` needs nothing here: from v11 on it keeps its whole content, including
 * `room_root_key`, `creator_key` and the RRK `signatures`.
 */
export const MSC3917_PROTECTED_CONTENT_KEYS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'm.room.member': ['sender_key', 'parent_event_id', 'user_key', 'room_root_key'],
  'm.room.join_rules': ['sender_key', 'parent_event_id', 'room_root_key'],
  'm.space.child': ['sender_key', 'room_root_key', 'parent_event_id', 'via'],
  'm.room.third_party_invite': ['sender_key', 'parent_event_id', 'public_key', 'public_keys'],
  'keyroom.device': ['attestation', 'revocation']
})

/** How one event type's content is redacted under one set of rules. */
interface ContentRule {
  /** Keep the whole content (v11+ `m.room.create`). */
  all: boolean
  /** Content keys kept as they are. */
  keys: readonly string[]
  /** v11+ `m.room.member`: keep `third_party_invite.signed` only. */
  thirdPartyInviteSigned: boolean
}

/** How a whole event is redacted under one set of rules. */
interface CompiledRules {
  topLevelKeys: readonly string[]
  content: ReadonlyMap<string, ContentRule>
}

/** Every other event type: "The content object must also be stripped of all keys". */
const STRIP_ALL: ContentRule = Object.freeze({ all: false, keys: [], thirdPartyInviteSigned: false })

/**
 * Turn the redaction flags into lookup tables, following the spec's per-type list. Each line
 * names the room version and proposal that introduced it.
 */
function compile (rules: RedactionRules): CompiledRules {
  const topLevelKeys = rules.keepOriginMembershipPrevState
    ? [...KEPT_TOP_LEVEL_KEYS, ...LEGACY_TOP_LEVEL_KEYS]
    : [...KEPT_TOP_LEVEL_KEYS]

  const content = new Map<string, ContentRule>()
  const add = (type: string, keys: string[], extra: Partial<ContentRule> = {}): void => {
    if (rules.keepMsc3917Keys) keys.push(...(MSC3917_PROTECTED_CONTENT_KEYS[type] ?? []))
    content.set(type, { all: false, keys, thirdPartyInviteSigned: false, ...extra })
  }

  // "m.room.member allows keys membership, join_authorised_via_users_server [v9, MSC3375].
  //  Additionally, it allows the signed key of the third_party_invite key [v11, MSC3821]."
  add('m.room.member',
    ['membership', ...(rules.keepJoinAuthorisedVia ? ['join_authorised_via_users_server'] : [])],
    { thirdPartyInviteSigned: rules.keepThirdPartyInviteSigned })
  // "m.room.create allows key creator" (v1–v10); "allows all keys" (v11, MSC2176).
  if (rules.keepAllCreateContent) {
    content.set('m.room.create', { all: true, keys: [], thirdPartyInviteSigned: false })
  } else {
    add('m.room.create', ['creator'])
  }
  // "m.room.join_rules allows keys join_rule, allow [v8, MSC3083]."
  add('m.room.join_rules', ['join_rule', ...(rules.keepJoinRulesAllow ? ['allow'] : [])])
  // "m.room.power_levels allows keys ban, events, events_default, invite [v11, MSC2176], kick,
  //  redact, state_default, users, users_default."
  add('m.room.power_levels', [
    'ban', 'events', 'events_default', ...(rules.keepPowerLevelsInvite ? ['invite'] : []),
    'kick', 'redact', 'state_default', 'users', 'users_default'
  ])
  // "m.room.aliases allows key aliases" (v1–v5; removed in v6, MSC2432).
  if (rules.keepAliases) add('m.room.aliases', ['aliases'])
  // "m.room.history_visibility allows key history_visibility."
  add('m.room.history_visibility', ['history_visibility'])
  // "m.room.redaction allows key redacts" (v11, MSC2174/MSC2176).
  if (rules.keepRedactsInContent) add('m.room.redaction', ['redacts'])
  // keyroom.1 types that Matrix does not protect at all.
  if (rules.keepMsc3917Keys) {
    for (const type of Object.keys(MSC3917_PROTECTED_CONTENT_KEYS)) {
      if (!content.has(type)) add(type, [])
    }
  }
  return { topLevelKeys, content }
}

// Rules objects are frozen singletons from room-versions.ts; compile each once.
const compiled = new WeakMap<RedactionRules, CompiledRules>()

function compiledFor (rules: RedactionRules): CompiledRules {
  let c = compiled.get(rules)
  if (c === undefined) {
    c = compile(rules)
    compiled.set(rules, c)
  }
  return c
}

function redactContent (content: unknown, rule: ContentRule): JsonObject {
  // A non-object content has no keys to protect (see the module comment).
  if (!isJsonObject(content)) return {}
  if (rule.all) return content
  const out: JsonObject = {}
  for (const key of rule.keys) {
    if (Object.hasOwn(content, key)) setOwn(out, key, content[key])
  }
  if (rule.thirdPartyInviteSigned && Object.hasOwn(content, 'third_party_invite')) {
    const invite = content.third_party_invite
    if (isJsonObject(invite)) {
      out.third_party_invite = Object.hasOwn(invite, 'signed') ? { signed: invite.signed } : {}
    }
  }
  return out
}

/**
 * Redact without copying what survives: the result is a new top-level object (and a new
 * `content`, unless the type keeps all of it) whose values are shared with `event`. For building
 * signed bytes, where nothing is mutated; {@link redactEvent} returns an independent copy.
 *
 * `omitSignatures`: leave `signatures` out, for the bytes that signatures and reference hashes
 * cover (they remove it right after redaction; signing/signables.ts).
 *
 * @throws KeyroomError `ERR_INVALID_EVENT` if `event` is not an object or has no string `type`.
 */
export function redactShared (event: object, rules: RedactionRules, options: { omitSignatures?: boolean } = {}): JsonObject {
  if (!isJsonObject(event)) {
    throw new KeyroomError(ErrorCode.InvalidEvent, 'cannot redact: the event is not a JSON object')
  }
  const type = getOwn(event, 'type')
  if (typeof type !== 'string') {
    throw new KeyroomError(ErrorCode.InvalidEvent, 'cannot redact: the event has no string "type"')
  }
  const c = compiledFor(rules)
  const out: JsonObject = {}
  for (const key of c.topLevelKeys) {
    if (!Object.hasOwn(event, key)) continue
    if (key === 'signatures' && options.omitSignatures === true) continue
    out[key] = key === 'content'
      ? redactContent(event.content, c.content.get(type) ?? STRIP_ALL)
      : event[key]
  }
  return out
}

/**
 * Redact an event as the room version's redaction algorithm says (see the module comment for
 * the spec text and the choices where it is silent).
 *
 * @param event - the event (PDU) as a JSON object; it is not modified.
 * @param roomVersion - a known room version: `"1"` … `"12"` or `"keyroom.1"`.
 * @returns a new, independent object: the protected top-level keys, with `content` stripped to
 *   the keys its type protects. `unsigned` never survives.
 * @throws KeyroomError `ERR_UNKNOWN_ROOM_VERSION`; `ERR_INVALID_EVENT` when `event` is not an
 *   object or has no string `type`.
 */
export function redactEvent (event: object, roomVersion: string): object {
  const rules = roomVersionRules(roomVersion).redaction
  return cloneJson(redactShared(event, rules)) as JsonObject
}
