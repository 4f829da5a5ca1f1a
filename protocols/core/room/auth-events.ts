/**
 * Which state events an event lists in `auth_events` (server-server API, "Auth events
 * selection"), with keyroom.1's additions (docs/protocol.md "Events").
 *
 * Matrix:
 * > - The `m.room.create` event. [keyroom.1 keeps it, as room versions ≤ 11 do: the room ID does
 * >   not derive from the create event.]
 * > - The current `m.room.power_levels` event, if any.
 * > - The sender's current `m.room.member` event, if any.
 * > - If type is `m.room.member`:
 * >   - The target's current `m.room.member` event, if any.
 * >   - If `membership` is `join`, `invite` or `knock`, the current `m.room.join_rules` event, if any.
 * >   - If membership is `invite` and `content` contains a `third_party_invite` property, the
 * >     current `m.room.third_party_invite` event with `state_key` matching
 * >     `content.third_party_invite.signed.token`, if any.
 * >   - If `content.join_authorised_via_users_server` is present, and the room version supports
 * >     restricted rooms, then the `m.room.member` event with `state_key` matching
 * >     `content.join_authorised_via_users_server`.
 *
 * keyroom.1 adds:
 * - a `join` carrying an invite-link claim (`third_party_invite.signed`) lists the link's
 *   `m.room.third_party_invite` event, as a Matrix 3pid `invite` does;
 * - the `keyroom.device` event whose state key is the signing UDK, if any: it is where the
 *   signer's attestation (or revocation) lives. When the attestation is in the sender's join, that
 *   event is already listed; when the event introduces its own signer, nothing more is needed.
 *
 * The selection itself is the auth module's `authTypesForEvent` (flag `keySenders`): the builders
 * here, the receipt check `checkAuthEvents` and state resolution's iterative auth checks all use
 * that one definition.
 */
import { authTypesForEvent } from '../auth/index.js'
import { roomVersionRules, KEYROOM_ROOM_VERSION } from '../room-versions.js'
import type { RoomStateView } from './types.js'

const KEYROOM_RULES = roomVersionRules(KEYROOM_ROOM_VERSION)

/** A `(type, state_key)` pair. */
export interface AuthEventKey {
  type: string
  stateKey: string
}

/** The draft fields the selection reads. */
export interface AuthSelectionInput {
  type: string
  sender: string
  state_key?: string | undefined
  content: Readonly<Record<string, unknown>>
}

/**
 * The `(type, state_key)` pairs an event's `auth_events` are drawn from, in the order above,
 * without duplicates.
 *
 * @param event - the event being built (its type, sender, state key and content).
 * @param signerDeviceId - the UDK that signs it.
 */
export function authEventPairs (event: AuthSelectionInput, signerDeviceId: string): AuthEventKey[] {
  return authTypesForEvent(KEYROOM_RULES, event, signerDeviceId).map(([type, stateKey]) => ({ type, stateKey }))
}

/** The event IDs of {@link authEventPairs} that exist in `state`. */
export function selectAuthEvents (state: RoomStateView, event: AuthSelectionInput, signerDeviceId: string): string[] {
  const ids: string[] = []
  for (const { type, stateKey } of authEventPairs(event, signerDeviceId)) {
    const entry = state.entry(type, stateKey)
    if (entry !== undefined) ids.push(entry.eventId)
  }
  return ids
}
