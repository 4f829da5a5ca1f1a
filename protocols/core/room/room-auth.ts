/**
 * The full authorization check of a keyroom.1 event: the Matrix rules (auth/) with keyroom.1's two
 * overrides, then keyroom's additions (keyroom-auth.ts) — and the pieces the auth and state
 * resolution modules can call so that every path applies the same rules.
 *
 * Where keyroom.1 departs from the Matrix rules of room version 12 (docs/protocol.md):
 *
 * - **`keyroom.device` events** are a member's statements about their own keys: "allowed for a
 *   joined sender about their own UDKs only (not governed by `state_default`)". The Matrix rules
 *   for a generic state event are "create event present; sender joined; sender's power level ≥
 *   the event's required level"; keyroom.1 drops the last ({@link keyroomMatrixOverride}) and
 *   checks the rest, plus ownership, in K6.
 * - **Invite-link joins** (invite-link.ts): a join whose content carries
 *   `third_party_invite.signed` is allowed when the claim is signed by the key of the live
 *   `m.room.third_party_invite` it names, for this user and this room, and the user is not
 *   banned — the Matrix third-party-invite rule (x.1 of `invite`), applied to the join because no
 *   server exists to mint the intermediate invite.
 * - **Auth events selection** adds the signer's `keyroom.device` event and, for an invite-link
 *   join, the link's event. That selection is the auth module's `authTypesForEvent` (flag
 *   `keySenders`), so the auth module's `checkAuthEvents` accepts these auth events and state
 *   resolution judges a forked event by the *resolved* device record and link.
 */
import { authStateFromAuthEvents, checkAuth, checkAuthEvents, parsePdu } from '../auth/index.js'
import type { AuthEventSource, AuthHooks, AuthResult, AuthStateLookup, PduLike } from '../auth/index.js'
import type { RoomVersionRules } from '../room-versions.js'
import type { AttestationCache } from './attestation-cache.js'
import { RoomEventType } from './constants.js'
import { isObject, membershipOf, own } from './event-fields.js'
import { checkInviteLinkClaim, inviteLinkClaimOf } from './invite-link.js'
import { checkKeyroomAuth } from './keyroom-auth.js'
import type { EventView, RoomEvent, RoomStateView } from './types.js'

const ALLOW: AuthResult = Object.freeze({ ok: true })

function refuse (rule: string): AuthResult {
  return { ok: false, rule }
}

/**
 * A `PduLike` view with the event's `signatures` (the keyroom rules ask who signed). The auth
 * module's `PduLike` (from `parsePdu`) now keeps `signatures` itself, so any parsed view is one;
 * the name stays for the callers that use it.
 */
export type SignedPdu = PduLike & { readonly signatures?: unknown }

/**
 * keyroom.1's replacements for two Matrix rules, to run *instead of* the Matrix rules for the
 * events they cover: `undefined` means "the Matrix rules decide". It is the auth module's
 * `AuthHooks.overrideRules` ({@link keyroomAuthHooks}).
 */
export function keyroomMatrixOverride (rules: RoomVersionRules, event: PduLike, authState: AuthStateLookup): AuthResult | undefined {
  if (!rules.keySenders) return undefined
  if (event.type === RoomEventType.Device) {
    // The generic Matrix rules minus the required power level.
    if (authState(RoomEventType.Create, '') === undefined) return refuse('keyroom.device.1: no m.room.create event in the auth state')
    if (membershipOf(authState(RoomEventType.Member, event.sender)) !== 'join') return refuse('keyroom.device.2: sender not joined')
    return ALLOW
  }
  if (event.type === RoomEventType.Member && membershipOf(event) === 'join' && own(event.content, 'third_party_invite') !== undefined) {
    return checkInviteLinkJoin(event, authState)
  }
  return undefined
}

/** The invite-link join rule (numbered after Matrix's third-party `invite` rule x.1). */
function checkInviteLinkJoin (event: PduLike, authState: AuthStateLookup): AuthResult {
  const target = event.state_key
  // .1 "If the sender does not match state_key, reject" (join rule .2).
  if (target === undefined || event.sender !== target) return refuse('keyroom.link.1: sender does not match state_key')
  // .2 "If target user is banned, reject."
  if (membershipOf(authState(RoomEventType.Member, target)) === 'ban') return refuse('keyroom.link.2: target user is banned')
  // .3 "If content.third_party_invite does not have a signed property, reject."
  const claim = inviteLinkClaimOf(event.content)
  if (!isObject(claim)) return refuse('keyroom.link.3: third_party_invite has no signed object')
  // .4 "If there is no m.room.third_party_invite event in the current room state with state_key
  // matching token, reject."
  const token = own(claim, 'token')
  const link = typeof token === 'string' ? authState(RoomEventType.ThirdPartyInvite, token) : undefined
  if (link === undefined) return refuse('keyroom.link.4: no m.room.third_party_invite for the token')
  // .5 the claim names this user and room, and the link key signed it ("If any signature in
  // signed matches any public key in the m.room.third_party_invite event, allow").
  const check = checkInviteLinkClaim(claim, { stateKey: link.state_key, content: link.content }, { userId: target, roomId: event.room_id ?? '' })
  if (!check.ok) return refuse(`keyroom.link.5: invite link claim ${check.problem}`)
  return ALLOW
}

/** Options of {@link checkRoomAuth} and {@link keyroomAuthHooks}. */
export interface RoomAuthOptions {
  /** Verified-statement cache (keyroom-auth.ts `defaultAttestationCache` by default). */
  attestations?: AttestationCache
  /** The current time, for the soft-fail check against the current state (keyroom-auth.ts). */
  now?: number
}

/**
 * The whole authorization check of an event against one auth state: the Matrix rules of the room
 * version (with keyroom.1's overrides), then, for rooms with `keySenders`, the keyroom additions.
 *
 * @param event - the event's `PduLike` view (auth `parsePdu`) with its `signatures`.
 */
export function checkRoomAuth (rules: RoomVersionRules, event: SignedPdu, authState: AuthStateLookup, options: RoomAuthOptions = {}): AuthResult {
  return checkAuth(rules, event, authState, keyroomAuthHooks({ ...options, getEvent: () => undefined }))
}

function keyroomOptions (rules: RoomVersionRules, options: RoomAuthOptions): Parameters<typeof checkKeyroomAuth>[2] {
  const out: NonNullable<Parameters<typeof checkKeyroomAuth>[2]> = { rules }
  if (options.attestations !== undefined) out.attestations = options.attestations
  if (options.now !== undefined) out.now = options.now
  return out
}

/**
 * The auth hooks that make `checkAuth` the keyroom.1 rules: `overrideRules` =
 * {@link keyroomMatrixOverride}, `extraRules` = {@link checkKeyroomAuth}. {@link checkRoomAuth}
 * (and so `decide`) uses them; state resolution applies them by itself to `keySenders` rooms when
 * it is given no `authHooks` (state-res `resolveState`), and takes these when a caller wants its
 * own attestation cache: `resolveState(v, sets, getEvent, { authHooks: keyroomAuthHooks({ getEvent, attestations }) })`.
 *
 * The keyroom rules need the event's `signatures`. The auth module's `PduLike` view keeps them;
 * for a hand-made view without them the hook reads them from the raw event
 * (`getEvent(event.event_id)`).
 */
export function keyroomAuthHooks (options: RoomAuthOptions & { getEvent: (eventId: string) => object | undefined }): AuthHooks {
  return {
    overrideRules: keyroomMatrixOverride,
    extraRules: (rules, event, authState) => {
      if (!rules.keySenders) return ALLOW
      const signed = event as SignedPdu
      const view = signed.signatures !== undefined ? signed : { ...event, signatures: own(options.getEvent(event.event_id), 'signatures') }
      return checkKeyroomAuth(view, authState, keyroomOptions(rules, options))
    }
  }
}

/**
 * The Matrix rules about an event's `auth_events` with keyroom.1's selection.
 *
 * @deprecated Use the auth module's `checkAuthEvents`, which now applies keyroom.1's selection
 *   (the signing device's `keyroom.device` record, an invite-link join's link) from the room
 *   version's `keySenders` flag. This is that function, kept for existing callers; rejections are
 *   numbered like the auth module's (keyroom.1: `3.1`–`3.5`, as room version 12's rule 3).
 */
export function checkKeyroomAuthEvents (rules: RoomVersionRules, event: SignedPdu, source: AuthEventSource): AuthResult {
  return checkAuthEvents(rules, event, source)
}

/** The auth state an event's own auth events give (auth `authStateFromAuthEvents`). */
export function authStateOfAuthEvents (rules: RoomVersionRules, event: PduLike, source: AuthEventSource): AuthStateLookup {
  return authStateFromAuthEvents(rules, event, source)
}

// ---------------------------------------------------------------------------------------------
// Views

const pduViews = new WeakMap<object, PduLike>()

/**
 * The auth module's `PduLike` view of an event with a known ID (memoised per event object), or
 * `undefined` when the event is malformed.
 */
export function pduOf (event: EventView | RoomEvent, eventId: string): PduLike | undefined {
  const hit = pduViews.get(event)
  if (hit !== undefined && hit.event_id === eventId) return hit
  const parsed = parsePdu(event, eventId)
  if (!parsed.ok) return undefined
  pduViews.set(event, parsed.pdu)
  return parsed.pdu
}

/** An auth-state lookup over a {@link RoomStateView} (e.g. `RoomState`), as the auth rules read it. */
export function authLookupOf (state: RoomStateView): AuthStateLookup {
  return (type, stateKey) => {
    const entry = state.entry(type, stateKey)
    return entry === undefined ? undefined : pduOf(entry.event, entry.eventId)
  }
}
