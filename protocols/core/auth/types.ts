/**
 * Shared types of the authorization rules.
 */
import type { RoomVersionRules } from '../room-versions.js'
import type { JsonObject, PduLike } from './pdu.js'

/**
 * The outcome of an authorization check: allowed, or the rule that rejected the event as
 * "<spec rule number>: <short text>", numbered as the room version's page numbers it
 * (e.g. `'6: sender not joined'` in room version 12).
 */
export type AuthResult = { readonly ok: true } | { readonly ok: false, readonly rule: string }

/**
 * The room state the rules are checked against: the event in it for `(type, stateKey)`, if any.
 * For the receipt checks this is the event's auth events, the state before the event, or the
 * current state; during state resolution, the partially resolved state completed by the event's
 * auth events.
 */
export type AuthStateLookup = (type: string, stateKey: string) => PduLike | undefined

/**
 * Checks the pure rules cannot make by themselves, injected by the caller.
 */
export interface AuthHooks {
  /**
   * Third-party invite rule x.y.1.7: does any signature in `signed` verify under one of the
   * base64 `publicKeys`? Default: ed25519 `verifyJson` against each key
   * (`verifyThirdPartyInviteSigned`).
   */
  readonly verifyThirdPartyInvite?: ((signed: JsonObject, publicKeys: readonly string[]) => boolean) | undefined
  /**
   * v8+ member rule "If the event is not validly signed by the homeserver of the user ID denoted
   * by the key [join_authorised_via_users_server], reject". A signature check belongs to the
   * receipt checks ("Passes signature checks, otherwise it is dropped"), which need the server's
   * keys; without this hook the rule trusts that the ingest pipeline made it. Return false to
   * reject.
   */
  readonly verifyJoinAuthorisedVia?: ((event: PduLike, userId: string) => boolean) | undefined
  /**
   * Rules of the room version that replace the Matrix rules for some events (keyroom.1:
   * `keyroom.device` events, invite-link joins). Called for every event except `m.room.create`
   * (rule 1 always applies) before the state-dependent Matrix rules: a result replaces them,
   * `undefined` lets them decide. `extraRules` still runs after an allowing result.
   */
  readonly overrideRules?: ((rules: RoomVersionRules, event: PduLike, authState: AuthStateLookup) => AuthResult | undefined) | undefined
  /**
   * Further rules of the room version, run after the Matrix rules allow the event (keyroom.1:
   * the signing UDK is attested in the auth state, the MSC3917 fields are present and
   * consistent). Its rejection is returned as is.
   */
  readonly extraRules?: ((rules: RoomVersionRules, event: PduLike, authState: AuthStateLookup) => AuthResult) | undefined
}
